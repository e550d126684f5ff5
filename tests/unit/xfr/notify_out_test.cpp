// NOTIFY out's retry policy on a manual clock: 5 tries 2 s apart doubling,
// an answer ends them, a version arriving meanwhile is coalesced into the
// outstanding NOTIFY, and the per-target counters say what happened.
#include "xfr/notify_out.hpp"

#include <gtest/gtest.h>

namespace satellite::xfr {
namespace {

const std::string kZone = "example.test.";
const std::string kTarget = "127.0.0.2:53";

TEST(NotifyPolicy, RetriesWithDoublingIntervalsThenGivesUp) {
    NotifyPolicy p;  // 5 tries, 2 s first wait
    p.version(kZone, kTarget, 10, 0);
    std::vector<NotifyPolicy::Ms> sent_at;
    for (NotifyPolicy::Ms t = 0; t <= 120'000; t += 250) {
        for (const auto& s : p.due(t)) {
            EXPECT_EQ(s.serial, 10u);
            EXPECT_EQ(s.attempt, sent_at.size() + 1);
            sent_at.push_back(t);
        }
    }
    EXPECT_EQ(sent_at, (std::vector<NotifyPolicy::Ms>{0, 2000, 6000, 14000, 30000}));
    EXPECT_FALSE(p.pending(kZone, kTarget));
    const auto& c = p.counters().at({kZone, kTarget});
    EXPECT_EQ(c.sent, 5u);
    EXPECT_EQ(c.acknowledged, 0u);
    EXPECT_EQ(c.failed, 1u);
    EXPECT_EQ(p.next_due(), -1);
}

TEST(NotifyPolicy, AnAnswerEndsTheRetries) {
    NotifyPolicy p;
    p.version(kZone, kTarget, 10, 0);
    ASSERT_EQ(p.due(0).size(), 1u);
    EXPECT_EQ(p.next_due(), 2000);
    p.answered(kZone, kTarget, true);
    EXPECT_FALSE(p.pending(kZone, kTarget));
    EXPECT_TRUE(p.due(60'000).empty());
    EXPECT_EQ(p.counters().at({kZone, kTarget}).acknowledged, 1u);
    // A late second answer changes nothing.
    p.answered(kZone, kTarget, true);
    EXPECT_EQ(p.counters().at({kZone, kTarget}).acknowledged, 1u);
}

TEST(NotifyPolicy, ARefusalIsAFailureWithoutRetries) {
    NotifyPolicy p;
    p.version(kZone, kTarget, 10, 0);
    ASSERT_EQ(p.due(0).size(), 1u);
    p.answered(kZone, kTarget, false);
    EXPECT_TRUE(p.due(60'000).empty());
    EXPECT_EQ(p.counters().at({kZone, kTarget}).failed, 1u);
}

TEST(NotifyPolicy, VersionsFasterThanTheTargetAreCoalesced) {
    NotifyPolicy p;
    p.version(kZone, kTarget, 10, 0);
    ASSERT_EQ(p.due(0).size(), 1u);
    // Three new versions within the first retry interval: one NOTIFY, for
    // the newest serial, when the interval since the last send is over.
    p.version(kZone, kTarget, 11, 100);
    p.version(kZone, kTarget, 12, 200);
    p.version(kZone, kTarget, 13, 300);
    EXPECT_TRUE(p.due(1999).empty());
    auto s = p.due(2000);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].serial, 13u);
    EXPECT_EQ(s[0].attempt, 1u);  // tries start again for the new version
    p.answered(kZone, kTarget, true);
    // After an answer, a new version goes out at once once the interval is over.
    p.version(kZone, kTarget, 14, 10'000);
    auto t = p.due(10'000);
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].serial, 14u);
    EXPECT_EQ(p.counters().at({kZone, kTarget}).sent, 3u);
}

TEST(NotifyPolicy, TheSameSerialAgainIsNotANewVersion) {
    NotifyPolicy p;
    p.version(kZone, kTarget, 10, 0);
    ASSERT_EQ(p.due(0).size(), 1u);
    p.version(kZone, kTarget, 10, 500);
    EXPECT_EQ(p.next_due(), 2000);  // the retry schedule goes on unchanged
}

TEST(NotifyPolicy, TargetsAreIndependent) {
    NotifyPolicy p;
    p.version(kZone, kTarget, 10, 0);
    p.version(kZone, "127.0.0.3:53", 10, 0);
    p.version("other.test.", kTarget, 7, 0);
    EXPECT_EQ(p.due(0).size(), 3u);
    p.answered(kZone, kTarget, true);
    EXPECT_TRUE(p.pending(kZone, "127.0.0.3:53"));
    EXPECT_TRUE(p.pending("other.test.", kTarget));
    EXPECT_EQ(p.counters().size(), 3u);
}

}  // namespace
}  // namespace satellite::xfr
