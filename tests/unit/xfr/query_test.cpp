// The control side's one-question client: the query it writes (EDNS0, DO)
// and what it takes from a response (the asked RRset only), and the
// responses it refuses.
#include <gtest/gtest.h>

#include "dns/message.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"
#include "xfr/query.hpp"

namespace satellite::xfr {
namespace {

using Bytes = std::vector<std::uint8_t>;

void put16(Bytes& m, std::uint16_t v) {
    m.push_back(static_cast<std::uint8_t>(v >> 8));
    m.push_back(static_cast<std::uint8_t>(v));
}

// A response to `query`: the question copied, then `answers` records.
Bytes respond(const Bytes& query, std::uint16_t flags, const std::vector<Bytes>& answers) {
    const std::size_t question_end = 12 + (query.size() - 12 - 11);  // less the OPT record
    Bytes m(query.begin(), query.begin() + static_cast<std::ptrdiff_t>(question_end));
    m[2] = static_cast<std::uint8_t>(flags >> 8);
    m[3] = static_cast<std::uint8_t>(flags);
    m[6] = 0;
    m[7] = static_cast<std::uint8_t>(answers.size());
    m[10] = m[11] = 0;
    for (const auto& a : answers) m.insert(m.end(), a.begin(), a.end());
    return m;
}

// owner as a pointer to the question name (offset 12) or given in full.
Bytes record(const Bytes& owner, std::uint16_t type, const Bytes& rdata) {
    Bytes r = owner;
    put16(r, type);
    put16(r, 1);
    put16(r, 0);
    put16(r, 300);
    put16(r, static_cast<std::uint16_t>(rdata.size()));
    r.insert(r.end(), rdata.begin(), rdata.end());
    return r;
}

const Bytes kToQuestion = {0xc0, 12};

TEST(QueryClient, AsksWithDoAndKeepsOnlyTheAskedRrset) {
    auto zone = *dns::Name::from_text("Ms.Test.");
    QueryClient c(zone, dns::type::DNSKEY);
    Bytes q = c.request(0x1234, 0);
    ASSERT_GE(q.size(), 12u + zone.size() + 4 + 11);
    EXPECT_EQ(q[0], 0x12);
    EXPECT_EQ(q[1], 0x34);
    EXPECT_EQ(q[2] & 0x01, 0);  // RD clear
    EXPECT_EQ(q[11], 1);        // ARCOUNT: the OPT record
    EXPECT_EQ(q[q.size() - 4] & 0x80, 0x80);  // DO

    const Bytes key1 = {1, 0, 3, 13, 0xaa, 0xbb}, key2 = {1, 1, 3, 13, 0xcc};
    const Bytes other = {3, 'w', 'w', 'w', 0xc0, 12};
    Bytes resp = respond(q, dns::flag::QR | dns::flag::AA,
                         {record(kToQuestion, dns::type::DNSKEY, key1),
                          record(kToQuestion, dns::type::RRSIG, {0, 48, 13, 2}),
                          record(other, dns::type::DNSKEY, {1, 0, 3, 13, 9}),
                          record(kToQuestion, dns::type::DNSKEY, key2)});
    auto step = c.consume(resp, 0);
    ASSERT_TRUE(step.ok()) << step.error().message;
    EXPECT_EQ(*step, QueryClient::Step::Done);
    EXPECT_TRUE(c.authoritative());
    EXPECT_EQ(c.ttl(), 300u);
    EXPECT_EQ(c.rdatas(), (std::vector<Bytes>{key1, key2}));
    // The whole answer section is kept too, for a validating caller.
    ASSERT_EQ(c.records().answer.size(), 4u);
    EXPECT_EQ(c.records().answer[1].type, dns::type::RRSIG);
    EXPECT_EQ(c.records().answer[2].owner, (Bytes{3, 'w', 'w', 'w', 2, 'M', 's', 4, 'T', 'e', 's', 't', 0}));
    EXPECT_TRUE(c.records().authority.empty());
}

// NODATA / NXDOMAIN: the authority section (SOA, NSEC, RRSIGs) is what
// proves the absence; it comes back whole, names decompressed.
TEST(QueryClient, KeepsTheAuthoritySectionOfADenial) {
    auto child = *dns::Name::from_text("c.test.");
    QueryClient c(child, dns::type::DS);
    Bytes q = c.request(7, 0);
    const Bytes nsec = {1, 'd', 4, 't', 'e', 's', 't', 0, 0, 1, 0x20};  // next d.test.; bitmap: NS
    Bytes resp = respond(q, dns::flag::QR | dns::flag::AA, {});
    resp[9] = 2;  // NSCOUNT
    auto add = [&](const Bytes& r) { resp.insert(resp.end(), r.begin(), r.end()); };
    add(record(kToQuestion, dns::type::NSEC, nsec));
    add(record(kToQuestion, dns::type::RRSIG, {0, 47, 13, 2}));
    ASSERT_TRUE(c.consume(resp, 0).ok());
    EXPECT_TRUE(c.rdatas().empty());
    EXPECT_EQ(c.records().rcode, 0u);
    ASSERT_EQ(c.records().authority.size(), 2u);
    EXPECT_EQ(c.records().authority[0].type, dns::type::NSEC);
    EXPECT_EQ(c.records().authority[0].owner, (Bytes{1, 'c', 4, 't', 'e', 's', 't', 0}));
    EXPECT_EQ(c.records().authority[0].ttl, 300u);
    // RDATA is kept as it came (DNSSEC types carry no compression pointers).
    EXPECT_EQ(c.records().authority[0].rdata, nsec);
    EXPECT_EQ(c.records().authority[1].type, dns::type::RRSIG);
}

TEST(QueryClient, RefusesWhatIsNotAnAnswerToItsQuestion) {
    auto zone = *dns::Name::from_text("ms.test.");
    QueryClient c(zone, dns::type::DNSKEY);
    Bytes q = c.request(7, 0);
    auto fails = [&](Bytes resp, const std::string& why) {
        auto s = c.consume(resp, 0);
        if (s) return ::testing::AssertionFailure() << "accepted";
        if (s.error().message.find(why) == std::string::npos) return ::testing::AssertionFailure() << s.error().message;
        return ::testing::AssertionSuccess();
    };
    Bytes ok = respond(q, dns::flag::QR, {record(kToQuestion, dns::type::DNSKEY, {1, 0, 3, 13, 1})});
    Bytes wrong_id = ok;
    wrong_id[1] ^= 1;
    EXPECT_TRUE(fails(wrong_id, "ID"));
    EXPECT_TRUE(fails(respond(q, 0, {}), "not a response"));
    EXPECT_TRUE(fails(respond(q, dns::flag::QR | dns::rcode::REFUSED, {}), "rcode 5"));
    EXPECT_TRUE(fails(respond(q, dns::flag::QR | dns::flag::TC, {}), "truncated"));
    EXPECT_TRUE(fails(Bytes(ok.begin(), ok.end() - 1), "runs past"));
    EXPECT_TRUE(fails(Bytes(ok.begin(), ok.begin() + 5), "short"));
    QueryClient other(*dns::Name::from_text("other.test."), dns::type::DNSKEY);
    other.request(7, 0);
    auto s = other.consume(ok, 0);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("another question"), std::string::npos) << s.error().message;
}

// An OPT record (root owner) whose RDATA is `options`.
Bytes opt_record(const Bytes& options) {
    Bytes r = {0};
    put16(r, dns::type::OPT);
    put16(r, 1232);
    put16(r, 0);
    put16(r, 0);
    put16(r, static_cast<std::uint16_t>(options.size()));
    r.insert(r.end(), options.begin(), options.end());
    return r;
}

// RFC 7314: a secondary's SOA query carries EXPIRE (code 9, length 0) in its
// OPT record; the value in the response is read wherever the OPT sits
// after the answer, and anything malformed reads as "no EXPIRE".
TEST(EdnsExpire, SoaQueryAsksAndTheAnswerIsRead) {
    auto zone = *dns::Name::from_text("e.test.");
    QueryClient plain(zone, dns::type::SOA);
    Bytes p = plain.request(1, 0);
    QueryClient c(zone, dns::type::SOA);
    c.ask_expire();
    Bytes q = c.request(1, 0);
    ASSERT_EQ(q.size(), p.size() + 4);
    EXPECT_EQ(dns::load16(q.data() + 10), 1);                       // ARCOUNT: one OPT
    EXPECT_EQ(q[q.size() - 8] & 0x80, 0x80);                        // DO kept
    EXPECT_EQ(dns::load16(q.data() + q.size() - 6), 4);             // RDLEN: one empty option
    EXPECT_EQ(dns::load16(q.data() + q.size() - 4), dns::kEdnsExpire);
    EXPECT_EQ(dns::load16(q.data() + q.size() - 2), 0);

    const Bytes soa = {0, 0, 0, 0, 0, 7, 0, 0, 0, 60, 0, 0, 0, 60, 0, 0, 0x1e, 0x61, 0, 0, 0, 60};
    // A response to the query (its question is before the 15-byte OPT).
    auto respond_expire = [&](const Bytes& options) {
        Bytes m(q.begin(), q.end() - static_cast<std::ptrdiff_t>(dns::kExpireOptLen));
        m[2] = static_cast<std::uint8_t>((dns::flag::QR | dns::flag::AA) >> 8);
        m[3] = 0;
        m[7] = 1;
        m[11] = 1;
        Bytes a = record(kToQuestion, dns::type::SOA, soa);
        m.insert(m.end(), a.begin(), a.end());
        Bytes o = opt_record(options);
        m.insert(m.end(), o.begin(), o.end());
        return m;
    };
    ASSERT_TRUE(c.consume(respond_expire({0, 10, 0, 2, 1, 2, 0, 9, 0, 4, 0, 0, 0x1c, 0x20}), 0).ok());
    EXPECT_EQ(c.soa_serial(), 7u);
    EXPECT_EQ(c.expire(), 7200u);  // after another option (code 10, cookie-like)
    ASSERT_TRUE(c.consume(respond_expire({}), 0).ok());
    EXPECT_EQ(c.expire(), std::nullopt);
    ASSERT_TRUE(c.consume(respond_expire({0, 9, 0, 2, 0, 1}), 0).ok());  // length 2, not 4
    EXPECT_EQ(c.expire(), std::nullopt);
    ASSERT_TRUE(c.consume(respond_expire({0, 9, 0, 8, 0, 0, 0, 1}), 0).ok());  // runs past the RDATA
    EXPECT_EQ(c.expire(), std::nullopt);
    EXPECT_EQ(dns::response_expire(respond_expire({0, 9, 0, 4, 0xff, 0xff, 0xff, 0xff})), 0xffffffffu);
    Bytes cut = respond_expire({0, 9, 0, 4, 0, 0, 0, 1});
    cut.pop_back();
    EXPECT_EQ(dns::response_expire(cut), std::nullopt);
    EXPECT_EQ(dns::response_expire(Bytes(5, 0)), std::nullopt);
}

}  // namespace
}  // namespace satellite::xfr
