// DNS cookies: SipHash-2-4 against its reference vector, RFC 9018
// Appendix A's server cookies byte for byte (IPv4, IPv6, a rolled-over
// secret), the RFC 7873 §5.2 classification (lengths, time window, wrong
// secret or address), the responses cookies make on their own (FORMERR,
// BADCOOKIE, §5.4's empty question), and answer() carrying the option
// without allocating.
#include "serve/cookie.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include "../dns/test_packet.hpp"
#include "alloc_count.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"
#include "dns/zonefile.hpp"
#include "serve/answer.hpp"
#include "zone/snapshot.hpp"

namespace satellite::serve {
namespace {

using satellite::testing::Bytes;

std::vector<std::uint8_t> hex(const std::string& text) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2) out.push_back(std::stoi(text.substr(i, 2), nullptr, 16));
    return out;
}

std::string to_hex(std::span<const std::uint8_t> b) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (auto c : b) {
        s += d[c >> 4];
        s += d[c & 15];
    }
    return s;
}

CookieSecret secret(const std::string& text) { return *parse_cookie_secret(text); }

struct Client {
    sockaddr_storage ss{};
    const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
};

Client client(const std::string& address) {
    Client c;
    if (address.find(':') == std::string::npos) {
        auto* in = reinterpret_cast<sockaddr_in*>(&c.ss);
        in->sin_family = AF_INET;
        inet_pton(AF_INET, address.c_str(), &in->sin_addr);
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&c.ss);
        in6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr);
    }
    return c;
}

// A query for `name` A with EDNS and a COOKIE option holding `cookie`
// (qdcount 0: no question, RFC 7873 §5.4).
std::vector<std::uint8_t> query(const std::vector<std::uint8_t>& cookie, const std::string& name = "example.com.",
                                bool do_bit = false, std::uint16_t qtype = dns::type::A) {
    Bytes b;
    b.header(0x1234, dns::flag::RD, name.empty() ? 0 : 1, 0, 0, 1);
    if (!name.empty()) b.name(name).u16(qtype).u16(dns::rrclass::IN);
    b.u8(0).u16(dns::type::OPT).u16(4096).u8(0).u8(0).u16(do_bit ? dns::kEdnsDo : 0);
    b.u16(static_cast<std::uint16_t>(4 + cookie.size())).u16(kOptionCookie).u16(static_cast<std::uint16_t>(cookie.size()));
    b.raw(cookie);
    return b.v;
}

// The COOKIE option data of a response's OPT record ("" when none), and its extended rcode.
struct Seen {
    std::string cookie;
    unsigned rcode = 0;
    bool has_opt = false;
    unsigned qdcount = 0, ancount = 0;
};

Seen inspect(std::span<const std::uint8_t> r) {
    Seen s;
    if (r.size() < 12) return s;
    s.qdcount = dns::load16(r.data() + 4);
    s.ancount = dns::load16(r.data() + 6);
    s.rcode = r[3] & 0xf;
    std::size_t pos = 12;
    for (unsigned i = 0; i < s.qdcount; ++i) pos = dns::skip_name(r, pos) + 4;
    const unsigned total = s.ancount + dns::load16(r.data() + 8) + dns::load16(r.data() + 10);
    for (unsigned i = 0; i < total; ++i) {
        const std::size_t after = dns::skip_name(r, pos);
        const std::size_t next = after + 10 + dns::load16(r.data() + after + 8);
        if (dns::load16(r.data() + after) == dns::type::OPT) {
            s.has_opt = true;
            s.rcode |= unsigned(r[after + 4]) << 4;
            for (std::size_t o = after + 10; o + 4 <= next;) {
                const std::size_t len = dns::load16(r.data() + o + 2);
                if (dns::load16(r.data() + o) == kOptionCookie) s.cookie = to_hex(r.subspan(o + 4, len));
                o += 4 + len;
            }
        }
        pos = next;
    }
    return s;
}

TEST(CookieTest, SipHashReferenceVector) {
    // SipHash-2-4 paper, Appendix A: key 00..0f, message 00..0e.
    CookieEngine e;
    ASSERT_TRUE(e.usable());
    CookieSecret key;
    for (int i = 0; i < 16; ++i) key[i] = static_cast<std::uint8_t>(i);
    std::uint8_t msg[15];
    for (int i = 0; i < 15; ++i) msg[i] = static_cast<std::uint8_t>(i);
    std::uint8_t out[8];
    ASSERT_TRUE(e.siphash(key, msg, out));
    EXPECT_EQ(to_hex(out), "e545be4961ca29a1");
}

// RFC 9018 Appendix A: the server cookies, byte for byte.
TEST(CookieTest, Rfc9018ServerCookies) {
    CookieEngine e;
    const std::uint8_t zero[3] = {0, 0, 0};
    std::uint8_t out[16];
    const auto v4 = hex("c6336464");  // 198.51.100.100
    ASSERT_TRUE(e.server_cookie(secret("e5e973e5a6b2a43f48e7dc849e37bfcf"), hex("2464c4abcf10c957").data(), zero,
                                1559731985, v4, out));
    EXPECT_EQ(to_hex(out), "010000005cf79f111f8130c3eee29480");  // A.1
    ASSERT_TRUE(e.server_cookie(secret("e5e973e5a6b2a43f48e7dc849e37bfcf"), hex("2464c4abcf10c957").data(), zero,
                                1559734385, v4, out));
    EXPECT_EQ(to_hex(out), "010000005cf7a871d4a564a1442aca77");  // A.2
    ASSERT_TRUE(e.server_cookie(secret("e5e973e5a6b2a43f48e7dc849e37bfcf"), hex("fc93fc62807ddb86").data(), zero,
                                1559734700, hex("cb0071cb"), out));
    EXPECT_EQ(to_hex(out), "010000005cf7a9acf73a7810aca2381e");  // A.3's reply
    const std::uint8_t reserved[3] = {0xab, 0xcd, 0xef};
    ASSERT_TRUE(e.server_cookie(secret("e5e973e5a6b2a43f48e7dc849e37bfcf"), hex("fc93fc62807ddb86").data(), reserved,
                                1559727985, hex("cb0071cb"), out));
    EXPECT_EQ(to_hex(out), "01abcdef5cf78f71a314227b6679ebf5");  // A.3's query: reserved bytes are hashed
    const auto v6 = hex("20010db80220000159ded0f4876982b8");   // 2001:db8:220:1:59de:d0f4:8769:82b8
    ASSERT_TRUE(e.server_cookie(secret("dd3bdf9344b678b185a6f5cb60fca715"), hex("22681ab97d52c298").data(), zero,
                                1559741817, v6, out));
    EXPECT_EQ(to_hex(out), "010000005cf7c57926556bd0934c72f8");  // A.4's query, old secret
    ASSERT_TRUE(e.server_cookie(secret("445536bcd2513298075a5d379663c962"), hex("22681ab97d52c298").data(), zero,
                                1559741961, v6, out));
    EXPECT_EQ(to_hex(out), "010000005cf7c609a6bb79d16625507a");  // A.4's reply, new secret
}

// The same examples through check(): what each query's cookie is and
// the option the response carries.
TEST(CookieTest, Rfc9018ExchangesThroughCheck) {
    CookieEngine e;
    const CookieSecrets s{secret("e5e973e5a6b2a43f48e7dc849e37bfcf"), std::nullopt};
    const auto c = client("198.51.100.100");
    auto a1 = e.check(query(hex("2464c4abcf10c957")), c.sa(), 1559731985, s);
    EXPECT_EQ(a1.status, CookieStatus::ClientOnly);
    EXPECT_EQ(to_hex(a1.response_option()), "000a0018" "2464c4abcf10c957010000005cf79f111f8130c3eee29480");

    // A.2, 40 minutes later: valid, and re-issued (older than half an hour).
    auto a2 = e.check(query(hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480")), c.sa(), 1559734385, s);
    EXPECT_EQ(a2.status, CookieStatus::Valid);
    EXPECT_EQ(to_hex(a2.response_option()), "000a0018" "2464c4abcf10c957010000005cf7a871d4a564a1442aca77");

    // Ten minutes after it was issued: valid, and sent back as it came.
    auto young = e.check(query(hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480")), c.sa(), 1559732585, s);
    EXPECT_EQ(young.status, CookieStatus::Valid);
    EXPECT_EQ(to_hex(young.response_option()), "000a0018" "2464c4abcf10c957010000005cf79f111f8130c3eee29480");

    // A.3: reserved bytes set, still valid (here within the hour); the reply's are zero.
    const auto c3 = client("203.0.113.203");
    auto a3 = e.check(query(hex("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5")), c3.sa(), 1559727985 + 600, s);
    EXPECT_EQ(a3.status, CookieStatus::Valid);
    EXPECT_EQ(to_hex(a3.response_option()).substr(24, 8), "01000000");
    // At A.3's own reply time it is 1 h 52 min old: past RFC 9018 §4.3's
    // hour, so invalid; the reply's cookie is the one the RFC shows.
    auto a3late = e.check(query(hex("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5")), c3.sa(), 1559734700, s);
    EXPECT_EQ(a3late.status, CookieStatus::Invalid);
    EXPECT_EQ(to_hex(a3late.response_option()), "000a0018" "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e");

    // A.4: IPv6, made with the previous secret, validated during the rollover, re-issued with the new one.
    const CookieSecrets rolled{secret("445536bcd2513298075a5d379663c962"), secret("dd3bdf9344b678b185a6f5cb60fca715")};
    const auto c4 = client("2001:db8:220:1:59de:d0f4:8769:82b8");
    auto a4 = e.check(query(hex("22681ab97d52c298010000005cf7c57926556bd0934c72f8")), c4.sa(), 1559741961, rolled);
    EXPECT_EQ(a4.status, CookieStatus::Valid);
    EXPECT_EQ(to_hex(a4.response_option()), "000a0018" "22681ab97d52c298010000005cf7c609a6bb79d16625507a");
    // Without the previous secret the same cookie is not ours.
    const CookieSecrets only_new{secret("445536bcd2513298075a5d379663c962"), std::nullopt};
    EXPECT_EQ(e.check(query(hex("22681ab97d52c298010000005cf7c57926556bd0934c72f8")), c4.sa(), 1559741961, only_new)
                  .status,
              CookieStatus::Invalid);
}

TEST(CookieTest, InvalidServerCookies) {
    CookieEngine e;
    const CookieSecrets s{secret("e5e973e5a6b2a43f48e7dc849e37bfcf"), std::nullopt};
    const auto c = client("198.51.100.100");
    const auto good = hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480");
    const std::uint32_t issued = 1559731985;
    EXPECT_EQ(e.check(query(good), c.sa(), issued + 3600, s).status, CookieStatus::Valid);
    EXPECT_EQ(e.check(query(good), c.sa(), issued + 3601, s).status, CookieStatus::Invalid);  // older than an hour
    EXPECT_EQ(e.check(query(good), c.sa(), issued - 300, s).status, CookieStatus::Valid);     // 5 min skew
    EXPECT_EQ(e.check(query(good), c.sa(), issued - 301, s).status, CookieStatus::Invalid);
    EXPECT_EQ(e.check(query(good), client("198.51.100.101").sa(), issued, s).status, CookieStatus::Invalid);
    const CookieSecrets other{secret("00000000000000000000000000000001"), std::nullopt};
    EXPECT_EQ(e.check(query(good), c.sa(), issued, other).status, CookieStatus::Invalid);
    auto changed_client = good;
    changed_client[0] ^= 1;
    EXPECT_EQ(e.check(query(changed_client), c.sa(), issued, s).status, CookieStatus::Invalid);
    auto version2 = good;
    version2[8] = 2;
    EXPECT_EQ(e.check(query(version2), c.sa(), issued, s).status, CookieStatus::Invalid);
    // Another length of server cookie (8..32 octets are legal): not one of ours.
    auto short_server = hex("2464c4abcf10c957" "0102030405060708");
    auto r = e.check(query(short_server), c.sa(), issued, s);
    EXPECT_EQ(r.status, CookieStatus::Invalid);
    EXPECT_EQ(r.option_len, 28);  // a fresh cookie still goes back
}

// RFC 7873 §5.2.2: valid lengths are 8 and 16 to 40; a second COOKIE option is ignored.
TEST(CookieTest, LengthsAndFirstOptionOnly) {
    CookieEngine e;
    const CookieSecrets s{secret("e5e973e5a6b2a43f48e7dc849e37bfcf"), std::nullopt};
    const auto c = client("192.0.2.7");
    for (std::size_t len = 0; len <= 48; ++len) {
        auto r = e.check(query(std::vector<std::uint8_t>(len, 0x5a)), c.sa(), 1000, s);
        const bool legal = len == 8 || (len >= 16 && len <= 40);
        EXPECT_EQ(r.status == CookieStatus::Malformed, !legal) << len;
        if (!legal) {
            EXPECT_EQ(r.option_len, 0) << len;
        }
    }
    // Two COOKIE options: the first (malformed) decides.
    Bytes b;
    b.header(1, 0, 1, 0, 0, 1).name("example.com.").u16(1).u16(1);
    b.u8(0).u16(dns::type::OPT).u16(1232).u32(0).u16(4 + 3 + 4 + 8);
    b.u16(kOptionCookie).u16(3).u8(1).u8(2).u8(3);
    b.u16(kOptionCookie).u16(8).raw(hex("0102030405060708"));
    EXPECT_EQ(e.check(b.v, c.sa(), 1000, s).status, CookieStatus::Malformed);
    // No EDNS, no COOKIE, a malformed OPT (left to answer()'s FORMERR): None.
    Bytes plain;
    plain.header(1, 0, 1, 0, 0, 0).name("example.com.").u16(1).u16(1);
    EXPECT_EQ(e.check(plain.v, c.sa(), 1000, s).status, CookieStatus::None);
    auto overrun = query(hex("0102030405060708"));
    overrun[overrun.size() - 9] = 40;  // the option claims 40 octets, the RDATA holds 8
    EXPECT_EQ(e.check(overrun, c.sa(), 1000, s).status, CookieStatus::None);
}

TEST(CookieTest, ResponsesOfTheirOwn) {
    CookieEngine e;
    const CookieSecrets s{secret("e5e973e5a6b2a43f48e7dc849e37bfcf"), std::nullopt};
    const auto c = client("198.51.100.100");
    std::vector<std::uint8_t> out(1232);

    // BADCOOKIE: the question echoed, RCODE 23 split between header and OPT, our cookie.
    auto q = query(hex("2464c4abcf10c957"), "example.com.", true);
    auto ck = e.check(q, c.sa(), 1559731985, s);
    std::size_t n = cookie_response(q, ck, kRcodeBadCookie, 1232, out);
    ASSERT_GT(n, 0u);
    auto seen = inspect({out.data(), n});
    EXPECT_EQ(seen.rcode, 23u);
    EXPECT_EQ(seen.qdcount, 1u);
    EXPECT_EQ(seen.ancount, 0u);
    EXPECT_EQ(seen.cookie, "2464c4abcf10c957010000005cf79f111f8130c3eee29480");
    EXPECT_EQ(out[0], 0x12);
    EXPECT_EQ(out[1], 0x34);
    EXPECT_TRUE(out[2] & 0x80);  // QR
    EXPECT_TRUE(out[2] & 0x01);  // RD copied

    // RFC 7873 §5.4: QDCOUNT 0 asking for a cookie.
    auto empty = query(hex("2464c4abcf10c957"), "");
    auto ek = e.check(empty, c.sa(), 1559731985, s);
    EXPECT_TRUE(ek.empty_question);
    EXPECT_EQ(ek.status, CookieStatus::ClientOnly);
    n = cookie_response(empty, ek, dns::rcode::NOERROR, 1232, out);
    seen = inspect({out.data(), n});
    EXPECT_EQ(seen.qdcount, 0u);
    EXPECT_EQ(seen.rcode, 0u);
    EXPECT_EQ(seen.cookie.size(), 48u);

    // FORMERR for a malformed cookie: an OPT, no cookie.
    auto bad = query(hex("010203"));
    auto bk = e.check(bad, c.sa(), 1559731985, s);
    n = cookie_response(bad, bk, dns::rcode::FORMERR, 1232, out);
    seen = inspect({out.data(), n});
    EXPECT_EQ(seen.rcode, unsigned(dns::rcode::FORMERR));
    EXPECT_TRUE(seen.has_opt);
    EXPECT_EQ(seen.cookie, "");

    // Too small a buffer: nothing written.
    std::vector<std::uint8_t> tiny(20);
    EXPECT_EQ(cookie_response(q, ck, kRcodeBadCookie, 1232, tiny), 0u);
}

zone::ServedZone served(const std::string& origin, const std::string& text) {
    auto o = dns::Name::from_text(origin);
    auto recs = dns::parse_records(text, *o);
    auto snap = zone::build_snapshot(*o, *recs);
    zone::ServedZone z;
    z.origin = *o;
    z.snapshot = *snap;
    return z;
}

// answer() carries the cookie in its OPT record, keeps room for it in a
// full UDP response, and neither check() nor answer() allocates.
TEST(CookieTest, AnswerCarriesTheCookieWithoutAllocating) {
    std::string text =
        "example.com. 60 IN SOA ns.example.com. h.example.com. 1 3600 600 86400 60\n"
        "example.com. 60 IN NS ns.example.com.\n"
        "example.com. 60 IN A 192.0.2.1\n";
    for (int i = 0; i < 40; ++i) text += "big.example.com. 60 IN TXT \"" + std::string(40, 'a' + i % 26) + "\"\n";
    std::vector<zone::ServedZone> zones;
    zones.push_back(served("example.com.", text));
    const zone::Catalog cat(std::move(zones));

    CookieEngine e;
    const CookieSecrets s{secret("e5e973e5a6b2a43f48e7dc849e37bfcf"), std::nullopt};
    const auto c = client("198.51.100.100");
    AnswerOptions opt;
    std::vector<std::uint8_t> out(opt.udp_max_payload);
    auto q = query(hex("2464c4abcf10c957"));
    auto big = query(hex("2464c4abcf10c957"), "big.example.com.", false, dns::type::TXT);
    std::vector<std::uint8_t> out2(opt.udp_max_payload);

    e.check(q, c.sa(), 1559731985, s);  // warm-up
    satellite::testing::start_counting_allocs();
    auto ck = e.check(q, c.sa(), 1559731985, s);
    opt.edns_option = ck.response_option();
    std::size_t n = answer(cat, q, Transport::Udp, opt, out);
    auto bk = e.check(big, c.sa(), 1559731985, s);
    opt.edns_option = bk.response_option();
    std::size_t n2 = answer(cat, big, Transport::Udp, opt, out2);
    EXPECT_EQ(satellite::testing::stop_counting_allocs(), 0u);
    ASSERT_GT(n, 0u);
    auto seen = inspect({out.data(), n});
    EXPECT_EQ(seen.ancount, 1u);
    EXPECT_EQ(seen.cookie, "2464c4abcf10c957010000005cf79f111f8130c3eee29480");

    // 40 TXT records of 52 octets do not fit 1232: TC, and the cookie still there.
    ASSERT_GT(n2, 0u);
    EXPECT_LE(n2, 1232u);
    seen = inspect({out2.data(), n2});
    EXPECT_TRUE(out2[2] & 0x02) << "TC";
    EXPECT_EQ(seen.cookie.size(), 48u);
}

}  // namespace
}  // namespace satellite::serve
