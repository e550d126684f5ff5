#include "xfr/refresh.hpp"

#include <algorithm>

#include "dns/serial.hpp"

namespace satellite::xfr {

namespace {
const char* kind_name(TransferKind k) { return k == TransferKind::Axfr ? "AXFR" : "IXFR"; }
}  // namespace

RefreshPolicy::RefreshPolicy(std::string zone, std::vector<std::string> primaries,
                             std::optional<std::uint32_t> served, bool retransfer)
    : zone_(std::move(zone)), primaries_(std::move(primaries)), served_(served), retransfer_(retransfer) {}

RefreshStep RefreshPolicy::first_step(std::size_t primary) const {
    RefreshStep s;
    s.primary = primary;
    if (!served_ || retransfer_) {
        s.what = RefreshStep::Do::Transfer;
        s.kind = TransferKind::Axfr;
    } else {
        s.what = RefreshStep::Do::AskSoa;
    }
    return s;
}

RefreshStep RefreshPolicy::start() {
    if (primaries_.empty()) {
        RefreshStep s;
        s.error = "no primaries configured";
        return s;
    }
    return first_step(0);
}

RefreshStep RefreshPolicy::next_primary(std::size_t failed, std::string why) {
    if (failed + 1 < primaries_.size()) return first_step(failed + 1);
    RefreshStep s;
    s.what = RefreshStep::Do::GiveUp;
    s.error = primaries_[failed] + ": " + why;
    return s;
}

// The primary has an older serial than the one we serve: said, and the
// next primary is asked.
RefreshStep RefreshPolicy::older(std::size_t primary, std::uint32_t serial) {
    std::string why = "offers serial " + std::to_string(serial) + ", older than the served " +
                      std::to_string(*served_) + "; not transferred";
    notes_.push_back("zone " + zone_ + ": " + primaries_[primary] + " " + why);
    return next_primary(primary, why);
}

RefreshStep RefreshPolicy::soa_answered(std::size_t primary, std::uint32_t serial) {
    RefreshStep s;
    s.primary = primary;
    if (!served_ || dns::serial_newer(serial, *served_)) {
        s.what = RefreshStep::Do::Transfer;
        s.kind = served_ ? TransferKind::Ixfr : TransferKind::Axfr;
        return s;
    }
    if (serial == *served_) {
        s.what = RefreshStep::Do::Current;
        return s;
    }
    return older(primary, serial);
}

RefreshStep RefreshPolicy::soa_failed(std::size_t primary, const std::string& why) {
    return next_primary(primary, "SOA query failed: " + why);
}

RefreshStep RefreshPolicy::transferred(std::size_t primary, TransferKind kind, TransferClient::Outcome outcome,
                                       std::uint32_t serial) {
    RefreshStep s;
    s.primary = primary;
    s.kind = kind;
    if (!served_) {
        s.what = RefreshStep::Do::Install;
        return s;
    }
    if (outcome == TransferClient::Outcome::UpToDate) {
        // RFC 1995 §4: one SOA answers "nothing newer". Ours, or an older one.
        if (serial == *served_) {
            s.what = RefreshStep::Do::Current;
            return s;
        }
        return older(primary, serial);
    }
    if (dns::serial_newer(serial, *served_)) {
        s.what = RefreshStep::Do::Install;
        return s;
    }
    if (retransfer_) {
        s.what = RefreshStep::Do::Install;
        s.backwards = serial != *served_;
        return s;
    }
    std::string why = std::string(kind_name(kind)) + " brought serial " + std::to_string(serial) +
                      ", not newer than the served " + std::to_string(*served_) + "; refused";
    notes_.push_back("zone " + zone_ + ": " + std::string(kind_name(kind)) + " from " + primaries_[primary] +
                     " brought serial " + std::to_string(serial) + ", not newer than the served " +
                     std::to_string(*served_) + "; refused");
    return next_primary(primary, why);
}

RefreshStep RefreshPolicy::transfer_failed(std::size_t primary, TransferKind kind, const std::string& why) {
    if (kind == TransferKind::Ixfr) {  // RFC 1995 §4: fall back to AXFR from the same primary
        RefreshStep s;
        s.what = RefreshStep::Do::Transfer;
        s.primary = primary;
        s.kind = TransferKind::Axfr;
        return s;
    }
    return next_primary(primary, std::string(kind_name(kind)) + " failed: " + why);
}

std::vector<std::string> RefreshPolicy::take_notes() {
    std::vector<std::string> out;
    out.swap(notes_);
    return out;
}

std::int64_t refresh_delay(std::uint32_t soa_refresh, std::mt19937& rng) {
    const std::int64_t r = std::max<std::int64_t>(1, soa_refresh);
    if (r < 10) return r;
    std::uniform_int_distribution<std::int64_t> d(0, r / 10);
    return r - d(rng);
}

std::int64_t retry_delay(std::optional<std::uint32_t> soa_retry, std::uint32_t failures, std::mt19937& rng) {
    const std::int64_t r = soa_retry ? std::max<std::int64_t>(1, *soa_retry)
                                     : std::min<std::int64_t>(300, std::int64_t(5) << std::min(failures, 6u));
    if (r < 10) return r;
    std::uniform_int_distribution<std::int64_t> d(-r / 10, r / 10);
    return r + d(rng);
}

}  // namespace satellite::xfr
