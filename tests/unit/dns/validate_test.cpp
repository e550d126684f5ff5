// The DS validator (dns/validate.hpp): trust anchor lines, the parent's
// DNSKEY RRset validated from an anchor, and the parent's answer to
// "<child> DS" — a signed DS RRset, or an NSEC / NSEC3 (opt-out) denial. The
// parent zones are signed by the live signer; the responses are cut from
// them, then tampered with.
#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

#include "dns/dnssec.hpp"
#include "dns/types.hpp"
#include "dns/validate.hpp"
#include "dns/wire.hpp"
#include "dns/zonefile.hpp"
#include "modes/keys.hpp"
#include "modes/live.hpp"

namespace satellite::dns {
namespace {

namespace t = type;
using Rdata = std::vector<std::uint8_t>;
using Rdatas = std::vector<Rdata>;

constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::int64_t kDay = 86400;

const char* kParent =
    "@ 300 IN SOA ns1 host 1 3600 600 86400 60\n"
    "@ 300 IN NS ns1\n"
    "ns1 300 IN A 127.0.0.1\n"
    "insecure 300 IN NS ns.insecure\n"
    "ns.insecure 300 IN A 192.0.2.53\n"
    "secure 300 IN NS ns.secure\n"
    "ns.secure 300 IN A 192.0.2.54\n"
    "secure 300 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\n"
    "secure 300 IN DS 23456 13 2 FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210\n"
    "www 300 IN A 192.0.2.1\n"
    "host.deep 300 IN A 192.0.2.2\n";  // deep: an empty non-terminal

Name name(const char* text) { return *Name::from_text(text); }

std::string hex(const std::uint8_t* p, std::size_t n) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 15];
    }
    return out;
}

// A parent zone signed by the live signer, and responses cut from it.
struct Parent {
    Name origin = name("parent.test.");
    std::shared_ptr<const SigningKey> ksk, zsk;
    Rdata ksk_rdata, zsk_rdata;
    std::shared_ptr<const zone::Snapshot> snapshot;
    RecordList records;

    // Adds the RRset of `type` at `owner` (and, unless told not to, the
    // RRSIGs over it) to `section`; returns how many records it added.
    std::size_t add(std::vector<WireRecord>& section, const Name& owner, std::uint16_t type,
                    bool with_sigs = true) const {
        std::size_t added = 0;
        for (const auto& r : records.refs()) {
            if (!wire_name::equal_ci(records.owner(r), owner.data())) continue;
            auto rd = records.rdata(r);
            const bool sig = r.type == t::RRSIG && rd.size() >= 2 && load16(rd.data()) == type;
            if (r.type != type && !(with_sigs && sig)) continue;
            section.push_back({Rdata(owner.data(), owner.data() + owner.size()), r.type, r.rclass, r.ttl,
                               Rdata(rd.begin(), rd.end())});
            ++added;
        }
        return added;
    }
    ResponseRecords dnskey_response() const {
        ResponseRecords r;
        add(r.answer, origin, t::DNSKEY);
        return r;
    }
    Rdatas rdatas(const Name& owner, std::uint16_t type) const {
        Rdatas out;
        for (const auto& r : records.refs()) {
            auto rd = records.rdata(r);
            if (r.type != type || !wire_name::equal_ci(records.owner(r), owner.data())) continue;
            out.emplace_back(rd.begin(), rd.end());
        }
        return out;
    }
    Name node_name(std::uint32_t i) const {
        const auto& n = snapshot->node(i);
        return *Name::from_wire({snapshot->node_name(n), n.name_len});
    }
    // The NSEC3 owners the snapshot's own index finds for a name's hash.
    Name nsec3_matching(const Name& n) const {
        const Name lc = n.lowered();
        std::uint32_t i = snapshot->nsec3_match(snapshot->nsec3_hash(lc.data(), lc.size()));
        EXPECT_NE(i, zone::kNone) << n.to_string();
        return i == zone::kNone ? Name() : node_name(i);
    }
    Name nsec3_covering(const Name& n) const {
        const Name lc = n.lowered();
        return node_name(snapshot->nsec3_cover(snapshot->nsec3_hash(lc.data(), lc.size())));
    }
    // The owner of the NSEC that covers a name absent from the zone.
    Name nsec_covering(const Name& n) const {
        const Name lc = n.lowered();
        std::uint32_t i = snapshot->nsec_covering(lc.data(), lc.size());
        EXPECT_NE(i, zone::kNone) << n.to_string();
        return i == zone::kNone ? Name() : node_name(i);
    }
};

Parent sign_parent(const modes::LivePolicy& policy, std::uint8_t alg = 13, std::uint16_t ksk_flags = 257) {
    Parent p;
    p.ksk = *SigningKey::generate(alg);
    p.zsk = *SigningKey::generate(alg);
    p.ksk_rdata = p.ksk->dnskey_rdata(ksk_flags);
    p.zsk_rdata = p.zsk->dnskey_rdata(256);
    modes::ZoneKeys keys;
    modes::ZoneKey k;
    k.role = modes::KeyRole::Ksk;
    k.key = p.ksk;
    k.dnskey = p.ksk_rdata;
    k.tag = key_tag(p.ksk_rdata);
    keys.keys.push_back(k);
    k.role = modes::KeyRole::Zsk;
    k.key = p.zsk;
    k.dnskey = p.zsk_rdata;
    k.tag = key_tag(p.zsk_rdata);
    keys.keys.push_back(k);
    auto recs = parse_records(kParent, p.origin);
    EXPECT_TRUE(recs.ok()) << recs.error().message;
    modes::LivePolicy pol = policy;
    pol.threads = 1;
    auto z = modes::sign_zone(p.origin, *recs, keys, pol, nullptr, kNow);
    EXPECT_TRUE(z.ok()) << z.error().message;
    p.snapshot = z->snapshot;
    p.records = p.snapshot->to_records();
    return p;
}

modes::LivePolicy nsec3_policy(bool opt_out) {
    modes::LivePolicy p;
    p.denial = modes::Denial::Nsec3;
    p.nsec3_opt_out = opt_out;
    p.nsec3_salt = {0xab, 0xcd};
    p.nsec3_iterations = 3;
    return p;
}

// One RRSIG made by hand, for what the signer would never produce.
Rdata sign_by_hand(const std::shared_ptr<const SigningKey>& key, const Rdata& dnskey, const Name& signer,
                   const Name& owner, std::uint16_t type, const Rdatas& rdatas) {
    Signer s(key);
    RrsetView view{owner.data(), owner.size(), type, {}};
    for (const auto& rd : rdatas) view.rdatas.emplace_back(rd);
    Rdata scratch, out;
    RrsigTimes times{static_cast<std::uint32_t>(kNow - 3600), static_cast<std::uint32_t>(kNow + 7 * kDay)};
    EXPECT_TRUE(sign_rrset(s, key_tag(dnskey), signer, view, 300, times, scratch, out));
    return out;
}

WireRecord record(const Name& owner, std::uint16_t type, Rdata rdata) {
    return {Rdata(owner.data(), owner.data() + owner.size()), type, 1, 300, std::move(rdata)};
}

// SHA-1 DS (RFC 4034 §5.1.4, digest type 1), which dns::ds_rdata does not make.
Rdata sha1_ds(const Name& owner, const Rdata& dnskey) {
    const Name lc = owner.lowered();
    Rdata data(lc.data(), lc.data() + lc.size());
    data.insert(data.end(), dnskey.begin(), dnskey.end());
    Rdata ds = {static_cast<std::uint8_t>(key_tag(dnskey) >> 8), static_cast<std::uint8_t>(key_tag(dnskey)),
                dnskey[3], 1};
    ds.resize(4 + 20);
    unsigned len = 0;
    EVP_Digest(data.data(), data.size(), ds.data() + 4, &len, EVP_sha1(), nullptr);
    return ds;
}

// RDATAs as a set, to compare RRsets whatever their order.
std::multiset<std::string> as_set(const Rdatas& v) {
    std::multiset<std::string> out;
    for (const auto& rd : v) out.emplace(rd.begin(), rd.end());
    return out;
}

// --- trust anchor lines ----------------------------------------------------

TEST(TrustAnchor, AcceptsDsAndDnskeyLines) {
    auto key = *SigningKey::generate(13);
    const Rdata dnskey = key->dnskey_rdata(257);
    const Name zone = name("parent.test.");
    const Rdata ds = ds_rdata(zone, dnskey, 2);
    TrustAnchor anchor;
    // Upper-case hex, TTL and class given.
    const std::string ds_line = "parent.test. 3600 IN DS " + std::to_string(key_tag(dnskey)) + " 13 2 " +
                                hex(ds.data() + 4, ds.size() - 4);
    ASSERT_TRUE(add_trust_anchor(anchor, ds_line).ok());
    EXPECT_TRUE(anchor.zone.equals(zone));
    ASSERT_EQ(anchor.ds.size(), 1u);
    EXPECT_EQ(anchor.ds[0], ds);
    // Lower-case hex, no TTL or class.
    std::string lower = hex(ds.data() + 4, ds.size() - 4);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ASSERT_TRUE(add_trust_anchor(anchor, "Parent.Test. DS " + std::to_string(key_tag(dnskey)) + " 13 2 " + lower).ok());
    ASSERT_EQ(anchor.ds.size(), 2u);
    EXPECT_EQ(anchor.ds[1], ds);
    // Base64 split by a space, as key files and dig print long keys.
    std::string b64 = modes::base64(Rdata(dnskey.begin() + 4, dnskey.end()));
    b64.insert(40, " ");
    auto s = add_trust_anchor(anchor, "parent.test. IN DNSKEY 257 3 13 " + b64);
    ASSERT_TRUE(s.ok()) << s.error().message;
    ASSERT_EQ(anchor.dnskey.size(), 1u);
    EXPECT_EQ(anchor.dnskey[0], dnskey);
}

TEST(TrustAnchor, RefusesBadLinesWithTheReason) {
    auto key = *SigningKey::generate(13);
    const Rdata dnskey = key->dnskey_rdata(257);
    const Rdata ds = ds_rdata(name("parent.test."), dnskey, 2);
    const std::string digest = hex(ds.data() + 4, ds.size() - 4);
    const std::string tag = std::to_string(key_tag(dnskey));
    auto refused = [](const std::string& line, const std::string& why) {
        TrustAnchor anchor;
        auto s = add_trust_anchor(anchor, line);
        EXPECT_FALSE(s.ok()) << line;
        if (s.ok()) return;
        EXPECT_NE(s.error().message.find("trust anchor \"" + line + "\": "), std::string::npos) << s.error().message;
        EXPECT_NE(s.error().message.find(why), std::string::npos) << s.error().message;
        EXPECT_TRUE(anchor.ds.empty() && anchor.dnskey.empty());
    };
    std::string bad_hex = digest;
    bad_hex[10] = 'G';
    refused("parent.test. DS " + tag + " 13 2 " + bad_hex, "not a DS or DNSKEY record");
    refused("parent.test. DS " + tag + " 13 2 " + digest.substr(0, 40),
            "the digest has 20 octets; digest type 2 has 32");
    refused("parent.test. DS " + tag + " 13 3 " + digest, "digest type 3 is not supported");
    refused("parent.test. A 192.0.2.1", "type A is not DS or DNSKEY");
    refused("parent.test. DNSKEY 385 3 13 " + modes::base64(Rdata(dnskey.begin() + 4, dnskey.end())), "revoked");
    refused("parent.test. DNSKEY 1 3 13 " + modes::base64(Rdata(dnskey.begin() + 4, dnskey.end())), "zone key bit");
    refused("", "empty");

    // Every line of one anchor is for the same zone.
    TrustAnchor anchor;
    ASSERT_TRUE(add_trust_anchor(anchor, "parent.test. DS " + tag + " 13 2 " + digest).ok());
    auto s = add_trust_anchor(anchor, "other.test. DS " + tag + " 13 2 " + digest);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("other.test."), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find("the anchor is for parent.test."), std::string::npos) << s.error().message;
    EXPECT_EQ(anchor.ds.size(), 1u);
    // An anchor whose zone was set beforehand takes only lines for that zone.
    TrustAnchor preset;
    preset.zone = name("parent.test.");
    EXPECT_FALSE(add_trust_anchor(preset, "other.test. DS " + tag + " 13 2 " + digest).ok());
}

// --- the parent's DNSKEY RRset -----------------------------------------------

TEST(ValidatedDnskeys, AcceptAnAnchorByDsOfEachDigestType) {
    Parent p = sign_parent({});
    for (const Rdata& ds : {sha1_ds(p.origin, p.ksk_rdata), ds_rdata(p.origin, p.ksk_rdata, 2),
                            ds_rdata(p.origin, p.ksk_rdata, 4)}) {
        TrustAnchor anchor{p.origin, {ds}, {}};
        auto keys = validated_dnskeys(anchor, p.dnskey_response(), kNow);
        ASSERT_TRUE(keys.ok()) << "digest type " << int(ds[3]) << ": " << keys.error().message;
        EXPECT_EQ(as_set(*keys), as_set({p.ksk_rdata, p.zsk_rdata}));  // the ZSK too: it signs the rest
    }
}

TEST(ValidatedDnskeys, AcceptAnAnchorByDnskeyLineEd25519) {
    Parent p = sign_parent({}, 15);
    TrustAnchor anchor;
    ASSERT_TRUE(add_trust_anchor(anchor, "parent.test. 3600 IN DNSKEY 257 3 15 " +
                                             modes::base64(Rdata(p.ksk_rdata.begin() + 4, p.ksk_rdata.end())))
                    .ok());
    auto keys = validated_dnskeys(anchor, p.dnskey_response(), kNow);
    ASSERT_TRUE(keys.ok()) << keys.error().message;
    EXPECT_EQ(keys->size(), 2u);
    // And the chain goes on: the DS RRset checks out with those keys.
    ResponseRecords r;
    p.add(r.answer, name("secure.parent.test."), t::DS);
    auto proof = validated_ds(name("secure.parent.test."), p.origin, *keys, r, kNow);
    ASSERT_TRUE(proof.ok()) << proof.error().message;
    EXPECT_TRUE(proof->present);
}

void expect_refused(const Result<Rdatas>& r, const std::string& why) {
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
}

TEST(ValidatedDnskeys, RefuseBadSignaturesAndKeysTheAnchorDoesNotName) {
    Parent p = sign_parent({});
    const TrustAnchor anchor{p.origin, {ds_rdata(p.origin, p.ksk_rdata, 2)}, {}};
    ASSERT_TRUE(validated_dnskeys(anchor, p.dnskey_response(), kNow).ok());

    // A flipped bit in the KSK's signature.
    ResponseRecords bad = p.dnskey_response();
    bool flipped = false;
    for (auto& rec : bad.answer) {
        if (rec.type == t::RRSIG && load16(rec.rdata.data() + 16) == key_tag(p.ksk_rdata)) {
            rec.rdata.back() ^= 1;
            flipped = true;
        }
    }
    ASSERT_TRUE(flipped);
    expect_refused(validated_dnskeys(anchor, bad, kNow), "does not verify");

    // The RRSIG covers the whole RRset: a key left out breaks it.
    ResponseRecords partial = p.dnskey_response();
    std::erase_if(partial.answer,
                  [&](const WireRecord& rec) { return rec.type == t::DNSKEY && rec.rdata == p.zsk_rdata; });
    expect_refused(validated_dnskeys(anchor, partial, kNow), "does not verify");

    // Outside the validity window (RFC 4035 §5.3.1).
    expect_refused(validated_dnskeys(anchor, p.dnskey_response(), kNow + 30 * kDay), "expired at");
    expect_refused(validated_dnskeys(anchor, p.dnskey_response(), kNow - 2 * 3600), "not valid until");

    // An anchor for another key.
    auto other = *SigningKey::generate(13);
    const TrustAnchor stranger{p.origin, {ds_rdata(p.origin, other->dnskey_rdata(257), 2)}, {}};
    expect_refused(validated_dnskeys(stranger, p.dnskey_response(), kNow), "matches the trust anchor");

    // An anchor for the ZSK, which does not sign the DNSKEY RRset.
    const TrustAnchor zsk_anchor{p.origin, {}, {p.zsk_rdata}};
    expect_refused(validated_dnskeys(zsk_anchor, p.dnskey_response(), kNow),
                   "by key " + std::to_string(key_tag(p.ksk_rdata)));

    // No DNSKEY RRset at all.
    expect_refused(validated_dnskeys(anchor, ResponseRecords{}, kNow), "no DNSKEY RRset");
}

TEST(ValidatedDnskeys, RefuseARevokedKeyEvenWhenTheAnchorNamesIt) {
    Parent p = sign_parent({}, 13, 257 | 0x80);  // RFC 5011: REVOKE set, self-signed
    const TrustAnchor anchor{p.origin, {ds_rdata(p.origin, p.ksk_rdata, 2)}, {}};
    expect_refused(validated_dnskeys(anchor, p.dnskey_response(), kNow), "revoked");
}

// --- the DS RRset ------------------------------------------------------------

Result<DsProof> check_ds(const Parent& p, const char* child, const ResponseRecords& r, std::int64_t now = kNow) {
    return validated_ds(name(child), p.origin, {p.ksk_rdata, p.zsk_rdata}, r, now);
}

void expect_error(const Result<DsProof>& r, const std::string& why) {
    ASSERT_FALSE(r.ok()) << "accepted; present=" << r->present;
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
}

TEST(ValidatedDs, SignedDsRrsetIsPresentWithItsRdatas) {
    Parent p = sign_parent({});
    const Name secure = name("secure.parent.test.");
    ResponseRecords r;
    ASSERT_EQ(p.add(r.answer, secure, t::DS), 3u);  // two DS and the ZSK's RRSIG
    auto proof = check_ds(p, "secure.parent.test.", r);
    ASSERT_TRUE(proof.ok()) << proof.error().message;
    EXPECT_TRUE(proof->present);
    EXPECT_EQ(as_set(proof->ds), as_set(p.rdatas(secure, t::DS)));
    EXPECT_EQ(proof->ds.size(), 2u);
    // The owner's case in the response does not matter.
    for (auto& rec : r.answer) rec.owner[1] = 'S';
    EXPECT_TRUE(check_ds(p, "secure.parent.test.", r).ok());
}

TEST(ValidatedDs, RefusesATamperedForeignExpiredOrMisattributedDsRrset) {
    Parent p = sign_parent({});
    const Name secure = name("secure.parent.test.");
    ResponseRecords good;
    p.add(good.answer, secure, t::DS);

    ResponseRecords tampered = good;
    for (auto& rec : tampered.answer) {
        if (rec.type == t::DS) {
            rec.rdata.back() ^= 0x40;
            break;
        }
    }
    expect_error(check_ds(p, "secure.parent.test.", tampered), "DS RRset not signed by the parent's keys");
    expect_error(check_ds(p, "secure.parent.test.", tampered), "does not verify");

    // Keys of another zone.
    auto other = *SigningKey::generate(13);
    auto foreign = validated_ds(secure, p.origin, {other->dnskey_rdata(257), other->dnskey_rdata(256)}, good, kNow);
    expect_error(foreign, "not one of parent.test.'s keys");

    expect_error(check_ds(p, "secure.parent.test.", good, kNow + 30 * kDay), "expired at");

    // Signed with the parent's ZSK, but in the name of another zone.
    ResponseRecords wrong_signer;
    const Rdatas ds = p.rdatas(secure, t::DS);
    for (const auto& rd : ds) wrong_signer.answer.push_back(record(secure, t::DS, rd));
    wrong_signer.answer.push_back(
        record(secure, t::RRSIG, sign_by_hand(p.zsk, p.zsk_rdata, name("other.test."), secure, t::DS, ds)));
    expect_error(check_ds(p, "secure.parent.test.", wrong_signer), "has signer other.test., not parent.test.");

    // A DS RRset of "*.parent.test." expanded to the child. The signature
    // itself checks out (the wildcard owner is rebuilt); the label count
    // must refuse it.
    const Rdata wild_sig = sign_by_hand(p.zsk, p.zsk_rdata, p.origin, name("*.parent.test."), t::DS, ds);
    ResponseRecords expanded;
    for (const auto& rd : ds) expanded.answer.push_back(record(secure, t::DS, rd));
    expanded.answer.push_back(record(secure, t::RRSIG, wild_sig));
    RrsetView view{secure.data(), secure.size(), t::DS, {ds[0], ds[1]}};
    ASSERT_TRUE(verify_rrsig(view, wild_sig, p.zsk_rdata, p.origin).ok());
    expect_error(check_ds(p, "secure.parent.test.", expanded), "wildcard");
}

TEST(ValidatedDs, AnUnsignedDsRrsetIsAnErrorEvenBesideAValidDenial) {
    Parent p = sign_parent({});
    const Name insecure = name("insecure.parent.test.");
    ResponseRecords r;
    r.answer.push_back(record(insecure, t::DS, ds_rdata(insecure, p.ksk_rdata, 2)));
    ASSERT_GT(p.add(r.authority, insecure, t::NSEC), 1u);  // a good NODATA proof
    expect_error(check_ds(p, "insecure.parent.test.", r), "DS RRset not signed by the parent's keys");
    r.answer.clear();
    EXPECT_TRUE(check_ds(p, "insecure.parent.test.", r).ok());
}

// --- NSEC denial (RFC 4035 §5.4) -----------------------------------------------

TEST(ValidatedDsNsec, NodataAtChildProvesNoDs) {
    Parent p = sign_parent({});
    ResponseRecords r;
    ASSERT_EQ(p.add(r.authority, name("insecure.parent.test."), t::NSEC), 2u);
    auto proof = check_ds(p, "insecure.parent.test.", r);
    ASSERT_TRUE(proof.ok()) << proof.error().message;
    EXPECT_FALSE(proof->present);
    EXPECT_TRUE(proof->ds.empty());
}

TEST(ValidatedDsNsec, NsecAtChildListingDsIsAnError) {
    Parent p = sign_parent({});
    ResponseRecords r;  // the DS RRset left out
    ASSERT_EQ(p.add(r.authority, name("secure.parent.test."), t::NSEC), 2u);
    expect_error(check_ds(p, "secure.parent.test.", r), "NSEC at secure.parent.test. lists DS");
}

TEST(ValidatedDsNsec, CoveringNsecProvesNxdomainAlsoAcrossTheWrap) {
    Parent p = sign_parent({});
    for (const char* child : {"missing.parent.test.", "zzz.parent.test."}) {
        ResponseRecords r;
        r.rcode = 3;
        const Name owner = p.nsec_covering(name(child));
        ASSERT_EQ(p.add(r.authority, owner, t::NSEC), 2u) << child;
        auto proof = check_ds(p, child, r);
        ASSERT_TRUE(proof.ok()) << child << ": " << proof.error().message;
        EXPECT_FALSE(proof->present);
    }
    // The second one is covered by the last NSEC, whose next name is the apex.
    const Name last = p.nsec_covering(name("zzz.parent.test."));
    EXPECT_TRUE(wire_name::equal_ci(p.rdatas(last, t::NSEC)[0].data(), p.origin.data()));
}

TEST(ValidatedDsNsec, RefusesNsecThatDoesNotCoverIsUnsignedOrSitsAtADelegationAbove) {
    Parent p = sign_parent({});
    ResponseRecords not_covering;
    not_covering.rcode = 3;
    p.add(not_covering.authority, name("www.parent.test."), t::NSEC);
    expect_error(check_ds(p, "missing.parent.test.", not_covering), "no NSEC/NSEC3 proof");

    ResponseRecords unsigned_nsec;
    ASSERT_EQ(p.add(unsigned_nsec.authority, name("insecure.parent.test."), t::NSEC, false), 1u);
    expect_error(check_ds(p, "insecure.parent.test.", unsigned_nsec), "no RRSIG over insecure.parent.test. NSEC");

    // insecure's NSEC covers a.insecure in canonical order, but names below
    // a delegation are the child zone's (RFC 6840 §4.1).
    ResponseRecords below_cut;
    below_cut.rcode = 3;
    ASSERT_TRUE(p.nsec_covering(name("a.insecure.parent.test.")).equals(name("insecure.parent.test.")));
    p.add(below_cut.authority, name("insecure.parent.test."), t::NSEC);
    expect_error(check_ds(p, "a.insecure.parent.test.", below_cut), "delegation");
}

TEST(ValidatedDs, EmptyNoerrorAnswerIsAnError) {
    Parent p = sign_parent({});
    expect_error(check_ds(p, "insecure.parent.test.", ResponseRecords{}),
                 "no NSEC/NSEC3 proof that insecure.parent.test. has no DS");
}

// --- NSEC3 denial (RFC 5155 §8) -------------------------------------------------

TEST(ValidatedDsNsec3, MatchingNsec3WithoutDsProvesNoDs) {
    Parent p = sign_parent(nsec3_policy(false));
    ResponseRecords r;
    ASSERT_EQ(p.add(r.authority, p.nsec3_matching(name("insecure.parent.test.")), t::NSEC3), 2u);
    auto proof = check_ds(p, "insecure.parent.test.", r);
    ASSERT_TRUE(proof.ok()) << proof.error().message;
    EXPECT_FALSE(proof->present);
}

TEST(ValidatedDsNsec3, MatchingNsec3ListingDsIsAnError) {
    Parent p = sign_parent(nsec3_policy(false));
    ResponseRecords r;
    ASSERT_EQ(p.add(r.authority, p.nsec3_matching(name("secure.parent.test.")), t::NSEC3), 2u);
    expect_error(check_ds(p, "secure.parent.test.", r), "lists DS");
}

TEST(ValidatedDsNsec3, ClosestEncloserProofCoversNxdomain) {
    Parent p = sign_parent(nsec3_policy(false));
    // Closest encloser the apex, then the empty non-terminal deep.
    for (auto [child, encloser] : {std::pair{"missing.parent.test.", "parent.test."},
                                   std::pair{"new.deep.parent.test.", "deep.parent.test."}}) {
        ResponseRecords r;
        r.rcode = 3;
        ASSERT_EQ(p.add(r.authority, p.nsec3_matching(name(encloser)), t::NSEC3), 2u);
        ASSERT_EQ(p.add(r.authority, p.nsec3_covering(name(child)), t::NSEC3), 2u);
        auto proof = check_ds(p, child, r);
        ASSERT_TRUE(proof.ok()) << child << ": " << proof.error().message;
        EXPECT_FALSE(proof->present);
    }
}

TEST(ValidatedDsNsec3, OptOutProvesAnInsecureDelegationAndNeedsTheCoveringRecord) {
    Parent p = sign_parent(nsec3_policy(true));
    const Name insecure = name("insecure.parent.test.");
    // Opt-out left the insecure delegation out of the chain.
    const Name lc = insecure.lowered();
    ASSERT_EQ(p.snapshot->nsec3_match(p.snapshot->nsec3_hash(lc.data(), lc.size())), zone::kNone);
    const Name encloser = p.nsec3_matching(p.origin), cover = p.nsec3_covering(insecure);
    ASSERT_FALSE(encloser.equals(cover));
    ResponseRecords r;
    ASSERT_EQ(p.add(r.authority, encloser, t::NSEC3), 2u);
    ASSERT_EQ(p.add(r.authority, cover, t::NSEC3), 2u);
    auto proof = check_ds(p, "insecure.parent.test.", r);
    ASSERT_TRUE(proof.ok()) << proof.error().message;
    EXPECT_FALSE(proof->present);

    ResponseRecords no_cover;
    p.add(no_cover.authority, encloser, t::NSEC3);
    expect_error(check_ds(p, "insecure.parent.test.", no_cover),
                 "no NSEC3 covers the next closer name insecure.parent.test.");

    ResponseRecords no_encloser;
    p.add(no_encloser.authority, cover, t::NSEC3);
    expect_error(check_ds(p, "insecure.parent.test.", no_encloser), "no closest encloser");

    // An unsigned covering NSEC3 proves nothing.
    ResponseRecords unsigned_cover;
    p.add(unsigned_cover.authority, encloser, t::NSEC3);
    p.add(unsigned_cover.authority, cover, t::NSEC3, false);
    expect_error(check_ds(p, "insecure.parent.test.", unsigned_cover), "no RRSIG over");
}

TEST(ValidatedDsNsec3, RefusesHashAlgorithmsOtherThanSha1) {
    Parent p = sign_parent(nsec3_policy(false));
    const Name owner = p.nsec3_matching(name("insecure.parent.test."));
    Rdata rd = p.rdatas(owner, t::NSEC3).at(0);
    rd[0] = 2;  // re-signed by the parent's ZSK, so only the algorithm is wrong
    ResponseRecords r;
    r.authority.push_back(record(owner, t::NSEC3, rd));
    r.authority.push_back(record(owner, t::RRSIG, sign_by_hand(p.zsk, p.zsk_rdata, p.origin, owner, t::NSEC3, {rd})));
    expect_error(check_ds(p, "insecure.parent.test.", r), "hash algorithm 2");
}

}  // namespace
}  // namespace satellite::dns
