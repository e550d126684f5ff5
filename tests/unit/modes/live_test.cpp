// The live signer: what it signs, that every signature verifies, the denial
// chains it builds, and — with time given by the test — that signatures are
// kept while fresh and remade before signature_refresh, and that a small
// change re-signs only what it touches.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "dns/dnssec.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"
#include "dns/zonefile.hpp"
#include "modes/live.hpp"

namespace satellite::modes {
namespace {

namespace fs = std::filesystem;
namespace t = dns::type;

const char* kZone = R"($ORIGIN example.test.
$TTL 300
@ SOA ns1 host 1 3600 600 86400 60
  NS ns1
  MX 10 mail
  DNSKEY 257 3 13 Uyd83kJpt/FROxfbeFjj/RSl2qgkITdWoA+6hZwg5/gSOMloTblqzqeQFZe705fux8Li9wmMfLF9CS9omrBHpw==
ns1 A 127.0.0.1
mail A 192.0.2.25
www A 192.0.2.1
www AAAA 2001:db8::1
*.wild TXT "wild"
a.b.c TXT "deep"
alias CNAME www
insecure NS ns.insecure
ns.insecure A 192.0.2.53
secure NS ns.secure
ns.secure A 192.0.2.54
secure DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
stray RRSIG A 13 3 300 20300101000000 20200101000000 1234 example.test. AAAA
stray NSEC www.example.test. A RRSIG NSEC
)";

class LiveTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("satellite-live-" + std::to_string(::getpid()) + "-" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    ZoneKeys keys(std::uint8_t alg = 13) {
        auto k = load_or_create_keys(dir_.string(), origin_, alg, now_);
        EXPECT_TRUE(k.ok()) << k.error().message;
        return *k;
    }
    dns::RecordList records(const std::string& extra = "", const std::string& text = kZone) {
        const std::string path = (dir_ / "zone.txt").string();
        fs::create_directories(dir_);
        {
            std::ofstream f(path, std::ios::trunc);
            f << text << extra;
        }
        auto r = dns::read_zone_file(path, origin_);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return *r;
    }
    SignedZone sign(const dns::RecordList& recs, const ZoneKeys& k, const LivePolicy& p,
                    const zone::Snapshot* prev, std::int64_t now) {
        auto s = sign_zone(origin_, recs, k, p, prev, now);
        EXPECT_TRUE(s.ok()) << s.error().message;
        return std::move(*s);
    }

    dns::Name origin_ = *dns::Name::from_text("example.test.");
    std::int64_t now_ = 1'800'000'000;
    fs::path dir_;
};

std::vector<std::span<const std::uint8_t>> rdatas(const zone::Snapshot& s, const zone::Rrset& r) {
    std::vector<std::span<const std::uint8_t>> out;
    (void)s;
    const std::uint8_t* p = r.rdata();
    for (unsigned i = 0; i < r.rr_count; ++i) {
        out.emplace_back(p + 2, dns::load16(p));
        p += 2 + dns::load16(p);
    }
    return out;
}

struct Audit {
    std::size_t signed_sets = 0, unsigned_sets = 0, bad = 0;
    std::int64_t earliest_expiry = INT64_MAX, latest_inception = 0;
    std::set<std::string> unsigned_names;  // "name TYPE"
};

// Verifies every RRSIG in the snapshot with the apex DNSKEYs.
Audit audit(const zone::Snapshot& s) {
    Audit a;
    const auto* dnskeys = s.find_rrset(s.node(s.apex()), t::DNSKEY);
    EXPECT_NE(dnskeys, nullptr);
    if (!dnskeys) return a;
    auto keys = rdatas(s, *dnskeys);
    for (std::uint32_t i = 0; i < s.node_count(); ++i) {
        const auto& n = s.node(i);
        for (const auto& rs : s.rrsets_of(n)) {
            if (rs.type == t::RRSIG) continue;
            const auto* sigs = s.signatures(rs);
            if (!sigs) {
                ++a.unsigned_sets;
                a.unsigned_names.insert(dns::wire_name::to_string(s.node_name(n)) + " " + dns::type_to_string(rs.type));
                continue;
            }
            ++a.signed_sets;
            dns::RrsetView view{s.node_name(n), n.name_len, rs.type, rdatas(s, rs)};
            for (auto sig : rdatas(s, *sigs)) {
                bool ok = false;
                for (auto k : keys) ok |= dns::verify_rrsig(view, sig, k, s.origin()).ok();
                if (!ok) {
                    ++a.bad;
                    ADD_FAILURE() << "bad RRSIG over " << dns::wire_name::to_string(s.node_name(n)) << " "
                                  << dns::type_to_string(rs.type);
                }
                a.earliest_expiry = std::min<std::int64_t>(a.earliest_expiry, dns::load32(sig.data() + 8));
                a.latest_inception = std::max<std::int64_t>(a.latest_inception, dns::load32(sig.data() + 12));
            }
        }
    }
    return a;
}

TEST_F(LiveTest, SigningProgressReachesItsTotalAndEnds) {
    auto k = keys(13);
    LivePolicy p;
    p.progress = std::make_shared<zone::Progress>();
    std::vector<zone::ProgressView> reports;
    p.progress->report = [&](const zone::ProgressView& v) { reports.push_back(v); };
    auto z = sign(records(), k, p, nullptr, now_);
    const zone::ProgressView v = zone::read(*p.progress);
    EXPECT_FALSE(v.running);
    EXPECT_GT(v.total, 0u);
    EXPECT_EQ(v.done, v.total);
    EXPECT_EQ(v.total, z.made + z.kept);  // one per signature made or kept
    EXPECT_TRUE(reports.empty());  // a report only every few seconds: none for a small zone
}

TEST_F(LiveTest, EveryAuthoritativeRrsetIsSignedAndVerifiesForEveryAlgorithm) {
    for (std::uint8_t alg : {8, 10, 13, 14, 15}) {
        fs::remove_all(dir_);
        auto k = keys(alg);
        LivePolicy p;
        auto z = sign(records(), k, p, nullptr, now_);
        EXPECT_EQ(z.dropped, 3u);  // the primary's DNSKEY, RRSIG and NSEC
        EXPECT_EQ(z.kept, 0u);
        Audit a = audit(*z.snapshot);
        EXPECT_EQ(a.bad, 0u);
        EXPECT_EQ(a.signed_sets, z.made);
        // Unsigned: only delegation NS RRsets and glue (RFC 4035 §2.2).
        EXPECT_EQ(a.unsigned_names,
                  (std::set<std::string>{"insecure.example.test. NS", "ns.insecure.example.test. A",
                                         "secure.example.test. NS", "ns.secure.example.test. A"}));
        // RFC 4035 §2.1: inception backdated; expiration within validity.
        EXPECT_EQ(a.latest_inception, now_ - 3600);
        EXPECT_LE(a.earliest_expiry, now_ + p.validity);
        EXPECT_GT(a.earliest_expiry, now_ + p.refresh);
        EXPECT_EQ(z.next_resign, a.earliest_expiry - p.refresh);
        const auto& apex = z.snapshot->node(z.snapshot->apex());
        const auto* dnskey = z.snapshot->find_rrset(apex, t::DNSKEY);
        ASSERT_NE(dnskey, nullptr);
        EXPECT_EQ(dnskey->rr_count, 2u);  // ours only; the primary's is gone
        const auto* cds = z.snapshot->find_rrset(apex, t::CDS);
        ASSERT_NE(cds, nullptr);
        EXPECT_EQ(rdatas(*z.snapshot, *cds)[0].size(), 4u + 32u);
        EXPECT_EQ(dns::load16(rdatas(*z.snapshot, *cds)[0].data()), k.ksk().tag);
        ASSERT_NE(z.snapshot->find_rrset(apex, t::CDNSKEY), nullptr);
        EXPECT_EQ(z.snapshot->online(), nullptr);
    }
}

TEST_F(LiveTest, NsecChainIsClosedAndInCanonicalOrder) {
    auto k = keys();
    auto z = sign(records(), k, {}, nullptr, now_);
    const auto& s = *z.snapshot;
    std::vector<std::string> owners, nexts;
    for (std::uint32_t i = 0; i < s.node_count(); ++i) {
        const auto* nsec = s.find_rrset(s.node(i), t::NSEC);
        if (!nsec) continue;
        owners.push_back(dns::wire_name::to_string(s.node_name(s.node(i))));
        nexts.push_back(dns::wire_name::to_string(rdatas(s, *nsec)[0].data()));
    }
    const std::vector<std::string> want = {"example.test.", "alias.example.test.", "a.b.c.example.test.",
                                           "insecure.example.test.", "mail.example.test.", "ns1.example.test.",
                                           "secure.example.test.", "*.wild.example.test.", "www.example.test."};
    EXPECT_EQ(owners, want);
    for (std::size_t i = 0; i < owners.size(); ++i) EXPECT_EQ(nexts[i], owners[(i + 1) % owners.size()]);
}

TEST_F(LiveTest, Nsec3HashMatchesRfc5155AppendixA) {
    auto name = dns::Name::from_text("example.");
    const std::vector<std::uint8_t> salt = {0xaa, 0xbb, 0xcc, 0xdd};
    auto h = dns::nsec3_hash(name->data(), name->size(), salt, 12);
    // 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom in base32hex
    const std::uint8_t want[20] = {0x06, 0x53, 0x68, 0xab, 0xee, 0xd7, 0xec, 0x6e, 0x9f, 0xeb,
                                   0xa9, 0x6b, 0x8c, 0x8b, 0xc3, 0xe8, 0xb7, 0x91, 0xf7, 0x16};
    EXPECT_TRUE(std::equal(h.begin(), h.end(), want));
}

TEST_F(LiveTest, Nsec3CoversEveryNameAndOptOutLeavesInsecureDelegationsOut) {
    auto k = keys();
    LivePolicy p;
    p.denial = Denial::Nsec3;
    auto z = sign(records(), k, p, nullptr, now_);
    EXPECT_TRUE(z.snapshot->has_nsec3());
    EXPECT_EQ(audit(*z.snapshot).bad, 0u);
    auto count = [](const zone::Snapshot& s) {
        std::size_t n = 0;
        for (std::uint32_t i = 0; i < s.node_count(); ++i) n += s.find_rrset(s.node(i), t::NSEC3) != nullptr;
        return n;
    };
    // Names: apex alias a.b.c b.c c insecure mail ns1 secure *.wild wild www = 12.
    EXPECT_EQ(count(*z.snapshot), 12u);
    p.nsec3_opt_out = true;
    fs::remove_all(dir_);
    auto k2 = keys();
    auto oo = sign(records(), k2, p, nullptr, now_);
    EXPECT_EQ(count(*oo.snapshot), 11u);  // insecure. left out
    const auto& apex = oo.snapshot->node(oo.snapshot->apex());
    const auto* param = oo.snapshot->find_rrset(apex, t::NSEC3PARAM);
    ASSERT_NE(param, nullptr);
    EXPECT_EQ(rdatas(*oo.snapshot, *param)[0][1], 0);  // RFC 5155 §4.1.2: flags 0 in NSEC3PARAM
}

TEST_F(LiveTest, CompactDenialGivesEveryNameItsOwnNsec) {
    auto k = keys();
    LivePolicy p;
    p.denial = Denial::Compact;
    auto z = sign(records(), k, p, nullptr, now_);
    const auto& s = *z.snapshot;
    ASSERT_NE(s.online(), nullptr);
    EXPECT_EQ(s.online()->key_tag, k.zsk().tag);
    EXPECT_EQ(s.online()->nsec_ttl, 60u);
    std::size_t nsecs = 0;
    for (std::uint32_t i = 0; i < s.node_count(); ++i) {
        const auto& n = s.node(i);
        if (n.flags & zone::Node::Occluded) continue;
        const auto* nsec = s.find_rrset(n, t::NSEC);
        ASSERT_NE(nsec, nullptr) << dns::wire_name::to_string(s.node_name(n));
        ++nsecs;
        auto rd = rdatas(s, *nsec)[0];
        const std::uint8_t* owner = s.node_name(n);
        if (n.flags & zone::Node::Cut) {
            // RFC 9824 §3.4: "<label>\000.<parent>", outside the child zone.
            ASSERT_EQ(rd[0], owner[0] + 1);
            EXPECT_EQ(rd[owner[0] + 1], 0);
            EXPECT_TRUE(dns::wire_name::equal_ci(rd.data() + rd[0] + 1, owner + owner[0] + 1));
        } else {
            // RFC 9824 §3: next name = "\000.<owner>".
            ASSERT_EQ(rd[0], 1);
            EXPECT_EQ(rd[1], 0);
            EXPECT_TRUE(dns::wire_name::equal_ci(rd.data() + 2, owner));
        }
    }
    EXPECT_EQ(nsecs, 12u);  // ENTs b.c, c and wild included
    EXPECT_EQ(audit(s).bad, 0u);
}

TEST_F(LiveTest, SignaturesAreKeptWhileFreshAndRemadeBeforeRefresh) {
    auto k = keys();
    LivePolicy p;
    p.validity = 14 * 86400;
    p.refresh = 7 * 86400;
    auto recs = records();
    auto v1 = sign(recs, k, p, nullptr, now_);
    const std::size_t total = v1.made;
    // An hour later nothing is due: everything is kept.
    auto v2 = sign(v1.snapshot->to_records(), k, p, v1.snapshot.get(), now_ + 3600);
    EXPECT_EQ(v2.made, 0u);
    EXPECT_EQ(v2.kept, total);
    // At the refresh point every signature is remade, and none of what is
    // served then expires within signature_refresh.
    const std::int64_t later = v2.next_resign;
    EXPECT_GT(later, now_);
    auto v3 = sign(v2.snapshot->to_records(), k, p, v2.snapshot.get(), later);
    EXPECT_EQ(v3.made, total);
    Audit a = audit(*v3.snapshot);
    EXPECT_EQ(a.bad, 0u);
    EXPECT_GT(a.earliest_expiry, later + p.refresh);
    EXPECT_EQ(a.latest_inception, later - 3600);
    // Walk a simulated month in refresh steps: no served signature ever
    // expires before the next pass.
    SignedZone cur = std::move(v3);
    std::int64_t clock = later;
    for (int step = 0; step < 8; ++step) {
        clock = cur.next_resign;
        auto next = sign(cur.snapshot->to_records(), k, p, cur.snapshot.get(), clock);
        Audit b = audit(*next.snapshot);
        EXPECT_GT(b.earliest_expiry, clock + p.refresh) << "step " << step;
        EXPECT_GT(next.next_resign, clock) << "step " << step;
        cur = std::move(next);
    }
    EXPECT_GT(clock, now_ + 30 * 86400);
}

TEST_F(LiveTest, ASmallChangeResignsOnlyWhatItTouches) {
    auto k = keys();
    LivePolicy p;
    auto v1 = sign(records(), k, p, nullptr, now_);
    // New serial and one changed address: the SOA and the A RRset.
    std::string changed = kZone;
    changed.replace(changed.find("host 1 "), 7, "host 2 ");
    changed.replace(changed.find("www A 192.0.2.1"), 15, "www A 192.0.2.9");
    auto v2 = sign(records("", changed), k, p, v1.snapshot.get(), now_ + 60);
    EXPECT_EQ(v2.made, 2u);
    EXPECT_EQ(v2.kept, v1.made - 2);
    EXPECT_EQ(audit(*v2.snapshot).bad, 0u);
    // A new name: its RRset, its NSEC, its predecessor's NSEC, the SOA.
    changed.replace(changed.find("host 2 "), 7, "host 3 ");
    auto v3 = sign(records("new A 192.0.2.77\n", changed), k, p, v2.snapshot.get(), now_ + 120);
    EXPECT_EQ(v3.made, 4u);
    EXPECT_EQ(audit(*v3.snapshot).bad, 0u);
    // With NSEC3 (from the first version: www's A changed too) the new name
    // touches its own NSEC3 and the one before it in hash order.
    fs::remove_all(dir_);
    auto k3 = keys();
    p.denial = Denial::Nsec3;
    auto n1 = sign(records(), k3, p, nullptr, now_);
    auto n2 = sign(records("new A 192.0.2.77\n", changed), k3, p, n1.snapshot.get(), now_ + 60);
    EXPECT_EQ(n2.made, 5u);
    EXPECT_EQ(audit(*n2.snapshot).bad, 0u);
}

// RFC 4034 §3: an RRSIG's TTL is its RRset's, also in what to_records()
// gives dumps, re-signing and IXFR (the snapshot keeps a node's RRSIGs in
// one set internally).
TEST_F(LiveTest, WrittenRrsigsCarryTheirRrsetsTtl) {
    auto k = keys();
    auto z = sign(records(), k, {}, nullptr, now_);
    auto recs = z.snapshot->to_records();
    std::map<std::pair<std::string, std::uint16_t>, std::uint32_t> ttl_of;
    for (const auto& r : recs.refs()) {
        if (r.type != t::RRSIG) ttl_of[{dns::wire_name::to_string(recs.owner(r)), r.type}] = r.ttl;
    }
    std::size_t checked = 0;
    for (const auto& r : recs.refs()) {
        if (r.type != t::RRSIG) continue;
        const auto covered = dns::load16(recs.rdata(r).data());
        auto it = ttl_of.find({dns::wire_name::to_string(recs.owner(r)), covered});
        ASSERT_NE(it, ttl_of.end());
        EXPECT_EQ(r.ttl, it->second) << dns::wire_name::to_string(recs.owner(r)) << " RRSIG "
                                     << dns::type_to_string(covered);
        ++checked;
    }
    EXPECT_EQ(checked, z.made);
}

TEST_F(LiveTest, NewKeysMeanEverythingIsResigned) {
    auto k = keys();
    auto v1 = sign(records(), k, {}, nullptr, now_);
    fs::remove_all(dir_);
    auto other = keys();
    auto v2 = sign(records(), other, {}, v1.snapshot.get(), now_ + 60);
    EXPECT_EQ(v2.kept, 0u);
    EXPECT_EQ(audit(*v2.snapshot).bad, 0u);
}

// A standby KSK (DESIGN.md §4): named by CDS and CDNSKEY, so the parent
// takes its DS, but neither in DNSKEY nor signing anything.
TEST_F(LiveTest, AStandbyKskIsInCdsButNotInDnskey) {
    auto k = keys();
    auto standby = generate_key(key_directory(dir_.string(), origin_), origin_, KeyRole::Ksk, 13, now_);
    ASSERT_TRUE(standby.ok()) << standby.error().message;
    standby->published = standby->signing = false;
    standby->in_cds = true;
    k.keys.push_back(*standby);
    auto v = sign(records(), k, {}, nullptr, now_);
    const zone::Snapshot& s = *v.snapshot;
    const auto& apex = s.node(s.apex());
    auto contains = [&](std::uint16_t type, const std::vector<std::uint8_t>& want) {
        const auto* rs = s.find_rrset(apex, type);
        if (!rs) return false;
        for (auto rd : rdatas(s, *rs)) {
            if (std::equal(rd.begin(), rd.end(), want.begin(), want.end())) return true;
        }
        return false;
    };
    EXPECT_FALSE(contains(t::DNSKEY, standby->dnskey));
    EXPECT_TRUE(contains(t::DNSKEY, k.ksk().dnskey));
    EXPECT_TRUE(contains(t::CDNSKEY, standby->dnskey));
    EXPECT_TRUE(contains(t::CDNSKEY, k.ksk().dnskey));
    EXPECT_TRUE(contains(t::CDS, dns::ds_rdata(origin_, standby->dnskey, 2)));
    EXPECT_TRUE(contains(t::CDS, dns::ds_rdata(origin_, k.ksk().dnskey, 2)));
    ASSERT_NE(s.find_rrset(apex, t::CDS), nullptr);
    EXPECT_EQ(s.find_rrset(apex, t::CDS)->rr_count, 2u);
    // Nothing is signed by the standby: every RRSIG verifies with the served DNSKEYs.
    Audit a = audit(s);
    EXPECT_EQ(a.bad, 0u);
    EXPECT_GT(a.signed_sets, 0u);
}

}  // namespace
}  // namespace satellite::modes
