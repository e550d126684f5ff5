// answer(): one test per lookup rule (RFC 1034 §4.3.2, RFC 2308, RFC 4592,
// RFC 6672, RFC 6891, RFC 8482, RFC 4035 §3.1.4.1) against a catalog built
// once, with queries crafted byte by byte and responses fully decoded.
#include "serve/answer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "../dns/test_packet.hpp"
#include "dns/types.hpp"
#include "dns/zonefile.hpp"
#include "zone/snapshot.hpp"

namespace satellite::serve {
namespace {

namespace t = dns::type;
namespace rc = dns::rcode;
using satellite::testing::Bytes;
using satellite::testing::Decoded;
using satellite::testing::make_query;
using satellite::testing::of_type;
using satellite::testing::QuerySpec;
using satellite::testing::Rr;

const std::string kDsHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kLong63(63, 'l');
// 3 × 64 + "example.net." (13) = 205 octets.
const std::string kLongTarget = kLong63 + "." + kLong63 + "." + kLong63 + ".example.net.";

std::string txt_lines(const std::string& owner, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%02d", i);
        out += owner + " 60 IN TXT \"" + std::string(58, 'x') + buf + "\"\n";
    }
    return out;
}

std::string example_com() {
    std::string z =
        "example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 "
        "1209600 300\n"
        "example.com. 3600 IN NS ns1.example.com.\n"
        "example.com. 3600 IN NS ns2.example.com.\n"
        "example.com. 3600 IN MX 10 mail.example.com.\n"
        "example.com. 3600 IN A 192.0.2.1\n"
        "ns1.example.com. 3600 IN A 192.0.2.53\n"
        "ns2.example.com. 3600 IN AAAA 2001:db8::53\n"
        "mail.example.com. 3600 IN A 192.0.2.25\n"
        "mail.example.com. 3600 IN AAAA 2001:db8::25\n"
        "web.example.com. 300 IN A 192.0.2.80\n"
        "www.example.com. 600 IN CNAME web.example.com.\n"
        "ext.example.com. 600 IN CNAME www.example.net.\n"
        "tochild.example.com. 600 IN CNAME www.child.example.com.\n"
        "tobroken.example.com. 600 IN CNAME www.broken.test.\n"
        "dnchild.example.com. 900 IN DNAME child.example.com.\n"
        "chain1.example.com. 60 IN CNAME chain2.example.com.\n"
        "chain2.example.com. 60 IN CNAME chain3.example.com.\n"
        "chain3.example.com. 60 IN A 192.0.2.3\n"
        "dangling.example.com. 60 IN CNAME nothere.example.com.\n"
        "loop1.example.com. 60 IN CNAME loop2.example.com.\n"
        "loop2.example.com. 60 IN CNAME loop1.example.com.\n"
        "a.b.c.example.com. 60 IN A 192.0.2.4\n"
        "*.wild.example.com. 120 IN A 192.0.2.99\n"
        "*.wild.example.com. 120 IN TXT \"wild\"\n"
        "sub.wild.example.com. 60 IN TXT \"exists\"\n"
        "deep.ent.wild.example.com. 60 IN A 192.0.2.5\n"
        "*.cname.example.com. 60 IN CNAME web.example.com.\n"
        "dn.example.com. 900 IN DNAME example.net.\n"
        "dn2.example.com. 900 IN DNAME target.example.com.\n"
        "x.target.example.com. 60 IN A 192.0.2.6\n"
        "dnlong.example.com. 60 IN DNAME " +
        kLongTarget +
        "\n"
        "deleg.example.com. 86400 IN NS ns.deleg.example.com.\n"
        "deleg.example.com. 86400 IN NS ns.other.net.\n"
        "deleg.example.com. 86400 IN DS 12345 13 2 " +
        kDsHex +
        "\n"
        "ns.deleg.example.com. 86400 IN A 192.0.2.54\n"
        "nods.example.com. 86400 IN NS ns.other.net.\n"
        "child.example.com. 86400 IN NS ns1.example.com.\n"
        "child.example.com. 86400 IN DS 54321 13 2 " +
        kDsHex +
        "\n"
        "_sip._tcp.example.com. 60 IN SRV 0 5 5060 sip.example.com.\n"
        "sip.example.com. 60 IN A 192.0.2.7\n";
    for (int i = 1; i <= 12; ++i) {
        char host[32];
        std::snprintf(host, sizeof host, "ns%02d.fat.example.com.", i);
        z += std::string("fat.example.com. 86400 IN NS ") + host + "\n";
        z += std::string(host) + " 86400 IN A 192.0.2." + std::to_string(100 + i) + "\n";
        z += std::string(host) + " 86400 IN AAAA 2001:db8::" + std::to_string(100 + i) + "\n";
    }
    z += txt_lines("mid.example.com.", 10);
    z += txt_lines("big.example.com.", 40);
    return z;
}

const char* kChild =
    "child.example.com. 3600 IN SOA ns1.example.com. h.child.example.com. 5 3600 600 86400 60\n"
    "child.example.com. 3600 IN NS ns1.example.com.\n"
    "www.child.example.com. 60 IN A 192.0.2.100\n";

const char* kNegTtl =
    "negttl.test. 60 IN SOA ns.negttl.test. h.negttl.test. 1 3600 600 86400 900\n"
    "negttl.test. 60 IN NS ns.negttl.test.\n"
    "ns.negttl.test. 60 IN A 192.0.2.200\n";

// RFC 6672 §2.3: a DNAME may sit at the zone apex beside SOA and NS; it
// redirects the names below the apex, not the apex itself.
const char* kApexDname =
    "apexdname.test. 3600 IN SOA ns1.example.com. h.example.com. 1 3600 600 86400 60\n"
    "apexdname.test. 3600 IN NS ns1.example.com.\n"
    "apexdname.test. 3600 IN DNAME example.com.\n";

zone::ServedZone served(const std::string& origin, const std::string& text) {
    auto o = dns::Name::from_text(origin);
    auto recs = dns::parse_records(text, *o);
    if (!recs) throw std::runtime_error(origin + ": " + recs.error().message);
    auto snap = zone::build_snapshot(*o, *recs);
    if (!snap) throw std::runtime_error(origin + ": " + snap.error().message);
    zone::ServedZone z;
    z.origin = *o;
    z.snapshot = *snap;
    return z;
}

const zone::Catalog& catalog() {
    static const zone::Catalog c = [] {
        std::vector<zone::ServedZone> zones;
        zones.push_back(served("example.com.", example_com()));
        zones.push_back(served("child.example.com.", kChild));
        zones.push_back(served("negttl.test.", kNegTtl));
        zones.push_back(served("apexdname.test.", kApexDname));
        zone::ServedZone broken;
        broken.origin = *dns::Name::from_text("broken.test.");
        zones.push_back(broken);
        return zone::Catalog(std::move(zones));
    }();
    return c;
}

class AnswerTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { catalog(); }

    // Runs answer() and returns the raw response (empty: no response).
    std::vector<std::uint8_t> run(const std::vector<std::uint8_t>& query, Transport tr,
                                  AnswerOptions opt = {}) {
        std::vector<std::uint8_t> out(tr == Transport::Tcp ? 65535 : opt.udp_max_payload);
        std::size_t n = answer(catalog(), query, tr, opt, out);
        EXPECT_LE(n, out.size());
        out.resize(n);
        return out;
    }

    // Runs answer() and decodes the response; checks the invariants every
    // response keeps (QR, ID, no RA, size limit, question echoed).
    Decoded ask(const QuerySpec& spec, Transport tr = Transport::Udp, AnswerOptions opt = {}) {
        auto q = make_query(spec);
        last = run(q, tr, opt);
        std::string err;
        auto d = satellite::testing::decode(last, &err);
        if (!d) {
            ADD_FAILURE() << "response does not parse: " << err;
            return {};
        }
        EXPECT_TRUE(d->qr());
        EXPECT_FALSE(d->ra());
        EXPECT_EQ(d->id, spec.id);
        EXPECT_EQ(d->opcode(), (spec.flags >> 11) & 0xf);
        if (tr == Transport::Udp) {
            std::size_t limit = 512;
            if (spec.edns && spec.payload > 512) {
                limit = std::min<std::size_t>(spec.payload, opt.udp_max_payload);
            }
            EXPECT_LE(last.size(), limit);
        }
        if (d->qdcount == 1) {
            EXPECT_EQ(d->qname, dns::Name::from_text(spec.name)->to_string());
            EXPECT_EQ(d->qtype, spec.qtype);
            EXPECT_EQ(d->qclass, spec.qclass);
        }
        EXPECT_EQ(d->has_opt, spec.edns);
        return *d;
    }

    static std::vector<std::string> datas(const std::vector<Rr>& rrs) {
        std::vector<std::string> out;
        for (const auto& r : rrs) out.push_back(r.data);
        std::sort(out.begin(), out.end());
        return out;
    }

    // The SOA a negative answer carries.
    static void expect_soa_authority(const Decoded& d, const std::string& zone, std::uint32_t ttl) {
        ASSERT_EQ(d.authority.size(), 1u);
        EXPECT_EQ(d.authority[0].type, t::SOA);
        EXPECT_EQ(d.authority[0].owner, zone);
        EXPECT_EQ(d.authority[0].ttl, ttl);
    }

    std::vector<std::uint8_t> last;
};

// ---- Exact matches, case, header bits.

TEST_F(AnswerTest, ExactMatch) {
    Decoded d = ask({.name = "web.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.aa());
    EXPECT_FALSE(d.tc());
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].owner, "web.example.com.");
    EXPECT_EQ(d.answer[0].type, t::A);
    EXPECT_EQ(d.answer[0].rclass, dns::rrclass::IN);
    EXPECT_EQ(d.answer[0].ttl, 300u);
    EXPECT_EQ(d.answer[0].data, "192.0.2.80");
    EXPECT_TRUE(d.authority.empty());
    EXPECT_TRUE(d.additional.empty());
}

TEST_F(AnswerTest, QuestionEchoedWithTheQueryCase) {
    Decoded d = ask({.name = "wEb.ExAmPlE.cOm."});
    EXPECT_EQ(d.qname, "wEb.ExAmPlE.cOm.");
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].owner, "wEb.ExAmPlE.cOm.");  // pointer to the question
    EXPECT_EQ(d.answer[0].data, "192.0.2.80");
    // The answer owner is compressed to the question: 0xc00c right after it.
    std::size_t qend = 12 + 17 + 4;
    ASSERT_GT(last.size(), qend + 2);
    EXPECT_EQ(last[qend], 0xc0);
    EXPECT_EQ(last[qend + 1], 0x0c);
}

TEST_F(AnswerTest, NamesInRdataAreCompressed) {
    Decoded ns = ask({.name = "example.com.", .qtype = t::NS});
    ASSERT_EQ(ns.answer.size(), 2u);
    for (const auto& rr : ns.answer) EXPECT_EQ(rr.rdlength, 4 + 2) << rr.data;  // "ns1" + pointer
    Decoded mx = ask({.name = "example.com.", .qtype = t::MX});
    ASSERT_EQ(mx.answer.size(), 1u);
    EXPECT_EQ(mx.answer[0].rdlength, 2 + 5 + 2);  // preference, "mail", pointer
    // Additional owners point at the names already in the RDATA: 2 octets each.
    ASSERT_EQ(mx.additional.size(), 2u);
    std::size_t expected = 12 + (13 + 4) + (2 + 10 + 9) + 2 * (2 + 10) + 4 + 16;
    EXPECT_EQ(last.size(), expected);
}

TEST_F(AnswerTest, IdRdAndCdAreCopied) {
    Decoded d =
        ask({.name = "web.example.com.", .id = 0xfeed, .flags = dns::flag::RD | dns::flag::CD});
    EXPECT_EQ(d.id, 0xfeed);
    EXPECT_TRUE(d.rd());
    EXPECT_TRUE(d.cd());
    Decoded e = ask({.name = "web.example.com.", .id = 0x0001});
    EXPECT_FALSE(e.rd());
    EXPECT_FALSE(e.cd());
    EXPECT_EQ(e.id, 0x0001);
}

TEST_F(AnswerTest, QueryFlagsThatAreNotCopied) {
    // AA, TC, RA, AD in a query say nothing about the response.
    Decoded d = ask({.name = "web.example.com.",
                     .flags = dns::flag::AA | dns::flag::TC | dns::flag::RA | dns::flag::AD});
    EXPECT_FALSE(d.tc());
    EXPECT_FALSE(d.ra());
    EXPECT_FALSE(d.flags & dns::flag::AD);
    EXPECT_TRUE(d.aa());  // but we are authoritative
}

TEST_F(AnswerTest, RrsetWithSeveralRecords) {
    Decoded d = ask({.name = "example.com.", .qtype = t::NS});
    EXPECT_TRUE(d.aa());
    EXPECT_EQ(datas(d.answer), (std::vector<std::string>{"ns1.example.com.", "ns2.example.com."}));
}

TEST_F(AnswerTest, ClassAnyIsAnsweredWithoutAa) {
    Decoded d = ask({.name = "web.example.com.", .qclass = dns::rrclass::ANY});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_FALSE(d.aa());  // class ANY data is not authoritative (as NSD, BIND)
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].rclass, dns::rrclass::IN);
}

TEST_F(AnswerTest, ClassChaosIsRefused) {
    Decoded d = ask({.name = "web.example.com.", .qclass = dns::rrclass::CH});
    EXPECT_EQ(d.rcode(), rc::REFUSED);
    EXPECT_TRUE(d.answer.empty());
}

TEST_F(AnswerTest, ChaosIdentityAndVersionOnlyWhenConfigured) {
    AnswerOptions opt;
    opt.identity = "sat-1.example";
    opt.version = "satellite 0.1";
    for (const char* name : {"id.server.", "ID.SERVER.", "hostname.bind."}) {
        Decoded d = ask({.name = name, .qtype = t::TXT, .qclass = dns::rrclass::CH}, Transport::Udp, opt);
        EXPECT_EQ(d.rcode(), rc::NOERROR) << name;
        EXPECT_TRUE(d.aa());
        ASSERT_EQ(d.answer.size(), 1u) << name;
        EXPECT_EQ(d.answer[0].type, t::TXT);
        EXPECT_EQ(d.answer[0].rclass, dns::rrclass::CH);
        EXPECT_EQ(d.answer[0].ttl, 0u);
        EXPECT_EQ(d.answer[0].data, "\"sat-1.example\"") << name;
    }
    Decoded v = ask({.name = "version.bind.", .qtype = t::TXT, .qclass = dns::rrclass::CH}, Transport::Udp, opt);
    ASSERT_EQ(v.answer.size(), 1u);
    EXPECT_EQ(v.answer[0].data, "\"satellite 0.1\"");
    // Other CHAOS names and types, and everything when not configured: REFUSED.
    EXPECT_EQ(ask({.name = "authors.bind.", .qtype = t::TXT, .qclass = dns::rrclass::CH}, Transport::Udp, opt).rcode(),
              rc::REFUSED);
    EXPECT_EQ(ask({.name = "id.server.", .qtype = t::A, .qclass = dns::rrclass::CH}, Transport::Udp, opt).rcode(),
              rc::REFUSED);
    for (const char* name : {"id.server.", "version.bind."}) {
        Decoded d = ask({.name = name, .qtype = t::TXT, .qclass = dns::rrclass::CH});
        EXPECT_EQ(d.rcode(), rc::REFUSED) << name;
        EXPECT_TRUE(d.answer.empty());
    }
}

TEST_F(AnswerTest, NsidOnlyWhenAskedForAndConfigured) {
    auto query = [](bool with_nsid) {
        Bytes b;
        b.header(0x4242, 0, 1, 0, 0, 1);
        b.name("web.example.com.").u16(t::A).u16(dns::rrclass::IN);
        b.u8(0).u16(t::OPT).u16(1232).u8(0).u8(0).u16(0);
        if (with_nsid) {
            b.u16(4).u16(3).u16(0);  // RFC 5001 §2.1: NSID, empty
        } else {
            b.u16(0);
        }
        return b.v;
    };
    auto nsid_of = [](const std::vector<std::uint8_t>& r) -> std::string {
        // The OPT is last; NSID is its last option.
        const std::string text(r.begin(), r.end());
        const std::size_t at = text.rfind(std::string("\0\3\0", 3));
        if (at == std::string::npos || at + 4 > r.size()) return "";
        const std::size_t len = (std::size_t(r[at + 2]) << 8) | r[at + 3];
        return at + 4 + len == r.size() ? text.substr(at + 4, len) : "";
    };
    AnswerOptions opt;
    opt.nsid = "sat-1";
    auto with = run(query(true), Transport::Udp, opt);
    EXPECT_EQ(nsid_of(with), "sat-1");
    auto d = satellite::testing::decode(with, nullptr);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->rcode(), rc::NOERROR);
    EXPECT_EQ(d->answer.size(), 1u);  // the answer itself unchanged
    EXPECT_EQ(nsid_of(run(query(false), Transport::Udp, opt)), "");  // not asked
    EXPECT_EQ(nsid_of(run(query(true), Transport::Udp, AnswerOptions{})), "");  // not configured
}

// ---- CNAME.

TEST_F(AnswerTest, CnameIsFollowedInsideTheZone) {
    Decoded d = ask({.name = "www.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.aa());
    ASSERT_EQ(d.answer.size(), 2u);
    EXPECT_EQ(d.answer[0].owner, "www.example.com.");
    EXPECT_EQ(d.answer[0].type, t::CNAME);
    EXPECT_EQ(d.answer[0].data, "web.example.com.");
    EXPECT_EQ(d.answer[0].ttl, 600u);
    EXPECT_EQ(d.answer[1].owner, "web.example.com.");
    EXPECT_EQ(d.answer[1].type, t::A);
    EXPECT_EQ(d.answer[1].data, "192.0.2.80");
}

TEST_F(AnswerTest, CnameChain) {
    Decoded d = ask({.name = "chain1.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    ASSERT_EQ(d.answer.size(), 3u);
    EXPECT_EQ(d.answer[0].data, "chain2.example.com.");
    EXPECT_EQ(d.answer[1].owner, "chain2.example.com.");
    EXPECT_EQ(d.answer[1].data, "chain3.example.com.");
    EXPECT_EQ(d.answer[2].owner, "chain3.example.com.");
    EXPECT_EQ(d.answer[2].data, "192.0.2.3");
}

TEST_F(AnswerTest, CnameLeavingTheZoneStops) {
    Decoded d = ask({.name = "ext.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.aa());
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].data, "www.example.net.");
    EXPECT_TRUE(d.authority.empty());
}

TEST_F(AnswerTest, CnameIntoAnotherServedZoneIsFollowed) {
    // RFC 1034 §4.3.2 step 3a: restart at the target, in whichever zone we
    // serve holds it (here the child zone, not the parent's delegation).
    Decoded d = ask({.name = "tochild.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.aa());
    ASSERT_EQ(d.answer.size(), 2u);
    EXPECT_EQ(d.answer[0].data, "www.child.example.com.");
    EXPECT_EQ(d.answer[1].owner, "www.child.example.com.");
    EXPECT_EQ(d.answer[1].data, "192.0.2.100");
    Decoded nx = ask({.name = "tochild.example.com.", .qtype = t::MX});
    EXPECT_EQ(nx.rcode(), rc::NOERROR);
    ASSERT_EQ(nx.answer.size(), 1u);
    expect_soa_authority(nx, "child.example.com.", 60);  // the last zone's SOA
}

TEST_F(AnswerTest, CnameIntoAZoneWithoutDataStops) {
    Decoded d = ask({.name = "tobroken.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].data, "www.broken.test.");
    EXPECT_TRUE(d.authority.empty());
}

TEST_F(AnswerTest, CnameIsNotFollowedForNsec3) {
    // RFC 5155 §7.2.9: NSEC3 lives at hashed owners; a query for it at a
    // CNAME owner is NODATA, not a CNAME answer.
    Decoded d = ask({.name = "www.example.com.", .qtype = t::NSEC3});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.answer.empty());
    expect_soa_authority(d, "example.com.", 300);
}

TEST_F(AnswerTest, CnameToMissingNameIsNxdomain) {
    // RFC 6604 §3: the rcode is that of the last name in the chain.
    Decoded d = ask({.name = "dangling.example.com."});
    EXPECT_EQ(d.rcode(), rc::NXDOMAIN);
    EXPECT_TRUE(d.aa());
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].type, t::CNAME);
    expect_soa_authority(d, "example.com.", 300);
}

TEST_F(AnswerTest, CnameToNodataTarget) {
    Decoded d = ask({.name = "www.example.com.", .qtype = t::MX});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].type, t::CNAME);
    expect_soa_authority(d, "example.com.", 300);
}

TEST_F(AnswerTest, QtypeCnameIsNotFollowed) {
    Decoded d = ask({.name = "www.example.com.", .qtype = t::CNAME});
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].type, t::CNAME);
    EXPECT_TRUE(d.authority.empty());
}

TEST_F(AnswerTest, CnameLoopTerminates) {
    Decoded d = ask({.name = "loop1.example.com."}, Transport::Tcp);
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_GE(d.answer.size(), 2u);
    EXPECT_LE(d.answer.size(), 17u);
    for (const auto& rr : d.answer) EXPECT_EQ(rr.type, t::CNAME);
}

// BUG (minor, src/serve/answer.cpp resolve()): a CNAME loop is followed
// kMaxChain (16) times, so the answer holds the same two CNAME records eight
// times each. RFC 2181 §5 says duplicate RRs are to be suppressed, and RFC
// 1034 §3.6.2 asks servers to detect CNAME loops: stop at a name already in
// the answer.
TEST_F(AnswerTest, CnameLoopDoesNotRepeatRecords) {
    Decoded d = ask({.name = "loop1.example.com."}, Transport::Tcp);
    std::set<std::string> seen;
    for (const auto& rr : d.answer) {
        EXPECT_TRUE(seen.insert(rr.owner + " " + rr.data).second)
            << "duplicate " << rr.owner << " CNAME " << rr.data;
    }
}

// ---- DNAME (RFC 6672).

TEST_F(AnswerTest, DnameSynthesizesCname) {
    Decoded d = ask({.name = "A.b.Dn.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.aa());
    ASSERT_EQ(d.answer.size(), 2u);
    // The DNAME owner may be compressed against the question (either case).
    EXPECT_TRUE(
        dns::Name::from_text(d.answer[0].owner)->equals(*dns::Name::from_text("dn.example.com.")))
        << d.answer[0].owner;
    EXPECT_EQ(d.answer[0].type, t::DNAME);
    EXPECT_EQ(d.answer[0].data, "example.net.");
    EXPECT_EQ(d.answer[0].ttl, 900u);
    EXPECT_EQ(d.answer[1].owner, "A.b.Dn.example.com.");
    EXPECT_EQ(d.answer[1].type, t::CNAME);
    EXPECT_EQ(d.answer[1].data, "A.b.example.net.");
    EXPECT_EQ(d.answer[1].ttl, 900u);  // the DNAME's TTL
}

TEST_F(AnswerTest, DnameTargetInsideTheZoneIsFollowed) {
    Decoded d = ask({.name = "x.dn2.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    ASSERT_EQ(d.answer.size(), 3u);
    EXPECT_EQ(d.answer[0].type, t::DNAME);
    EXPECT_EQ(d.answer[1].type, t::CNAME);
    EXPECT_EQ(d.answer[1].data, "x.target.example.com.");
    EXPECT_EQ(d.answer[2].owner, "x.target.example.com.");
    EXPECT_EQ(d.answer[2].data, "192.0.2.6");
}

TEST_F(AnswerTest, DnameTargetMissingInsideTheZoneIsNxdomain) {
    Decoded d = ask({.name = "y.dn2.example.com."});
    EXPECT_EQ(d.rcode(), rc::NXDOMAIN);
    ASSERT_EQ(d.answer.size(), 2u);
    expect_soa_authority(d, "example.com.", 300);
}

TEST_F(AnswerTest, DnameWithQtypeCnameStopsAtTheSynthesizedCname) {
    Decoded d = ask({.name = "x.dn2.example.com.", .qtype = t::CNAME});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    ASSERT_EQ(d.answer.size(), 2u);
    EXPECT_EQ(d.answer[0].type, t::DNAME);
    EXPECT_EQ(d.answer[1].type, t::CNAME);
    EXPECT_EQ(d.answer[1].data, "x.target.example.com.");
}

TEST_F(AnswerTest, DnameIntoAnotherServedZoneIsFollowed) {
    Decoded d = ask({.name = "www.dnchild.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    ASSERT_EQ(d.answer.size(), 3u);
    EXPECT_EQ(d.answer[1].data, "www.child.example.com.");
    EXPECT_EQ(d.answer[2].owner, "www.child.example.com.");
    EXPECT_EQ(d.answer[2].data, "192.0.2.100");
}

TEST_F(AnswerTest, DnameOwnerIsNotRedirected) {
    Decoded a = ask({.name = "dn.example.com."});
    EXPECT_EQ(a.rcode(), rc::NOERROR);
    EXPECT_TRUE(a.answer.empty());
    expect_soa_authority(a, "example.com.", 300);
    Decoded d = ask({.name = "dn.example.com.", .qtype = t::DNAME});
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].type, t::DNAME);
    EXPECT_EQ(d.answer[0].data, "example.net.");
}

TEST_F(AnswerTest, DnameSubstitutionThatFitsJustRight) {
    Decoded d = ask({.name = "ok.dnlong.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    ASSERT_EQ(d.answer.size(), 2u);
    EXPECT_EQ(d.answer[1].data, "ok." + kLongTarget);
}

TEST_F(AnswerTest, DnameSubstitutionTooLongIsYxdomain) {
    // 59 + 205 > 255 octets.
    Decoded d = ask({.name = std::string(58, 'a') + ".dnlong.example.com."});
    EXPECT_EQ(d.rcode(), rc::YXDOMAIN);
    EXPECT_TRUE(d.aa());
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].type, t::DNAME);
    EXPECT_TRUE(of_type(d.answer, t::CNAME).empty());
}

// BUG: answer.cpp lookup() starts its walk one label below the apex, so a
// DNAME at the apex is never seen; names below it get NXDOMAIN.
TEST_F(AnswerTest, DnameAtTheApex) {
    Decoded d = ask({.name = "web.apexdname.test."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    ASSERT_EQ(d.answer.size(), 3u);  // DNAME, CNAME, then web.example.com A
    EXPECT_EQ(d.answer[0].type, t::DNAME);
    EXPECT_EQ(d.answer[0].owner, "apexdname.test.");
    EXPECT_EQ(d.answer[1].type, t::CNAME);
    EXPECT_EQ(d.answer[1].owner, "web.apexdname.test.");
    EXPECT_EQ(d.answer[1].data, "web.example.com.");
    EXPECT_EQ(d.answer[2].data, "192.0.2.80");
}

TEST_F(AnswerTest, DnameAtTheApexLeavesTheApexAlone) {
    Decoded d = ask({.name = "apexdname.test.", .qtype = t::SOA});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].type, t::SOA);
}

// ---- Wildcards (RFC 4592).

TEST_F(AnswerTest, WildcardSynthesis) {
    Decoded d = ask({.name = "Foo.wild.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.aa());
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].owner, "Foo.wild.example.com.");  // the query name, not '*'
    EXPECT_EQ(d.answer[0].data, "192.0.2.99");
    EXPECT_EQ(d.answer[0].ttl, 120u);
}

TEST_F(AnswerTest, WildcardCoversSeveralLabels) {
    Decoded d = ask({.name = "a.b.c.wild.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].owner, "a.b.c.wild.example.com.");
}

TEST_F(AnswerTest, WildcardNodataForAnotherType) {
    Decoded d = ask({.name = "foo.wild.example.com.", .qtype = t::MX});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.answer.empty());
    expect_soa_authority(d, "example.com.", 300);
}

TEST_F(AnswerTest, WildcardDoesNotApplyWhereTheNameExists) {
    Decoded d = ask({.name = "sub.wild.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.answer.empty());
    expect_soa_authority(d, "example.com.", 300);
    Decoded txt = ask({.name = "sub.wild.example.com.", .qtype = t::TXT});
    ASSERT_EQ(txt.answer.size(), 1u);
    EXPECT_EQ(txt.answer[0].data, "\"exists\"");
}

TEST_F(AnswerTest, WildcardDoesNotApplyBelowAnExistingName) {
    // The closest encloser is sub.wild, which has no wildcard child.
    Decoded d = ask({.name = "x.sub.wild.example.com."});
    EXPECT_EQ(d.rcode(), rc::NXDOMAIN);
    EXPECT_TRUE(d.answer.empty());
    expect_soa_authority(d, "example.com.", 300);
}

TEST_F(AnswerTest, WildcardDoesNotApplyAtAnEmptyNonTerminal) {
    Decoded d = ask({.name = "ent.wild.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.answer.empty());
    expect_soa_authority(d, "example.com.", 300);
    Decoded below = ask({.name = "x.ent.wild.example.com."});
    EXPECT_EQ(below.rcode(), rc::NXDOMAIN);
}

TEST_F(AnswerTest, WildcardOwnerQueriedLiterally) {
    Decoded d = ask({.name = "*.wild.example.com.", .qtype = t::TXT});
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].owner, "*.wild.example.com.");
    EXPECT_EQ(d.answer[0].data, "\"wild\"");
}

TEST_F(AnswerTest, WildcardCnameIsFollowed) {
    Decoded d = ask({.name = "anything.cname.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    ASSERT_EQ(d.answer.size(), 2u);
    EXPECT_EQ(d.answer[0].owner, "anything.cname.example.com.");
    EXPECT_EQ(d.answer[0].type, t::CNAME);
    EXPECT_EQ(d.answer[1].owner, "web.example.com.");
    EXPECT_EQ(d.answer[1].data, "192.0.2.80");
}

// ---- Referrals and DS.

TEST_F(AnswerTest, ReferralBelowACut) {
    Decoded d = ask({.name = "host.deleg.example.com."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_FALSE(d.aa());
    EXPECT_TRUE(d.answer.empty());
    ASSERT_EQ(d.authority.size(), 2u);
    for (const auto& rr : d.authority) {
        EXPECT_EQ(rr.type, t::NS);
        EXPECT_EQ(rr.owner, "deleg.example.com.");
        EXPECT_EQ(rr.ttl, 86400u);
    }
    EXPECT_EQ(datas(d.authority),
              (std::vector<std::string>{"ns.deleg.example.com.", "ns.other.net."}));
    // Glue for the in-bailiwick server only; no SOA, no DS.
    ASSERT_EQ(d.additional.size(), 1u);
    EXPECT_EQ(d.additional[0].owner, "ns.deleg.example.com.");
    EXPECT_EQ(d.additional[0].type, t::A);
    EXPECT_EQ(d.additional[0].data, "192.0.2.54");
}

TEST_F(AnswerTest, ReferralAtTheCut) {
    for (std::uint16_t qt : {t::A, t::NS, t::ANY, t::SOA}) {
        Decoded d = ask({.name = "deleg.example.com.", .qtype = qt});
        EXPECT_EQ(d.rcode(), rc::NOERROR) << qt;
        EXPECT_FALSE(d.aa()) << qt;
        EXPECT_TRUE(d.answer.empty()) << qt;
        EXPECT_EQ(of_type(d.authority, t::NS).size(), 2u) << qt;
    }
}

TEST_F(AnswerTest, ReferralForGlueNames) {
    // The glue address is not authoritative data: a query for it is referred.
    Decoded d = ask({.name = "ns.deleg.example.com."}, Transport::Tcp);
    EXPECT_FALSE(d.aa());
    EXPECT_TRUE(d.answer.empty());
    EXPECT_EQ(of_type(d.authority, t::NS).size(), 2u);
}

TEST_F(AnswerTest, DsAtTheCutIsAnsweredByTheParent) {
    Decoded d = ask({.name = "deleg.example.com.", .qtype = t::DS});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.aa());
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].type, t::DS);
    EXPECT_EQ(d.answer[0].owner, "deleg.example.com.");
    EXPECT_TRUE(of_type(d.authority, t::NS).empty());
}

TEST_F(AnswerTest, DsAbsentAtTheCutIsParentNodata) {
    Decoded d = ask({.name = "nods.example.com.", .qtype = t::DS});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.aa());
    EXPECT_TRUE(d.answer.empty());
    expect_soa_authority(d, "example.com.", 300);
}

TEST_F(AnswerTest, DsBelowTheCutIsReferred) {
    Decoded d = ask({.name = "x.deleg.example.com.", .qtype = t::DS});
    EXPECT_FALSE(d.aa());
    EXPECT_EQ(of_type(d.authority, t::NS).size(), 2u);
}

TEST_F(AnswerTest, DsAtAServedChildApexComesFromTheParentZone) {
    Decoded d = ask({.name = "child.example.com.", .qtype = t::DS});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.aa());
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].type, t::DS);
    EXPECT_NE(d.answer[0].data.find("d431"), std::string::npos);  // key tag 54321
}

TEST_F(AnswerTest, DsAtAnApexWhoseParentIsNotServedIsNodata) {
    Decoded d = ask({.name = "example.com.", .qtype = t::DS});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.aa());
    EXPECT_TRUE(d.answer.empty());
    expect_soa_authority(d, "example.com.", 300);
}

TEST_F(AnswerTest, ServedChildAnswersItsOwnNames) {
    Decoded soa = ask({.name = "child.example.com.", .qtype = t::SOA});
    EXPECT_TRUE(soa.aa());
    ASSERT_EQ(soa.answer.size(), 1u);
    EXPECT_EQ(soa.answer[0].data.rfind("ns1.example.com. h.child.example.com. 5 ", 0), 0u)
        << soa.answer[0].data;
    Decoded www = ask({.name = "www.child.example.com."});
    EXPECT_TRUE(www.aa());
    ASSERT_EQ(www.answer.size(), 1u);
    EXPECT_EQ(www.answer[0].data, "192.0.2.100");
    Decoded nx = ask({.name = "nope.child.example.com."});
    EXPECT_EQ(nx.rcode(), rc::NXDOMAIN);
    expect_soa_authority(nx, "child.example.com.", 60);
}

// ---- Negative answers (RFC 2308).

TEST_F(AnswerTest, Nxdomain) {
    Decoded d = ask({.name = "nope.example.com."});
    EXPECT_EQ(d.rcode(), rc::NXDOMAIN);
    EXPECT_TRUE(d.aa());
    EXPECT_TRUE(d.answer.empty());
    expect_soa_authority(d, "example.com.", 300);  // min(3600, MINIMUM 300)
    EXPECT_EQ(d.authority[0].data,
              "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300");
    EXPECT_TRUE(d.additional.empty());
}

TEST_F(AnswerTest, NxdomainDeepBelowAnExistingName) {
    Decoded d = ask({.name = "x.y.web.example.com."});
    EXPECT_EQ(d.rcode(), rc::NXDOMAIN);
    expect_soa_authority(d, "example.com.", 300);
}

TEST_F(AnswerTest, Nodata) {
    Decoded d = ask({.name = "web.example.com.", .qtype = t::MX});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.aa());
    EXPECT_TRUE(d.answer.empty());
    expect_soa_authority(d, "example.com.", 300);
}

TEST_F(AnswerTest, EmptyNonTerminalIsNodata) {
    for (const char* ent : {"c.example.com.", "b.c.example.com.", "_tcp.example.com."}) {
        Decoded d = ask({.name = ent});
        EXPECT_EQ(d.rcode(), rc::NOERROR) << ent;
        EXPECT_TRUE(d.answer.empty()) << ent;
        expect_soa_authority(d, "example.com.", 300);
    }
}

TEST_F(AnswerTest, NegativeTtlIsSoaTtlWhenBelowMinimum) {
    Decoded d = ask({.name = "nope.negttl.test."});
    EXPECT_EQ(d.rcode(), rc::NXDOMAIN);
    expect_soa_authority(d, "negttl.test.", 60);  // min(60, MINIMUM 900)
    Decoded nodata = ask({.name = "negttl.test.", .qtype = t::TXT});
    expect_soa_authority(nodata, "negttl.test.", 60);
}

// ---- Zones we do not serve, or cannot.

TEST_F(AnswerTest, NameInNoZoneIsRefused) {
    for (const char* n : {"www.example.org.", "com.", ".", "example.net."}) {
        Decoded d = ask({.name = n});
        EXPECT_EQ(d.rcode(), rc::REFUSED) << n;
        EXPECT_FALSE(d.aa()) << n;
        EXPECT_EQ(d.qdcount, 1) << n;
        EXPECT_TRUE(d.answer.empty() && d.authority.empty() && d.additional.empty()) << n;
    }
}

TEST_F(AnswerTest, ZoneWithoutDataIsServfail) {
    for (const char* n : {"broken.test.", "www.broken.test."}) {
        Decoded d = ask({.name = n});
        EXPECT_EQ(d.rcode(), rc::SERVFAIL) << n;
        EXPECT_FALSE(d.aa()) << n;
        EXPECT_TRUE(d.answer.empty()) << n;
    }
}

// ---- ANY (RFC 8482).

TEST_F(AnswerTest, AnyOverUdpIsOneRrset) {
    Decoded d = ask({.name = "example.com.", .qtype = t::ANY});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.aa());
    ASSERT_FALSE(d.answer.empty());
    std::set<std::uint16_t> types;
    for (const auto& rr : d.answer) types.insert(rr.type);
    EXPECT_EQ(types.size(), 1u);
}

TEST_F(AnswerTest, AnyOverTcpIsEverything) {
    Decoded d = ask({.name = "example.com.", .qtype = t::ANY}, Transport::Tcp);
    std::multiset<std::uint16_t> types;
    for (const auto& rr : d.answer) types.insert(rr.type);
    EXPECT_EQ(types, (std::multiset<std::uint16_t>{t::A, t::NS, t::NS, t::SOA, t::MX}));
}

TEST_F(AnswerTest, AnyAtAWildcard) {
    Decoded d = ask({.name = "q.wild.example.com.", .qtype = t::ANY}, Transport::Tcp);
    std::set<std::uint16_t> types;
    for (const auto& rr : d.answer) {
        types.insert(rr.type);
        EXPECT_EQ(rr.owner, "q.wild.example.com.");
    }
    EXPECT_EQ(types, (std::set<std::uint16_t>{t::A, t::TXT}));
}

// ---- EDNS (RFC 6891).

TEST_F(AnswerTest, OptIsEchoed) {
    Decoded d = ask({.name = "web.example.com.", .edns = true, .payload = 4096});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    ASSERT_TRUE(d.has_opt);
    EXPECT_EQ(d.opt_count, 1u);
    EXPECT_GE(d.opt_payload, 512);
    EXPECT_LE(d.opt_payload, 1232);  // never more than we can send
    EXPECT_EQ(d.opt_version, 0);
    EXPECT_FALSE(d.opt_do);
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.arcount, 1);
}

TEST_F(AnswerTest, DoBitIsCopied) {
    Decoded d = ask({.name = "web.example.com.", .edns = true, .do_bit = true});
    ASSERT_TRUE(d.has_opt);
    EXPECT_TRUE(d.opt_do);
}

TEST_F(AnswerTest, NoOptWithoutEdns) {
    Decoded d = ask({.name = "web.example.com."});
    EXPECT_FALSE(d.has_opt);
    EXPECT_EQ(d.arcount, 0);
}

TEST_F(AnswerTest, OptOnNegativeAndRefusedAnswers) {
    Decoded nx = ask({.name = "nope.example.com.", .edns = true});
    EXPECT_EQ(nx.rcode(), rc::NXDOMAIN);
    EXPECT_TRUE(nx.has_opt);
    Decoded ref = ask({.name = "example.org.", .edns = true, .do_bit = true});
    EXPECT_EQ(ref.rcode(), rc::REFUSED);
    EXPECT_TRUE(ref.has_opt);
    EXPECT_TRUE(ref.opt_do);
}

TEST_F(AnswerTest, BadVersion) {
    Decoded d = ask({.name = "web.example.com.", .edns = true, .edns_version = 1});
    EXPECT_EQ(d.rcode(), rc::BADVERS);
    EXPECT_EQ(d.flags & 0xf, 0);  // BADVERS (16) lives in the OPT's extended rcode
    ASSERT_TRUE(d.has_opt);
    EXPECT_EQ(d.opt_ext_rcode, 1);
    EXPECT_EQ(d.opt_version, 0);  // the version we do speak
    EXPECT_TRUE(d.answer.empty());
    EXPECT_EQ(d.qdcount, 1);
}

// ---- Truncation.

TEST_F(AnswerTest, TruncatedWithoutEdnsAt512) {
    Decoded d = ask({.name = "mid.example.com.", .qtype = t::TXT});
    EXPECT_TRUE(d.tc());
    EXPECT_TRUE(d.aa());
    EXPECT_LE(last.size(), 512u);
    EXPECT_EQ(d.qdcount, 1);
    EXPECT_TRUE(d.answer.empty());  // RFC 2181 §9: no partial RRset
}

TEST_F(AnswerTest, FitsWithEdns) {
    Decoded d = ask({.name = "mid.example.com.", .qtype = t::TXT, .edns = true, .payload = 1232});
    EXPECT_FALSE(d.tc());
    EXPECT_EQ(d.answer.size(), 10u);
    EXPECT_GT(last.size(), 512u);
}

TEST_F(AnswerTest, EdnsPayloadBelow512CountsAs512) {
    Decoded d = ask({.name = "web.example.com.", .edns = true, .payload = 100});
    EXPECT_FALSE(d.tc());
    EXPECT_EQ(d.answer.size(), 1u);
    EXPECT_GE(d.opt_payload, 512);
    Decoded mid = ask({.name = "mid.example.com.", .qtype = t::TXT, .edns = true, .payload = 100});
    EXPECT_TRUE(mid.tc());
    EXPECT_LE(last.size(), 512u);
}

TEST_F(AnswerTest, TruncatedOverUdpEvenWithEdns) {
    Decoded d = ask({.name = "big.example.com.", .qtype = t::TXT, .edns = true, .payload = 4096});
    EXPECT_TRUE(d.tc());
    EXPECT_TRUE(d.answer.empty());
    EXPECT_TRUE(d.has_opt);  // the OPT survives truncation
    EXPECT_LE(last.size(), 1232u);
}

TEST_F(AnswerTest, ServerPayloadLimitCanBeRaised) {
    AnswerOptions opt;
    opt.udp_max_payload = 4096;
    Decoded d = ask({.name = "big.example.com.", .qtype = t::TXT, .edns = true, .payload = 4096},
                    Transport::Udp, opt);
    EXPECT_FALSE(d.tc());
    EXPECT_EQ(d.answer.size(), 40u);
    EXPECT_GT(last.size(), 1232u);
}

TEST_F(AnswerTest, TcpIsNotTruncated) {
    Decoded d = ask({.name = "big.example.com.", .qtype = t::TXT}, Transport::Tcp);
    EXPECT_FALSE(d.tc());
    ASSERT_EQ(d.answer.size(), 40u);
    std::set<std::string> unique;
    for (const auto& rr : d.answer) unique.insert(rr.data);
    EXPECT_EQ(unique.size(), 40u);
}

TEST_F(AnswerTest, ReferralWhoseGlueDoesNotFitIsTruncated) {
    // RFC 9471: glue for in-domain name servers must fit, or TC=1.
    Decoded d = ask({.name = "www.fat.example.com."});
    EXPECT_TRUE(d.tc());
    EXPECT_FALSE(d.aa());
    EXPECT_LE(last.size(), 512u);
}

TEST_F(AnswerTest, ReferralWithRoomHasAllGlue) {
    Decoded d = ask({.name = "www.fat.example.com.", .edns = true, .payload = 1232});
    EXPECT_FALSE(d.tc());
    EXPECT_EQ(of_type(d.authority, t::NS).size(), 12u);
    EXPECT_EQ(of_type(d.additional, t::A).size(), 12u);
    EXPECT_EQ(of_type(d.additional, t::AAAA).size(), 12u);
}

// ---- Additional section.

TEST_F(AnswerTest, MxTargetsGetAddresses) {
    Decoded d = ask({.name = "example.com.", .qtype = t::MX});
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].data, "10 mail.example.com.");
    std::vector<std::string> add;
    for (const auto& rr : d.additional) add.push_back(rr.owner + " " + rr.data);
    std::sort(add.begin(), add.end());
    EXPECT_EQ(add, (std::vector<std::string>{"mail.example.com. 192.0.2.25",
                                             "mail.example.com. 2001:db8::25"}));
}

TEST_F(AnswerTest, NsTargetsGetAddresses) {
    Decoded d = ask({.name = "example.com.", .qtype = t::NS});
    std::vector<std::string> add;
    for (const auto& rr : d.additional) add.push_back(rr.owner + " " + rr.data);
    std::sort(add.begin(), add.end());
    EXPECT_EQ(add, (std::vector<std::string>{"ns1.example.com. 192.0.2.53",
                                             "ns2.example.com. 2001:db8::53"}));
}

TEST_F(AnswerTest, SrvTargetsGetAddresses) {
    Decoded d = ask({.name = "_sip._tcp.example.com.", .qtype = t::SRV});
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_EQ(d.answer[0].data, "0 5 5060 sip.example.com.");
    ASSERT_EQ(d.additional.size(), 1u);
    EXPECT_EQ(d.additional[0].owner, "sip.example.com.");
    EXPECT_EQ(d.additional[0].data, "192.0.2.7");
}

TEST_F(AnswerTest, NoAdditionalForOtherTypes) {
    Decoded d = ask({.name = "example.com.", .qtype = t::SOA});
    ASSERT_EQ(d.answer.size(), 1u);
    EXPECT_TRUE(d.additional.empty());
    EXPECT_TRUE(d.authority.empty());
}

// ---- Malformed and unusual queries.

Decoded decode_or_fail(const std::vector<std::uint8_t>& r) {
    std::string err;
    auto d = satellite::testing::decode(r, &err);
    if (!d) {
        ADD_FAILURE() << "response does not parse: " << err;
        return {};
    }
    EXPECT_TRUE(d->qr());
    return *d;
}

TEST_F(AnswerTest, FormErrNoQuestion) {
    Bytes b;
    b.header(0x7777, dns::flag::RD, 0, 0, 0, 0);
    Decoded d = decode_or_fail(run(b.v, Transport::Udp));
    EXPECT_EQ(d.rcode(), rc::FORMERR);
    EXPECT_EQ(d.id, 0x7777);
    EXPECT_TRUE(d.rd());
    EXPECT_EQ(d.qdcount, 0);
    EXPECT_FALSE(d.aa());
}

TEST_F(AnswerTest, FormErrTwoQuestions) {
    Bytes b;
    b.header(1, 0, 2, 0, 0, 0).name("web.example.com.").u16(1).u16(1).name("a.").u16(1).u16(1);
    Decoded d = decode_or_fail(run(b.v, Transport::Udp));
    EXPECT_EQ(d.rcode(), rc::FORMERR);
    EXPECT_TRUE(d.answer.empty());
}

TEST_F(AnswerTest, FormErrTruncatedQuestion) {
    auto q = make_query({.name = "web.example.com."});
    q.resize(q.size() - 3);
    Decoded d = decode_or_fail(run(q, Transport::Udp));
    EXPECT_EQ(d.rcode(), rc::FORMERR);
    EXPECT_EQ(d.qdcount, 0);
}

TEST_F(AnswerTest, FormErrOptInAnswerSection) {
    Bytes b;
    b.header(1, 0, 1, 1, 0, 0).name("web.example.com.").u16(1).u16(1).opt(1232);
    Decoded d = decode_or_fail(run(b.v, Transport::Udp));
    EXPECT_EQ(d.rcode(), rc::FORMERR);
    EXPECT_EQ(d.qdcount, 1);
    EXPECT_EQ(d.qname, "web.example.com.");
    EXPECT_TRUE(d.answer.empty());
}

TEST_F(AnswerTest, FormErrTwoOpts) {
    Bytes b;
    b.header(1, 0, 1, 0, 0, 2).name("web.example.com.").u16(1).u16(1).opt(1232).opt(1232);
    Decoded d = decode_or_fail(run(b.v, Transport::Tcp));
    EXPECT_EQ(d.rcode(), rc::FORMERR);
    EXPECT_TRUE(d.answer.empty());
    EXPECT_LE(d.opt_count, 1u);
}

TEST_F(AnswerTest, MetaQtypesFindNoData) {
    for (std::uint16_t qt : {t::OPT, t::TSIG, t::TKEY, t::MAILA, t::MAILB}) {
        Decoded d = ask({.name = "web.example.com.", .qtype = qt});
        EXPECT_EQ(d.rcode(), rc::NOERROR) << qt;
        EXPECT_TRUE(d.answer.empty()) << qt;
        expect_soa_authority(d, "example.com.", 300);
    }
}

TEST_F(AnswerTest, NotImpForUnknownOpcodes) {
    for (std::uint16_t op : {1, 2, 3, 5, 6, 15}) {
        Decoded d =
            ask({.name = "web.example.com.", .flags = static_cast<std::uint16_t>(op << 11)});
        EXPECT_EQ(d.rcode(), rc::NOTIMP) << op;
        EXPECT_EQ(d.opcode(), op);
        EXPECT_TRUE(d.answer.empty());
    }
}

TEST_F(AnswerTest, NoResponseToAResponse) {
    auto q = make_query({.name = "web.example.com.", .flags = dns::flag::QR});
    EXPECT_TRUE(run(q, Transport::Udp).empty());
    EXPECT_TRUE(run(q, Transport::Tcp).empty());
}

TEST_F(AnswerTest, NoResponseToShortMessages) {
    for (std::size_t n = 0; n < 12; ++n) {
        std::vector<std::uint8_t> q(n, 0);
        EXPECT_TRUE(run(q, Transport::Udp).empty()) << n;
    }
}

TEST_F(AnswerTest, ZoneTransfersAreRefused) {
    for (Transport tr : {Transport::Udp, Transport::Tcp}) {
        for (std::uint16_t qt : {t::AXFR, t::IXFR}) {
            Decoded d = ask({.name = "example.com.", .qtype = qt}, tr);
            EXPECT_EQ(d.rcode(), rc::REFUSED) << qt;
            EXPECT_TRUE(d.answer.empty()) << qt;
        }
    }
}

TEST_F(AnswerTest, ResponseIsDeterministic) {
    auto q = make_query({.name = "example.com.", .qtype = t::MX, .edns = true});
    auto a = run(q, Transport::Udp);
    auto b = run(q, Transport::Udp);
    EXPECT_EQ(a, b);
    EXPECT_FALSE(a.empty());
}

TEST_F(AnswerTest, SmallUdpBufferIsRespected) {
    // An answer buffer exactly 512 bytes long, with a client that claims 4096.
    AnswerOptions opt;
    opt.udp_max_payload = 512;
    Decoded d = ask({.name = "mid.example.com.", .qtype = t::TXT, .edns = true, .payload = 4096},
                    Transport::Udp, opt);
    EXPECT_TRUE(d.tc());
    EXPECT_LE(last.size(), 512u);
}

// ---- RFC 8914: an expired zone's SERVFAIL says why (issue 15).

TEST(AnswerEde, ExpiredZoneServfailCarriesTheExtendedErrorOnlyWithEdns) {
    auto slot = std::make_shared<zone::ZoneSlot>();  // empty: the zone is expired
    std::vector<zone::ServedZone> zones;
    zone::ServedZone z;
    z.origin = *dns::Name::from_text("expired.test.");
    z.slot = slot;
    zones.push_back(std::move(z));
    const zone::Catalog cat(std::move(zones));
    auto run = [&](bool edns) {
        std::vector<std::uint8_t> out(1232);
        auto q = make_query({.name = "www.expired.test.", .edns = edns, .do_bit = edns});
        out.resize(answer(cat, q, Transport::Udp, {}, out));
        return out;
    };
    const std::uint8_t ede7[] = {0, 15, 0, 2, 0, 7};
    auto ends_with_ede = [](const std::vector<std::uint8_t>& r, const std::uint8_t (&ede)[6]) {
        return r.size() > 17 && std::equal(std::begin(ede), std::end(ede), r.end() - 6) &&
               r[r.size() - 8] == 0 && r[r.size() - 7] == 6;  // OPT RDLENGTH 6
    };
    for (int code : {zone::kEdeSignatureExpired, zone::kEdeNoReachableAuthority}) {
        slot->unserved_ede.store(code);
        auto r = run(true);
        ASSERT_GE(r.size(), 12u);
        EXPECT_EQ(r[3] & 0xf, rc::SERVFAIL);
        std::uint8_t want[6] = {0, 15, 0, 2, 0, static_cast<std::uint8_t>(code)};
        EXPECT_TRUE(ends_with_ede(r, want)) << code;
        EXPECT_EQ(r[11], 1);  // ARCOUNT: the OPT
        // Without EDNS: a plain SERVFAIL, no OPT.
        r = run(false);
        EXPECT_EQ(r[3] & 0xf, rc::SERVFAIL);
        EXPECT_EQ(r[11], 0);
        EXPECT_FALSE(ends_with_ede(r, ede7));
    }
    // No reason recorded (never loaded): no option.
    slot->unserved_ede.store(-1);
    auto r = run(true);
    EXPECT_EQ(r[3] & 0xf, rc::SERVFAIL);
    EXPECT_EQ(r[r.size() - 2] * 256 + r[r.size() - 1], 0);  // OPT RDLENGTH 0
}

TEST(AnswerEde, ANameInNoZoneOfOursIsRefusedWithNotAuthoritativeOnlyWithEdns) {
    std::vector<zone::ServedZone> zones;
    const zone::Catalog cat(std::move(zones));
    for (bool edns : {true, false}) {
        std::vector<std::uint8_t> out(1232);
        auto q = make_query({.name = "www.elsewhere.test.", .edns = edns});
        out.resize(answer(cat, q, Transport::Udp, {}, out));
        ASSERT_GE(out.size(), 12u);
        EXPECT_EQ(out[3] & 0xf, rc::REFUSED);
        EXPECT_EQ(out[11], edns ? 1 : 0);  // ARCOUNT: the OPT only with EDNS
        if (edns) {
            const std::uint8_t ede20[] = {0, 15, 0, 2, 0, 20};  // RFC 8914 §4.21
            EXPECT_TRUE(std::equal(std::begin(ede20), std::end(ede20), out.end() - 6));
        }
    }
}

// ---- RFC 7314 EDNS EXPIRE (issue 15).

TEST(AnswerExpire, SoaQueryWithExpireGetsTheEffectiveExpiryCappedBySoaExpire) {
    zone::ServedZone sz = served("negttl.test.", kNegTtl);  // SOA expire 86400
    auto slot = std::make_shared<zone::ZoneSlot>(sz.snapshot);
    sz.slot = slot;
    std::vector<zone::ServedZone> zones;
    zones.push_back(std::move(sz));
    const zone::Catalog cat(std::move(zones));
    auto run = [&](std::uint16_t qtype, bool with_expire, std::uint32_t now) {
        Bytes b;
        b.header(0x4242, 0, 1, 0, 0, 1);
        b.name("negttl.test.").u16(qtype).u16(dns::rrclass::IN);
        b.u8(0).u16(t::OPT).u16(1232).u8(0).u8(0).u16(0);
        if (with_expire) {
            b.u16(4).u16(9).u16(0);  // RDLENGTH 4: EXPIRE, empty (RFC 7314 §2)
        } else {
            b.u16(0);
        }
        std::vector<std::uint8_t> out(1232);
        AnswerOptions opt;
        opt.now = now;
        out.resize(answer(cat, b.v, Transport::Udp, opt, out));
        return out;
    };
    auto expire_value = [](const std::vector<std::uint8_t>& r) -> std::int64_t {
        // The OPT is last; its only option EXPIRE ends the message.
        if (r.size() < 20 || r[r.size() - 8] != 0 || r[r.size() - 7] != 9 || r[r.size() - 6] != 0 ||
            r[r.size() - 5] != 4) {
            return -1;
        }
        return (std::int64_t(r[r.size() - 4]) << 24) | (r[r.size() - 3] << 16) | (r[r.size() - 2] << 8) |
               r[r.size() - 1];
    };
    const std::uint32_t now = 1'800'000'000;
    // No effective expiry known (a primary): the SOA expire field.
    EXPECT_EQ(expire_value(run(t::SOA, true, now)), 86400);
    // The effective expiry (signatures' limit) 600 s away: 600.
    slot->expire_at.store(now + 600);
    EXPECT_EQ(expire_value(run(t::SOA, true, now)), 600);
    // Already passed: 0, never negative.
    EXPECT_EQ(expire_value(run(t::SOA, true, now + 700)), 0);
    // Further than SOA expire: capped by it.
    slot->expire_at.store(now + 10 * 86400);
    EXPECT_EQ(expire_value(run(t::SOA, true, now)), 86400);
    // Not asked for, or not an SOA query: no option.
    EXPECT_EQ(expire_value(run(t::SOA, false, now)), -1);
    EXPECT_EQ(expire_value(run(t::A, true, now)), -1);
}

}  // namespace
}  // namespace satellite::serve
