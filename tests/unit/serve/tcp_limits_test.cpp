// Per-client TCP connection caps (RFC 7766 §6.2.3).
#include "serve/tcp_limits.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace satellite::serve {
namespace {

ClientConnectionLimits::Key v4(const char* text) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, text, &sa.sin_addr);
    return ClientConnectionLimits::key_of(reinterpret_cast<const sockaddr*>(&sa));
}

ClientConnectionLimits::Key v6(const char* text) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    inet_pton(AF_INET6, text, &sa.sin6_addr);
    return ClientConnectionLimits::key_of(reinterpret_cast<const sockaddr*>(&sa));
}

TEST(ClientConnectionLimits, CapsOneAddressNotOthers) {
    ClientConnectionLimits limits(3);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(limits.try_acquire(v4("127.0.0.2")));
    EXPECT_FALSE(limits.try_acquire(v4("127.0.0.2")));
    EXPECT_TRUE(limits.try_acquire(v4("127.0.0.3")));
    limits.release(v4("127.0.0.2"));
    EXPECT_TRUE(limits.try_acquire(v4("127.0.0.2")));
    EXPECT_EQ(limits.held(v4("127.0.0.2")), 3u);
}

TEST(ClientConnectionLimits, Ipv6ClientIsASlash64AndMappedIpv4IsIpv4) {
    EXPECT_EQ(v6("2001:db8:1:2::1"), v6("2001:db8:1:2:ffff::9"));
    EXPECT_NE(v6("2001:db8:1:2::1"), v6("2001:db8:1:3::1"));
    EXPECT_EQ(v6("::ffff:192.0.2.1"), v4("192.0.2.1"));
    EXPECT_NE(v6("::ffff:192.0.2.1"), v4("192.0.2.2"));
}

TEST(ClientConnectionLimits, ReleaseForgetsIdleClients) {
    ClientConnectionLimits limits(1);
    EXPECT_TRUE(limits.try_acquire(v4("192.0.2.1")));
    limits.release(v4("192.0.2.1"));
    limits.release(v4("192.0.2.1"));  // an extra release does not go below zero
    EXPECT_EQ(limits.held(v4("192.0.2.1")), 0u);
    EXPECT_TRUE(limits.try_acquire(v4("192.0.2.1")));
    EXPECT_FALSE(limits.try_acquire(v4("192.0.2.1")));
}

}  // namespace
}  // namespace satellite::serve
