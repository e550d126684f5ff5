// Test-only DNS packet helpers: craft queries byte by byte and decode whole
// responses (every section, names decompressed with dns::read_name), so the
// serve tests and the fuzz target judge answers without ldns.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace satellite::testing {

// Appends big-endian integers and names to a byte vector.
struct Bytes {
    std::vector<std::uint8_t> v;

    Bytes& u8(std::uint8_t x) {
        v.push_back(x);
        return *this;
    }
    Bytes& u16(std::uint16_t x) {
        v.push_back(static_cast<std::uint8_t>(x >> 8));
        v.push_back(static_cast<std::uint8_t>(x));
        return *this;
    }
    Bytes& u32(std::uint32_t x) {
        u16(static_cast<std::uint16_t>(x >> 16));
        return u16(static_cast<std::uint16_t>(x));
    }
    Bytes& raw(std::span<const std::uint8_t> b) {
        v.insert(v.end(), b.begin(), b.end());
        return *this;
    }
    // An absolute name in presentation form, written uncompressed.
    Bytes& name(const std::string& text) {
        auto n = dns::Name::from_text(text);
        if (!n) throw std::runtime_error("bad test name " + text + ": " + n.error().message);
        return raw(n->wire());
    }
    Bytes& header(std::uint16_t id, std::uint16_t flags, std::uint16_t qd, std::uint16_t an,
                  std::uint16_t ns, std::uint16_t ar) {
        return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
    }
    // An OPT pseudo-record (RFC 6891 §6.1.2) with empty RDATA.
    Bytes& opt(std::uint16_t payload, std::uint8_t version = 0, bool do_bit = false,
               std::uint8_t ext_rcode = 0) {
        u8(0).u16(dns::type::OPT).u16(payload);
        u8(ext_rcode).u8(version).u16(do_bit ? dns::kEdnsDo : 0);
        return u16(0);
    }
};

struct QuerySpec {
    std::string name;
    std::uint16_t qtype = dns::type::A;
    std::uint16_t qclass = dns::rrclass::IN;
    std::uint16_t id = 0x4242;
    std::uint16_t flags = 0;  // header flags word (opcode bits included)
    bool edns = false;
    std::uint16_t payload = 1232;
    std::uint8_t edns_version = 0;
    bool do_bit = false;
};

inline std::vector<std::uint8_t> make_query(const QuerySpec& s) {
    Bytes b;
    b.header(s.id, s.flags, 1, 0, 0, s.edns ? 1 : 0);
    b.name(s.name).u16(s.qtype).u16(s.qclass);
    if (s.edns) b.opt(s.payload, s.edns_version, s.do_bit);
    return b.v;
}

struct Rr {
    std::string owner;  // presentation, case as sent
    std::uint16_t type = 0;
    std::uint16_t rclass = 0;
    std::uint32_t ttl = 0;
    std::uint16_t rdlength = 0;
    std::string data;  // RDATA in a simple presentation form, names decompressed
};

struct Decoded {
    std::uint16_t id = 0;
    std::uint16_t flags = 0;
    std::uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
    std::string qname;
    std::uint16_t qtype = 0, qclass = 0;
    std::vector<Rr> answer, authority, additional;  // additional excludes OPT
    bool has_opt = false;
    std::uint16_t opt_payload = 0;
    std::uint8_t opt_ext_rcode = 0;
    std::uint8_t opt_version = 0;
    bool opt_do = false;
    unsigned opt_count = 0;

    bool qr() const { return flags & dns::flag::QR; }
    bool aa() const { return flags & dns::flag::AA; }
    bool tc() const { return flags & dns::flag::TC; }
    bool rd() const { return flags & dns::flag::RD; }
    bool ra() const { return flags & dns::flag::RA; }
    bool cd() const { return flags & dns::flag::CD; }
    std::uint8_t opcode() const { return static_cast<std::uint8_t>((flags >> 11) & 0xf); }
    // The full (extended) rcode.
    unsigned rcode() const { return (unsigned(opt_ext_rcode) << 4) | (flags & 0xf); }
};

namespace detail {

inline std::string hex(const std::uint8_t* p, std::size_t n) {
    std::string s;
    char b[3];
    for (std::size_t i = 0; i < n; ++i) {
        std::snprintf(b, sizeof b, "%02x", p[i]);
        s += b;
    }
    return s;
}

class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> msg) : m_(msg) {}
    std::size_t pos = 0;
    std::string error;

    bool fail(const std::string& why) {
        if (error.empty()) error = why + " at offset " + std::to_string(pos);
        return false;
    }
    bool need(std::size_t n) { return pos + n <= m_.size() || fail("truncated"); }
    bool u16(std::uint16_t& x) {
        if (!need(2)) return false;
        x = dns::load16(m_.data() + pos);
        pos += 2;
        return true;
    }
    bool u32(std::uint32_t& x) {
        if (!need(4)) return false;
        x = dns::load32(m_.data() + pos);
        pos += 4;
        return true;
    }
    // A possibly compressed name, as presentation text.
    bool name(std::string& out, std::size_t limit) {
        std::uint8_t buf[dns::kMaxNameLen];
        std::size_t len = 0;
        std::size_t next = dns::read_name(m_.subspan(0, limit), pos, buf, &len);
        if (next == 0) return fail("bad name");
        out = dns::wire_name::to_string(buf);
        pos = next;
        return true;
    }

    bool rdata(Rr& rr) {
        const std::size_t end = pos + rr.rdlength;
        if (end > m_.size()) return fail("RDATA past the end");
        const std::uint8_t* p = m_.data() + pos;
        std::string s;
        auto want_end = [&]() { return pos == end || fail("RDATA length mismatch"); };
        switch (rr.type) {
            case dns::type::A:
                if (rr.rdlength != 4) return fail("A with RDLENGTH " + std::to_string(rr.rdlength));
                rr.data = std::to_string(p[0]) + "." + std::to_string(p[1]) + "." +
                          std::to_string(p[2]) + "." + std::to_string(p[3]);
                pos = end;
                return true;
            case dns::type::AAAA: {
                if (rr.rdlength != 16) return fail("AAAA with bad RDLENGTH");
                char b[INET6_ADDRSTRLEN];
                inet_ntop(AF_INET6, p, b, sizeof b);
                rr.data = b;
                pos = end;
                return true;
            }
            case dns::type::NS:
            case dns::type::CNAME:
            case dns::type::PTR:
            case dns::type::DNAME:
                if (!name(rr.data, end)) return false;
                return want_end();
            case dns::type::MX: {
                std::uint16_t pref;
                if (!u16(pref) || !name(s, end)) return false;
                rr.data = std::to_string(pref) + " " + s;
                return want_end();
            }
            case dns::type::SRV: {
                std::uint16_t prio, weight, port;
                if (!u16(prio) || !u16(weight) || !u16(port) || !name(s, end)) return false;
                rr.data = std::to_string(prio) + " " + std::to_string(weight) + " " +
                          std::to_string(port) + " " + s;
                return want_end();
            }
            case dns::type::SOA: {
                std::string rname;
                std::uint32_t f[5];
                if (!name(s, end) || !name(rname, end)) return false;
                for (auto& x : f) {
                    if (pos + 4 > end) return fail("short SOA");
                    u32(x);
                }
                rr.data = s + " " + rname;
                for (auto x : f) rr.data += " " + std::to_string(x);
                return want_end();
            }
            case dns::type::TXT: {
                while (pos < end) {
                    std::uint8_t l = m_[pos];
                    if (pos + 1 + l > end) return fail("TXT string past RDATA");
                    if (!rr.data.empty()) rr.data += ' ';
                    rr.data += '"';
                    rr.data.append(reinterpret_cast<const char*>(m_.data() + pos + 1), l);
                    rr.data += '"';
                    pos += 1 + l;
                }
                return true;
            }
            default:
                rr.data = hex(p, rr.rdlength);
                pos = end;
                return true;
        }
    }

private:
    std::span<const std::uint8_t> m_;
};

}  // namespace detail

// Decodes a whole response; nullopt (with `error` set) if anything in it is
// malformed, including bytes left over after the last record.
inline std::optional<Decoded> decode(std::span<const std::uint8_t> msg,
                                     std::string* error = nullptr) {
    Decoded d;
    detail::Reader r(msg);
    auto bad = [&]() -> std::optional<Decoded> {
        if (error) *error = r.error;
        return std::nullopt;
    };
    if (!r.u16(d.id) || !r.u16(d.flags) || !r.u16(d.qdcount) || !r.u16(d.ancount) ||
        !r.u16(d.nscount) || !r.u16(d.arcount)) {
        return bad();
    }
    if (d.qdcount > 1) {
        r.fail("qdcount " + std::to_string(d.qdcount));
        return bad();
    }
    if (d.qdcount == 1) {
        if (!r.name(d.qname, msg.size()) || !r.u16(d.qtype) || !r.u16(d.qclass)) return bad();
    }
    std::vector<Rr>* sections[3] = {&d.answer, &d.authority, &d.additional};
    std::uint16_t counts[3] = {d.ancount, d.nscount, d.arcount};
    for (int s = 0; s < 3; ++s) {
        for (unsigned i = 0; i < counts[s]; ++i) {
            Rr rr;
            std::size_t owner_at = r.pos;
            if (!r.name(rr.owner, msg.size()) || !r.u16(rr.type) || !r.u16(rr.rclass) ||
                !r.u32(rr.ttl) || !r.u16(rr.rdlength)) {
                return bad();
            }
            if (rr.type == dns::type::OPT) {
                if (s != 2 || msg[owner_at] != 0) {
                    r.fail("OPT outside the additional section or not at the root");
                    return bad();
                }
                ++d.opt_count;
                d.has_opt = true;
                d.opt_payload = rr.rclass;
                d.opt_ext_rcode = static_cast<std::uint8_t>(rr.ttl >> 24);
                d.opt_version = static_cast<std::uint8_t>(rr.ttl >> 16);
                d.opt_do = (rr.ttl & dns::kEdnsDo) != 0;
                if (!r.need(rr.rdlength)) return bad();
                r.pos += rr.rdlength;
                continue;
            }
            if (!r.rdata(rr)) return bad();
            sections[s]->push_back(std::move(rr));
        }
    }
    if (r.pos != msg.size()) {
        r.fail(std::to_string(msg.size() - r.pos) + " trailing bytes");
        return bad();
    }
    return d;
}

// Records of one type in a section.
inline std::vector<Rr> of_type(const std::vector<Rr>& section, std::uint16_t type) {
    std::vector<Rr> out;
    for (const auto& rr : section) {
        if (rr.type == type) out.push_back(rr);
    }
    return out;
}

}  // namespace satellite::testing
