// Response rate limiting: token buckets per prefix and kind, slip, exempt.
#include "serve/rrl.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "serve/notify.hpp"

namespace satellite::serve {
namespace {

sockaddr_in v4(const char* text) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, text, &sa.sin_addr);
    return sa;
}

const sockaddr* sa(const sockaddr_in& s) { return reinterpret_cast<const sockaddr*>(&s); }

TEST(Rrl, APrefixGetsRateAnswersASecondThenEverySlipThIsTruncated) {
    RrlOptions o;
    o.rate = 5;
    o.slip = 2;
    RateLimiter rrl(o, 1 << 16);
    const auto a = v4("192.0.2.1"), b = v4("192.0.2.77"), other = v4("198.51.100.1");
    int sent = 0, slipped = 0, dropped = 0;
    for (int i = 0; i < 20; ++i) {
        switch (rrl.check(sa(i % 2 ? a : b), RrlKind::Answer, 1000)) {  // one /24
            case RrlAction::Send: ++sent; break;
            case RrlAction::Slip: ++slipped; break;
            case RrlAction::Drop: ++dropped; break;
        }
    }
    EXPECT_EQ(sent, 5);
    EXPECT_EQ(slipped, 7);
    EXPECT_EQ(dropped, 8);
    EXPECT_EQ(rrl.check(sa(other), RrlKind::Answer, 1000), RrlAction::Send);   // another prefix
    EXPECT_EQ(rrl.check(sa(a), RrlKind::Nxdomain, 1000), RrlAction::Send);     // another kind
    EXPECT_EQ(rrl.check(sa(a), RrlKind::Answer, 1200), RrlAction::Send);       // 0.2 s refills one
    EXPECT_NE(rrl.check(sa(a), RrlKind::Answer, 1200), RrlAction::Send);
}

TEST(Rrl, ExemptPrefixesAndRateZeroAreNeverLimited) {
    RrlOptions o;
    o.rate = 1;
    o.exempt.emplace_back(*parse_address("127.0.0.0"), 96 + 8);
    RateLimiter rrl(o, 64);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(rrl.check(sa(v4("127.1.2.3")), RrlKind::Answer, 5), RrlAction::Send);
    RateLimiter off(RrlOptions{}, 64);
    EXPECT_FALSE(off.enabled());
    for (int i = 0; i < 50; ++i) EXPECT_EQ(off.check(sa(v4("192.0.2.1")), RrlKind::Answer, 5), RrlAction::Send);
}

TEST(Rrl, TruncatedFormKeepsHeaderAndQuestionOnly) {
    // id 1, QR AA, NXDOMAIN, 1 question "a." A IN, 1 authority record (bytes).
    std::vector<std::uint8_t> r = {0, 1, 0x84, 0x03, 0, 1, 0, 0, 0, 1, 0, 0, 1, 'a', 0, 0, 1, 0, 1,
                                   0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 60, 0, 0};
    EXPECT_EQ(RateLimiter::kind_of(r), RrlKind::Nxdomain);
    std::size_t n = RateLimiter::truncate(r, r.size());
    ASSERT_EQ(n, 19u);
    EXPECT_TRUE(r[2] & 0x02);  // TC
    EXPECT_EQ(r[9], 0);        // no authority
    r[3] = 0;
    r[7] = 1;
    EXPECT_EQ(RateLimiter::kind_of(r), RrlKind::Answer);
    r[2] = 0x80;
    r[7] = 0;
    EXPECT_EQ(RateLimiter::kind_of(r), RrlKind::Referral);
}

}  // namespace
}  // namespace satellite::serve
