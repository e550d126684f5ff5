// Per-zone events on a manual clock: due times, one event at a time per zone,
// NOTIFY coalescing, removal and id reuse, 100,000 zones in order, the Asio driver.
#include "daemon/events.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "util/clock.hpp"

namespace satellite::daemon {
namespace {

using Taken = std::vector<std::pair<ZoneId, ZoneEvent>>;
using When = EventScheduler::When;

TEST(ZoneEvents, NamesAreTheOnesLogsUse) {
    EXPECT_STREQ(to_string(ZoneEvent::Load), "load");
    EXPECT_STREQ(to_string(ZoneEvent::Refresh), "refresh");
    EXPECT_STREQ(to_string(ZoneEvent::Expire), "expire");
    EXPECT_STREQ(to_string(ZoneEvent::Notify), "notify");
    EXPECT_STREQ(to_string(ZoneEvent::Resign), "re-sign");
    EXPECT_STREQ(to_string(ZoneEvent::DsCheck), "DS check");
    EXPECT_STREQ(to_string(ZoneEvent::DnskeySync), "DNSKEY sync");
    EXPECT_STREQ(to_string(ZoneEvent::Flush), "flush");
}

TEST(EventScheduler, RefreshIsTakenAtItsDueTimeNotBefore) {
    ManualClock clock;
    EventScheduler s;
    ZoneId z = s.add_zone();
    const std::int64_t at = clock.now_unix() + 300;
    s.schedule(z, ZoneEvent::Refresh, at);
    EXPECT_EQ(s.due(z, ZoneEvent::Refresh), at);
    EXPECT_EQ(s.next_due(), at);

    clock.advance(299);
    EXPECT_TRUE(s.take_due(clock.now_unix()).empty());
    EXPECT_FALSE(s.running(z));

    clock.advance(1);
    EXPECT_EQ(s.take_due(clock.now_unix()), (Taken{{z, ZoneEvent::Refresh}}));
    EXPECT_TRUE(s.running(z));
    EXPECT_EQ(s.due(z, ZoneEvent::Refresh), 0);  // cleared when taken
    EXPECT_TRUE(s.take_due(clock.now_unix()).empty());
    s.finish(z);
    EXPECT_FALSE(s.running(z));
    EXPECT_EQ(s.next_due(), std::nullopt);
}

TEST(EventScheduler, ReplaceMovesTheDueTimeBothWays) {
    ManualClock clock;
    EventScheduler s;
    ZoneId z = s.add_zone();
    const std::int64_t now = clock.now_unix();
    s.schedule(z, ZoneEvent::Refresh, now + 100);
    s.schedule(z, ZoneEvent::Refresh, now + 500);  // later replaces
    EXPECT_EQ(s.due(z, ZoneEvent::Refresh), now + 500);
    EXPECT_EQ(s.next_due(), now + 500);
    EXPECT_TRUE(s.take_due(now + 100).empty());  // the old time left the index too
    s.schedule(z, ZoneEvent::Refresh, now + 50);  // earlier replaces
    EXPECT_EQ(s.due(z, ZoneEvent::Refresh), now + 50);
    EXPECT_EQ(s.take_due(now + 50), (Taken{{z, ZoneEvent::Refresh}}));
    s.finish(z);
    EXPECT_TRUE(s.take_due(now + 1000).empty());  // only one entry ever: no stale +500
}

TEST(EventScheduler, EarlierKeepsTheEarlierOfOldAndNew) {
    ManualClock clock;
    EventScheduler s;
    ZoneId z = s.add_zone();
    const std::int64_t now = clock.now_unix();
    s.schedule(z, ZoneEvent::Expire, now + 100, When::Earlier);  // unscheduled: takes the new time
    EXPECT_EQ(s.due(z, ZoneEvent::Expire), now + 100);
    s.schedule(z, ZoneEvent::Expire, now + 500, When::Earlier);  // later: ignored
    EXPECT_EQ(s.due(z, ZoneEvent::Expire), now + 100);
    s.schedule(z, ZoneEvent::Expire, now + 20, When::Earlier);  // earlier: moves
    EXPECT_EQ(s.due(z, ZoneEvent::Expire), now + 20);
    EXPECT_EQ(s.next_due(), now + 20);
    EXPECT_EQ(s.take_due(now + 20), (Taken{{z, ZoneEvent::Expire}}));
    s.finish(z);
    EXPECT_TRUE(s.take_due(now + 1000).empty());
}

TEST(EventScheduler, PastOrZeroTimesMeanAsSoonAsPossible) {
    EventScheduler s;
    ZoneId z = s.add_zone();
    s.schedule(z, ZoneEvent::Load, 0);
    EXPECT_NE(s.due(z, ZoneEvent::Load), 0);  // 0 would read as "not scheduled"
    EXPECT_EQ(s.take_due(1), (Taken{{z, ZoneEvent::Load}}));
}

TEST(EventScheduler, OneEventAtATimePerZoneOthersGoOn) {
    ManualClock clock;
    EventScheduler s;
    ZoneId a = s.add_zone();
    ZoneId b = s.add_zone();
    ZoneId c = s.add_zone();
    const std::int64_t now = clock.now_unix();
    s.schedule(a, ZoneEvent::Refresh, now);
    ASSERT_EQ(s.take_due(now), (Taken{{a, ZoneEvent::Refresh}}));

    // a's notify comes due while its refresh runs; b and c must not wait for a.
    s.schedule(a, ZoneEvent::Notify, now);
    s.schedule(b, ZoneEvent::Notify, now);
    s.schedule(c, ZoneEvent::Refresh, now);
    EXPECT_EQ(s.take_due(now), (Taken{{b, ZoneEvent::Notify}, {c, ZoneEvent::Refresh}}));
    EXPECT_EQ(s.due(a, ZoneEvent::Notify), now);  // kept while a runs
    clock.advance(60);
    EXPECT_TRUE(s.take_due(clock.now_unix()).empty());

    s.finish(b);
    EXPECT_TRUE(s.take_due(clock.now_unix()).empty());  // b's finish does not free a
    s.finish(a);
    EXPECT_EQ(s.take_due(clock.now_unix()), (Taken{{a, ZoneEvent::Notify}}));
}

TEST(EventScheduler, FiveNotifiesWhileRunningBecomeOne) {
    ManualClock clock;
    EventScheduler s;
    ZoneId z = s.add_zone();
    s.schedule(z, ZoneEvent::Refresh, clock.now_unix());
    ASSERT_EQ(s.take_due(clock.now_unix()), (Taken{{z, ZoneEvent::Refresh}}));
    for (int i = 0; i < 5; ++i) {
        s.schedule(z, ZoneEvent::Notify, clock.now_unix(), When::Earlier);
        clock.advance(1);
    }
    EXPECT_EQ(s.due(z, ZoneEvent::Notify), clock.now_unix() - 5);  // the first one's time
    EXPECT_TRUE(s.take_due(clock.now_unix()).empty());
    s.finish(z);
    EXPECT_EQ(s.take_due(clock.now_unix()), (Taken{{z, ZoneEvent::Notify}}));
    s.finish(z);
    EXPECT_TRUE(s.take_due(clock.now_unix() + 3600).empty());
}

TEST(EventScheduler, AnEventScheduledAgainWhileRunningWaitsForFinish) {
    EventScheduler s;
    ZoneId z = s.add_zone();
    s.schedule(z, ZoneEvent::Refresh, 10);
    ASSERT_EQ(s.take_due(10), (Taken{{z, ZoneEvent::Refresh}}));
    s.schedule(z, ZoneEvent::Refresh, 10);  // e.g. a retry decided by the running refresh
    EXPECT_TRUE(s.take_due(10).empty());
    EXPECT_EQ(s.next_due(), std::nullopt);
    s.finish(z);
    EXPECT_EQ(s.next_due(), 10);
    EXPECT_EQ(s.take_due(10), (Taken{{z, ZoneEvent::Refresh}}));
}

TEST(EventScheduler, CancelDropsTheEvent) {
    EventScheduler s;
    ZoneId z = s.add_zone();
    s.schedule(z, ZoneEvent::Resign, 100);
    s.schedule(z, ZoneEvent::Flush, 200);
    s.cancel(z, ZoneEvent::Resign);
    EXPECT_EQ(s.due(z, ZoneEvent::Resign), 0);
    EXPECT_EQ(s.next_due(), 200);
    EXPECT_TRUE(s.take_due(150).empty());
    s.cancel(z, ZoneEvent::Resign);  // twice is harmless

    // Cancelled while running: not taken after finish().
    ASSERT_EQ(s.take_due(200), (Taken{{z, ZoneEvent::Flush}}));
    s.schedule(z, ZoneEvent::DsCheck, 200);
    s.cancel(z, ZoneEvent::DsCheck);
    s.finish(z);
    EXPECT_EQ(s.next_due(), std::nullopt);
    EXPECT_TRUE(s.take_due(10'000).empty());
}

TEST(EventScheduler, RemoveZoneDropsItsEventsAndItsIdIsReused) {
    EventScheduler s;
    ZoneId a = s.add_zone();
    ZoneId b = s.add_zone();
    EXPECT_NE(a, b);
    EXPECT_EQ(s.zones(), 2u);
    s.schedule(a, ZoneEvent::Refresh, 100);
    s.schedule(a, ZoneEvent::Expire, 50);
    s.schedule(b, ZoneEvent::Refresh, 300);
    s.remove_zone(a);
    EXPECT_EQ(s.zones(), 1u);
    EXPECT_EQ(s.next_due(), 300);
    EXPECT_EQ(s.take_due(300), (Taken{{b, ZoneEvent::Refresh}}));

    ZoneId c = s.add_zone();
    EXPECT_EQ(c, a);  // dense: the freed id comes back
    EXPECT_EQ(s.zones(), 2u);
    EXPECT_EQ(s.due(c, ZoneEvent::Expire), 0);  // nothing inherited from a
    EXPECT_EQ(s.due(c, ZoneEvent::Refresh), 0);
    EXPECT_FALSE(s.running(c));
    EXPECT_EQ(s.add_zone(), 2u);  // no free id left: the next new one
}

TEST(EventScheduler, RemoveWhileRunningThenFinishIsHarmless) {
    EventScheduler s;
    ZoneId a = s.add_zone();
    ZoneId b = s.add_zone();
    s.schedule(a, ZoneEvent::Refresh, 10);
    s.schedule(a, ZoneEvent::Notify, 20);
    ASSERT_EQ(s.take_due(10), (Taken{{a, ZoneEvent::Refresh}}));
    s.remove_zone(a);
    EXPECT_EQ(s.zones(), 1u);
    EXPECT_FALSE(s.running(a));
    s.schedule(a, ZoneEvent::Notify, 20);  // a late schedule from the running event: ignored
    EXPECT_EQ(s.due(a, ZoneEvent::Notify), 0);

    // a's id is held until its event ends, so a newcomer cannot be "finished" by it.
    ZoneId c = s.add_zone();
    EXPECT_NE(c, a);
    s.schedule(c, ZoneEvent::Load, 10);
    ASSERT_EQ(s.take_due(10), (Taken{{c, ZoneEvent::Load}}));

    s.finish(a);
    EXPECT_TRUE(s.running(c));
    EXPECT_TRUE(s.take_due(1000).empty());  // a's notify is gone with it
    s.finish(a);                            // twice: still harmless
    EXPECT_EQ(s.add_zone(), a);              // released by the finish
    EXPECT_EQ(s.zones(), 3u);
    (void)b;
}

TEST(EventScheduler, UnknownIdIsABug) {
    EventScheduler s;
    EXPECT_THROW(s.schedule(0, ZoneEvent::Load, 1), std::out_of_range);
    s.add_zone();
    EXPECT_THROW(s.finish(7), std::out_of_range);
    EXPECT_THROW((void)s.due(1, ZoneEvent::Load), std::out_of_range);
}

TEST(EventScheduler, TiesGoInEnumOrderThenZoneOrder) {
    EventScheduler s;
    ZoneId a = s.add_zone();
    ZoneId b = s.add_zone();
    s.schedule(a, ZoneEvent::Flush, 100);
    s.schedule(a, ZoneEvent::Notify, 100);
    s.schedule(a, ZoneEvent::Refresh, 100);
    s.schedule(b, ZoneEvent::Load, 100);
    EXPECT_EQ(s.take_due(100), (Taken{{a, ZoneEvent::Refresh}, {b, ZoneEvent::Load}}));
    s.finish(a);
    EXPECT_EQ(s.take_due(100), (Taken{{a, ZoneEvent::Notify}}));
    s.finish(a);
    EXPECT_EQ(s.take_due(100), (Taken{{a, ZoneEvent::Flush}}));
}

TEST(EventScheduler, AZonesEarliestEventBeatsEnumOrder) {
    EventScheduler s;
    ZoneId z = s.add_zone();
    s.schedule(z, ZoneEvent::Load, 100);
    s.schedule(z, ZoneEvent::Flush, 90);
    EXPECT_EQ(s.take_due(100), (Taken{{z, ZoneEvent::Flush}}));
}

TEST(EventScheduler, MaxLimitsOneCallAndTakesTheEarliest) {
    EventScheduler s;
    std::vector<ZoneId> z;
    for (int i = 0; i < 5; ++i) z.push_back(s.add_zone());
    // Scheduled out of order: 4 earliest, then 2, 0, 3, 1.
    s.schedule(z[0], ZoneEvent::Refresh, 30);
    s.schedule(z[1], ZoneEvent::Refresh, 50);
    s.schedule(z[2], ZoneEvent::Refresh, 20);
    s.schedule(z[3], ZoneEvent::Refresh, 40);
    s.schedule(z[4], ZoneEvent::Refresh, 10);
    EXPECT_TRUE(s.take_due(100, 0).empty());
    EXPECT_EQ(s.take_due(100, 2), (Taken{{z[4], ZoneEvent::Refresh}, {z[2], ZoneEvent::Refresh}}));
    EXPECT_EQ(s.next_due(), 30);
    EXPECT_EQ(s.take_due(100, 2), (Taken{{z[0], ZoneEvent::Refresh}, {z[3], ZoneEvent::Refresh}}));
    EXPECT_EQ(s.take_due(100), (Taken{{z[1], ZoneEvent::Refresh}}));
}

TEST(EventScheduler, NextDueIsTheEarliestAmongZonesNotRunning) {
    EventScheduler s;
    EXPECT_EQ(s.next_due(), std::nullopt);
    ZoneId a = s.add_zone();
    ZoneId b = s.add_zone();
    s.schedule(b, ZoneEvent::Refresh, 500);
    s.schedule(a, ZoneEvent::Refresh, 100);
    s.schedule(a, ZoneEvent::Notify, 200);
    EXPECT_EQ(s.next_due(), 100);
    ASSERT_EQ(s.take_due(100), (Taken{{a, ZoneEvent::Refresh}}));
    EXPECT_EQ(s.next_due(), 500);  // a's notify at 200 waits for a's finish
    s.finish(a);
    EXPECT_EQ(s.next_due(), 200);
    ASSERT_EQ(s.take_due(500), (Taken{{a, ZoneEvent::Notify}, {b, ZoneEvent::Refresh}}));
    EXPECT_EQ(s.next_due(), std::nullopt);
}

// 100,000 zones due at distinct times, scheduled in shuffled order: stepping a
// manual clock one second at a time must yield exactly the zone due then.
TEST(EventScheduler, HundredThousandZonesComeOutInOrderOnce) {
    constexpr std::size_t kZones = 100'000;
    ManualClock clock;
    EventScheduler s;
    std::vector<ZoneId> ids(kZones);
    for (auto& id : ids) id = s.add_zone();
    ASSERT_EQ(s.zones(), kZones);

    std::vector<std::int64_t> offset(kZones);
    std::iota(offset.begin(), offset.end(), 1);
    std::shuffle(offset.begin(), offset.end(), std::mt19937(2024));
    const std::int64_t start = clock.now_unix();
    std::vector<ZoneId> due_at(kZones + 1);  // zone expected at start + t
    for (std::size_t i = 0; i < kZones; ++i) {
        s.schedule(ids[i], ZoneEvent::Refresh, start + offset[i]);
        due_at[static_cast<std::size_t>(offset[i])] = ids[i];
    }

    std::vector<int> seen(kZones, 0);
    for (std::size_t t = 1; t <= kZones; ++t) {
        ASSERT_TRUE(s.take_due(clock.now_unix()).empty()) << "early at t=" << t;
        ASSERT_EQ(s.next_due(), clock.now_unix() + 1);
        clock.advance(1);
        Taken taken = s.take_due(clock.now_unix());
        ASSERT_EQ(taken.size(), 1u) << "t=" << t;
        ASSERT_EQ(taken[0].first, due_at[t]) << "t=" << t;
        ASSERT_EQ(taken[0].second, ZoneEvent::Refresh);
        ++seen[taken[0].first];
        s.finish(taken[0].first);
    }
    EXPECT_EQ(s.next_due(), std::nullopt);
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
}

struct LoopFixture : ::testing::Test {
    ManualClock clock;
    EventScheduler scheduler;
    boost::asio::io_context io;
    Taken handled;
    EventLoop loop{scheduler, io, clock, [this](ZoneId z, ZoneEvent e) { handled.emplace_back(z, e); }};

    // Runs what is ready now (an io_context that ran out of work stays stopped until restart()).
    void run_ready() {
        io.restart();
        io.poll();
    }
};

TEST_F(LoopFixture, AnEventDueNowRunsOnPoll) {
    ZoneId a = scheduler.add_zone();
    ZoneId b = scheduler.add_zone();
    scheduler.schedule(b, ZoneEvent::Notify, clock.now_unix());
    scheduler.schedule(a, ZoneEvent::Expire, clock.now_unix() - 10);
    loop.changed();
    loop.changed();  // twice before it runs: still one pass
    EXPECT_TRUE(handled.empty());  // posted, not called inline
    run_ready();
    EXPECT_EQ(handled, (Taken{{a, ZoneEvent::Expire}, {b, ZoneEvent::Notify}}));
    EXPECT_TRUE(scheduler.running(a));
    EXPECT_TRUE(scheduler.running(b));
}

TEST_F(LoopFixture, AFutureEventWaitsForTheClock) {
    ZoneId z = scheduler.add_zone();
    scheduler.schedule(z, ZoneEvent::Refresh, clock.now_unix() + 3600);
    loop.changed();
    run_ready();
    EXPECT_TRUE(handled.empty());
    EXPECT_FALSE(scheduler.running(z));

    clock.advance(3600);
    loop.changed();
    run_ready();
    EXPECT_EQ(handled, (Taken{{z, ZoneEvent::Refresh}}));
}

TEST_F(LoopFixture, FinishThenChangedRunsTheZonesNextEvent) {
    ZoneId z = scheduler.add_zone();
    scheduler.schedule(z, ZoneEvent::Refresh, clock.now_unix());
    scheduler.schedule(z, ZoneEvent::Notify, clock.now_unix());
    loop.changed();
    run_ready();
    ASSERT_EQ(handled, (Taken{{z, ZoneEvent::Refresh}}));

    // The handler's work ends later (as a worker posting back would).
    boost::asio::post(io, [&] {
        scheduler.finish(z);
        loop.changed();
    });
    run_ready();
    EXPECT_EQ(handled, (Taken{{z, ZoneEvent::Refresh}, {z, ZoneEvent::Notify}}));
}

TEST_F(LoopFixture, StopCancelsAndLaterChangesDoNothing) {
    ZoneId z = scheduler.add_zone();
    scheduler.schedule(z, ZoneEvent::Flush, clock.now_unix());
    loop.changed();
    loop.stop();
    run_ready();
    EXPECT_TRUE(handled.empty());
    loop.changed();
    run_ready();
    EXPECT_TRUE(handled.empty());
    EXPECT_FALSE(scheduler.running(z));
}

TEST(EventLoop, APostedPassAfterTheLoopIsGoneDoesNothing) {
    ManualClock clock;
    EventScheduler scheduler;
    boost::asio::io_context io;
    ZoneId z = scheduler.add_zone();
    scheduler.schedule(z, ZoneEvent::Load, clock.now_unix());
    bool called = false;
    {
        EventLoop loop(scheduler, io, clock, [&](ZoneId, ZoneEvent) { called = true; });
        loop.changed();
    }
    io.poll();
    EXPECT_FALSE(called);
    EXPECT_FALSE(scheduler.running(z));
}

}  // namespace
}  // namespace satellite::daemon
