// TransferClient, TSIG streams, IXFR application and the on-disk zone copy.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

#include "dns/message.hpp"
#include "dns/tsig.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"
#include "dns/zonefile.hpp"
#include "xfr/transfer.hpp"
#include "zone/store.hpp"

namespace satellite {
namespace {

using xfr::TransferClient;
using xfr::TransferKind;

const dns::Name kZone = *dns::Name::from_text("example.com.");

dns::RecordList parse(const std::string& text) {
    auto r = dns::parse_records(text, kZone);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(*r) : dns::RecordList{};
}

std::string soa(unsigned serial) {
    return "example.com. 300 IN SOA ns1.example.com. host.example.com. " + std::to_string(serial) +
           " 3600 600 86400 300\n";
}

// A response message carrying `records` in the answer section (no compression).
std::vector<std::uint8_t> response(std::uint16_t id, const dns::RecordList& records,
                                   bool question = true, std::uint16_t qtype = dns::type::AXFR,
                                   std::uint16_t rcode = 0) {
    std::vector<std::uint8_t> m;
    auto put16 = [&](std::uint16_t v) {
        m.push_back(static_cast<std::uint8_t>(v >> 8));
        m.push_back(static_cast<std::uint8_t>(v));
    };
    put16(id);
    put16(static_cast<std::uint16_t>(0x8400 | rcode));
    put16(question ? 1 : 0);
    put16(static_cast<std::uint16_t>(records.size()));
    put16(0);
    put16(0);
    if (question) {
        m.insert(m.end(), kZone.data(), kZone.data() + kZone.size());
        put16(qtype);
        put16(1);
    }
    for (const auto& r : records.refs()) {
        m.insert(m.end(), records.owner(r), records.owner(r) + r.owner_len);
        put16(r.type);
        put16(r.rclass);
        put16(static_cast<std::uint16_t>(r.ttl >> 16));
        put16(static_cast<std::uint16_t>(r.ttl));
        put16(r.rdata_len);
        auto rd = records.rdata(r);
        m.insert(m.end(), rd.begin(), rd.end());
    }
    return m;
}

std::uint16_t request_id(TransferClient& c, std::int64_t now = 1000) {
    auto q = c.request(0x1234, now);
    return dns::load16(q.data());
}

TEST(Axfr, SingleMessage) {
    TransferClient c(kZone, TransferKind::Axfr, 0, nullptr);
    auto id = request_id(c);
    auto recs = parse(soa(7) + "example.com. 300 IN NS ns1.example.com.\nwww.example.com. 300 IN A 192.0.2.1\n" + soa(7));
    auto step = c.consume(response(id, recs), 1000);
    ASSERT_TRUE(step.ok()) << step.error().message;
    EXPECT_EQ(*step, TransferClient::Step::Done);
    EXPECT_EQ(c.outcome(), TransferClient::Outcome::Full);
    EXPECT_EQ(c.new_serial(), 7u);
    EXPECT_EQ(c.full().size(), 3u);  // the closing SOA is not repeated
}

TEST(Axfr, MultiMessageAndChecks) {
    TransferClient c(kZone, TransferKind::Axfr, 0, nullptr);
    auto id = request_id(c);
    auto first = c.consume(response(id, parse(soa(9) + "a.example.com. 60 IN A 192.0.2.1\n")), 1000);
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(*first, TransferClient::Step::More);
    auto second = c.consume(response(id, parse("b.example.com. 60 IN A 192.0.2.2\n" + soa(9)), false), 1000);
    ASSERT_TRUE(second.ok()) << second.error().message;
    EXPECT_EQ(*second, TransferClient::Step::Done);
    EXPECT_EQ(c.full().size(), 3u);
}

TEST(Axfr, AsksForEdnsExpireAndKeepsTheFirstValue) {
    for (auto kind : {TransferKind::Axfr, TransferKind::Ixfr}) {
        TransferClient c(kZone, kind, 5, nullptr);
        auto q = c.request(0x1234, 1000);
        // RFC 7314 §2: the OPT record is last (no TSIG), with one EXPIRE option.
        EXPECT_EQ(dns::load16(q.data() + 10), 1);
        ASSERT_GT(q.size(), dns::kExpireOptLen);
        EXPECT_EQ(dns::load16(q.data() + q.size() - dns::kExpireOptLen + 1), dns::type::OPT);
        EXPECT_EQ(dns::load16(q.data() + q.size() - 4), dns::kEdnsExpire);
    }
    TransferClient c(kZone, TransferKind::Axfr, 0, nullptr);
    auto id = request_id(c);
    auto with_expire = [](std::vector<std::uint8_t> m, std::uint32_t v) {
        const std::uint8_t opt[] = {0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 8, 0, 9, 0, 4,
                                    static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                                    static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
        m.insert(m.end(), opt, opt + sizeof opt);
        m[11] = 1;
        return m;
    };
    ASSERT_TRUE(c.consume(response(id, parse(soa(9) + "a.example.com. 60 IN A 192.0.2.1\n")), 1000).ok());
    EXPECT_EQ(c.expire(), std::nullopt);
    ASSERT_TRUE(c.consume(with_expire(response(id, parse("b.example.com. 60 IN A 192.0.2.2\n"), false), 600), 1000).ok());
    auto last = c.consume(with_expire(response(id, parse(soa(9)), false), 900), 1000);
    ASSERT_TRUE(last.ok()) << last.error().message;
    EXPECT_EQ(*last, TransferClient::Step::Done);
    EXPECT_EQ(c.expire(), 600u);
    EXPECT_EQ(c.full().size(), 3u);  // the OPT is not zone data
}

TEST(Axfr, ProgressCountsRecordsAndBytesPerMessageAndEnds) {
    TransferClient c(kZone, TransferKind::Axfr, 0, nullptr);
    auto progress = std::make_shared<zone::Progress>();
    c.set_progress(progress);
    EXPECT_TRUE(progress->running.load());
    auto id = request_id(c);
    ASSERT_TRUE(c.consume(response(id, parse(soa(9) + "a.example.com. 60 IN A 192.0.2.1\n")), 1000).ok());
    zone::ProgressView v = zone::read(*progress);
    EXPECT_TRUE(v.running);
    EXPECT_EQ(v.done, 2u);
    EXPECT_EQ(v.bytes, c.bytes());
    EXPECT_GT(v.bytes, 0u);
    ASSERT_TRUE(c.consume(response(id, parse("b.example.com. 60 IN A 192.0.2.2\n" + soa(9)), false), 1000).ok());
    v = zone::read(*progress);
    EXPECT_FALSE(v.running);  // the closing SOA ended it
    EXPECT_EQ(v.done, 3u);
    EXPECT_EQ(v.bytes, c.bytes());
    // A transfer that fails ends too, at the failing message or with its client.
    auto failing = std::make_shared<zone::Progress>();
    {
        TransferClient d(kZone, TransferKind::Axfr, 0, nullptr);
        d.set_progress(failing);
        auto did = request_id(d);
        ASSERT_TRUE(d.consume(response(did, parse(soa(9))), 1000).ok());
        EXPECT_TRUE(failing->running.load());
    }
    EXPECT_FALSE(failing->running.load());
    // An older client going after a newer transfer began leaves the newer one running.
    auto shared = std::make_shared<zone::Progress>();
    auto older = std::make_unique<TransferClient>(kZone, TransferKind::Axfr, 0, nullptr);
    older->set_progress(shared);
    TransferClient newer(kZone, TransferKind::Axfr, 0, nullptr);
    newer.set_progress(shared);
    older.reset();
    EXPECT_TRUE(shared->running.load());
}

TEST(Axfr, RefusesBadStreams) {
    {
        TransferClient c(kZone, TransferKind::Axfr, 0, nullptr);
        auto id = request_id(c);
        auto r = c.consume(response(id, parse(soa(9) + "a.example.com. 60 IN A 192.0.2.1\n" + soa(10))), 1000);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message.find("final SOA serial 10"), std::string::npos);
    }
    {
        TransferClient c(kZone, TransferKind::Axfr, 0, nullptr);
        auto id = request_id(c);
        auto r = c.consume(response(id, parse(soa(9) + "www.example.org. 60 IN A 192.0.2.1\n" + soa(9))), 1000);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message.find("outside the zone"), std::string::npos);
    }
    {
        TransferClient c(kZone, TransferKind::Axfr, 0, nullptr);
        auto id = request_id(c);
        auto r = c.consume(response(static_cast<std::uint16_t>(id + 1), parse(soa(9) + soa(9))), 1000);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message.find("ID"), std::string::npos);
    }
    {
        TransferClient c(kZone, TransferKind::Axfr, 0, nullptr);
        auto id = request_id(c);
        auto r = c.consume(response(id, parse("a.example.com. 60 IN A 192.0.2.1\n" + soa(9))), 1000);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message.find("does not start with the zone's SOA"), std::string::npos);
    }
    {
        TransferClient c(kZone, TransferKind::Axfr, 0, nullptr);
        auto id = request_id(c);
        auto r = c.consume(response(id, {}, true, dns::type::AXFR, dns::rcode::NOTAUTH), 1000);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message.find("NOTAUTH"), std::string::npos);
    }
    {
        xfr::TransferLimits limits;
        limits.max_records = 2;
        TransferClient c(kZone, TransferKind::Axfr, 0, nullptr, limits);
        auto id = request_id(c);
        auto r = c.consume(response(id, parse(soa(9) + "a.example.com. 60 IN A 192.0.2.1\nb.example.com. 60 IN A 192.0.2.1\n" + soa(9))), 1000);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message.find("max_zone_records"), std::string::npos);
    }
    {
        // Bytes, not only records: a primary sending few huge records is stopped too.
        xfr::TransferLimits limits;
        limits.max_bytes = 200;
        std::string txt;
        for (int i = 0; i < 4; ++i) txt += " \"" + std::string(60, 'x') + "\"";
        TransferClient c(kZone, TransferKind::Axfr, 0, nullptr, limits);
        auto id = request_id(c);
        auto r = c.consume(response(id, parse(soa(9) + "a.example.com. 60 IN TXT" + txt + "\n" + soa(9))), 1000);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message.find("exceeds max_zone_bytes (200)"), std::string::npos) << r.error().message;
        limits.max_bytes = 1000;
        TransferClient ok(kZone, TransferKind::Axfr, 0, nullptr, limits);
        id = request_id(ok);
        auto done = ok.consume(response(id, parse(soa(9) + "a.example.com. 60 IN TXT" + txt + "\n" + soa(9))), 1000);
        ASSERT_TRUE(done.ok()) << done.error().message;
        EXPECT_GT(ok.bytes(), 200u);
    }
}

TEST(Axfr, CompressionLoopIsAnError) {
    TransferClient c(kZone, TransferKind::Axfr, 0, nullptr);
    auto id = request_id(c);
    auto m = response(id, parse(soa(9) + soa(9)));
    // Replace the first answer's owner with a pointer to itself.
    std::size_t owner = dns::kHeaderLen + kZone.size() + 4;
    m[owner] = 0xc0;
    m[owner + 1] = static_cast<std::uint8_t>(owner);
    auto r = c.consume(m, 1000);
    EXPECT_FALSE(r.ok());
}

TEST(Ixfr, UpToDateIsOneSoa) {
    TransferClient c(kZone, TransferKind::Ixfr, 5, nullptr);
    auto q = c.request(7, 1000);
    EXPECT_EQ(dns::load16(q.data() + 8), 1u);  // our SOA in authority
    auto r = c.consume(response(7, parse(soa(5)), true, dns::type::IXFR), 1000);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, TransferClient::Step::Done);
    EXPECT_EQ(c.outcome(), TransferClient::Outcome::UpToDate);
}

TEST(Ixfr, IncrementalSequencesApply) {
    TransferClient c(kZone, TransferKind::Ixfr, 5, nullptr);
    c.request(7, 1000);
    auto stream = parse(soa(7) + soa(5) + "a.example.com. 60 IN A 192.0.2.1\n" + soa(6) +
                        "b.example.com. 60 IN A 192.0.2.2\n" + soa(6) + soa(7) +
                        "c.example.com. 60 IN A 192.0.2.3\n" + soa(7));
    auto r = c.consume(response(7, stream, true, dns::type::IXFR), 1000);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(c.outcome(), TransferClient::Outcome::Incremental);
    ASSERT_EQ(c.deltas().size(), 2u);
    EXPECT_EQ(c.deltas()[0].from, 5u);
    EXPECT_EQ(c.deltas()[0].to, 6u);
    EXPECT_EQ(c.deltas()[1].to, 7u);

    auto current = parse(soa(5) + "example.com. 60 IN NS ns1.example.com.\na.example.com. 60 IN A 192.0.2.1\n");
    auto applied = zone::apply_deltas(current, c.deltas());
    ASSERT_TRUE(applied.ok()) << applied.error().message;
    EXPECT_EQ(applied->size(), 4u);  // SOA 7, NS, b, c
    bool has_a = false, has_c = false;
    for (const auto& rr : applied->refs()) {
        std::string owner = dns::wire_name::to_string(applied->owner(rr));
        has_a |= owner == "a.example.com.";
        has_c |= owner == "c.example.com.";
    }
    EXPECT_FALSE(has_a);
    EXPECT_TRUE(has_c);
}

TEST(Ixfr, DeleteOfMissingRecordFails) {
    TransferClient c(kZone, TransferKind::Ixfr, 5, nullptr);
    c.request(7, 1000);
    auto stream = parse(soa(6) + soa(5) + "zzz.example.com. 60 IN A 192.0.2.9\n" + soa(6) + soa(6));
    auto r = c.consume(response(7, stream, true, dns::type::IXFR), 1000);
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto applied = zone::apply_deltas(parse(soa(5)), c.deltas());
    ASSERT_FALSE(applied.ok());
    EXPECT_NE(applied.error().message.find("which we do not have"), std::string::npos);
}

TEST(Ixfr, BrokenSequenceFails) {
    TransferClient c(kZone, TransferKind::Ixfr, 5, nullptr);
    c.request(7, 1000);
    // Second difference starts at 9, not at 6.
    auto stream = parse(soa(7) + soa(5) + soa(6) + soa(9) + soa(7) + soa(7));
    auto r = c.consume(response(7, stream, true, dns::type::IXFR), 1000);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("IXFR sequence broken"), std::string::npos);
}

TEST(Ixfr, AxfrStyleReplyIsFull) {
    TransferClient c(kZone, TransferKind::Ixfr, 5, nullptr);
    c.request(7, 1000);
    auto r = c.consume(response(7, parse(soa(8) + "a.example.com. 60 IN A 192.0.2.1\n" + soa(8)), true, dns::type::IXFR), 1000);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(c.outcome(), TransferClient::Outcome::Full);
    EXPECT_EQ(c.full().size(), 2u);
}

dns::TsigKey key(const std::string& secret_text = "0123456789abcdef0123456789abcdef") {
    dns::TsigKey k;
    k.name = *dns::Name::from_text("xfr-key.");
    k.algorithm = dns::TsigAlgorithm::HmacSha256;
    k.secret.assign(secret_text.begin(), secret_text.end());
    return k;
}

TEST(Tsig, SignedStreamVerifies) {
    dns::TsigKey k = key();
    TransferClient c(kZone, TransferKind::Axfr, 0, &k);
    std::vector<std::uint8_t> q = c.request(99, 5000);
    // The "primary": verifies the request, signs two response messages.
    auto mac = dns::tsig_verify_request(q, k, 5000);
    ASSERT_TRUE(mac.ok()) << mac.error().message;
    auto m1 = response(99, parse(soa(3) + "a.example.com. 60 IN A 192.0.2.1\n"));
    dns::tsig_sign_response(m1, k, *mac, 5000);
    // (Multi-message signed streams are checked against Knot in the
    // integration tests: a 94-message AXFR.)
    auto r1 = c.consume(m1, 5000);
    ASSERT_TRUE(r1.ok()) << r1.error().message;
    EXPECT_EQ(*r1, TransferClient::Step::More);
    // An unsigned final message is refused: the last message must be signed.
    auto m2 = response(99, parse(soa(3)), false);
    auto r2 = c.consume(m2, 5000);
    ASSERT_FALSE(r2.ok());
    EXPECT_NE(r2.error().message.find("not signed"), std::string::npos);
}

TEST(Tsig, WrongSecretOrTimeIsRefused) {
    dns::TsigKey k = key(), wrong = key("another secret, another secret..");
    std::vector<std::uint8_t> q(12, 0);
    q[5] = 0;
    dns::tsig_sign(q, k, 5000);
    EXPECT_TRUE(dns::tsig_verify_request(q, k, 5000).ok());
    auto bad = dns::tsig_verify_request(q, wrong, 5000);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("BADSIG"), std::string::npos);
    auto late = dns::tsig_verify_request(q, k, 5000 + 301);
    ASSERT_FALSE(late.ok());
    EXPECT_NE(late.error().message.find("BADTIME"), std::string::npos);
    // Flip one bit of the message body: the MAC no longer verifies.
    q[3] ^= 1;
    EXPECT_FALSE(dns::tsig_verify_request(q, k, 5000).ok());
}

TEST(Tsig, UnsignedResponseToSignedRequestIsRefused) {
    dns::TsigKey k = key();
    TransferClient c(kZone, TransferKind::Axfr, 0, &k);
    c.request(5, 5000);
    auto r = c.consume(response(5, parse(soa(1) + soa(1))), 5000);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("TSIG"), std::string::npos);
}

TEST(Store, RoundTripAndDamage) {
    auto dir = std::filesystem::temp_directory_path() / ("sat-store-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    zone::StoredZone z;
    z.serial = 42;
    z.last_check = 100;
    z.last_transfer = 90;
    z.source = "127.0.0.1:53";
    z.records = parse(soa(42) + "www.example.com. 60 IN A 192.0.2.1\n");
    ASSERT_TRUE(zone::save_zone(dir.string(), kZone, z).ok());
    auto back = zone::load_zone(dir.string(), kZone);
    ASSERT_TRUE(back.ok()) << back.error().message;
    ASSERT_TRUE(back->has_value());
    EXPECT_EQ((*back)->serial, 42u);
    EXPECT_EQ((*back)->last_check, 100);
    EXPECT_EQ((*back)->source, "127.0.0.1:53");
    EXPECT_EQ((*back)->records.size(), 2u);

    // No file: nothing, no error.
    auto none = zone::load_zone(dir.string(), *dns::Name::from_text("other.example."));
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());

    // Truncation and a flipped byte are both detected.
    std::string path = zone::stored_zone_path(dir.string(), kZone);
    auto size = std::filesystem::file_size(path);
    std::filesystem::resize_file(path, size - 5);
    auto truncated = zone::load_zone(dir.string(), kZone);
    ASSERT_FALSE(truncated.ok());
    EXPECT_NE(truncated.error().message.find("damaged"), std::string::npos);

    ASSERT_TRUE(zone::save_zone(dir.string(), kZone, z).ok());
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(40);
        char c = 0x55;
        f.write(&c, 1);
    }
    auto flipped = zone::load_zone(dir.string(), kZone);
    ASSERT_FALSE(flipped.ok());
    EXPECT_NE(flipped.error().message.find("checksum"), std::string::npos);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace satellite

namespace satellite {
namespace {

TEST(ApplyDeltas, NetChangeAcrossDifferences) {
    auto current = parse(soa(5) + "a.example.com. 60 IN A 192.0.2.1\nb.example.com. 60 IN A 192.0.2.2\n");
    std::vector<zone::ZoneDelta> deltas(2);
    deltas[0].from = 5;
    deltas[0].to = 6;
    deltas[0].removed = parse(soa(5) + "a.example.com. 60 IN A 192.0.2.1\n");
    deltas[0].added = parse(soa(6) + "c.example.com. 60 IN A 192.0.2.3\n");
    deltas[1].from = 6;
    deltas[1].to = 7;
    // c comes and goes; a comes back with a new TTL; b's TTL changes by delete+add.
    deltas[1].removed = parse(soa(6) + "c.example.com. 60 IN A 192.0.2.3\nb.example.com. 60 IN A 192.0.2.2\n");
    deltas[1].added = parse(soa(7) + "a.example.com. 120 IN A 192.0.2.1\nb.example.com. 30 IN A 192.0.2.2\n");
    auto out = zone::apply_deltas(current, deltas);
    ASSERT_TRUE(out.ok()) << out.error().message;
    ASSERT_EQ(out->size(), 3u);
    std::map<std::string, std::uint32_t> ttl;
    for (const auto& r : out->refs()) {
        ttl[dns::wire_name::to_string(out->owner(r)) + dns::type_to_string(r.type)] = r.ttl;
    }
    EXPECT_EQ(ttl["a.example.com.A"], 120u);
    EXPECT_EQ(ttl["b.example.com.A"], 30u);
    EXPECT_EQ(ttl.count("c.example.com.A"), 0u);
    EXPECT_EQ(ttl.count("example.com.SOA"), 1u);
}

TEST(ApplyDeltas, AddingWhatWeHaveFails) {
    auto current = parse(soa(5) + "a.example.com. 60 IN A 192.0.2.1\n");
    std::vector<zone::ZoneDelta> deltas(1);
    deltas[0].from = 5;
    deltas[0].to = 6;
    deltas[0].removed = parse(soa(5));
    deltas[0].added = parse(soa(6) + "A.example.com. 60 IN A 192.0.2.1\n");
    auto out = zone::apply_deltas(current, deltas);
    ASSERT_FALSE(out.ok());
    EXPECT_NE(out.error().message.find("which we already have"), std::string::npos);
}

TEST(Journal, AppendLoadAndTornTail) {
    auto dir = std::filesystem::temp_directory_path() / ("sat-journal-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::vector<zone::ZoneDelta> d1(1), d2(1);
    d1[0].from = 5;
    d1[0].to = 6;
    d1[0].removed = parse(soa(5));
    d1[0].added = parse(soa(6) + "x.example.com. 60 IN A 192.0.2.9\n");
    d2[0].from = 6;
    d2[0].to = 7;
    d2[0].removed = parse(soa(6));
    d2[0].added = parse(soa(7));
    ASSERT_TRUE(zone::append_journal(dir.string(), kZone, d1).ok());
    ASSERT_TRUE(zone::append_journal(dir.string(), kZone, d2).ok());
    auto j = zone::load_journal(dir.string(), kZone);
    ASSERT_TRUE(j.ok()) << j.error().message;
    ASSERT_EQ(j->deltas.size(), 2u);
    EXPECT_EQ(j->deltas[1].to, 7u);
    EXPECT_EQ(j->deltas[0].added.size(), 2u);
    EXPECT_TRUE(j->warning.empty());

    // A torn last write loses only the last entry.
    auto size = zone::journal_size(dir.string(), kZone);
    std::string path = zone::stored_zone_path(dir.string(), kZone);
    path = path.substr(0, path.size() - 4) + "journal";
    std::filesystem::resize_file(path, size - 7);
    auto torn = zone::load_journal(dir.string(), kZone);
    ASSERT_TRUE(torn.ok());
    EXPECT_EQ(torn->deltas.size(), 1u);
    EXPECT_NE(torn->warning.find("entry 2 is damaged"), std::string::npos);

    zone::remove_journal(dir.string(), kZone);
    EXPECT_EQ(zone::journal_size(dir.string(), kZone), 0u);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace satellite
