// RFC 8901 §8 consistency: a provider that lacks one of our published keys,
// or serves another CDS/CDNSKEY set, is named with what differs; the peers'
// own extra keys in DNSKEY are fine, and an unpublished key of ours is not
// expected at the provider.
#include <gtest/gtest.h>

#include "dns/dnssec.hpp"
#include "modes/provider_check.hpp"

namespace satellite::modes {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes dnskey(std::uint16_t flags, std::uint8_t fill) {
    Bytes rd(4 + 64, fill);
    rd[0] = static_cast<std::uint8_t>(flags >> 8);
    rd[1] = static_cast<std::uint8_t>(flags);
    rd[2] = 3;
    rd[3] = 13;
    return rd;
}

Bytes ds(std::uint16_t tag, std::uint8_t fill) {
    Bytes rd(4 + 32, fill);
    rd[0] = static_cast<std::uint8_t>(tag >> 8);
    rd[1] = static_cast<std::uint8_t>(tag);
    rd[2] = 13;
    rd[3] = 2;
    return rd;
}

TEST(ProviderCheck, AgreeingProviderHasNoProblems) {
    const Bytes our_ksk = dnskey(257, 1), our_zsk = dnskey(256, 2), their_ksk = dnskey(257, 3), their_zsk = dnskey(256, 4);
    ApexKeySets ours{{our_ksk, our_zsk, their_ksk, their_zsk}, {ds(1, 1), ds(3, 3)}, {our_ksk, their_ksk}};
    // Theirs in another order, with a key of theirs we do not publish yet (their next ZSK).
    ApexKeySets theirs{{their_zsk, dnskey(256, 5), their_ksk, our_zsk, our_ksk}, {ds(3, 3), ds(1, 1)}, {their_ksk, our_ksk}};
    EXPECT_TRUE(provider_disagreements(ours, {our_ksk, our_zsk}, theirs).empty());
    // A key of ours that we do not publish (a standby KSK) is not expected there.
    EXPECT_TRUE(provider_disagreements(ours, {our_ksk, our_zsk, dnskey(257, 9)}, theirs).empty());
}

TEST(ProviderCheck, MissingZskAndStaleCdsAreNamed) {
    const Bytes our_ksk = dnskey(257, 1), our_zsk = dnskey(256, 2), their_ksk = dnskey(257, 3);
    ApexKeySets ours{{our_ksk, our_zsk, their_ksk}, {ds(1, 1), ds(3, 3)}, {our_ksk, their_ksk}};
    ApexKeySets theirs{{our_ksk, their_ksk}, {ds(3, 3), ds(7, 7)}, {our_ksk, their_ksk}};
    auto p = provider_disagreements(ours, {our_ksk, our_zsk}, theirs);
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0].find("lacks our ZSK " + std::to_string(dns::key_tag(our_zsk)) + " in its DNSKEY RRset"), 0u) << p[0];
    EXPECT_EQ(p[1], "CDS differs from ours: lacks 1; has 7 that ours does not");
    // A missing KSK says KSK; a CDNSKEY set that is missing is named.
    theirs = {{our_zsk, their_ksk}, ours.cds, {}};
    p = provider_disagreements(ours, {our_ksk, our_zsk}, theirs);
    ASSERT_EQ(p.size(), 2u);
    EXPECT_NE(p[0].find("lacks our KSK"), std::string::npos) << p[0];
    EXPECT_EQ(p[1].find("CDNSKEY differs from ours: lacks "), 0u) << p[1];
    // RFC 8078 delete records are named as such.
    theirs = {ours.dnskey, {{0, 0, 0, 0, 0}}, ours.cdnskey};
    p = provider_disagreements(ours, {our_ksk, our_zsk}, theirs);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_NE(p[0].find("has delete that ours does not"), std::string::npos) << p[0];
}

}  // namespace
}  // namespace satellite::modes
