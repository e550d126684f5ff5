// Incremental live signing (modes::sign_changes) against whole signing
// passes: through a long random sequence of a primary's changes — names
// added and removed, delegations (secure and insecure) laid over data and
// lifted, DNAMEs, wildcards, deep names whose empty non-terminals come and
// go — the incremental version holds exactly the records a whole pass makes
// (denial records byte for byte; signatures by the same keys over the same
// RRsets, and every new one verifies), its signed difference leads from
// the previous version to it, and a change the whole pass refuses is
// refused. NSEC, NSEC3, NSEC3 with opt-out, and compact denial.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "dns/dnssec.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"
#include "dns/zonefile.hpp"
#include "modes/keys.hpp"
#include "modes/live.hpp"
#include "zone/snapshot.hpp"
#include "zone/update.hpp"

namespace satellite::modes {
namespace {

namespace fs = std::filesystem;
namespace t = dns::type;

const char* kOrigin = "live.test.";

struct Generator {
    std::mt19937 rng;
    explicit Generator(unsigned seed) : rng(seed) {}
    unsigned pick(unsigned n) { return std::uniform_int_distribution<unsigned>(0, n - 1)(rng); }

    std::string name() {
        static const char* leaves[] = {"a", "b", "c", "www", "mail", "ns1", "ns2", "*", "x", "deep"};
        static const char* mids[] = {"", "sub.", "dl.", "dn.", "w.", "sub.dl.", "e.f.", "cn.", "p.q.r.", "ins."};
        return std::string(leaves[pick(10)]) + "." + mids[pick(10)] + kOrigin;
    }
    // One record line of a primary's zone; with `dnssec`, now and then
    // one of the primary's own DNSSEC records.
    std::string record(bool dnssec = false) {
        const std::string n = name();
        switch (pick(dnssec ? 14 : 13)) {
            case 0: case 1: case 2: return n + " 300 IN A 192.0.2." + std::to_string(pick(4));
            case 3: return n + " 300 IN AAAA 2001:db8::" + std::to_string(pick(3));
            case 4: return n + " 600 IN TXT \"t" + std::to_string(pick(3)) + "\"";
            case 5: return n + " 300 IN CNAME www." + kOrigin;
            case 6: return n + " 300 IN MX 10 mail." + std::string(kOrigin);
            case 7: return n + " 3600 IN NS ns" + std::to_string(1 + pick(2)) + "." + (pick(2) ? "dl." : "") + kOrigin;
            case 8: return n + " 900 IN DNAME target.example.";
            case 9: return n + " 300 IN DS 4242 13 2 " + std::string(64, 'a');
            case 10: return "dl." + std::string(kOrigin) + " 3600 IN NS ns1.dl." + kOrigin;
            case 11: return "ins." + std::string(kOrigin) + " 3600 IN NS ns" + std::to_string(1 + pick(2)) + ".example.";
            // The primary's own DNSSEC records: replaced by ours, never served.
            case 13: return pick(2) ? std::string(kOrigin) + " 3600 IN DNSKEY 256 3 13 " + std::string(88, 'B')
                                    : n + " 300 IN NSEC " + name() + " A RRSIG NSEC";
            default: return n + " 300 IN SRV 0 0 53 ns1." + std::string(kOrigin);
        }
    }
};
// (The primary's DNSSEC records are left out of changes: a whole pass
// applies a change to our signed records, where a delete of the primary's
// NSEC fails, while the incremental pass drops it first.)

std::string soa(std::uint32_t serial, std::uint32_t ttl = 3600) {
    return std::string(kOrigin) + " " + std::to_string(ttl) + " IN SOA ns1." + kOrigin + " h." + kOrigin + " " +
           std::to_string(serial) + " 3600 600 86400 300";
}

dns::RecordList parse(const std::string& text) {
    auto recs = dns::parse_records(text, *dns::Name::from_text(kOrigin));
    EXPECT_TRUE(recs.ok()) << (recs.ok() ? "" : recs.error().message) << "\n" << text;
    return recs.ok() ? *recs : dns::RecordList{};
}

std::string hex(std::span<const std::uint8_t> b) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t c : b) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// A record as the comparison sees it: an RRSIG without its expiration
// (jittered per signature) and signature bytes (ECDSA is randomised).
std::string line_of(const dns::RecordList& l, const dns::RecordRef& r) {
    std::string out = dns::wire_name::to_string(l.owner(r)) + " " + std::to_string(r.ttl) + " " +
                      dns::type_to_string(r.type) + " ";
    auto rd = l.rdata(r);
    if (r.type == t::RRSIG && rd.size() > 18) {
        const std::size_t signer = dns::wire_name::length(rd.data() + 18, rd.size() - 18);
        return out + hex(rd.subspan(0, 8)) + " " + hex(rd.subspan(12, 6 + signer));
    }
    return out + hex(rd);
}

std::multiset<std::string> lines(const zone::Snapshot& s) {
    std::multiset<std::string> out;
    auto recs = s.to_records();
    for (const auto& r : recs.refs()) out.insert(line_of(recs, r));
    return out;
}

// Every RRSIG over every RRset of `s` verifies with the apex DNSKEYs.
std::size_t bad_signatures(const zone::Snapshot& s) {
    const auto* dnskeys = s.find_rrset(s.node(s.apex()), t::DNSKEY);
    if (!dnskeys) return 1;
    auto rdatas = [&](const zone::Rrset& r) {
        std::vector<std::span<const std::uint8_t>> out;
        const std::uint8_t* p = r.rdata();
        for (unsigned i = 0; i < r.rr_count; ++i) {
            const std::uint16_t len = dns::load16(p);
            out.emplace_back(p + 2, len);
            p += 2 + len;
        }
        return out;
    };
    auto keys = rdatas(*dnskeys);
    std::size_t bad = 0;
    s.for_each_node([&](std::uint32_t, const zone::Node& n) {
        for (const auto& rs : s.rrsets_of(n)) {
            if (rs.type == t::RRSIG) continue;
            const auto* sigs = s.signatures(rs);
            if (!sigs) continue;
            dns::RrsetView view{s.node_name(n), n.name_len, rs.type, rdatas(rs)};
            for (auto sig : rdatas(*sigs)) {
                bool ok = false;
                for (auto k : keys) ok |= dns::verify_rrsig(view, sig, k, s.origin()).ok();
                if (!ok) {
                    ++bad;
                    ADD_FAILURE() << "bad RRSIG over " << dns::wire_name::to_string(s.node_name(n)) << " "
                                  << dns::type_to_string(rs.type);
                }
            }
        }
    });
    return bad;
}

class LiveChanges : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("satellite-live-changes-" + std::to_string(::getpid()) + "-" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        auto k = load_or_create_keys(dir_.string(), origin_, 13, now_);
        ASSERT_TRUE(k.ok()) << k.error().message;
        keys_ = *k;
    }
    void TearDown() override { fs::remove_all(dir_); }

    void run_sequence(unsigned seed, LivePolicy policy, int steps);

    dns::Name origin_ = *dns::Name::from_text(kOrigin);
    std::int64_t now_ = 1'800'000'000;
    fs::path dir_;
    ZoneKeys keys_;
};

void LiveChanges::run_sequence(unsigned seed, LivePolicy policy, int steps) {
    policy.threads = 1;
    Generator g(seed);
    std::uint32_t serial = 1;
    std::string base = soa(serial) + "\n" + std::string(kOrigin) + " 3600 IN NS ns1." + kOrigin + "\n";
    for (int i = 0; i < 50; ++i) {
        std::string r = g.record(true);
        if (r.find(" CNAME ") == std::string::npos && r.find(" DNAME ") == std::string::npos) base += r + "\n";
    }
    // The primary's zone, as a version holds it (one copy of each record,
    // one TTL per RRset).
    auto as_held = [&](const dns::RecordList& records) {
        auto built = zone::build_snapshot(origin_, records);
        EXPECT_TRUE(built.ok()) << built.error().message;
        return built.ok() ? (*built)->to_records() : dns::RecordList{};
    };
    dns::RecordList ref = as_held(parse(base));
    auto first = sign_zone(origin_, ref, keys_, policy, nullptr, now_);
    ASSERT_TRUE(first.ok()) << first.error().message;
    std::shared_ptr<const zone::Snapshot> inc = first->snapshot;
    int applied = 0, refused = 0;
    std::size_t made = 0, whole_made = 0;
    for (int step = 0; step < steps; ++step) {
        zone::ZoneDelta d;
        d.from = serial;
        d.to = serial + 1;
        std::string removed = soa(serial) + "\n", added = soa(serial + 1) + "\n";
        if (g.pick(40) == 0) removed += "gone." + std::string(kOrigin) + " 300 IN A 192.0.2.200\n";  // not there
        const unsigned outs = g.pick(4), ins = g.pick(4);
        for (unsigned k = 0; k < ins; ++k) added += g.record() + "\n";
        d.removed = parse(removed);
        d.added = parse(added);
        std::set<std::size_t> picked;
        for (unsigned k = 0; k < outs && ref.size() > 1; ++k) {
            const std::size_t i = g.pick(static_cast<unsigned>(ref.size()));
            const auto& r = ref[i];
            if (r.type == t::SOA || !picked.insert(i).second) continue;
            if (r.type == t::DNSKEY || r.type == t::NSEC) continue;
            d.removed.add({ref.owner(r), r.owner_len}, r.type, r.rclass, r.ttl, ref.rdata(r));
            removed += dns::wire_name::to_string(ref.owner(r)) + " " + dns::type_to_string(r.type) + "\n";
        }
        std::vector<zone::ZoneDelta> one{d};
        // The reference: the primary's new zone, signed whole (keeping the
        // incremental version's fresh signatures, as the daemon would).
        auto next_ref = zone::apply_deltas(ref, one);
        Result<SignedZone> whole = make_error("not applied");
        if (next_ref) whole = sign_zone(origin_, *next_ref, keys_, policy, inc.get(), now_);
        auto changed = sign_changes(origin_, *inc, one, keys_, policy, now_);
        ASSERT_EQ(changed.ok(), next_ref.ok() && whole.ok())
            << "step " << step << ": incremental " << (changed.ok() ? "took" : changed.error().message) << "; whole "
            << (!next_ref ? next_ref.error().message : whole.ok() ? "took" : whole.error().message) << "\n-"
            << removed << "+" << added;
        if (!changed) {
            ++refused;
            continue;
        }
        ASSERT_TRUE(changed->has_value()) << "step " << step << ": not incremental";
        ++applied;
        ++serial;
        ref = as_held(*next_ref);
        const SignedChange& c = **changed;
        const zone::Snapshot& w = *whole->snapshot;
        const zone::Snapshot& s = *c.zone.snapshot;
        made += c.zone.made;
        whole_made += whole->made;
        // Same records: denial byte for byte, signatures by the same keys
        // over the same RRsets.
        auto a = lines(s), b = lines(w);
        if (a != b) {
            std::vector<std::string> only_inc, only_whole;
            std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_inc));
            std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_whole));
            for (const auto& l : only_inc) ADD_FAILURE() << "only incremental: " << l;
            for (const auto& l : only_whole) ADD_FAILURE() << "only whole:       " << l;
            FAIL() << "step " << step << "\n-" << removed << "+" << added;
        }
        ASSERT_EQ(s.node_count(), w.node_count());
        ASSERT_EQ(s.serial(), w.serial());
        // Only what changed was signed: no more than the whole pass made.
        EXPECT_EQ(c.zone.made, whole->made) << "step " << step;
        // The signed difference leads from the previous version to this one.
        ASSERT_EQ(c.diff.from, inc->serial());
        ASSERT_EQ(c.diff.to, s.serial());
        auto replay = zone::apply_changes(*inc, {c.diff});
        ASSERT_TRUE(replay.ok()) << replay.error().message;
        ASSERT_EQ(lines(**replay), a);
        inc = c.zone.snapshot;
        if (step % 20 == 19) {
            ASSERT_EQ(bad_signatures(*inc), 0u) << "step " << step;
        }
    }
    EXPECT_EQ(bad_signatures(*inc), 0u);
    EXPECT_GT(applied, steps / 2);
    EXPECT_GT(refused, 0);
    EXPECT_GT(made, 0u);
    EXPECT_EQ(made, whole_made);
}

TEST_F(LiveChanges, NsecZoneSignsLikeWholePasses) { run_sequence(3, LivePolicy{}, 300); }

TEST_F(LiveChanges, Nsec3ZoneSignsLikeWholePasses) {
    LivePolicy p;
    p.denial = Denial::Nsec3;
    run_sequence(5, p, 300);
}

TEST_F(LiveChanges, Nsec3OptOutZoneSignsLikeWholePasses) {
    LivePolicy p;
    p.denial = Denial::Nsec3;
    p.nsec3_opt_out = true;
    p.nsec3_salt = {0xab, 0xcd};
    run_sequence(9, p, 300);
}

TEST_F(LiveChanges, CompactDenialZoneSignsLikeWholePasses) {
    LivePolicy p;
    p.denial = Denial::Compact;
    run_sequence(13, p, 300);
}

// What makes every signature or denial record change goes to a whole pass.
TEST_F(LiveChanges, KeysDenialSoaTtlAndDueSignaturesTakeTheWholePass) {
    const std::string base = soa(1) + "\n" + std::string(kOrigin) + " 3600 IN NS ns1." + kOrigin + "\n" + "ns1." +
                             kOrigin + " 300 IN A 192.0.2.1\n";
    LivePolicy policy;
    policy.threads = 1;
    auto first = sign_zone(origin_, parse(base), keys_, policy, nullptr, now_);
    ASSERT_TRUE(first.ok());
    auto change = [&](std::uint32_t soa_ttl) {
        zone::ZoneDelta d{1, 2, parse(soa(1) + "\n"), parse(soa(2, soa_ttl) + "\nnew." + kOrigin + " 300 IN A 192.0.2.9\n")};
        return std::vector<zone::ZoneDelta>{d};
    };
    auto ok = sign_changes(origin_, *first->snapshot, change(3600), keys_, policy, now_);
    ASSERT_TRUE(ok.ok());
    EXPECT_TRUE(ok->has_value());
    // The SOA TTL is the DNSKEY TTL: every key record changes.
    auto ttl = sign_changes(origin_, *first->snapshot, change(7200), keys_, policy, now_);
    ASSERT_TRUE(ttl.ok());
    EXPECT_FALSE(ttl->has_value());
    // Another denial.
    LivePolicy n3 = policy;
    n3.denial = Denial::Nsec3;
    auto denial = sign_changes(origin_, *first->snapshot, change(3600), keys_, n3, now_);
    ASSERT_TRUE(denial.ok());
    EXPECT_FALSE(denial->has_value());
    // Signatures due for refresh.
    auto due = sign_changes(origin_, *first->snapshot, change(3600), keys_, policy, now_ + policy.validity);
    ASSERT_TRUE(due.ok());
    EXPECT_FALSE(due->has_value());
    // Another ZSK signing.
    ZoneKeys other = keys_;
    for (auto& k : other.keys) {
        if (k.role == KeyRole::Zsk) {
            k.tag ^= 1;
        }
    }
    auto keys = sign_changes(origin_, *first->snapshot, change(3600), other, policy, now_);
    ASSERT_TRUE(keys.ok());
    EXPECT_FALSE(keys->has_value());
}

}  // namespace
}  // namespace satellite::modes
