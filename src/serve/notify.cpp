// NOTIFY answers: NOERROR to an allowed, correctly signed sender; REFUSED
// to anyone else; NOTAUTH for zones we are not a secondary for or a bad
// TSIG. Refusals are counted and summarised in the log at most once a second.
#include "serve/notify.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>
#include <spdlog/spdlog.h>
#include <vector>

#include "dns/message.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace satellite::serve {

namespace {

std::optional<std::array<std::uint8_t, 16>> peer_bytes(const sockaddr* peer) {
    std::array<std::uint8_t, 16> a{};
    if (!peer) return std::nullopt;
    if (peer->sa_family == AF_INET6) {
        std::memcpy(a.data(), &reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr, 16);
        return a;
    }
    if (peer->sa_family == AF_INET) {
        a[10] = a[11] = 0xff;
        std::memcpy(a.data() + 12, &reinterpret_cast<const sockaddr_in*>(peer)->sin_addr, 4);
        return a;
    }
    return std::nullopt;
}

std::optional<std::uint32_t> notify_serial(std::span<const std::uint8_t> msg, const dns::Query& q) {
    // RFC 1996 §3.7: the answer section may carry the new SOA.
    if (dns::load16(msg.data() + 6) == 0) return std::nullopt;
    std::uint8_t name[dns::kMaxNameLen];
    std::size_t nlen = 0;
    std::size_t pos = dns::read_name(msg, q.question_end, name, &nlen);
    if (!pos || pos + 10 > msg.size()) return std::nullopt;
    if (dns::load16(msg.data() + pos) != dns::type::SOA) return std::nullopt;
    std::uint16_t rdlen = dns::load16(msg.data() + pos + 8);
    std::vector<std::uint8_t> rd;
    if (!dns::decompress_rdata(dns::type::SOA, msg, pos + 10, rdlen, rd)) return std::nullopt;
    std::size_t a = dns::wire_name::length(rd.data(), rd.size());
    std::size_t b = dns::wire_name::length(rd.data() + a, rd.size() - a);
    return dns::load32(rd.data() + a + b);
}

}  // namespace

NotifyRefusals& NotifyRefusals::instance() {
    static NotifyRefusals r;
    return r;
}

const char* NotifyRefusals::label(Reason why) {
    switch (why) {
        case NotSecondary: return "not_secondary";
        case NotAllowed: return "not_allowed";
        case BadTsig: return "bad_tsig";
        case Malformed: return "malformed";
        default: return "other";
    }
}

void NotifyRefusals::refused(Reason why, const std::string& zone, const std::string& from,
                             const std::string& detail) {
    counts_[why].fetch_add(1, std::memory_order_relaxed);
    unreported_.fetch_add(1, std::memory_order_relaxed);
    if (sample_busy_.test_and_set(std::memory_order_acquire)) return;  // another thread has them
    if (n_samples_ < kSamples) {
        std::array<char, 240> line{};
        std::snprintf(line.data(), line.size(), "NOTIFY for %s from %s refused: %s", zone.c_str(), from.c_str(),
                      detail.c_str());
        bool seen = false;
        for (std::size_t i = 0; i < n_samples_; ++i) seen |= samples_[i] == line;
        if (!seen) samples_[n_samples_++] = line;
    }
    sample_busy_.clear(std::memory_order_release);
}

bool NotifyRefusals::report(std::int64_t now) {
    if (unreported_.load(std::memory_order_relaxed) == 0) return false;
    std::int64_t last = last_report_.load(std::memory_order_relaxed);
    if (now <= last || !last_report_.compare_exchange_strong(last, now)) return false;
    const std::uint64_t n = unreported_.exchange(0, std::memory_order_relaxed);
    if (n == 0) return false;
    std::string examples;
    if (!sample_busy_.test_and_set(std::memory_order_acquire)) {
        for (std::size_t i = 0; i < n_samples_; ++i) examples += std::string(i ? "; " : "") + samples_[i].data();
        n_samples_ = 0;
        sample_busy_.clear(std::memory_order_release);
    }
    spdlog::warn("{} NOTIFY{} refused since the last report: {}", n, n == 1 ? "" : "s", examples);
    return true;
}

std::optional<std::array<std::uint8_t, 16>> parse_address(const std::string& text) {
    std::array<std::uint8_t, 16> a{};
    in_addr v4;
    if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
        a[10] = a[11] = 0xff;
        std::memcpy(a.data() + 12, &v4, 4);
        return a;
    }
    if (::inet_pton(AF_INET6, text.c_str(), a.data()) == 1) return a;
    return std::nullopt;
}

std::string address_text(const sockaddr* peer) {
    char buf[INET6_ADDRSTRLEN] = "?";
    if (peer && peer->sa_family == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(peer)->sin_addr, buf, sizeof buf);
    } else if (peer && peer->sa_family == AF_INET6) {
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr, buf, sizeof buf);
    }
    return buf;
}

std::size_t answer_notify(const zone::Catalog& catalog, std::span<const std::uint8_t> msg,
                          const sockaddr* peer, std::int64_t now, NotifySink* sink,
                          std::span<std::uint8_t> out) {
    dns::Query q;
    dns::ParseStatus st = dns::parse_query(msg, q);
    if (st == dns::ParseStatus::Drop) return 0;
    std::uint16_t rcode = dns::rcode::NOERROR;
    const std::string from = address_text(peer);
    const zone::ServedZone* zone = nullptr;
    std::vector<std::uint8_t> request_mac;
    auto& refusals = NotifyRefusals::instance();
    if (st != dns::ParseStatus::Ok || q.qtype != dns::type::SOA) {
        rcode = dns::rcode::FORMERR;
        refusals.refused(NotifyRefusals::Malformed, "?", from, "malformed (FORMERR)");
    } else {
        zone = catalog.find(q.qname_lc, q.qname_len);
        if (!zone || zone->origin.size() != q.qname_len || !zone->secondary) {
            refusals.refused(NotifyRefusals::NotSecondary, dns::wire_name::to_string(q.qname), from,
                             "not a secondary zone here (NOTAUTH)");
            rcode = dns::rcode::NOTAUTH;
        } else {
            auto addr = peer_bytes(peer);
            bool allowed = false;
            for (const auto& a : zone->notify_allow) allowed |= addr && *addr == a;
            if (!allowed) {
                refusals.refused(NotifyRefusals::NotAllowed, zone->origin.to_string(), from,
                                 "address not in notify_allow (REFUSED)");
                rcode = dns::rcode::REFUSED;
            } else if (zone->tsig) {
                auto mac = dns::tsig_verify_request(msg, *zone->tsig, now);
                if (!mac) {
                    refusals.refused(NotifyRefusals::BadTsig, zone->origin.to_string(), from,
                                     mac.error().message + " (NOTAUTH)");
                    rcode = dns::rcode::NOTAUTH;
                } else {
                    request_mac = std::move(*mac);
                }
            }
        }
    }
    if (rcode == dns::rcode::NOERROR && sink) sink->notify(zone->origin, notify_serial(msg, q), from);

    // The response: header, the question, and a TSIG when the request had one.
    std::vector<std::uint8_t> r;
    r.reserve(512);  // (also keeps GCC 12's -Warray-bounds false positive away)
    r.resize(dns::kHeaderLen);
    dns::store16(r.data(), q.id);
    std::uint16_t flags = dns::flag::QR | static_cast<std::uint16_t>(q.opcode << 11) | rcode;
    if (rcode == dns::rcode::NOERROR) flags |= dns::flag::AA;
    dns::store16(r.data() + 2, flags);
    if (q.question_end) {
        dns::store16(r.data() + 4, 1);
        r.insert(r.end(), msg.begin() + dns::kHeaderLen, msg.begin() + q.question_end);
    }
    if (!request_mac.empty()) dns::tsig_sign_response(r, *zone->tsig, request_mac, now);
    if (r.size() > out.size()) return 0;
    std::memcpy(out.data(), r.data(), r.size());
    return r.size();
}

}  // namespace satellite::serve
