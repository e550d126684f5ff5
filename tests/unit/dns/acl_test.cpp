// Address prefixes for provide_xfr: IPv4 (as v4-mapped) and IPv6, exact
// hosts and networks, and the entry syntax with "key NAME".
#include "dns/acl.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

namespace satellite::dns {
namespace {

Address16 addr(const char* text) {
    Address16 a{};
    unsigned char v4[4];
    if (::inet_pton(AF_INET, text, v4) == 1) {
        a[10] = a[11] = 0xff;
        std::memcpy(a.data() + 12, v4, 4);
    } else {
        EXPECT_EQ(::inet_pton(AF_INET6, text, a.data()), 1) << text;
    }
    return a;
}

TEST(Acl, Ipv4PrefixesMatchTheirNetworkOnly) {
    auto p = parse_prefix("192.0.2.0/24");
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_TRUE(p->matches(addr("192.0.2.0")));
    EXPECT_TRUE(p->matches(addr("192.0.2.255")));
    EXPECT_FALSE(p->matches(addr("192.0.3.1")));
    EXPECT_FALSE(p->matches(addr("::ffff:c000:300")));
    EXPECT_FALSE(p->matches(addr("2001:db8::1")));
    auto host = parse_prefix("127.0.0.1");
    ASSERT_TRUE(host.ok());
    EXPECT_TRUE(host->matches(addr("127.0.0.1")));
    EXPECT_FALSE(host->matches(addr("127.0.0.2")));
    auto odd = parse_prefix("10.128.0.0/9");
    ASSERT_TRUE(odd.ok());
    EXPECT_TRUE(odd->matches(addr("10.200.1.1")));
    EXPECT_FALSE(odd->matches(addr("10.1.1.1")));
    auto all = parse_prefix("0.0.0.0/0");
    ASSERT_TRUE(all.ok());
    EXPECT_TRUE(all->matches(addr("203.0.113.9")));
    EXPECT_FALSE(all->matches(addr("2001:db8::1")));  // IPv4 /0 is all of IPv4 only
}

TEST(Acl, Ipv6Prefixes) {
    auto p = parse_prefix("2001:db8::/32");
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->matches(addr("2001:db8:1::5")));
    EXPECT_FALSE(p->matches(addr("2001:db9::5")));
    EXPECT_FALSE(p->matches(addr("192.0.2.1")));
    auto lo = parse_prefix("::1");
    ASSERT_TRUE(lo.ok());
    EXPECT_TRUE(lo->matches(addr("::1")));
    EXPECT_FALSE(lo->matches(addr("127.0.0.1")));
    auto any = parse_prefix("::/0");
    ASSERT_TRUE(any.ok());
    EXPECT_TRUE(any->matches(addr("192.0.2.1")));  // v4-mapped addresses are inside ::/0
}

TEST(Acl, BadPrefixesAreRefused) {
    for (const char* bad : {"192.0.2.1/24", "192.0.2.0/33", "192.0.2.0/", "192.0.2.0/x", "2001:db8::1/32", "::/129",
                            "host.example", ""}) {
        EXPECT_FALSE(parse_prefix(bad).ok()) << bad;
    }
}

TEST(Acl, EntriesWithAndWithoutKey) {
    auto plain = parse_xfr_acl("192.0.2.0/24");
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->key, "");
    auto keyed = parse_xfr_acl("  2001:db8::/48   key  xfr-key ");
    ASSERT_TRUE(keyed.ok());
    EXPECT_EQ(keyed->key, "xfr-key");
    EXPECT_TRUE(keyed->prefix.matches(addr("2001:db8::7")));
    for (const char* bad : {"192.0.2.0/24 xfr-key", "192.0.2.0/24 key", "192.0.2.0/24 key a b", "key xfr-key"}) {
        EXPECT_FALSE(parse_xfr_acl(bad).ok()) << bad;
    }
}

}  // namespace
}  // namespace satellite::dns
