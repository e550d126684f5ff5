// Refresh slots: a global cap, a per-primary cap, leases, round-robin waiting.
#include "daemon/transfer_slots.hpp"

#include <gtest/gtest.h>

namespace satellite::daemon {
namespace {

TEST(TransferSlots, OnePrimaryCannotTakeEverySlot) {
    TransferSlots<int> slots(4, 2);
    auto a1 = slots.take("a"), a2 = slots.take("a");
    ASSERT_TRUE(a1 && a2);
    EXPECT_FALSE(slots.take("a"));  // the hostile primary's cap
    auto b1 = slots.take("b"), b2 = slots.take("b");
    ASSERT_TRUE(b1 && b2);
    EXPECT_FALSE(slots.take("c"));  // the global cap
    EXPECT_EQ(slots.active(), 4u);
    b1.reset();  // a lease given back frees its slot
    EXPECT_EQ(slots.active("b"), 1u);
    EXPECT_TRUE(slots.take("c"));
}

TEST(TransferSlots, WaitingItemsStartRoundRobinWhenTheirPrimaryHasRoom) {
    TransferSlots<int> slots(2, 1);
    auto a = slots.take("a");
    for (int i = 1; i <= 3; ++i) slots.wait("a", i);
    slots.wait("b", 10);
    slots.wait("b", 11);
    auto n = slots.next();  // a is full: b's first
    ASSERT_TRUE(n);
    EXPECT_EQ(n->first, 10);
    EXPECT_FALSE(slots.next());  // global cap (a + b)
    a.reset();
    auto m = slots.next();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->first, 1);
    EXPECT_EQ(slots.waiting(), 3u);
    n.reset();
    m.reset();
    std::vector<int> order;
    while (auto x = slots.next()) order.push_back(x->first);  // each lease dropped at once
    EXPECT_EQ(order, (std::vector<int>{11, 2, 3}));
}

}  // namespace
}  // namespace satellite::daemon
