#include "modes/expiry.hpp"

#include <ctime>
#include <utility>

#include "dns/name.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace satellite::modes {

std::int64_t rrsig_time(std::uint32_t t, std::int64_t now) {
    auto delta = static_cast<std::int32_t>(t - static_cast<std::uint32_t>(now));
    return now + delta;
}

std::string utc_time(std::int64_t unix_time) {
    char buf[32];
    std::time_t t = static_cast<std::time_t>(unix_time);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string describe_duration(std::int64_t s) {
    if (s < 0) return "-" + describe_duration(-s);
    if (s == 0) return "0s";
    std::string out;
    for (auto [unit, name] : {std::pair<std::int64_t, const char*>{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}}) {
        if (s >= unit) {
            if (!out.empty()) out += " ";
            out += std::to_string(s / unit) + name;
            s %= unit;
        }
    }
    return out;
}

SignatureExpiry earliest_signature(const zone::Snapshot& z, std::int64_t now) {
    SignatureExpiry out;
    out.signatures = z.rrsig_count();
    // The version keeps, per page of names, the one with the earliest
    // expiration: only that name's RRSIGs are read here.
    const std::uint32_t id = z.earliest_signature_node();
    if (id == zone::kNone) return out;
    const zone::Node& n = z.node(id);
    // Each node keeps all its RRSIGs as one set (split copies are per RRset).
    const zone::Rrset* all = z.find_rrset(n, dns::type::RRSIG);
    if (!all) return out;
    const std::uint8_t* p = all->rdata();
    for (std::uint16_t j = 0; j < all->rr_count; ++j) {
        const std::uint16_t len = dns::load16(p);
        const std::uint8_t* rd = p + 2;
        p += 2 + len;
        if (len < 18) continue;  // the snapshot builder refuses these
        const std::int64_t expiration = rrsig_time(dns::load32(rd + 8), now);
        if (out.expiration != 0 && expiration >= out.expiration) continue;
        out.expiration = expiration;
        out.inception = rrsig_time(dns::load32(rd + 12), now);
        out.rrset = dns::wire_name::to_string(z.node_name(n)) + " " + dns::type_to_string(dns::load16(rd));
    }
    return out;
}

Status check_signature_margin(const SignatureExpiry& e, std::int64_t margin, std::int64_t now) {
    if (e.expiration == 0 || e.expiration - margin > now) return {};
    return make_error("the RRSIG over " + e.rrset + " expires at " + utc_time(e.expiration) +
                      ", inside the signature_safety_margin (" + describe_duration(margin) +
                      ") already; refusing a version that validators would soon reject (re-sign on the primary)");
}

std::string validity_warning(const SignatureExpiry& e, std::uint32_t soa_expire, std::int64_t margin) {
    if (e.expiration == 0) return "";
    const std::int64_t validity = e.expiration - e.inception;
    if (validity - margin >= static_cast<std::int64_t>(soa_expire)) return "";
    return "SIGNATURE VALIDITY SHORTER THAN SOA EXPIRE: the RRSIG over " + e.rrset + " is valid for " +
           describe_duration(validity) + " (until " + utc_time(e.expiration) + "), less the safety margin of " +
           describe_duration(margin) + ", while SOA expire is " + describe_duration(soa_expire) +
           "; should the primary stop re-signing, this zone goes SERVFAIL at " +
           utc_time(e.expiration - margin) + " (before SOA expire) rather than serve expired signatures: "
           "lower SOA expire or lengthen the signatures' validity on the primary";
}

}  // namespace satellite::modes
