// Signing primitives: every algorithm's key signs an RRset that our own
// verifier (and, in the integration tests, unbound, delv and
// ldns-verify-zone) accepts; keys survive PEM; DS digests match RFC 4509's
// example.
#include <gtest/gtest.h>

#include "dns/dnssec.hpp"
#include "dns/zonefile.hpp"

namespace satellite::dns {
namespace {

TEST(DsRdata, Rfc4509Example) {
    auto origin = Name::from_text("example.com.");
    auto recs = parse_records(
        "dskey.example.com. 86400 IN DNSKEY 256 3 5 AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/"
        "2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9Xzc"
        "nOf+EPbtG9DMBmADjFDc2w/rljwvFw==\n",
        *origin);
    ASSERT_TRUE(recs.ok()) << recs.error().message;
    auto owner = Name::from_text("dskey.example.com.");
    auto ds = ds_rdata(*owner, recs->rdata((*recs)[0]), 2);
    const std::vector<std::uint8_t> want = {
        0xEC, 0x45, 5, 2, 0xD4, 0xB7, 0xD5, 0x20, 0xE7, 0xBB, 0x5F, 0x0F, 0x67, 0x67, 0x4A, 0x0C,
        0xCE, 0xB1, 0xE3, 0xE0, 0x61, 0x4B, 0x93, 0xC4, 0xF9, 0xE9, 0x9B, 0x83, 0x83, 0xF6, 0xA1, 0xE4,
        0x46, 0x9D, 0xA5, 0x0A};
    EXPECT_EQ(ds, want);
    EXPECT_EQ(ds_rdata(*owner, recs->rdata((*recs)[0]), 4).size(), 4u + 48u);
    EXPECT_TRUE(ds_rdata(*owner, recs->rdata((*recs)[0]), 1).empty());
}

class SignEveryAlgorithm : public ::testing::TestWithParam<int> {};

TEST_P(SignEveryAlgorithm, SignaturesVerifyAndKeysRoundTripThroughPem) {
    const auto alg = static_cast<std::uint8_t>(GetParam());
    auto key = SigningKey::generate(alg);
    ASSERT_TRUE(key.ok()) << key.error().message;
    auto zone = Name::from_text("Example.COM.");
    auto owner = Name::from_text("WWW.example.com.");
    const std::vector<std::uint8_t> a1 = {192, 0, 2, 1}, a2 = {192, 0, 2, 2};
    RrsetView set{owner->data(), owner->size(), 1, {a2, a1, a2}};
    auto dnskey = (*key)->dnskey_rdata(256);
    EXPECT_EQ(dnskey[3], alg);
    Signer signer(*key);
    std::vector<std::uint8_t> scratch, rrsig;
    ASSERT_TRUE(sign_rrset(signer, key_tag(dnskey), *zone, set, 300, {1000, 2000}, scratch, rrsig));
    EXPECT_TRUE(verify_rrsig(set, rrsig, dnskey, *zone).ok());
    EXPECT_EQ(rrsig[3], 3);  // labels of www.example.com.
    // Another RRset content must not verify with that signature.
    RrsetView other{owner->data(), owner->size(), 1, {a1}};
    EXPECT_FALSE(verify_rrsig(other, rrsig, dnskey, *zone).ok());

    // PEM round trip: the same public key, still signing verifiably.
    auto again = SigningKey::from_pem((*key)->to_pem(), alg);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ((*again)->public_key(), (*key)->public_key());
    Signer signer2(*again);
    rrsig.clear();
    ASSERT_TRUE(sign_rrset(signer2, key_tag(dnskey), *zone, set, 300, {1000, 2000}, scratch, rrsig));
    EXPECT_TRUE(verify_rrsig(set, rrsig, dnskey, *zone).ok());
}

INSTANTIATE_TEST_SUITE_P(Algorithms, SignEveryAlgorithm, ::testing::Values(8, 10, 13, 14, 15));

TEST(SignWildcard, LabelCountLeavesOutTheStar) {
    auto key = SigningKey::generate(13);
    ASSERT_TRUE(key.ok());
    auto zone = Name::from_text("example.com.");
    auto owner = Name::from_text("*.wild.example.com.");
    const std::vector<std::uint8_t> txt = {4, 'w', 'i', 'l', 'd'};
    RrsetView set{owner->data(), owner->size(), 16, {txt}};
    Signer signer(*key);
    std::vector<std::uint8_t> scratch, rrsig;
    auto dnskey = (*key)->dnskey_rdata(256);
    ASSERT_TRUE(sign_rrset(signer, key_tag(dnskey), *zone, set, 60, {1, 2}, scratch, rrsig));
    EXPECT_EQ(rrsig[3], 3);
    // A validator checks it against the expanded name.
    auto expanded = Name::from_text("a.b.wild.example.com.");
    RrsetView synth{expanded->data(), expanded->size(), 16, {txt}};
    EXPECT_TRUE(verify_rrsig(synth, rrsig, dnskey, *zone).ok());
}

TEST(SigningKeyPem, RefusesGarbageAndTheWrongAlgorithm) {
    EXPECT_FALSE(SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 13).ok());
    auto ed = SigningKey::generate(15);
    ASSERT_TRUE(ed.ok());
    auto wrong = SigningKey::from_pem((*ed)->to_pem(), 13);
    ASSERT_FALSE(wrong.ok());
    EXPECT_NE(wrong.error().message.find("algorithm 13"), std::string::npos);
    auto p256 = SigningKey::generate(13);
    ASSERT_TRUE(p256.ok());
    EXPECT_FALSE(SigningKey::from_pem((*p256)->to_pem(), 14).ok());
}

}  // namespace
}  // namespace satellite::dns
