// Persistent arrays for zone versions (zone/snapshot.hpp): a version keeps
// its data in fixed pages shared with the versions before and after it. A
// new version starts as a copy of the page table (pointers only) and copies
// a page the first time it writes to it, so a change of k entries costs
// k pages, whatever the size of the whole. Readers never see a page change:
// a page is written only while no published version holds it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace satellite::zone {

// An array indexed 0..size()-1 in pages of 2^Shift entries.
template <class T, unsigned Shift>
class PagedArray {
public:
    static constexpr std::size_t kPage = std::size_t{1} << Shift;

    std::size_t size() const { return size_; }
    const T& operator[](std::size_t i) const { return (*pages_[i >> Shift])[i & (kPage - 1)]; }

    // Writable entry i: its page is copied first unless this array alone holds it.
    T& mutate(std::size_t i) { return (*own(i >> Shift))[i & (kPage - 1)]; }

    void push_back(const T& v) {
        if ((size_ & (kPage - 1)) == 0) {
            auto page = std::make_shared<std::vector<T>>();
            page->reserve(size_ == 0 ? 4 : kPage);
            pages_.push_back(std::move(page));
        }
        own(size_ >> Shift)->push_back(v);
        ++size_;
    }

    // n copies of v, in pages of their own (a fresh array).
    void assign(std::size_t n, const T& v) {
        pages_.clear();
        size_ = n;
        for (std::size_t at = 0; at < n; at += kPage) {
            pages_.push_back(std::make_shared<std::vector<T>>(std::min(kPage, n - at), v));
        }
    }

    std::size_t page_count() const { return pages_.size(); }
    const std::vector<T>& page(std::size_t p) const { return *pages_[p]; }
    // Pages written since the last call (each once), for summaries kept per page.
    std::vector<std::size_t> take_dirty() {
        std::vector<std::size_t> out;
        out.swap(dirty_);
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }
    void shrink() {
        for (auto& p : pages_) {
            if (p.use_count() == 1 && p->capacity() > p->size()) p->shrink_to_fit();
        }
    }

private:
    std::vector<T>* own(std::size_t p) {
        auto& page = pages_[p];
        if (page.use_count() != 1) page = std::make_shared<std::vector<T>>(*page);
        if (dirty_.empty() || dirty_.back() != p) dirty_.push_back(p);
        return page.get();
    }
    std::vector<std::shared_ptr<std::vector<T>>> pages_;
    std::size_t size_ = 0;
    std::vector<std::size_t> dirty_;  // builder only; not copied meaningfully
};

// A sorted sequence in pages of at most kMax entries: insertion and removal
// copy one page and the page table.
template <class T>
class PagedSorted {
public:
    static constexpr std::size_t kMax = 256;
    struct Pos {
        std::uint32_t page = 0, index = 0;
        bool operator==(const Pos&) const = default;
    };

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    Pos begin() const { return {}; }
    Pos end() const { return {static_cast<std::uint32_t>(pages_.size()), 0}; }
    const T& at(Pos p) const { return (*pages_[p.page])[p.index]; }
    Pos next(Pos p) const {
        if (++p.index >= pages_[p.page]->size()) p = {p.page + 1, 0};
        return p;
    }
    // The position before p; p must not be begin().
    Pos prev(Pos p) const {
        if (p.index > 0) return {p.page, p.index - 1};
        const auto page = p.page - 1;
        return {page, static_cast<std::uint32_t>(pages_[page]->size() - 1)};
    }
    const T& back() const { return pages_.back()->back(); }

    // The first position whose entry does not satisfy `before` (entries that
    // satisfy it form a prefix), or end().
    template <class Before>
    Pos partition(Before before) const {
        std::size_t lo = 0, hi = pages_.size();
        while (lo < hi) {  // the first page whose last entry fails
            const std::size_t mid = (lo + hi) / 2;
            if (before(pages_[mid]->back())) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if (lo == pages_.size()) return end();
        const auto& page = *pages_[lo];
        auto it = std::partition_point(page.begin(), page.end(), before);
        return {static_cast<std::uint32_t>(lo), static_cast<std::uint32_t>(it - page.begin())};
    }

    void insert(Pos p, const T& v) {
        if (pages_.empty()) {
            pages_.push_back(std::make_shared<std::vector<T>>(1, v));
            size_ = 1;
            return;
        }
        if (p.page == pages_.size()) p = {p.page - 1, static_cast<std::uint32_t>(pages_.back()->size())};
        auto* page = own(p.page);
        page->insert(page->begin() + p.index, v);
        ++size_;
        if (page->size() > kMax) {  // split in halves
            auto upper = std::make_shared<std::vector<T>>(page->begin() + page->size() / 2, page->end());
            page->resize(page->size() / 2);
            pages_.insert(pages_.begin() + p.page + 1, std::move(upper));
        }
    }
    void erase(Pos p) {
        auto* page = own(p.page);
        page->erase(page->begin() + p.index);
        --size_;
        if (page->empty()) pages_.erase(pages_.begin() + p.page);
    }
    // A fresh sequence from sorted entries, pages three quarters full.
    void assign(const std::vector<T>& sorted) {
        pages_.clear();
        size_ = sorted.size();
        constexpr std::size_t fill = kMax * 3 / 4;
        for (std::size_t at = 0; at < sorted.size(); at += fill) {
            const std::size_t n = std::min(fill, sorted.size() - at);
            pages_.push_back(std::make_shared<std::vector<T>>(sorted.begin() + at, sorted.begin() + at + n));
        }
    }
    void shrink() {
        for (auto& p : pages_) {
            if (p.use_count() == 1 && p->capacity() > p->size()) p->shrink_to_fit();
        }
    }

private:
    std::vector<T>* own(std::size_t p) {
        auto& page = pages_[p];
        if (page.use_count() != 1) page = std::make_shared<std::vector<T>>(*page);
        return page.get();
    }
    std::vector<std::shared_ptr<std::vector<T>>> pages_;
    std::size_t size_ = 0;
};

}  // namespace satellite::zone
