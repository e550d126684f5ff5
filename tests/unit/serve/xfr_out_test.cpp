// Outgoing AXFR/IXFR, socket-free: the provide_xfr ACL and TSIG decisions,
// the message stream (SOA first and last, every record once, TSIG on every
// message verifiable as one RFC 8945 §5.3.1 stream), IXFR's single-SOA and
// AXFR-style replies, and a transfer keeping its version after a newer one
// is published.
#include "serve/xfr_out.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "../dns/test_packet.hpp"
#include "dns/types.hpp"
#include "dns/zonefile.hpp"
#include "zone/snapshot.hpp"

namespace satellite::serve {
namespace {

namespace t = dns::type;
using satellite::testing::Bytes;
using satellite::testing::decode;
using satellite::testing::make_query;
using satellite::testing::QuerySpec;

constexpr std::int64_t kNow = 1'700'000'000;

dns::Address16 addr(const char* text) {
    dns::Address16 a{};
    unsigned char v4[4];
    if (::inet_pton(AF_INET, text, v4) == 1) {
        a[10] = a[11] = 0xff;
        std::memcpy(a.data() + 12, v4, 4);
    } else {
        ::inet_pton(AF_INET6, text, a.data());
    }
    return a;
}

std::shared_ptr<const zone::Snapshot> version(std::uint32_t serial, int names) {
    std::string z = "xfr.test. 3600 IN SOA ns.xfr.test. h.xfr.test. " + std::to_string(serial) +
                    " 3600 600 86400 60\nxfr.test. 3600 IN NS ns.xfr.test.\nns.xfr.test. 3600 IN A 192.0.2.53\n";
    for (int i = 0; i < names; ++i) {
        z += "h" + std::to_string(i) + ".xfr.test. 300 IN TXT \"" + std::string(100, 'x') + "\"\n";
    }
    auto origin = dns::Name::from_text("xfr.test.");
    auto recs = dns::parse_records(z, *origin);
    EXPECT_TRUE(recs.ok());
    auto snap = zone::build_snapshot(*origin, *recs);
    EXPECT_TRUE(snap.ok()) << snap.error().message;
    return *snap;
}

std::shared_ptr<const dns::TsigKey> key(const std::string& name, const std::string& secret) {
    auto k = std::make_shared<dns::TsigKey>();
    k->name = dns::Name::from_text(name)->lowered();
    k->secret.assign(secret.begin(), secret.end());
    return k;
}

struct Fixture {
    std::shared_ptr<zone::ZoneSlot> slot = std::make_shared<zone::ZoneSlot>(version(2024, 2000));
    std::shared_ptr<const dns::TsigKey> xfr_key = key("xfr-key.", "0123456789abcdef");
    std::unique_ptr<zone::Catalog> catalog;
    Fixture() {
        zone::ServedZone z;
        z.origin = *dns::Name::from_text("xfr.test.");
        z.slot = slot;
        z.provide_xfr.push_back({*dns::parse_prefix("127.0.0.0/8"), nullptr});
        z.provide_xfr.push_back({*dns::parse_prefix("192.0.2.0/24"), xfr_key});
        z.provide_xfr.push_back({*dns::parse_prefix("2001:db8::/32"), xfr_key});
        std::vector<zone::ServedZone> zones;
        zones.push_back(std::move(z));
        catalog = std::make_unique<zone::Catalog>(std::move(zones));
    }
};

std::vector<std::uint8_t> axfr(const char* zone = "xfr.test.") {
    return make_query(QuerySpec{.name = zone, .qtype = t::AXFR, .id = 0x1234});
}

std::vector<std::uint8_t> ixfr(std::uint32_t serial) {
    Bytes rdata;
    rdata.name("ns.xfr.test.").name("h.xfr.test.").u32(serial).u32(3600).u32(600).u32(86400).u32(60);
    Bytes b;
    b.header(0x4321, 0, 1, 0, 1, 0);
    b.name("xfr.test.").u16(t::IXFR).u16(dns::rrclass::IN);
    b.name("xfr.test.").u16(t::SOA).u16(dns::rrclass::IN).u32(3600).u16(static_cast<std::uint16_t>(rdata.v.size()));
    b.raw(rdata.v);
    return b.v;
}

// Runs a producer to the end; the messages it wrote.
std::vector<std::vector<std::uint8_t>> drain(XfrProducer& p) {
    std::vector<std::vector<std::uint8_t>> out;
    std::vector<std::uint8_t> msg;
    while (p.next(msg, kNow)) {
        out.push_back(msg);
        EXPECT_LT(out.size(), 10'000u);
        if (out.size() >= 10'000) break;
    }
    return out;
}

std::uint16_t rcode_of(const std::vector<std::uint8_t>& m) { return m.size() >= 4 ? m[3] & 0xf : 0xffff; }

TEST(XfrOut, TransferRequestsAreRecognised) {
    EXPECT_TRUE(is_transfer_request(axfr()));
    EXPECT_TRUE(is_transfer_request(ixfr(1)));
    EXPECT_FALSE(is_transfer_request(make_query(QuerySpec{.name = "xfr.test.", .qtype = t::SOA})));
    EXPECT_FALSE(is_transfer_request(std::vector<std::uint8_t>{1, 2, 3}));
}

TEST(XfrOut, AxfrFromAnAllowedPrefixStreamsTheWholeVersion) {
    Fixture f;
    auto s = start_xfr_out(*f.catalog, axfr(), addr("127.0.0.1"), kNow);
    ASSERT_TRUE(s.producer) << s.refusal;
    auto msgs = drain(*s.producer);
    ASSERT_GT(msgs.size(), 5u);  // ~250 KB: many messages
    std::size_t answers = 0;
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        std::string err;
        auto d = decode(msgs[i], &err);
        ASSERT_TRUE(d) << "message " << i << ": " << err;
        EXPECT_EQ(d->id, 0x1234);
        EXPECT_TRUE(d->qr());
        EXPECT_TRUE(d->aa());
        EXPECT_EQ(d->flags & 0xf, 0);
        EXPECT_EQ(d->qname, "xfr.test.");
        EXPECT_LE(msgs[i].size(), 65535u);
        if (i == 0) {
            EXPECT_EQ(d->answer.front().type, t::SOA);  // RFC 5936 §2.2
        }
        if (i + 1 == msgs.size()) {
            EXPECT_EQ(d->answer.back().type, t::SOA);
        }
        for (std::size_t k = 0; k < d->answer.size(); ++k) {
            bool edge = (i == 0 && k == 0) || (i + 1 == msgs.size() && k + 1 == d->answer.size());
            if (!edge) {
                EXPECT_NE(d->answer[k].type, t::SOA) << "message " << i << " record " << k;
            }
        }
        answers += d->answer.size();
    }
    EXPECT_EQ(answers, (*f.slot->version.load())->record_count() + 1);  // SOA twice
    EXPECT_FALSE(s.producer->failed());
}

TEST(XfrOut, AddressesOutsideTheAclAreRefused) {
    Fixture f;
    for (const char* peer : {"10.0.0.1", "192.0.3.1", "2001:db9::1", "::1"}) {
        auto s = start_xfr_out(*f.catalog, axfr(), addr(peer), kNow);
        EXPECT_FALSE(s.producer) << peer;
        EXPECT_EQ(rcode_of(s.reply), dns::rcode::REFUSED) << peer;
        EXPECT_NE(s.refusal.find("provide_xfr"), std::string::npos) << s.refusal;
    }
}

TEST(XfrOut, NotOurZoneIsNotAuth) {
    Fixture f;
    auto below = start_xfr_out(*f.catalog, axfr("sub.xfr.test."), addr("127.0.0.1"), kNow);
    EXPECT_FALSE(below.producer);
    EXPECT_EQ(rcode_of(below.reply), dns::rcode::NOTAUTH);
    auto other = start_xfr_out(*f.catalog, axfr("other.test."), addr("127.0.0.1"), kNow);
    EXPECT_EQ(rcode_of(other.reply), dns::rcode::NOTAUTH);
}

TEST(XfrOut, KeyedEntriesNeedThatKey) {
    Fixture f;
    // Unsigned where a key is required: REFUSED.
    auto plain = start_xfr_out(*f.catalog, axfr(), addr("192.0.2.7"), kNow);
    EXPECT_FALSE(plain.producer);
    EXPECT_EQ(rcode_of(plain.reply), dns::rcode::REFUSED);

    // Right name, wrong secret: NOTAUTH with BADSIG in the TSIG record.
    auto wrong_secret = axfr();
    dns::tsig_sign(wrong_secret, *key("xfr-key.", "not the secret"), kNow);
    auto bad = start_xfr_out(*f.catalog, wrong_secret, addr("192.0.2.7"), kNow);
    EXPECT_FALSE(bad.producer);
    EXPECT_EQ(rcode_of(bad.reply), dns::rcode::NOTAUTH);
    std::size_t off = dns::tsig_find(bad.reply);
    ASSERT_NE(off, 0u);
    // TSIG RDATA ends: ... original id (2) error (2) other len (2).
    EXPECT_EQ(dns::load16(bad.reply.data() + bad.reply.size() - 4), 16);

    // A key the prefix does not name: BADKEY.
    auto other_key = axfr();
    dns::tsig_sign(other_key, *key("other-key.", "0123456789abcdef"), kNow);
    auto badkey = start_xfr_out(*f.catalog, other_key, addr("2001:db8::5"), kNow);
    EXPECT_EQ(rcode_of(badkey.reply), dns::rcode::NOTAUTH);
    EXPECT_EQ(dns::load16(badkey.reply.data() + badkey.reply.size() - 4), 17);

    // Signed too long ago: BADTIME.
    auto old = axfr();
    dns::tsig_sign(old, *f.xfr_key, kNow - 3600);
    auto late = start_xfr_out(*f.catalog, old, addr("192.0.2.7"), kNow);
    EXPECT_EQ(rcode_of(late.reply), dns::rcode::NOTAUTH);
    EXPECT_EQ(dns::load16(late.reply.data() + late.reply.size() - 4), 18);
}

TEST(XfrOut, SignedTransfersVerifyAsOneTsigStream) {
    Fixture f;
    auto req = axfr();
    auto mac = dns::tsig_sign(req, *f.xfr_key, kNow);
    auto s = start_xfr_out(*f.catalog, req, addr("192.0.2.7"), kNow);
    ASSERT_TRUE(s.producer) << s.refusal;
    auto msgs = drain(*s.producer);
    ASSERT_GT(msgs.size(), 2u);
    dns::TsigVerifier verifier(*f.xfr_key, mac);
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        auto st = verifier.verify(msgs[i], kNow);
        ASSERT_TRUE(st.ok()) << "message " << i << ": " << st.error().message;
        EXPECT_TRUE(verifier.last_signed());
    }
    // A request signed with the key is also fine from an unsigned-allowed prefix.
    auto req2 = axfr();
    dns::tsig_sign(req2, *f.xfr_key, kNow);
    EXPECT_TRUE(start_xfr_out(*f.catalog, req2, addr("127.0.0.1"), kNow).producer != nullptr);
}

TEST(XfrOut, IxfrFromTheCurrentSerialGetsOneSoa) {
    Fixture f;
    for (std::uint32_t serial : {2024u, 2025u}) {  // ours, or newer than ours
        auto s = start_xfr_out(*f.catalog, ixfr(serial), addr("127.0.0.1"), kNow);
        ASSERT_TRUE(s.producer) << s.refusal;
        auto msgs = drain(*s.producer);
        ASSERT_EQ(msgs.size(), 1u);
        auto d = decode(msgs[0]);
        ASSERT_TRUE(d);
        ASSERT_EQ(d->answer.size(), 1u);
        EXPECT_EQ(d->answer[0].type, t::SOA);
    }
}

TEST(XfrOut, IxfrFromAnUnknownSerialGetsAnAxfrStyleReply) {
    Fixture f;
    auto s = start_xfr_out(*f.catalog, ixfr(1), addr("127.0.0.1"), kNow);
    ASSERT_TRUE(s.producer) << s.refusal;
    EXPECT_TRUE(s.ixfr);
    auto msgs = drain(*s.producer);
    ASSERT_GT(msgs.size(), 1u);
    auto first = decode(msgs[0]);
    ASSERT_TRUE(first);
    ASSERT_GE(first->answer.size(), 2u);
    EXPECT_EQ(first->answer[0].type, t::SOA);
    EXPECT_NE(first->answer[1].type, t::SOA);  // RFC 1995 §4: not an incremental reply
}

// A difference of the xfr.test. versions: old SOA and removed records, new
// SOA and added records (as a transfer client hands them over).
zone::ZoneDelta delta(std::uint32_t from, std::uint32_t to, const std::string& removed, const std::string& added) {
    auto origin = dns::Name::from_text("xfr.test.");
    auto soa = [](std::uint32_t serial) {
        return "xfr.test. 3600 IN SOA ns.xfr.test. h.xfr.test. " + std::to_string(serial) + " 3600 600 86400 60\n";
    };
    zone::ZoneDelta d;
    d.from = from;
    d.to = to;
    d.removed = *dns::parse_records(soa(from) + removed, *origin);
    d.added = *dns::parse_records(soa(to) + added, *origin);
    return d;
}

TEST(XfrOut, IxfrIsAnsweredFromTheHistoryWhenItReachesBack) {
    Fixture f;
    auto h = std::make_shared<zone::IxfrHistory>();
    h->deltas.push_back(delta(2022, 2023, "", "a.xfr.test. 300 IN A 192.0.2.1\n"));
    h->deltas.push_back(delta(2023, 2024, "a.xfr.test. 300 IN A 192.0.2.1\n", "b.xfr.test. 300 IN A 192.0.2.2\n"));
    (void)f.slot->swap_history(h);
    EXPECT_EQ(h->from(2023, 2024), 1);
    EXPECT_EQ(h->from(2021, 2024), -1);
    EXPECT_EQ(h->from(2022, 2025), -1);  // not ending at the served serial

    auto s = start_xfr_out(*f.catalog, ixfr(2022), addr("127.0.0.1"), kNow);
    ASSERT_TRUE(s.producer) << s.refusal;
    EXPECT_TRUE(s.producer->incremental());
    auto msgs = drain(*s.producer);
    ASSERT_EQ(msgs.size(), 1u);
    auto d = decode(msgs[0]);
    ASSERT_TRUE(d);
    // RFC 1995 §4: new SOA, (old SOA, removed, new SOA, added) per step, new SOA.
    std::vector<std::string> got;
    for (const auto& rr : d->answer) got.push_back(rr.owner + " " + std::to_string(rr.type));
    const std::string soa = "xfr.test. " + std::to_string(t::SOA);
    const std::string a = " " + std::to_string(t::A);
    EXPECT_EQ(got, (std::vector<std::string>{soa, soa, soa, "a.xfr.test." + a, soa, "a.xfr.test." + a, soa,
                                             "b.xfr.test." + a, soa}));
    ASSERT_EQ(d->answer.size(), 9u);
    EXPECT_NE(d->answer[1].data.find("2022"), std::string::npos) << d->answer[1].data;
    EXPECT_NE(d->answer[8].data.find("2024"), std::string::npos) << d->answer[8].data;

    // From the middle of the history: one step.
    auto mid = start_xfr_out(*f.catalog, ixfr(2023), addr("127.0.0.1"), kNow);
    ASSERT_TRUE(mid.producer);
    EXPECT_TRUE(mid.producer->incremental());
    auto m = decode(drain(*mid.producer)[0]);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->answer.size(), 6u);

    // Older than the history: AXFR-style.
    auto old = start_xfr_out(*f.catalog, ixfr(2000), addr("127.0.0.1"), kNow);
    ASSERT_TRUE(old.producer);
    EXPECT_FALSE(old.producer->incremental());
    // A history that no longer ends at the served version is not used.
    f.slot->swap(version(2025, 1));
    auto stale = start_xfr_out(*f.catalog, ixfr(2023), addr("127.0.0.1"), kNow);
    ASSERT_TRUE(stale.producer);
    EXPECT_FALSE(stale.producer->incremental());
}

TEST(XfrOut, ALargeIncrementalReplySpansMessagesAndVerifies) {
    Fixture f;
    std::string added;
    for (int i = 0; i < 800; ++i) added += "n" + std::to_string(i) + ".xfr.test. 300 IN TXT \"" + std::string(60, 'y') + "\"\n";
    auto h = std::make_shared<zone::IxfrHistory>();
    h->deltas.push_back(delta(2023, 2024, "", added));
    (void)f.slot->swap_history(h);
    auto s = start_xfr_out(*f.catalog, ixfr(2023), addr("127.0.0.1"), kNow);
    ASSERT_TRUE(s.producer);
    auto msgs = drain(*s.producer);
    ASSERT_GT(msgs.size(), 1u);
    std::size_t txt = 0, soas = 0;
    for (const auto& msg : msgs) {
        auto d = decode(msg);
        ASSERT_TRUE(d);
        for (const auto& rr : d->answer) {
            txt += rr.type == t::TXT;
            soas += rr.type == t::SOA;
        }
    }
    EXPECT_EQ(txt, 800u);
    EXPECT_EQ(soas, 4u);
}

TEST(XfrOut, ATransferKeepsItsVersionAfterANewerOneIsPublished) {
    Fixture f;
    auto s = start_xfr_out(*f.catalog, axfr(), addr("127.0.0.1"), kNow);
    ASSERT_TRUE(s.producer);
    std::vector<std::uint8_t> msg;
    ASSERT_TRUE(s.producer->next(msg, kNow));
    std::weak_ptr<const zone::Snapshot> old = *f.slot->version.load();
    // Publish a new version and drop the slot's hold on the old one.
    auto retired = f.slot->swap(version(2025, 10));
    retired.reset();
    EXPECT_FALSE(old.expired());  // the transfer still holds it
    auto rest = drain(*s.producer);
    auto last = decode(rest.back());
    ASSERT_TRUE(last);
    EXPECT_NE(last->answer.back().data.find(" 2024 "), std::string::npos) << last->answer.back().data;
    s.producer.reset();
    EXPECT_TRUE(old.expired());  // and lets it go when done
}

TEST(XfrOut, AZoneWithoutAVersionIsServfail) {
    Fixture f;
    f.slot->swap(nullptr).reset();
    auto s = start_xfr_out(*f.catalog, axfr(), addr("127.0.0.1"), kNow);
    EXPECT_FALSE(s.producer);
    EXPECT_EQ(rcode_of(s.reply), dns::rcode::SERVFAIL);
}

}  // namespace
}  // namespace satellite::serve

namespace satellite::serve {
namespace {

TEST(XfrOut, SignedSoaProbesGetASignedSoa) {
    Fixture f;
    auto q = make_query(QuerySpec{.name = "xfr.test.", .qtype = t::SOA, .id = 0x5151});
    EXPECT_FALSE(is_transfer_request(q));  // unsigned: the query path answers it
    auto mac = dns::tsig_sign(q, *f.xfr_key, kNow);
    EXPECT_TRUE(is_transfer_request(q));
    std::vector<std::uint8_t> out(1232);
    std::size_t n = answer_signed_probe(*f.catalog, q, addr("192.0.2.7"), kNow, out);
    ASSERT_GT(n, 0u);
    out.resize(n);
    dns::TsigVerifier v(*f.xfr_key, mac);
    EXPECT_TRUE(v.verify(out, kNow).ok());
    auto d = decode(out);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->id, 0x5151);
    ASSERT_EQ(d->answer.size(), 1u);
    EXPECT_EQ(d->answer[0].type, t::SOA);

    // IXFR over UDP from a client behind us: our SOA alone (RFC 1995 §2).
    auto ix = ixfr(1);
    mac = dns::tsig_sign(ix, *f.xfr_key, kNow);
    std::vector<std::uint8_t> out2(1232);
    n = answer_signed_probe(*f.catalog, ix, addr("192.0.2.7"), kNow, out2);
    ASSERT_GT(n, 0u);
    out2.resize(n);
    auto d2 = decode(out2);
    ASSERT_TRUE(d2);
    ASSERT_EQ(d2->answer.size(), 1u);
    EXPECT_EQ(d2->answer[0].type, t::SOA);

    // From outside the ACL: REFUSED. Unsigned, or AXFR: not ours (0).
    std::vector<std::uint8_t> out3(1232);
    n = answer_signed_probe(*f.catalog, q, addr("10.0.0.1"), kNow, out3);
    ASSERT_GT(n, 0u);
    EXPECT_EQ(out3[3] & 0xf, dns::rcode::REFUSED);
    EXPECT_EQ(answer_signed_probe(*f.catalog, make_query(QuerySpec{.name = "xfr.test.", .qtype = t::SOA}),
                                  addr("192.0.2.7"), kNow, out3),
              0u);
    auto ax = axfr();
    dns::tsig_sign(ax, *f.xfr_key, kNow);
    EXPECT_EQ(answer_signed_probe(*f.catalog, ax, addr("192.0.2.7"), kNow, out3), 0u);
}

}  // namespace
}  // namespace satellite::serve
