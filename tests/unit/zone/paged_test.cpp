// Paged arrays (zone/paged.hpp): a copy shares pages and never sees the
// writes made to another copy; sorted pages split and merge away as a
// plain sorted vector would; entries with a reference count are released.
#include "zone/paged.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

namespace satellite::zone {
namespace {

template <class T, unsigned S>
std::vector<T> flat(const PagedArray<T, S>& a) {
    std::vector<T> out;
    for (std::size_t i = 0; i < a.size(); ++i) out.push_back(a[i]);
    return out;
}

template <class T>
std::vector<T> flat(const PagedSorted<T>& s) {
    std::vector<T> out;
    for (auto p = s.begin(); p != s.end(); p = s.next(p)) out.push_back(s.at(p));
    return out;
}

TEST(PagedArray, CopiesKeepTheirEntries) {
    PagedArray<int, 3> a;  // pages of 8
    std::vector<int> want;
    for (int i = 0; i < 21; ++i) {
        a.push_back(i);
        want.push_back(i);
    }
    EXPECT_EQ(a.page_count(), 3u);
    PagedArray<int, 3> b = a;
    b.mutate(9) = -9;
    b.push_back(21);
    a.mutate(0) = -1;
    EXPECT_EQ(flat(b)[9], -9);
    EXPECT_EQ(flat(b)[0], 0);
    EXPECT_EQ(b.size(), 22u);
    want[0] = -1;
    EXPECT_EQ(flat(a), want);
    EXPECT_EQ(b.take_dirty(), (std::vector<std::size_t>{1, 2}));
    EXPECT_TRUE(b.take_dirty().empty());
    b.shrink();
    EXPECT_EQ(flat(b).back(), 21);
}

TEST(PagedArray, AssignFlatAndFilled) {
    PagedArray<int, 2> a;
    a.assign(std::vector<int>{1, 2, 3, 4, 5});
    EXPECT_EQ(a.page_count(), 2u);
    EXPECT_EQ(flat(a), (std::vector<int>{1, 2, 3, 4, 5}));
    ASSERT_EQ(a.page(1).size(), 1u);
    EXPECT_EQ(a.page(1)[0], 5);
    a.assign(6, 7);
    EXPECT_EQ(flat(a), std::vector<int>(6, 7));
    PagedArray<int, 2> none;
    none.assign(std::vector<int>{});
    EXPECT_EQ(none.page_count(), 0u);
}

TEST(PagedArray, ReleasesItsEntries) {
    auto held = std::make_shared<int>(1);
    {
        PagedArray<std::shared_ptr<int>, 2> a;
        for (int i = 0; i < 9; ++i) a.push_back(held);
        auto b = a;
        b.mutate(8) = nullptr;
        EXPECT_EQ(held.use_count(), 1 + 9);  // b copied the page it wrote, then cleared the entry
    }
    EXPECT_EQ(held.use_count(), 1);
}

TEST(PagedSorted, MatchesASortedVector) {
    std::mt19937 rng(13);
    PagedSorted<std::uint32_t> s;
    std::vector<std::uint32_t> want;
    std::vector<std::pair<PagedSorted<std::uint32_t>, std::vector<std::uint32_t>>> versions;
    for (int step = 0; step < 6000; ++step) {
        const std::uint32_t v = rng() % 2000;
        auto it = std::lower_bound(want.begin(), want.end(), v);
        auto pos = s.partition([&](std::uint32_t x) { return x < v; });
        if (it != want.end() && *it == v && rng() % 3 == 0) {
            want.erase(it);
            s.erase(pos);
        } else {
            want.insert(it, v);
            s.insert(pos, v);
        }
        if (step % 500 == 0) versions.emplace_back(s, want);
        if (step % 777 == 0) s.shrink();
    }
    EXPECT_EQ(s.size(), want.size());
    EXPECT_EQ(flat(s), want);
    for (const auto& [version, expected] : versions) EXPECT_EQ(flat(version), expected);
    while (!want.empty()) {  // down to nothing
        s.erase(s.begin());
        want.erase(want.begin());
    }
    EXPECT_TRUE(s.empty());
    EXPECT_TRUE(s.begin() == s.end());
}

TEST(PagedSorted, AssignFillsThreeQuarters) {
    std::vector<std::uint32_t> v(1000);
    for (std::uint32_t i = 0; i < v.size(); ++i) v[i] = 2 * i;
    PagedSorted<std::uint32_t> s;
    s.assign(v);
    EXPECT_EQ(flat(s), v);
    EXPECT_EQ(s.back(), 1998u);
    auto p = s.partition([](std::uint32_t x) { return x < 1001; });
    EXPECT_EQ(s.at(p), 1002u);
    EXPECT_EQ(s.at(s.prev(p)), 1000u);
}

}  // namespace
}  // namespace satellite::zone
