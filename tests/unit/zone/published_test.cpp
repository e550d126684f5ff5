// Published<T>: quiescent-state reclamation with readers that go offline
// between batches of work (the query workers), and the on_retire hook that
// lets the daemon run its reclaim timer only while something waits.
#include "util/published.hpp"

#include <gtest/gtest.h>

#include <memory>

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

}  // namespace
}  // namespace satellite
