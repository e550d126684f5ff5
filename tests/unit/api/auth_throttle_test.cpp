// Failed authentications slowed per address (issue 17).
#include <gtest/gtest.h>

#include "api/auth.hpp"

namespace satellite::api {
namespace {

using namespace std::chrono_literals;

TEST(AuthThrottle, AnAddressIsRefusedAfterTooManyFailuresUntilItsWindowEnds) {
    AuthThrottle t(3);
    const auto t0 = AuthThrottle::Clock::time_point{} + 1000s;
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(t.retry_after("192.0.2.1", t0), 0u);
        t.failed("192.0.2.1", t0 + std::chrono::seconds(i));
    }
    EXPECT_EQ(t.retry_after("192.0.2.1", t0 + 10s), 50u);
    EXPECT_EQ(t.retry_after("192.0.2.2", t0 + 10s), 0u);  // another address is not affected
    EXPECT_EQ(t.retry_after("192.0.2.1", t0 + 60s), 0u);  // a new window
    t.failed("192.0.2.1", t0 + 61s);
    EXPECT_EQ(t.retry_after("192.0.2.1", t0 + 62s), 0u);  // counting starts again
}

}  // namespace
}  // namespace satellite::api
