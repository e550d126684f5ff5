// Published<T>: quiescent-state reclamation with readers that go offline
// between batches of work (the query workers), and the on_retire hook that
// lets the daemon run its reclaim timer only while something waits.
#include "util/published.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>

namespace satellite {
namespace {

struct Counted {
    explicit Counted(int* live) : live_(live) { ++*live_; }
    ~Counted() { --*live_; }
    int* live_;
};

TEST(Published, OfflineReaderHoldsUpNothing) {
    int live = 0;
    Published<Counted> p(std::make_unique<Counted>(&live));
    unsigned r = p.add_reader();
    p.offline(r);
    p.publish(std::make_unique<Counted>(&live));
    EXPECT_EQ(live, 2);
    EXPECT_EQ(p.reclaim(), 0u);
    EXPECT_EQ(live, 1);
}

TEST(Published, OnlineReaderKeepsWhatItMayHold) {
    int live = 0;
    Published<Counted> p(std::make_unique<Counted>(&live));
    unsigned r = p.add_reader();
    p.offline(r);
    p.online(r);  // a batch starts: it may hold the current object
    const Counted* held = p.get();
    p.publish(std::make_unique<Counted>(&live));
    EXPECT_EQ(p.reclaim(), 1u);  // still held
    EXPECT_EQ(live, 2);
    EXPECT_NE(held, p.get());
    p.offline(r);  // the batch ends
    EXPECT_EQ(p.reclaim(), 0u);
    EXPECT_EQ(live, 1);
}

TEST(Published, ReaderOnlineAfterThePublishDoesNotHoldTheOldObject) {
    int live = 0;
    Published<Counted> p(std::make_unique<Counted>(&live));
    unsigned r = p.add_reader();
    p.offline(r);
    p.publish(std::make_unique<Counted>(&live));
    p.online(r);  // sees only the new object
    EXPECT_EQ(p.reclaim(), 0u);
    EXPECT_EQ(live, 1);
    p.offline(r);
}

TEST(Published, OnRetireIsCalledForEachPublishAndRetire) {
    int live = 0, calls = 0;
    Published<Counted> p(std::make_unique<Counted>(&live));
    p.on_retire([&] { ++calls; });
    p.publish(std::make_unique<Counted>(&live));
    p.retire(std::make_shared<int>(7));
    EXPECT_EQ(calls, 2);
    p.on_retire(nullptr);
    p.publish(std::make_unique<Counted>(&live));
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(p.reclaim(), 0u);  // no readers at all
}

// Reader slots come and go with a reload's listener threads: a full table
// refuses (no throw from try_add_reader), a slot given back is taken again,
// and a removed reader holds up no reclamation.
TEST(Published, ReaderSlotsAreGivenBackAndTakenAgain) {
    int live = 0;
    Published<Counted> p(std::make_unique<Counted>(&live), 2);
    auto a = p.try_add_reader();
    auto b = p.try_add_reader();
    ASSERT_TRUE(a && b);
    EXPECT_EQ(p.free_readers(), 0u);
    EXPECT_FALSE(p.try_add_reader());
    EXPECT_THROW(p.add_reader(), std::out_of_range);
    EXPECT_FALSE(p.try_add_reader());  // a refusal takes nothing
    p.offline(*b);
    p.publish(std::make_unique<Counted>(&live));  // *a is online: may hold the old one
    EXPECT_EQ(p.reclaim(), 1u);
    p.remove_reader(*a);
    EXPECT_EQ(p.free_readers(), 1u);
    EXPECT_EQ(p.reclaim(), 0u);
    EXPECT_EQ(live, 1);
    auto c = p.try_add_reader();
    ASSERT_TRUE(c);
    EXPECT_EQ(*c, *a);
    p.offline(*c);
    p.offline(*b);
}

}  // namespace
}  // namespace satellite
