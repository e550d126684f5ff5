// Key tags against the RFC's own example; RRSIG verification is judged by
// the integration tests against signatures from ldns-signzone,
// dnssec-signzone and Knot.
#include <gtest/gtest.h>

#include "dns/dnssec.hpp"
#include "dns/zonefile.hpp"

namespace satellite::dns {
namespace {

TEST(KeyTag, Rfc4034Section5_4Example) {
    auto origin = Name::from_text("example.com.");
    auto recs = parse_records(
        "dskey.example.com. 86400 IN DNSKEY 256 3 5 AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/"
        "2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9Xzc"
        "nOf+EPbtG9DMBmADjFDc2w/rljwvFw==\n",
        *origin);
    ASSERT_TRUE(recs.ok()) << recs.error().message;
    ASSERT_EQ(recs->size(), 1u);
    EXPECT_EQ(key_tag(recs->rdata((*recs)[0])), 60485);
}

TEST(VerifyRrsig, RefusesMismatchedInputsBeforeAnyCrypto) {
    auto origin = Name::from_text("example.com.");
    std::vector<std::uint8_t> key = {1, 0, 3, 13, 0xaa};
    std::vector<std::uint8_t> sig(30, 0);
    sig[1] = 1;  // covers A
    sig[2] = 13;
    RrsetView set{origin->data(), origin->size(), 28 /* AAAA */, {}};
    auto r = verify_rrsig(set, sig, key, *origin);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("another type"), std::string::npos);
}

}  // namespace
}  // namespace satellite::dns
