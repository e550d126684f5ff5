// Incremental versions (zone::apply_changes) against versions built whole:
// after a long random sequence of changes — names added and removed,
// delegations laid over existing data and lifted, DNAMEs, wildcards, CNAMEs
// beside other data, deletes of records we do not have — every answer to
// every query of a broad set is byte for byte the answer of a version built
// whole from the same records, and every change the whole build refuses is
// refused too.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "../dns/test_packet.hpp"
#include "dns/types.hpp"
#include "dns/zonefile.hpp"
#include "serve/answer.hpp"
#include "zone/catalog.hpp"
#include "zone/snapshot.hpp"
#include "zone/update.hpp"

namespace satellite::serve {
namespace {

namespace t = dns::type;

const char* kOrigin = "inc.test.";

struct Generator {
    std::mt19937 rng;
    bool nsec3;
    explicit Generator(unsigned seed, bool n3) : rng(seed), nsec3(n3) {}
    unsigned pick(unsigned n) { return std::uniform_int_distribution<unsigned>(0, n - 1)(rng); }

    std::string name() {
        static const char* leaves[] = {"a", "b", "c", "www", "mail", "ns1", "ns2", "*", "x", "deep"};
        static const char* mids[] = {"", "sub.", "dl.", "dn.", "w.", "sub.dl.", "e.f.", "cn."};
        return std::string(leaves[pick(10)]) + "." + mids[pick(8)] + kOrigin;
    }
    std::string sig(const std::string& type, unsigned labels) {
        // Expirations differ per record, so the earliest one moves around.
        return "RRSIG " + type + " 13 " + std::to_string(labels) + " 300 2035" +
               std::to_string(10 + pick(3)) + "01000000 20200101000000 4242 " + kOrigin + " AAAA" +
               std::to_string(pick(10)) + "AAAAAAAAAAAAAA=";
    }
    std::string hash_label() {
        static const char b32[] = "0123456789abcdefghijklmnopqrstuv";
        std::string h;
        for (int i = 0; i < 32; ++i) h += b32[pick(32)];
        return h;
    }
    // One record line, or "" for nothing.
    std::string record() {
        const std::string n = name();
        const unsigned labels = static_cast<unsigned>(std::count(n.begin(), n.end(), '.')) - (n[0] == '*' ? 1 : 0);
        switch (pick(14)) {
            case 0: case 1: case 2: return n + " 300 IN A 192.0.2." + std::to_string(pick(4));
            case 3: return n + " 300 IN AAAA 2001:db8::" + std::to_string(pick(3));
            case 4: return n + " 600 IN TXT \"t" + std::to_string(pick(3)) + "\"";
            case 5: return n + " 300 IN CNAME www." + kOrigin;
            case 6: return n + " 300 IN MX 10 mail." + std::string(kOrigin);
            case 7: return n + " 3600 IN NS ns" + std::to_string(1 + pick(2)) + "." + (pick(2) ? "dl." : "") + kOrigin;
            case 8: return n + " 900 IN DNAME target.example.";
            case 9: return n + " 300 IN DS 4242 13 2 " + std::string(64, 'a');
            case 10: return n + " 300 IN " + sig(pick(2) ? "A" : "TXT", labels);
            case 11: return nsec3 ? hash_label() + "." + kOrigin + " 300 IN NSEC3 1 0 0 - " + hash_label() + " A RRSIG"
                                  : n + " 300 IN NSEC " + name() + " A TXT RRSIG NSEC";
            case 12: return "dl." + std::string(kOrigin) + " 3600 IN NS ns1.dl." + kOrigin;
            default: return n + " 300 IN SRV 0 0 53 ns1." + std::string(kOrigin);
        }
    }
};

std::string soa(std::uint32_t serial) {
    return std::string(kOrigin) + " 3600 IN SOA ns1." + kOrigin + " h." + kOrigin + " " + std::to_string(serial) +
           " 3600 600 86400 300";
}

dns::RecordList parse(const std::string& text) {
    auto o = dns::Name::from_text(kOrigin);
    auto recs = dns::parse_records(text, *o);
    EXPECT_TRUE(recs.ok()) << (recs.ok() ? "" : recs.error().message) << "\n" << text;
    return recs.ok() ? *recs : dns::RecordList{};
}

std::string line_of(const dns::RecordList& l, const dns::RecordRef& r) {
    static const char hex[] = "0123456789abcdef";
    std::string out = dns::wire_name::to_string(l.owner(r)) + " " + std::to_string(r.ttl) + " " +
                      dns::type_to_string(r.type) + " ";
    for (std::uint8_t b : l.rdata(r)) {
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

// Every answer for a broad query set, over the names in the zone.
std::vector<std::vector<std::uint8_t>> answers(const std::shared_ptr<const zone::Snapshot>& snap,
                                               const std::vector<std::string>& names) {
    std::vector<zone::ServedZone> zones(1);
    zones[0].origin = snap->origin();
    zones[0].snapshot = snap;
    const zone::Catalog cat(std::move(zones));
    std::vector<std::vector<std::uint8_t>> out;
    const std::uint16_t types[] = {t::A, t::AAAA, t::NS, t::MX, t::TXT, t::CNAME, t::SOA, t::DS,
                                   t::NSEC, t::RRSIG, t::SRV, 255};
    for (const auto& n : names) {
        for (std::uint16_t type : types) {
            for (bool dnssec : {false, true}) {
                auto q = satellite::testing::make_query({.name = n, .qtype = type, .edns = true, .do_bit = dnssec});
                static std::vector<std::uint8_t> buf(65535);
                const std::size_t len = answer(cat, q, Transport::Tcp, {}, buf);
                out.emplace_back(buf.begin(), buf.begin() + len);
            }
        }
    }
    return out;
}

void run_sequence(unsigned seed, bool nsec3, int steps) {
    Generator g(seed, nsec3);
    std::uint32_t serial = 1;
    std::string base = soa(serial) + "\n" + std::string(kOrigin) + " 3600 IN NS ns1." + kOrigin + "\n" + kOrigin +
                       " 3600 IN DNSKEY 257 3 13 " + std::string(88, 'A') + "\n";
    if (nsec3) base += std::string(kOrigin) + " 300 IN NSEC3PARAM 1 0 0 -\n";
    for (int i = 0; i < 60; ++i) {
        std::string r = g.record();
        if (r.find(" CNAME ") == std::string::npos && r.find(" DNAME ") == std::string::npos) base += r + "\n";
    }
    const auto origin = *dns::Name::from_text(kOrigin);
    dns::RecordList ref_records = parse(base);
    auto built = zone::build_snapshot(origin, ref_records);
    ASSERT_TRUE(built.ok()) << built.error().message;
    std::shared_ptr<const zone::Snapshot> inc = *built;
    ref_records = inc->to_records();  // one copy of each record, as a version holds them
    int applied = 0, refused = 0;
    for (int step = 0; step < steps; ++step) {
        // A change: the SOA, some current records out, some new ones in.
        zone::ZoneDelta d;
        d.from = serial;
        d.to = serial + 1;
        std::string removed = soa(serial) + "\n", added = soa(serial + 1) + "\n";
        const unsigned outs = g.pick(4), ins = g.pick(5);
        if (g.pick(25) == 0) removed += "gone." + std::string(kOrigin) + " 300 IN A 192.0.2.200\n";  // not there
        for (unsigned k = 0; k < ins; ++k) added += g.record() + "\n";
        d.removed = parse(removed);
        d.added = parse(added);
        std::set<std::size_t> picked;
        for (unsigned k = 0; k < outs && ref_records.size() > 1; ++k) {
            const std::size_t i = g.pick(static_cast<unsigned>(ref_records.size()));
            const auto& r = ref_records[i];
            if (r.type == t::SOA || !picked.insert(i).second) continue;
            d.removed.add({ref_records.owner(r), r.owner_len}, r.type, r.rclass, r.ttl, ref_records.rdata(r));
            removed += line_of(ref_records, r) + "\n";
        }
        std::vector<zone::ZoneDelta> one{d};
        // The reference: the records with the change, built whole.
        auto next_records = zone::apply_deltas(ref_records, one);
        Result<std::shared_ptr<const zone::Snapshot>> whole = make_error("not built");
        if (next_records) whole = zone::build_snapshot(origin, *next_records);
        std::vector<std::uint32_t> touched;
        auto next = zone::apply_changes(*inc, one, &touched);
        ASSERT_EQ(next.ok(), next_records.ok() && whole.ok())
            << "step " << step << ": incremental " << (next.ok() ? "took" : next.error().message) << "; whole "
            << (!next_records ? next_records.error().message : whole.ok() ? "took" : whole.error().message)
            << "\n-" << removed << "+" << added;
        if (!next) {
            ++refused;
            continue;
        }
        ++applied;
        ++serial;
        // As the served version holds them (one TTL per RRset; each RRSIG
        // with its RRset's): what the next change applies to.
        ref_records = (*whole)->to_records();
        inc = *next;
        EXPECT_FALSE(touched.empty());
        const zone::Snapshot& w = **whole;
        ASSERT_EQ(inc->serial(), w.serial());
        ASSERT_EQ(inc->record_count(), w.record_count()) << "step " << step;
        ASSERT_EQ(inc->node_count(), w.node_count()) << "step " << step;
        ASSERT_EQ(inc->has_nsec(), w.has_nsec());
        ASSERT_EQ(inc->has_nsec3(), w.has_nsec3());
        ASSERT_EQ(inc->rrsig_count(), w.rrsig_count());
        const auto ie = inc->earliest_signature_node(), we = w.earliest_signature_node();
        ASSERT_EQ(ie == zone::kNone, we == zone::kNone);
        if (ie != zone::kNone) {
            EXPECT_EQ(inc->node(ie).data->earliest_expiration(), w.node(we).data->earliest_expiration());
        }
        // Same records in the same order.
        auto a = inc->to_records(), b = w.to_records();
        ASSERT_EQ(a.size(), b.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (line_of(a, a[i]) != line_of(b, b[i])) {
                for (std::size_t k = i > 3 ? i - 3 : 0; k < std::min(a.size(), i + 3); ++k) {
                    ADD_FAILURE() << line_of(a, a[k]) << "\n" << line_of(b, b[k]);
                }
                FAIL() << "step " << step << " record " << i << "\n-" << removed << "+" << added;
            }
        }
        if (step % 25 != 24 && step != steps - 1) continue;
        // Same answers, byte for byte.
        std::set<std::string> names{kOrigin, "nothere." + std::string(kOrigin), "q.w." + std::string(kOrigin),
                                    "q.x.w." + std::string(kOrigin), "q.dl." + std::string(kOrigin),
                                    "q.dn." + std::string(kOrigin), "z.e.f." + std::string(kOrigin)};
        w.for_each_node([&](std::uint32_t, const zone::Node& n) {
            const std::string s = dns::wire_name::to_string(w.node_name(n));
            names.insert(s);
            names.insert("zz." + s);
        });
        std::vector<std::string> list(names.begin(), names.end());
        auto ia = answers(inc, list), wa = answers(*whole, list);
        ASSERT_EQ(ia.size(), wa.size());
        std::size_t same = 0;
        for (std::size_t i = 0; i < ia.size(); ++i) {
            EXPECT_EQ(ia[i], wa[i]) << "step " << step << " query " << list[i / 24] << " #" << i % 24;
            same += ia[i] == wa[i];
        }
        ASSERT_EQ(same, ia.size());
    }
    // The sequence exercised both outcomes.
    EXPECT_GT(applied, steps / 3);
    EXPECT_GT(refused, 0);
}

TEST(IncrementalVersions, NsecZoneAnswersLikeWholeBuildsThroughRandomChanges) { run_sequence(7, false, 1000); }
TEST(IncrementalVersions, Nsec3ZoneAnswersLikeWholeBuildsThroughRandomChanges) { run_sequence(11, true, 1000); }
TEST(IncrementalVersions, OtherSeeds) {
    for (unsigned seed : {1u, 2u, 3u, 4u, 5u, 6u}) run_sequence(seed, seed % 2 == 0, 200);
}

// The untouched names of a version are shared with the one before: the
// same node data, not copies.
TEST(IncrementalVersions, UntouchedNamesAreShared) {
    std::string text = soa(1) + "\n" + std::string(kOrigin) + " 3600 IN NS ns1." + kOrigin + "\n";
    for (int i = 0; i < 2000; ++i) text += "n" + std::to_string(i) + "." + kOrigin + " 300 IN A 192.0.2.1\n";
    const auto origin = *dns::Name::from_text(kOrigin);
    auto v1 = zone::build_snapshot(origin, parse(text));
    ASSERT_TRUE(v1.ok());
    zone::ZoneDelta d{1, 2, parse(soa(1) + "\nn5." + kOrigin + " 300 IN A 192.0.2.1\n"),
                      parse(soa(2) + "\nn5." + kOrigin + " 300 IN A 192.0.2.9\n")};
    std::vector<std::uint32_t> touched;
    auto v2 = zone::apply_changes(**v1, {d}, &touched);
    ASSERT_TRUE(v2.ok()) << v2.error().message;
    EXPECT_EQ(touched.size(), 2u);  // the apex (SOA) and n5
    std::size_t shared = 0, total = 0;
    (*v2)->for_each_node([&](std::uint32_t id, const zone::Node& n) {
        ++total;
        shared += (*v1)->node(id).data.get() == n.data.get();
    });
    EXPECT_EQ(total, (*v1)->node_count());
    EXPECT_EQ(shared, total - 2);
    EXPECT_EQ((*v2)->serial(), 2u);
    EXPECT_EQ((*v1)->serial(), 1u);  // the old version is untouched
}

}  // namespace
}  // namespace satellite::serve
