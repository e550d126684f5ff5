#include "xfr/query.hpp"

#include <algorithm>
#include <string>

#include "dns/message.hpp"
#include "dns/records.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace satellite::xfr {

using dns::load16;

std::vector<std::uint8_t> QueryClient::request(std::uint16_t id, std::int64_t now) {
    id_ = id;
    std::vector<std::uint8_t> m;
    m.reserve(dns::kHeaderLen + qname_.size() + 4 + dns::kExpireOptLen);
    auto put16 = [&](std::uint16_t v) {
        m.push_back(static_cast<std::uint8_t>(v >> 8));
        m.push_back(static_cast<std::uint8_t>(v));
    };
    put16(id);
    put16(0);  // a query, RD clear
    put16(1);  // QDCOUNT
    put16(0);
    put16(0);
    put16(0);  // ARCOUNT: the OPT below counts itself
    m.insert(m.end(), qname_.data(), qname_.data() + qname_.size());
    put16(qtype_);
    put16(dns::rrclass::IN);
    if (ask_expire_) {
        dns::append_expire_opt(m, dns::kEdnsDo);
    } else {
        // RFC 6891 OPT: root owner, payload 1232, DO (RFC 3225).
        m.push_back(0);
        put16(dns::type::OPT);
        put16(1232);
        put16(0);
        put16(dns::kEdnsDo);
        put16(0);
        dns::store16(m.data() + 10, 1);
    }
    if (key_) verifier_.emplace(*key_, dns::tsig_sign(m, *key_, now));
    return m;
}

Result<QueryClient::Step> QueryClient::consume(std::span<const std::uint8_t> msg, std::int64_t now) {
    if (msg.size() < dns::kHeaderLen) return make_error("short response");
    const std::uint8_t* h = msg.data();
    if (load16(h) != id_) return make_error("response ID does not match the query");
    const std::uint16_t flags = load16(h + 2);
    if (verifier_) {
        if (auto s = verifier_->verify(msg, now); !s) return make_error("TSIG: " + s.error().message);
    }
    if (!(flags & dns::flag::QR)) return make_error("got a query, not a response");
    if (flags & dns::flag::TC) return make_error("truncated response over TCP");
    const unsigned rcode = flags & 0xf;
    if (rcode != dns::rcode::NOERROR && rcode != dns::rcode::NXDOMAIN) {
        return make_error("answered rcode " + std::to_string(rcode));
    }
    aa_ = (flags & dns::flag::AA) != 0;
    expire_ = dns::response_expire(msg);
    const unsigned qd = load16(h + 4), an = load16(h + 6), ns = load16(h + 8);
    if (qd != 1) return make_error("response does not carry our question");
    std::size_t pos = dns::kHeaderLen;
    std::uint8_t name[dns::kMaxNameLen];
    std::size_t name_len = 0;
    pos = dns::read_name(msg, pos, name, &name_len);
    if (pos == 0 || pos + 4 > msg.size()) return make_error("malformed question");
    if (!dns::wire_name::equal_ci(name, qname_.data()) || load16(msg.data() + pos) != qtype_) {
        return make_error("response is for another question");
    }
    pos += 4;
    rdatas_.clear();
    ttl_ = 0;
    records_ = {};
    records_.rcode = rcode;
    for (unsigned i = 0; i < an + ns; ++i) {
        const char* section = i < an ? "answer" : "authority";
        pos = dns::read_name(msg, pos, name, &name_len);
        if (pos == 0 || pos + 10 > msg.size()) return make_error(std::string("malformed ") + section + " record");
        const std::uint16_t type = load16(msg.data() + pos), rclass = load16(msg.data() + pos + 2);
        const std::uint32_t ttl = dns::load32(msg.data() + pos + 4);
        const std::size_t rdlen = load16(msg.data() + pos + 8);
        pos += 10;
        if (pos + rdlen > msg.size()) return make_error(std::string(section) + " record runs past the message");
        const auto rd_begin = msg.begin() + static_cast<std::ptrdiff_t>(pos);
        const auto rd_end = rd_begin + static_cast<std::ptrdiff_t>(rdlen);
        if (i < an && type == qtype_ && rclass == dns::rrclass::IN && dns::wire_name::equal_ci(name, qname_.data())) {
            ttl_ = std::max(ttl_, ttl);
            rdatas_.emplace_back(rd_begin, rd_end);
            if (type == dns::type::SOA) {
                // SOA RDATA names may be compressed (RFC 1035 §4.1.4): the serial follows them.
                std::vector<std::uint8_t> rd;
                if (!dns::decompress_rdata(type, msg, pos, rdlen, rd)) return make_error("malformed SOA RDATA");
                const std::size_t a = dns::wire_name::length(rd.data(), rd.size());
                const std::size_t b = a ? dns::wire_name::length(rd.data() + a, rd.size() - a) : 0;
                if (!a || !b || a + b + 20 != rd.size()) return make_error("malformed SOA RDATA");
                soa_serial_ = dns::load32(rd.data() + a + b);
            }
        }
        // The DNSSEC types' RDATA names are never compressed (RFC 4034
        // §3.1.7, §4.1.1), so their RDATA is usable as it came.
        auto& list = i < an ? records_.answer : records_.authority;
        list.push_back({std::vector<std::uint8_t>(name, name + name_len), type, rclass, ttl,
                        std::vector<std::uint8_t>(rd_begin, rd_end)});
        pos += rdlen;
    }
    return Step::Done;
}

}  // namespace satellite::xfr
