// Compact denial of existence (RFC 9824) at query time: a zone signed here
// the way the live signer does it (an NSEC "\000.<owner>" at every name,
// ENTs and cuts included), answered with a per-test OnlineSigner, and every
// online signature checked with verify_rrsig against the ZSK's DNSKEY.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <new>
#include <random>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "../dns/test_packet.hpp"
#include "alloc_count.hpp"
#include "dns/dnssec.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"
#include "dns/zonefile.hpp"
#include "serve/answer.hpp"
#include "serve/online.hpp"
#include "zone/catalog.hpp"
#include "zone/snapshot.hpp"

namespace satellite::serve {
namespace {

namespace t = dns::type;
namespace rc = dns::rcode;
using satellite::testing::Bytes;
using satellite::testing::Decoded;
using satellite::testing::of_type;
using satellite::testing::Rr;
using Buf = std::vector<std::uint8_t>;

constexpr std::uint32_t kNow = 1'700'000'000;
constexpr std::uint32_t kValidity = 86400;
constexpr std::uint32_t kOffset = 3600;

const char* kZone =
    "example. 3600 IN SOA ns1.example. hostmaster.example. 1 7200 3600 1209600 300\n"
    "example. 3600 IN NS ns1.example.\n"
    "example. 3600 IN A 192.0.2.1\n"
    "ns1.example. 3600 IN A 192.0.2.53\n"
    "web.example. 300 IN A 192.0.2.80\n"
    "www.example. 300 IN CNAME web.example.\n"
    "dangling.example. 300 IN CNAME nothere.example.\n"
    "a.b.c.example. 60 IN A 192.0.2.4\n"
    "*.wild.example. 120 IN A 192.0.2.99\n"
    "*.wild.example. 120 IN A 192.0.2.98\n"
    "*.wild.example. 120 IN TXT \"wild\"\n"
    "sub.wild.example. 60 IN TXT \"exists\"\n"
    "*.cname.example. 60 IN CNAME web.example.\n"
    "*.dead.example. 60 IN CNAME gone.example.\n"
    "dn.example. 60 IN DNAME target.example.\n"
    "x.target.example. 60 IN A 192.0.2.6\n"
    "secure.example. 86400 IN NS ns.secure.example.\n"
    "secure.example. 86400 IN DS 12345 13 2 "
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
    "ns.secure.example. 86400 IN A 192.0.2.54\n"
    "nods.example. 86400 IN NS ns.other.test.\n";

std::string key_of(const std::uint8_t* wire, std::size_t len) {
    std::uint8_t lc[dns::kMaxNameLen];
    dns::wire_name::lower_copy(wire, len, lc);
    return std::string(reinterpret_cast<const char*>(lc), len);
}

// RFC 4034 §4.1.2 bitmap of a type set.
Buf bitmap(const std::set<std::uint16_t>& types) {
    Buf out;
    int window = -1;
    std::size_t len_at = 0;
    for (std::uint16_t ty : types) {
        if ((ty >> 8) != window) {
            window = ty >> 8;
            out.push_back(static_cast<std::uint8_t>(window));
            len_at = out.size();
            out.push_back(0);
        }
        unsigned low = ty & 0xff;
        while (out[len_at] < low / 8 + 1) {
            out.push_back(0);
            ++out[len_at];
        }
        out[len_at + 1 + low / 8] |= static_cast<std::uint8_t>(0x80 >> (low % 8));
    }
    return out;
}

// A compact-denial zone as the live signer makes it: every RRset signed
// with one key, an NSEC at every authoritative name (ENTs and delegations
// too) whose next name is the name's immediate successor — "\000.<owner>",
// or at a delegation "<label>\000.<parent>" (RFC 9824 §3.4).
struct CompactZone {
    dns::Name origin;
    std::shared_ptr<const dns::SigningKey> zsk;
    Buf dnskey;
    std::uint16_t tag = 0;
    std::shared_ptr<const zone::Snapshot> snap;
};

CompactZone make_compact(std::uint8_t alg, const std::string& text = kZone,
                         const std::string& origin_text = "example.",
                         std::shared_ptr<const dns::SigningKey> key = nullptr) {
    CompactZone cz;
    cz.origin = *dns::Name::from_text(origin_text);
    if (!key) {
        auto k = dns::SigningKey::generate(alg);
        if (!k) throw std::runtime_error(k.error().message);
        key = *k;
    }
    cz.zsk = key;
    cz.dnskey = cz.zsk->dnskey_rdata(257);
    cz.tag = dns::key_tag(cz.dnskey);
    auto parsed = dns::parse_records(text, cz.origin);
    if (!parsed) throw std::runtime_error(parsed.error().message);
    const dns::RecordList& in = *parsed;

    struct Set {
        Buf owner;
        std::uint32_t ttl = 0;
        std::vector<Buf> rdatas;
    };
    std::map<std::string, std::map<std::uint16_t, Set>> names;  // lower-cased owner → type → set
    auto add = [&](const std::uint8_t* owner, std::size_t len, std::uint16_t type,
                   std::uint32_t ttl, std::span<const std::uint8_t> rd) {
        Set& s = names[key_of(owner, len)][type];
        s.owner.assign(owner, owner + len);
        s.ttl = ttl;
        s.rdatas.emplace_back(rd.begin(), rd.end());
    };
    for (const auto& r : in.refs()) add(in.owner(r), r.owner_len, r.type, r.ttl, in.rdata(r));
    add(cz.origin.data(), cz.origin.size(), t::DNSKEY, 3600, cz.dnskey);

    const std::string apex = key_of(cz.origin.data(), cz.origin.size());
    // Empty non-terminals: every ancestor of a name, up to the apex.
    std::vector<std::string> owners;
    for (const auto& [k, sets] : names) owners.push_back(k);
    for (const std::string& k : owners) {
        std::string n = k;
        while (n.size() > apex.size()) {
            n = n.substr(1 + static_cast<unsigned char>(n[0]));
            if (!names.count(n)) names[n];
        }
    }
    auto below_cut = [&](const std::string& k) {
        std::string n = k;
        while (n.size() > apex.size()) {
            n = n.substr(1 + static_cast<unsigned char>(n[0]));
            auto it = names.find(n);
            if (n.size() > apex.size() && it != names.end() && it->second.count(t::NS)) return true;
        }
        return false;
    };

    dns::RecordList out;
    dns::Signer signer(cz.zsk);
    Buf scratch, sig;
    auto sign = [&](const Buf& owner, std::uint16_t type, const Set& s) {
        dns::RrsetView v{owner.data(), owner.size(), type, {}};
        for (const Buf& rd : s.rdatas) v.rdatas.emplace_back(rd);
        sig.clear();
        if (!dns::sign_rrset(signer, cz.tag, cz.origin, v, s.ttl, {kNow - 86400, kNow + 30 * 86400},
                             scratch, sig)) {
            throw std::runtime_error("signing failed");
        }
        out.add(owner, t::RRSIG, dns::rrclass::IN, s.ttl, sig);
    };
    for (auto& [k, sets] : names) {
        Buf owner = sets.empty() ? Buf(k.begin(), k.end()) : sets.begin()->second.owner;
        for (const auto& [type, s] : sets) {
            for (const Buf& rd : s.rdatas) out.add(owner, type, dns::rrclass::IN, s.ttl, rd);
        }
        if (below_cut(k)) continue;  // glue: not authoritative, not signed
        const bool cut = k != apex && sets.count(t::NS);
        std::set<std::uint16_t> types{t::NSEC, t::RRSIG};
        for (const auto& [type, s] : sets) {
            types.insert(type);
            if (!cut || type == t::DS) sign(owner, type, s);
        }
        Set nsec;
        nsec.ttl = 300;
        Buf rd;
        if (cut) {
            rd.push_back(static_cast<std::uint8_t>(k[0] + 1));
            rd.insert(rd.end(), k.begin() + 1, k.begin() + 1 + k[0]);
            rd.push_back(0);
            rd.insert(rd.end(), k.begin() + 1 + k[0], k.end());
        } else {
            rd = {1, 0};
            rd.insert(rd.end(), k.begin(), k.end());
        }
        Buf bm = bitmap(types);
        rd.insert(rd.end(), bm.begin(), bm.end());
        nsec.rdatas.push_back(rd);
        out.add(owner, t::NSEC, dns::rrclass::IN, 300, rd);
        sign(owner, t::NSEC, nsec);
    }
    auto online = std::make_shared<zone::OnlineSigning>();
    online->zsk = cz.zsk;
    online->key_tag = cz.tag;
    online->validity = kValidity;
    online->inception_offset = kOffset;
    online->nsec_ttl = 300;
    auto snap = zone::build_snapshot(cz.origin, out, online);
    if (!snap) throw std::runtime_error(snap.error().message);
    cz.snap = *snap;
    return cz;
}

Buf hex_bytes(const std::string& hex) {
    Buf out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    return out;
}

Buf wire(const std::string& name) {
    auto n = dns::Name::from_text(name);
    return Buf(n->wire().begin(), n->wire().end());
}

// Type list of an NSEC RDATA's bitmap.
std::set<std::uint16_t> nsec_types(const Buf& rd) {
    std::size_t pos = dns::wire_name::length(rd.data(), rd.size());
    std::set<std::uint16_t> out;
    while (pos + 2 <= rd.size()) {
        unsigned window = rd[pos], len = rd[pos + 1];
        for (unsigned i = 0; i < len && pos + 2 + i < rd.size(); ++i) {
            for (unsigned b = 0; b < 8; ++b) {
                if (rd[pos + 2 + i] & (0x80 >> b)) out.insert(static_cast<std::uint16_t>(window * 256 + i * 8 + b));
            }
        }
        pos += 2 + len;
    }
    return out;
}

std::string nsec_next(const Buf& rd) { return dns::wire_name::to_string(rd.data()); }

class CompactTest : public ::testing::TestWithParam<int> {
protected:
    void SetUp() override {
        cz_ = make_compact(static_cast<std::uint8_t>(GetParam()));
        publish(cz_.snap);
        signer_ = std::make_unique<OnlineSigner>(64);
    }

    void publish(std::shared_ptr<const zone::Snapshot> snap) {
        zone::ServedZone z;
        z.origin = cz_.origin;
        z.snapshot = std::move(snap);
        std::vector<zone::ServedZone> zones;
        zones.push_back(std::move(z));
        catalog_ = std::make_unique<zone::Catalog>(std::move(zones));
    }

    struct Ask {
        std::string name;
        std::uint16_t qtype = t::A;
        bool edns = true;
        bool do_bit = true;
        bool co = false;
        Transport tr = Transport::Udp;
        bool with_signer = true;
        std::uint16_t payload = 1232;
    };

    Decoded ask(const Ask& a) {
        Bytes b;
        b.header(0x1234, 0, 1, 0, 0, a.edns ? 1 : 0);
        b.name(a.name).u16(a.qtype).u16(dns::rrclass::IN);
        if (a.edns) {
            b.u8(0).u16(t::OPT).u16(a.payload).u8(0).u8(0);
            b.u16(static_cast<std::uint16_t>((a.do_bit ? dns::kEdnsDo : 0) | (a.co ? 0x4000 : 0))).u16(0);
        }
        AnswerOptions opt;
        opt.now = now_;
        opt.online = a.with_signer ? signer_.get() : nullptr;
        Buf out(a.tr == Transport::Tcp ? 65535 : 1232);
        std::size_t n = answer(*catalog_, b.v, a.tr, opt, out);
        out.resize(n);
        last_ = out;
        std::string err;
        auto d = satellite::testing::decode(out, &err);
        if (!d) {
            ADD_FAILURE() << "response does not parse: " << err;
            return {};
        }
        return *d;
    }

    // The OPT flags word of the last response (its OPT is the last record).
    std::uint16_t last_opt_flags() const {
        return dns::load16(last_.data() + last_.size() - 11 + 7);
    }

    // Checks that `sig` (an RRSIG in the response) covers the RRset of
    // `type` at `owner` made of `rdatas`, with our key, and returns it.
    Buf expect_valid(const std::string& owner, std::uint16_t type, const std::vector<Buf>& rdatas,
                     const Rr& sig, unsigned labels, std::uint32_t ttl) {
        EXPECT_EQ(sig.type, t::RRSIG);
        Buf rd = hex_bytes(sig.data);
        EXPECT_GE(rd.size(), 19u);
        if (rd.size() < 19) return rd;
        EXPECT_EQ(dns::load16(rd.data()), type);
        EXPECT_EQ(rd[2], GetParam());
        EXPECT_EQ(rd[3], labels) << owner;
        EXPECT_EQ(dns::load32(rd.data() + 4), ttl);
        EXPECT_EQ(sig.ttl, ttl);
        EXPECT_EQ(dns::load16(rd.data() + 16), cz_.tag);
        Buf ow = wire(owner);
        dns::RrsetView v{ow.data(), ow.size(), type, {}};
        for (const Buf& x : rdatas) v.rdatas.emplace_back(x);
        auto st = dns::verify_rrsig(v, rd, cz_.dnskey, cz_.origin);
        EXPECT_TRUE(st.ok()) << owner << ": " << (st.ok() ? "" : st.error().message);
        return rd;
    }

    // The NSEC and RRSIG(NSEC) at `owner` in the authority section, the
    // signature checked.
    Buf expect_nsec(const Decoded& d, const std::string& owner, unsigned labels,
                    Buf* rrsig_out = nullptr) {
        auto nsecs = of_type(d.authority, t::NSEC);
        EXPECT_EQ(nsecs.size(), 1u);
        if (nsecs.size() != 1) return {};
        EXPECT_EQ(nsecs[0].owner, owner);
        EXPECT_EQ(nsecs[0].ttl, 300u);
        Buf rd = hex_bytes(nsecs[0].data);
        const Rr* sig = nullptr;
        for (const Rr& rr : d.authority) {
            if (rr.type == t::RRSIG && rr.owner == owner && hex_bytes(rr.data)[1] == t::NSEC) sig = &rr;
        }
        EXPECT_NE(sig, nullptr) << "no RRSIG over the NSEC at " << owner;
        if (!sig) return rd;
        Buf s = expect_valid(owner, t::NSEC, {rd}, *sig, labels, 300);
        if (rrsig_out) *rrsig_out = s;
        return rd;
    }

    static void expect_signed_soa(const Decoded& d) {
        ASSERT_GE(d.authority.size(), 2u);
        EXPECT_EQ(d.authority[0].type, t::SOA);
        EXPECT_EQ(d.authority[1].type, t::RRSIG);
    }

    CompactZone cz_;
    std::unique_ptr<zone::Catalog> catalog_;
    std::unique_ptr<OnlineSigner> signer_;
    std::uint32_t now_ = kNow;
    Buf last_;
};

// ---- RFC 9824 §3.1: names that do not exist.

TEST_P(CompactTest, MissingNameIsNodataWithAnNxnameNsecSignedNow) {
    Decoded d = ask({.name = "NotHere.example."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.aa());
    EXPECT_TRUE(d.answer.empty());
    expect_signed_soa(d);
    EXPECT_EQ(d.authority.size(), 4u);
    Buf rrsig;
    Buf nsec = expect_nsec(d, "NotHere.example.", 2, &rrsig);
    EXPECT_EQ(nsec_next(nsec), "\\000.nothere.example.");
    EXPECT_EQ(nsec_types(nsec), (std::set<std::uint16_t>{t::RRSIG, t::NSEC, t::NXNAME}));
    // Inception backdated, expiration = now + validity (RFC 4034 §3.1.5).
    EXPECT_EQ(dns::load32(rrsig.data() + 8), kNow + kValidity);
    EXPECT_EQ(dns::load32(rrsig.data() + 12), kNow - kOffset);
    EXPECT_FALSE(last_opt_flags() & 0x4000);
    EXPECT_EQ(signer_->signatures_made(), 1u);
}

TEST_P(CompactTest, MissingNameDeepBelowAnExistingOne) {
    Decoded d = ask({.name = "x.y.web.example.", .qtype = t::AAAA});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    Buf nsec = expect_nsec(d, "x.y.web.example.", 4);
    EXPECT_EQ(nsec_types(nsec).count(t::NXNAME), 1u);
}

TEST_P(CompactTest, CompactAnswersOkGetsNxdomainAndTheFlagBack) {
    Decoded d = ask({.name = "nothere.example.", .co = true});
    EXPECT_EQ(d.rcode(), rc::NXDOMAIN);  // RFC 9824 §4.1
    EXPECT_TRUE(d.answer.empty());
    expect_signed_soa(d);
    Buf nsec = expect_nsec(d, "nothere.example.", 2);
    EXPECT_EQ(nsec_types(nsec), (std::set<std::uint16_t>{t::RRSIG, t::NSEC, t::NXNAME}));
    EXPECT_TRUE(last_opt_flags() & 0x4000);
    EXPECT_TRUE(last_opt_flags() & dns::kEdnsDo);
}

TEST_P(CompactTest, WithoutDnssecOkAPlainNxdomain) {
    for (bool edns : {false, true}) {
        Decoded d = ask({.name = "nothere.example.", .edns = edns, .do_bit = false});
        EXPECT_EQ(d.rcode(), rc::NXDOMAIN);
        ASSERT_EQ(d.authority.size(), 1u);
        EXPECT_EQ(d.authority[0].type, t::SOA);
    }
    Decoded nodata = ask({.name = "web.example.", .qtype = t::AAAA, .do_bit = false});
    EXPECT_EQ(nodata.rcode(), rc::NOERROR);
    ASSERT_EQ(nodata.authority.size(), 1u);
    Decoded wild = ask({.name = "x.wild.example.", .do_bit = false});
    EXPECT_EQ(wild.answer.size(), 2u);
    EXPECT_TRUE(of_type(wild.answer, t::RRSIG).empty());
    EXPECT_EQ(signer_->signatures_made(), 0u);
}

TEST_P(CompactTest, NxnameQueriesAreFormatErrors) {
    Decoded d = ask({.name = "web.example.", .qtype = t::NXNAME});  // RFC 9824 §3.5
    EXPECT_EQ(d.rcode(), rc::FORMERR);
    EXPECT_TRUE(d.answer.empty());
    EXPECT_TRUE(d.authority.empty());
}

// ---- RFC 9824 §3.2: names that exist, types that do not; ENTs.

TEST_P(CompactTest, NodataUsesTheNamesOwnNsecWithoutSigning) {
    Decoded d = ask({.name = "web.example.", .qtype = t::AAAA});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.answer.empty());
    expect_signed_soa(d);
    Buf nsec = expect_nsec(d, "web.example.", 2);
    EXPECT_EQ(nsec_next(nsec), "\\000.web.example.");
    EXPECT_EQ(nsec_types(nsec), (std::set<std::uint16_t>{t::A, t::RRSIG, t::NSEC}));
    EXPECT_EQ(signer_->signatures_made(), 0u);
}

TEST_P(CompactTest, EmptyNonTerminalHasNoNxname) {
    for (const char* ent : {"c.example.", "b.c.example."}) {
        Decoded d = ask({.name = ent, .co = true});
        EXPECT_EQ(d.rcode(), rc::NOERROR) << ent;  // it exists: never NXDOMAIN
        Buf nsec = expect_nsec(d, ent, dns::Name::from_text(ent)->label_count());
        EXPECT_EQ(nsec_types(nsec), (std::set<std::uint16_t>{t::RRSIG, t::NSEC})) << ent;
    }
    EXPECT_EQ(signer_->signatures_made(), 0u);
}

// ---- RFC 9824 §3.3: wildcards.

TEST_P(CompactTest, WildcardAnswerIsSignedAtTheQueryName) {
    Decoded d = ask({.name = "Host.wild.example."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    auto a = of_type(d.answer, t::A);
    auto sigs = of_type(d.answer, t::RRSIG);
    ASSERT_EQ(a.size(), 2u);
    ASSERT_EQ(sigs.size(), 1u);
    EXPECT_EQ(sigs[0].owner, "Host.wild.example.");
    std::vector<Buf> rds;
    for (const Rr& rr : a) {
        Buf b(4);
        ASSERT_EQ(inet_pton(AF_INET, rr.data.c_str(), b.data()), 1);
        rds.push_back(b);
    }
    // labels = 3: the answer claims to exist at the name; no NSEC needed.
    expect_valid("host.wild.example.", t::A, rds, sigs[0], 3, 120);
    EXPECT_TRUE(d.authority.empty());
    EXPECT_EQ(signer_->signatures_made(), 1u);
}

TEST_P(CompactTest, WildcardNodataGetsAnNsecWithTheWildcardsTypes) {
    Decoded d = ask({.name = "host.wild.example.", .qtype = t::MX, .co = true});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_TRUE(d.answer.empty());
    expect_signed_soa(d);
    Buf nsec = expect_nsec(d, "host.wild.example.", 3);
    EXPECT_EQ(nsec_next(nsec), "\\000.host.wild.example.");
    EXPECT_EQ(nsec_types(nsec), (std::set<std::uint16_t>{t::A, t::TXT, t::RRSIG, t::NSEC}));
}

TEST_P(CompactTest, WildcardCnameIsSignedAtTheNameAndFollowed) {
    Decoded d = ask({.name = "x.cname.example."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    ASSERT_EQ(d.answer.size(), 4u);  // CNAME, its RRSIG, A, its RRSIG
    EXPECT_EQ(d.answer[0].type, t::CNAME);
    EXPECT_EQ(d.answer[0].owner, "x.cname.example.");
    expect_valid("x.cname.example.", t::CNAME, {wire("web.example.")}, d.answer[1], 3, 60);
    EXPECT_EQ(d.answer[2].type, t::A);
    EXPECT_EQ(d.answer[2].owner, "web.example.");
    EXPECT_TRUE(d.authority.empty());
}

TEST_P(CompactTest, NsecQueryAtASynthesizedNameAnswersTheOnlineNsec) {
    Decoded d = ask({.name = "host.wild.example.", .qtype = t::NSEC});
    auto nsecs = of_type(d.answer, t::NSEC);
    ASSERT_EQ(nsecs.size(), 1u);
    EXPECT_EQ(nsecs[0].owner, "host.wild.example.");
    EXPECT_EQ(nsec_next(hex_bytes(nsecs[0].data)), "\\000.host.wild.example.");
}

TEST_P(CompactTest, WildcardAnyOverTcpSignsEveryRrsetAndLeavesTheWildcardNsecOut) {
    Decoded d = ask({.name = "host.wild.example.", .qtype = t::ANY, .tr = Transport::Tcp});
    EXPECT_EQ(of_type(d.answer, t::A).size(), 2u);
    EXPECT_EQ(of_type(d.answer, t::TXT).size(), 1u);
    EXPECT_TRUE(of_type(d.answer, t::NSEC).empty());
    auto sigs = of_type(d.answer, t::RRSIG);
    ASSERT_EQ(sigs.size(), 2u);
    for (const Rr& s : sigs) EXPECT_EQ(hex_bytes(s.data)[3], 3) << s.data;
}

// ---- CNAME and DNAME chains, delegations.

TEST_P(CompactTest, CnameToAMissingNameDeniesTheTarget) {
    for (bool co : {false, true}) {
        Decoded d = ask({.name = "dangling.example.", .co = co});
        EXPECT_EQ(d.rcode(), co ? rc::NXDOMAIN : rc::NOERROR);  // RFC 6604 §3: the target's
        ASSERT_EQ(d.answer.size(), 2u);
        EXPECT_EQ(d.answer[0].type, t::CNAME);
        EXPECT_EQ(d.answer[1].type, t::RRSIG);
        Buf nsec = expect_nsec(d, "nothere.example.", 2);
        EXPECT_EQ(nsec_types(nsec).count(t::NXNAME), 1u);
    }
}

TEST_P(CompactTest, WildcardCnameToAMissingName) {
    Decoded d = ask({.name = "x.dead.example."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    ASSERT_EQ(d.answer.size(), 2u);
    expect_valid("x.dead.example.", t::CNAME, {wire("gone.example.")}, d.answer[1], 3, 60);
    Buf nsec = expect_nsec(d, "gone.example.", 2);
    EXPECT_EQ(nsec_types(nsec).count(t::NXNAME), 1u);
    EXPECT_EQ(signer_->signatures_made(), 2u);
}

TEST_P(CompactTest, DnameToAMissingNameDeniesTheSynthesizedTarget) {
    Decoded d = ask({.name = "nope.dn.example."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    ASSERT_GE(d.answer.size(), 3u);  // DNAME, RRSIG, synthesized CNAME (unsigned)
    EXPECT_EQ(d.answer[0].type, t::DNAME);
    EXPECT_EQ(d.answer[2].type, t::CNAME);
    Buf nsec = expect_nsec(d, "nope.target.example.", 3);
    EXPECT_EQ(nsec_types(nsec).count(t::NXNAME), 1u);
}

TEST_P(CompactTest, InsecureReferralCarriesTheCutsNsec) {
    Decoded d = ask({.name = "www.nods.example."});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    EXPECT_FALSE(d.aa());
    EXPECT_EQ(of_type(d.authority, t::NS).size(), 1u);
    Buf nsec = expect_nsec(d, "nods.example.", 2);
    EXPECT_EQ(nsec_next(nsec), "nods\\000.example.");  // RFC 9824 §3.4
    EXPECT_EQ(nsec_types(nsec), (std::set<std::uint16_t>{t::NS, t::RRSIG, t::NSEC}));
    EXPECT_EQ(signer_->signatures_made(), 0u);
}

TEST_P(CompactTest, DsQueriesAtAndBelowACut) {
    Decoded at = ask({.name = "nods.example.", .qtype = t::DS});
    EXPECT_EQ(at.rcode(), rc::NOERROR);
    EXPECT_TRUE(at.aa());
    Buf nsec = expect_nsec(at, "nods.example.", 2);
    EXPECT_EQ(nsec_types(nsec).count(t::DS), 0u);
    Decoded ds = ask({.name = "secure.example.", .qtype = t::DS});
    EXPECT_EQ(of_type(ds.answer, t::DS).size(), 1u);
    EXPECT_EQ(of_type(ds.answer, t::RRSIG).size(), 1u);
    Decoded below = ask({.name = "x.secure.example.", .qtype = t::DS});
    EXPECT_FALSE(below.aa());  // a referral, with the DS
    EXPECT_EQ(of_type(below.authority, t::DS).size(), 1u);
    EXPECT_EQ(signer_->signatures_made(), 0u);
}

// ---- The cache, and failures.

TEST_P(CompactTest, CacheReusesASignatureUntilHalfItsValidityIsGone) {
    Decoded first = ask({.name = "cached.example."});
    Buf sig1, sig2, sig3;
    expect_nsec(first, "cached.example.", 2, &sig1);
    now_ += 1000;
    Decoded again = ask({.name = "CACHED.example.", .qtype = t::AAAA});
    expect_nsec(again, "CACHED.example.", 2, &sig2);
    EXPECT_EQ(sig1, sig2);
    EXPECT_EQ(signer_->signatures_made(), 1u);
    EXPECT_EQ(signer_->cache_hits(), 1u);
    now_ = kNow + kValidity / 2;  // no longer reused
    Decoded later = ask({.name = "cached.example."});
    expect_nsec(later, "cached.example.", 2, &sig3);
    EXPECT_NE(sig1, sig3);
    EXPECT_EQ(dns::load32(sig3.data() + 12), now_ - kOffset);
    EXPECT_EQ(signer_->signatures_made(), 2u);
    // Wildcard answers are cached per type.
    ask({.name = "h.wild.example."});
    ask({.name = "h.wild.example."});
    ask({.name = "h.wild.example.", .qtype = t::TXT});
    EXPECT_EQ(signer_->signatures_made(), 4u);
}

TEST_P(CompactTest, ANewSnapshotNeverGetsAnOlderSignature) {
    ask({.name = "swap.example."});
    EXPECT_EQ(signer_->signatures_made(), 1u);
    // Same records, new key: a cached signature would not verify any more.
    CompactZone next = make_compact(static_cast<std::uint8_t>(GetParam()));
    publish(next.snap);
    cz_ = next;
    Decoded d = ask({.name = "swap.example."});
    expect_nsec(d, "swap.example.", 2);
    EXPECT_EQ(signer_->signatures_made(), 2u);
    // Same key, new snapshot: signed again too.
    CompactZone same_key = make_compact(0, kZone, "example.", cz_.zsk);
    publish(same_key.snap);
    cz_.snap = same_key.snap;
    ask({.name = "swap.example."});
    EXPECT_EQ(signer_->signatures_made(), 3u);
}

TEST_P(CompactTest, ManyNamesThroughASmallCache) {
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < 200; ++i) {
            Decoded d = ask({.name = "n" + std::to_string(i) + ".example."});
            EXPECT_EQ(d.rcode(), rc::NOERROR);
            if (i % 50 == 0) expect_nsec(d, "n" + std::to_string(i) + ".example.", 2);
        }
    }
    EXPECT_GE(signer_->signatures_made(), 200u);
}

TEST_P(CompactTest, NoSignerMeansServfailNotAnUnsignedDenial) {
    Decoded d = ask({.name = "nothere.example.", .with_signer = false});
    EXPECT_EQ(d.rcode(), rc::SERVFAIL);
    EXPECT_TRUE(d.answer.empty());
    EXPECT_TRUE(d.authority.empty());
    Decoded wild = ask({.name = "x.wild.example.", .with_signer = false});
    EXPECT_EQ(wild.rcode(), rc::SERVFAIL);
    // What needs no online signature is still answered.
    Decoded nodata = ask({.name = "web.example.", .qtype = t::AAAA, .with_signer = false});
    EXPECT_EQ(nodata.rcode(), rc::NOERROR);
}

TEST_P(CompactTest, LongestNamesGetASuccessorThatFits) {
    // 254 octets: "\000.<name>" would not fit, "<label>\000.<rest>" does.
    const std::string l63(63, 'q');
    const std::string tail = l63 + "." + l63 + "." + l63 + ".example.";
    std::string name = std::string(52, 'p') + "." + tail;
    ASSERT_EQ(dns::Name::from_text(name)->size(), 254u);
    Decoded d = ask({.name = name});
    EXPECT_EQ(d.rcode(), rc::NOERROR);
    Buf nsec = expect_nsec(d, name, 5);
    EXPECT_EQ(nsec_next(nsec), std::string(52, 'p') + "\\000." + tail);
    // 255 octets with a full first label: the label's last octet goes up.
    name = std::string(53, 'p') + "." + tail;
    ASSERT_EQ(dns::Name::from_text(name)->size(), 255u);
    d = ask({.name = name});
    nsec = expect_nsec(d, name, 5);
    EXPECT_EQ(nsec_next(nsec), std::string(52, 'p') + "q." + tail);
}

// Random names, types, flags and sizes: every answer parses, none is
// SERVFAIL, and every NSEC in an authority section is signed verifiably.
TEST_P(CompactTest, RandomQueriesGetWellFormedSignedAnswers) {
    std::mt19937 rng(42);
    const std::vector<std::string> labels = {"a", "b", "c", "web", "www", "wild", "sub", "dn",
                                             "target", "x", "dangling", "cname", "dead", "nods",
                                             "secure", "ns1", "*", "zz", "Host"};
    const std::uint16_t types[] = {t::A, t::AAAA, t::MX, t::TXT, t::CNAME, t::NS, t::SOA, t::DS,
                                   t::NSEC, t::RRSIG, t::ANY, t::DNSKEY, t::DNAME};
    for (int i = 0; i < 1500; ++i) {
        std::string name;
        const int depth = static_cast<int>(rng() % 4);
        for (int d = 0; d < depth; ++d) name += labels[rng() % labels.size()] + ".";
        name += "example.";
        Ask a{.name = name, .qtype = types[rng() % std::size(types)]};
        a.do_bit = rng() % 4 != 0;
        a.co = rng() % 3 == 0;
        a.tr = rng() % 5 == 0 ? Transport::Tcp : Transport::Udp;
        a.edns = rng() % 8 != 0;
        a.do_bit = a.do_bit && a.edns;
        a.co = a.co && a.edns;
        a.payload = rng() % 3 == 0 ? 512 : 1232;
        Decoded d = ask(a);
        if (a.tr == Transport::Udp) {
            EXPECT_LE(last_.size(), a.edns ? a.payload : 512u);
        }
        SCOPED_TRACE(name + " " + dns::type_to_string(a.qtype));
        EXPECT_NE(d.rcode(), rc::SERVFAIL);
        if (d.rcode() == rc::NXDOMAIN && a.do_bit) {
            EXPECT_TRUE(a.co);
        }
        if (d.tc()) continue;
        for (const Rr& nsec : of_type(d.authority, t::NSEC)) {
            EXPECT_TRUE(a.do_bit);
            Buf rd = hex_bytes(nsec.data);
            bool verified = false;
            for (const Rr& sig : of_type(d.authority, t::RRSIG)) {
                Buf s = hex_bytes(sig.data);
                if (sig.owner != nsec.owner || dns::load16(s.data()) != t::NSEC) continue;
                Buf ow = wire(nsec.owner);
                dns::RrsetView v{ow.data(), ow.size(), t::NSEC, {rd}};
                verified = dns::verify_rrsig(v, s, cz_.dnskey, cz_.origin).ok();
            }
            EXPECT_TRUE(verified) << nsec.owner;
        }
    }
}

TEST_P(CompactTest, QueryPathDoesNotAllocate) {
    auto query = [](const std::string& name, std::uint16_t qtype) {
        Bytes b;
        b.header(1, 0, 1, 0, 0, 1).name(name).u16(qtype).u16(dns::rrclass::IN);
        b.u8(0).u16(t::OPT).u16(1232).u8(0).u8(0).u16(dns::kEdnsDo).u16(0);
        return b.v;
    };
    const std::vector<Buf> queries = {
        query("warm.example.", t::A),   query("fresh.example.", t::A),
        query("h1.wild.example.", t::A), query("h2.wild.example.", t::MX),
        query("dangling.example.", t::A), query("x.dead.example.", t::AAAA)};
    AnswerOptions opt;
    opt.now = now_;
    opt.online = signer_.get();
    Buf out(1232);
    // Warm-up: the first Signer for the key, thread-local scratch space.
    answer(*catalog_, queries[0], Transport::Udp, opt, out);
    answer(*catalog_, queries[2], Transport::Udp, opt, out);
    const auto made = signer_->signatures_made();
    satellite::testing::start_counting_allocs();
    std::size_t sizes[6];
    for (std::size_t i = 0; i < queries.size(); ++i) {
        sizes[i] = answer(*catalog_, queries[i], Transport::Udp, opt, out);
    }
    EXPECT_EQ(satellite::testing::stop_counting_allocs(), 0u);
    EXPECT_EQ(signer_->signatures_made(), made + 5);  // all but the cached warm.example
    for (std::size_t n : sizes) EXPECT_GT(n, 12u);
}

// Issue 17: past the worker's signing budget a UDP answer that needs a new
// signature goes out truncated (TC=1): never unsigned, never SERVFAIL.
// Cached answers and TCP are still signed; the next second has a budget again.
TEST_P(CompactTest, SigningBudgetTruncatesUdpAnswers) {
    signer_->set_budget(3);
    AnswerOptions opt;
    opt.now = now_;
    opt.online = signer_.get();
    auto ask = [&](const std::string& name, Transport tr) {
        auto q = satellite::testing::make_query({.name = name, .edns = true, .do_bit = true});
        Buf out(tr == Transport::Tcp ? 65535 : 1232);
        out.resize(answer(*catalog_, q, tr, opt, out));
        auto d = satellite::testing::decode(out);
        EXPECT_TRUE(d) << name;
        return d ? *d : Decoded{};
    };
    for (int i = 0; i < 3; ++i) {
        auto d = ask("budget" + std::to_string(i) + ".example.", Transport::Udp);
        EXPECT_FALSE(d.tc()) << i;
        EXPECT_FALSE(of_type(d.authority, t::NSEC).empty()) << i;
    }
    auto over = ask("budget3.example.", Transport::Udp);
    EXPECT_TRUE(over.tc());
    EXPECT_NE(over.rcode(), unsigned(rc::SERVFAIL));
    EXPECT_TRUE(over.answer.empty());
    EXPECT_TRUE(over.authority.empty());
    EXPECT_EQ(signer_->budget_declines(), 1u);
    auto cached = ask("budget0.example.", Transport::Udp);
    EXPECT_FALSE(cached.tc());
    EXPECT_FALSE(of_type(cached.authority, t::NSEC).empty());
    auto tcp = ask("budget3.example.", Transport::Tcp);
    EXPECT_FALSE(tcp.tc());
    EXPECT_FALSE(of_type(tcp.authority, t::NSEC).empty());
    opt.now = now_ + 1;
    auto next_second = ask("budget4.example.", Transport::Udp);
    EXPECT_FALSE(next_second.tc());
    EXPECT_FALSE(of_type(next_second.authority, t::NSEC).empty());
    // A wildcard answer's RRSIG is made online too, and counts the same.
    signer_->set_budget(1);
    opt.now = now_ + 2;
    EXPECT_FALSE(ask("budget5.example.", Transport::Udp).tc());
    auto wild = ask("w1.wild.example.", Transport::Udp);
    EXPECT_TRUE(wild.tc());
    EXPECT_TRUE(wild.answer.empty());
}

INSTANTIATE_TEST_SUITE_P(Algorithms, CompactTest, ::testing::Values(13, 15));

TEST(CompactNoKey, ServfailWhenTheZoneHasNoOnlineKey) {
    CompactZone cz = make_compact(13);
    auto recs = cz.snap->to_records();
    auto online = std::make_shared<zone::OnlineSigning>();  // no zsk
    auto snap = zone::build_snapshot(cz.origin, recs, online);
    ASSERT_TRUE(snap.ok());
    zone::ServedZone z;
    z.origin = cz.origin;
    z.snapshot = *snap;
    std::vector<zone::ServedZone> zones;
    zones.push_back(std::move(z));
    zone::Catalog cat(std::move(zones));
    OnlineSigner signer;
    AnswerOptions opt;
    opt.now = kNow;
    opt.online = &signer;
    auto q = satellite::testing::make_query({.name = "nothere.example.", .edns = true, .do_bit = true});
    Buf out(1232);
    out.resize(answer(cat, q, Transport::Udp, opt, out));
    auto d = satellite::testing::decode(out);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->rcode(), rc::SERVFAIL);
}

}  // namespace
}  // namespace satellite::serve
