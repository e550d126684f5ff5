// Transfer stream parsing and IXFR application. Every check that fails
// drops the attempt with a sentence naming what was wrong; the caller keeps
// serving what it had.
#include "xfr/transfer.hpp"

#include <string>

#include "dns/message.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace satellite::xfr {

namespace {

using dns::load16;
using dns::load32;
namespace wn = dns::wire_name;

std::uint32_t soa_serial(std::span<const std::uint8_t> rd) {
    std::size_t a = wn::length(rd.data(), rd.size());
    std::size_t b = wn::length(rd.data() + a, rd.size() - a);
    return load32(rd.data() + a + b);
}

const char* rcode_hint(unsigned rcode) {
    switch (rcode) {
        case dns::rcode::NOTAUTH: return " (NOTAUTH: the primary does not serve the zone, or refused our TSIG)";
        case dns::rcode::REFUSED: return " (REFUSED: check the primary's transfer ACL and TSIG key)";
        case dns::rcode::SERVFAIL: return " (SERVFAIL: the primary has no usable copy)";
        case dns::rcode::NOTIMP: return " (NOTIMP: the primary does not implement this transfer type)";
        default: return "";
    }
}

}  // namespace

TransferClient::TransferClient(const dns::Name& zone, TransferKind kind, std::uint32_t have_serial,
                               const dns::TsigKey* key, TransferLimits limits)
    : zone_(zone), zone_lc_(zone.lowered()), kind_(kind), have_serial_(have_serial),
      limits_(limits) {
    if (key) key_ = *key;
}

std::vector<std::uint8_t> TransferClient::request(std::uint16_t id, std::int64_t now) {
    id_ = id;
    std::vector<std::uint8_t> m;
    m.reserve(512);
    auto put16 = [&](std::uint16_t v) {
        m.push_back(static_cast<std::uint8_t>(v >> 8));
        m.push_back(static_cast<std::uint8_t>(v));
    };
    auto put32 = [&](std::uint32_t v) {
        put16(static_cast<std::uint16_t>(v >> 16));
        put16(static_cast<std::uint16_t>(v));
    };
    put16(id);
    put16(0);  // a query, RD clear
    put16(1);  // QDCOUNT
    put16(0);
    put16(kind_ == TransferKind::Ixfr ? 1 : 0);  // NSCOUNT: our SOA for IXFR
    put16(0);
    for (std::size_t i = 0; i < zone_.size(); ++i) m.push_back(zone_.data()[i]);
    put16(kind_ == TransferKind::Axfr ? dns::type::AXFR : dns::type::IXFR);
    put16(dns::rrclass::IN);
    if (kind_ == TransferKind::Ixfr) {
        // RFC 1995 §3: our SOA in the authority section; only the serial matters.
        m.push_back(0xc0);
        m.push_back(dns::kHeaderLen);
        put16(dns::type::SOA);
        put16(dns::rrclass::IN);
        put32(0);
        put16(2 + 20);
        m.push_back(0);
        m.push_back(0);
        put32(have_serial_);
        for (int i = 0; i < 4; ++i) put32(0);
    }
    // RFC 7314 §2: ask for EXPIRE (the option goes before a TSIG, which is last).
    dns::append_expire_opt(m, 0);
    if (key_) {
        std::vector<std::uint8_t> mac = dns::tsig_sign(m, *key_, now);
        verifier_.emplace(*key_, std::move(mac));
    }
    return m;
}

void TransferClient::set_progress(std::shared_ptr<zone::Progress> progress) {
    progress_ = std::move(progress);
    if (progress_) progress_run_ = progress_->begin();
}

TransferClient::~TransferClient() {
    if (progress_) progress_->end(progress_run_);
}

Result<TransferClient::Step> TransferClient::consume(std::span<const std::uint8_t> msg, std::int64_t now) {
    auto step = consume_message(msg, now);
    if (progress_) {
        progress_->done.store(records_, std::memory_order_relaxed);
        progress_->bytes.store(bytes_, std::memory_order_relaxed);
        if (!step || *step == Step::Done) {
            progress_->end(progress_run_);
        } else {
            zone::tick(*progress_);
        }
    }
    return step;
}

Result<TransferClient::Step> TransferClient::consume_message(std::span<const std::uint8_t> msg,
                                                             std::int64_t now) {
    ++messages_;
    if (msg.size() < dns::kHeaderLen) return make_error("short message from primary");
    const std::uint8_t* h = msg.data();
    if (load16(h) != id_) return make_error("message ID does not match the request");
    std::uint16_t flags = load16(h + 2);
    if (!(flags & dns::flag::QR)) return make_error("primary sent a query, not a response");
    if (flags & dns::flag::TC) return make_error("truncated response over TCP");
    unsigned rcode = flags & 0xf;
    if (rcode != dns::rcode::NOERROR) {
        return make_error("primary answered rcode " + std::to_string(rcode) + rcode_hint(rcode));
    }
    if (verifier_) {
        if (auto s = verifier_->verify(msg, now); !s) return make_error("TSIG: " + s.error().message);
    }
    if (state_ == State::Done) return make_error("messages after the final SOA");
    if (!expire_) expire_ = dns::response_expire(msg);

    unsigned qd = load16(h + 4), an = load16(h + 6);
    std::size_t pos = dns::kHeaderLen;
    std::uint8_t name[dns::kMaxNameLen];
    std::size_t nlen = 0;
    for (unsigned i = 0; i < qd; ++i) {
        pos = dns::read_name(msg, pos, name, &nlen);
        if (!pos || pos + 4 > msg.size()) return make_error("malformed question in response");
        if (!wn::equal_ci(name, zone_lc_.data())) return make_error("response is for another zone");
        pos += 4;
    }
    const std::size_t records_before = records_;
    for (unsigned i = 0; i < an; ++i) {
        pos = dns::read_name(msg, pos, name, &nlen);
        if (!pos || pos + 10 > msg.size()) return make_error("malformed record in response");
        std::uint16_t type = load16(h + pos);
        std::uint16_t rclass = load16(h + pos + 2);
        std::uint32_t ttl = load32(h + pos + 4);
        std::uint16_t rdlen = load16(h + pos + 8);
        pos += 10;
        if (pos + rdlen > msg.size()) return make_error("record runs past the end of the message");
        if (!dns::decompress_rdata(type, msg, pos, rdlen, rdata_buf_)) {
            return make_error("malformed RDATA in " + wn::to_string(name) + " " +
                              dns::type_to_string(type));
        }
        pos += rdlen;
        if (state_ == State::Done) return make_error("records after the final SOA");
        if (auto s = take(name, nlen, type, rclass, ttl, rdata_buf_, i + 1 == an); !s) return s.error();
    }
    // RFC 1995 §4: a reply that is only our SOA means we are up to date.
    if (kind_ == TransferKind::Ixfr && state_ == State::Second && messages_ == 1 &&
        records_ - records_before == 1 && !dns::serial_newer(new_serial_, have_serial_)) {
        outcome_ = Outcome::UpToDate;
        state_ = State::Done;
    }
    if (state_ == State::Done) {
        if (verifier_ && !verifier_->last_signed()) {
            return make_error("TSIG: the last message of the transfer is not signed");
        }
        return Step::Done;
    }
    return Step::More;
}

Status TransferClient::take(const std::uint8_t* owner, std::size_t owner_len, std::uint16_t type,
                            std::uint16_t rclass, std::uint32_t ttl,
                            std::span<const std::uint8_t> rdata, bool) {
    if (!wn::is_subdomain(owner, owner_len, zone_lc_.data(), zone_lc_.size())) {
        return make_error("record " + wn::to_string(owner) + " " + dns::type_to_string(type) +
                          " is outside the zone");
    }
    if (rclass != dns::rrclass::IN) {
        return make_error("record " + wn::to_string(owner) + " has class " + std::to_string(rclass));
    }
    const bool apex_soa = type == dns::type::SOA && owner_len == zone_lc_.size() &&
                          wn::equal_ci(owner, zone_lc_.data());
    const std::uint32_t serial = apex_soa ? soa_serial(rdata) : 0;
    // The closing SOA of a full transfer repeats the first: not a record.
    const bool closing = apex_soa && (state_ == State::Body || state_ == State::Second) &&
                         serial == new_serial_ && !(state_ == State::Second && serial == have_serial_);
    if (!closing && ++records_ > limits_.max_records) {
        return make_error("transfer exceeds max_zone_records (" + std::to_string(limits_.max_records) + ")");
    }
    bytes_ += owner_len + 10 + rdata.size();
    if (bytes_ > limits_.max_bytes) {
        return make_error("transfer exceeds max_zone_bytes (" + std::to_string(limits_.max_bytes) + ")");
    }
    std::span<const std::uint8_t> own{owner, owner_len};
    switch (state_) {
        case State::First:
            if (!apex_soa) return make_error("transfer does not start with the zone's SOA");
            new_serial_ = serial;
            if (kind_ == TransferKind::Axfr) {
                full_.add(own, type, rclass, ttl, rdata);
                state_ = State::Body;
            } else {
                first_soa_.add(own, type, rclass, ttl, rdata);
                state_ = State::Second;
            }
            return {};
        case State::Second:
            if (apex_soa && serial == have_serial_ && serial != new_serial_) {
                outcome_ = Outcome::Incremental;
                deltas_.emplace_back();
                deltas_.back().from = serial;
                deltas_.back().removed.add(own, type, rclass, ttl, rdata);
                state_ = State::Deleting;
                return {};
            }
            outcome_ = Outcome::Full;  // AXFR-style reply (RFC 1995 §4)
            full_ = std::move(first_soa_);
            state_ = State::Body;
            [[fallthrough]];
        case State::Body:
            if (apex_soa) {
                if (serial != new_serial_) {
                    return make_error("final SOA serial " + std::to_string(serial) +
                                      " differs from the first, " + std::to_string(new_serial_));
                }
                state_ = State::Done;
                return {};
            }
            full_.add(own, type, rclass, ttl, rdata);
            return {};
        case State::Deleting:
            if (apex_soa) {
                deltas_.back().to = serial;
                deltas_.back().added.add(own, type, rclass, ttl, rdata);
                state_ = State::Adding;
                return {};
            }
            deltas_.back().removed.add(own, type, rclass, ttl, rdata);
            return {};
        case State::Adding:
            if (apex_soa) {
                if (serial == new_serial_ && deltas_.back().to == new_serial_) {
                    state_ = State::Done;
                    return {};
                }
                if (serial != deltas_.back().to) {
                    return make_error("IXFR sequence broken: difference starts at serial " +
                                      std::to_string(serial) + " after one ending at " +
                                      std::to_string(deltas_.back().to));
                }
                deltas_.emplace_back();
                deltas_.back().from = serial;
                deltas_.back().removed.add(own, type, rclass, ttl, rdata);
                state_ = State::Deleting;
                return {};
            }
            deltas_.back().added.add(own, type, rclass, ttl, rdata);
            return {};
        case State::Done:
            break;
    }
    return make_error("records after the final SOA");
}

}  // namespace satellite::xfr
