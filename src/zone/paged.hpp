// Persistent arrays for zone versions (zone/snapshot.hpp): a version keeps
// its data in fixed pages shared with the versions before and after it. A
// new version starts as a copy of the page table (pointers only) and copies
// a page the first time it writes to it, so a change of k entries costs
// k pages, whatever the size of the whole. Readers never see a page change:
// a page is written only while no published version holds it.
//
// A page is one allocation (its count of holders, then its entries), and a
// table of one page needs none: a five-record zone's version holds three
// arrays, so this is six allocations fewer per zone than a
// shared_ptr<vector> per page in a vector (100,000 zones: issue 13).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <utility>
#include <vector>

namespace satellite::zone {

// Up to capacity() entries and the count of page tables holding them.
template <class T>
class Page {
public:
    // A page of `cap` slots holding copies of [from, from + n).
    static Page* make(std::size_t cap, const T* from, std::size_t n) {
        void* mem = ::operator new(offset() + cap * sizeof(T));
        Page* p = new (mem) Page(static_cast<std::uint32_t>(cap));
        try {
            for (; p->size_ < n; ++p->size_) new (p->data() + p->size_) T(from[p->size_]);
        } catch (...) {
            p->release();
            throw;
        }
        return p;
    }
    // A page of `n` copies of v.
    static Page* filled(std::size_t n, const T& v) {
        Page* p = make(n, nullptr, 0);
        for (; p->size_ < n; ++p->size_) new (p->data() + p->size_) T(v);
        return p;
    }

    std::size_t size() const { return size_; }
    std::size_t capacity() const { return cap_; }
    bool empty() const { return size_ == 0; }
    T* data() { return reinterpret_cast<T*>(reinterpret_cast<std::uint8_t*>(this) + offset()); }
    const T* data() const { return reinterpret_cast<const T*>(reinterpret_cast<const std::uint8_t*>(this) + offset()); }
    T& operator[](std::size_t i) { return data()[i]; }
    const T& operator[](std::size_t i) const { return data()[i]; }
    const T* begin() const { return data(); }
    const T* end() const { return data() + size_; }
    const T& back() const { return data()[size_ - 1]; }

    // The caller made room (size() < capacity()).
    void push_back(const T& v) {
        new (data() + size_) T(v);
        ++size_;
    }
    void insert(std::size_t at, const T& v) {
        T* d = data();
        if (at == size_) return push_back(v);
        new (d + size_) T(std::move(d[size_ - 1]));
        for (std::size_t i = size_ - 1; i > at; --i) d[i] = std::move(d[i - 1]);
        d[at] = v;
        ++size_;
    }
    void erase(std::size_t at) {
        T* d = data();
        for (std::size_t i = at; i + 1 < size_; ++i) d[i] = std::move(d[i + 1]);
        truncate(size_ - 1);
    }
    void truncate(std::size_t n) {
        while (size_ > n) data()[--size_].~T();
    }

    void retain() { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            truncate(0);
            this->~Page();
            ::operator delete(this);
        }
    }
    bool shared() const { return refs_.load(std::memory_order_acquire) != 1; }

private:
    explicit Page(std::uint32_t cap) : cap_(cap) {}
    static constexpr std::size_t offset() {
        constexpr std::size_t a = alignof(T) > alignof(std::max_align_t) ? alignof(T) : 8;
        return (sizeof(Page) + a - 1) / a * a;
    }
    std::atomic<std::uint32_t> refs_{1};
    std::uint32_t size_ = 0;
    std::uint32_t cap_;
};

// A counted reference to a Page.
template <class T>
class PageRef {
public:
    PageRef() = default;
    explicit PageRef(Page<T>* adopt) : p_(adopt) {}
    PageRef(const PageRef& o) : p_(o.p_) {
        if (p_) p_->retain();
    }
    PageRef(PageRef&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    PageRef& operator=(PageRef o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~PageRef() {
        if (p_) p_->release();
    }
    Page<T>* get() const { return p_; }
    Page<T>* operator->() const { return p_; }
    Page<T>& operator*() const { return *p_; }
    explicit operator bool() const { return p_ != nullptr; }

private:
    Page<T>* p_ = nullptr;
};

// The page table: one page inline, a vector from the second on.
template <class T>
class PageTable {
public:
    std::size_t size() const { return many_.empty() ? (one_ ? 1 : 0) : many_.size(); }
    bool empty() const { return size() == 0; }
    PageRef<T>& operator[](std::size_t i) { return many_.empty() ? one_ : many_[i]; }
    const PageRef<T>& operator[](std::size_t i) const { return many_.empty() ? one_ : many_[i]; }
    const PageRef<T>& back() const { return (*this)[size() - 1]; }
    void clear() {
        one_ = PageRef<T>();
        std::vector<PageRef<T>>().swap(many_);
    }
    void push_back(PageRef<T> p) { insert(size(), std::move(p)); }
    void insert(std::size_t at, PageRef<T> p) {
        if (size() == 0) {
            one_ = std::move(p);
            return;
        }
        if (many_.empty()) many_.push_back(std::move(one_));
        many_.insert(many_.begin() + static_cast<std::ptrdiff_t>(at), std::move(p));
    }
    void erase(std::size_t at) {
        if (many_.empty()) {
            one_ = PageRef<T>();
            return;
        }
        many_.erase(many_.begin() + static_cast<std::ptrdiff_t>(at));
        if (many_.size() == 1) {
            one_ = std::move(many_[0]);
            std::vector<PageRef<T>>().swap(many_);
        }
    }

private:
    PageRef<T> one_;                // the page when there is one
    std::vector<PageRef<T>> many_;  // all of them when there are more
};

// An array indexed 0..size()-1 in pages of 2^Shift entries.
template <class T, unsigned Shift>
class PagedArray {
public:
    static constexpr std::size_t kPage = std::size_t{1} << Shift;

    PagedArray() = default;
    // A copy shares every page (a new version starts so); the builder's
    // record of written pages is not copied.
    PagedArray(const PagedArray& o) : pages_(o.pages_), size_(o.size_) {}
    PagedArray& operator=(const PagedArray& o) {
        pages_ = o.pages_;
        size_ = o.size_;
        dirty_.reset();
        return *this;
    }
    PagedArray(PagedArray&&) noexcept = default;
    PagedArray& operator=(PagedArray&&) noexcept = default;

    std::size_t size() const { return size_; }
    const T& operator[](std::size_t i) const { return (*pages_[i >> Shift])[i & (kPage - 1)]; }

    // Writable entry i: its page is copied first unless this array alone holds it.
    T& mutate(std::size_t i) { return (*own(i >> Shift, 0))[i & (kPage - 1)]; }

    void push_back(const T& v) {
        if ((size_ & (kPage - 1)) == 0) pages_.push_back(PageRef<T>(Page<T>::make(size_ == 0 ? 4 : kPage, nullptr, 0)));
        const std::size_t p = size_ >> Shift;
        own(p, pages_[p]->size() + 1)->push_back(v);
        ++size_;
    }

    // n copies of v, in pages of their own (a fresh array).
    void assign(std::size_t n, const T& v) {
        pages_.clear();
        dirty_.reset();
        size_ = n;
        for (std::size_t at = 0; at < n; at += kPage) {
            pages_.push_back(PageRef<T>(Page<T>::filled(std::min(kPage, n - at), v)));
        }
    }

    // A fresh array from a flat one, cut into pages.
    void assign(const std::vector<T>& flat) {
        pages_.clear();
        dirty_.reset();
        size_ = flat.size();
        for (std::size_t at = 0; at < flat.size(); at += kPage) {
            const std::size_t n = std::min(kPage, flat.size() - at);
            pages_.push_back(PageRef<T>(Page<T>::make(n, flat.data() + at, n)));
        }
    }

    std::size_t page_count() const { return pages_.size(); }
    std::span<const T> page(std::size_t p) const { return {pages_[p]->data(), pages_[p]->size()}; }
    // Pages written since the last call (each once), for summaries kept per page.
    std::vector<std::size_t> take_dirty() {
        std::vector<std::size_t> out;
        if (dirty_) out.swap(dirty_->pages);
        dirty_.reset();
        std::sort(out.begin(), out.end());
        return out;
    }
    void shrink() {
        for (std::size_t p = 0; p < pages_.size(); ++p) {
            auto& page = pages_[p];
            if (!page->shared() && page->capacity() > page->size()) {
                page = PageRef<T>(Page<T>::make(page->size(), page->data(), page->size()));
            }
        }
    }

private:
    // Page p, held by this array alone, with room for `room` entries.
    Page<T>* own(std::size_t p, std::size_t room) {
        auto& page = pages_[p];
        if (page->shared() || page->capacity() < room) {
            const std::size_t cap = room > page->size() ? std::min(kPage, std::max(room, 2 * page->size()))
                                                        : page->size();
            page = PageRef<T>(Page<T>::make(cap, page->data(), page->size()));
        }
        if (!dirty_) dirty_ = std::make_unique<Dirty>();
        if (dirty_->flag.size() <= p) dirty_->flag.resize(pages_.size(), 0);
        if (!dirty_->flag[p]) {
            dirty_->flag[p] = 1;
            dirty_->pages.push_back(p);
        }
        return page.get();
    }
    PageTable<T> pages_;
    std::size_t size_ = 0;
    // Pages written since take_dirty() (builder only): out of line, so a
    // finished version carries 8 bytes for it, not 48 (issue 13).
    struct Dirty {
        std::vector<std::size_t> pages;
        std::vector<std::uint8_t> flag;
    };
    std::unique_ptr<Dirty> dirty_;
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
            pages_.push_back(PageRef<T>(Page<T>::make(1, &v, 1)));
            size_ = 1;
            return;
        }
        if (p.page == pages_.size()) p = {p.page - 1, static_cast<std::uint32_t>(pages_.back()->size())};
        auto* page = own(p.page, pages_[p.page]->size() + 1);
        page->insert(p.index, v);
        ++size_;
        if (page->size() > kMax) {  // split in halves
            const std::size_t half = page->size() / 2;
            const std::size_t upper = page->size() - half;
            PageRef<T> up(Page<T>::make(upper, page->data() + half, upper));
            page->truncate(half);
            pages_.insert(p.page + 1, std::move(up));
        }
    }
    void erase(Pos p) {
        auto* page = own(p.page, 0);
        page->erase(p.index);
        --size_;
        if (page->empty()) pages_.erase(p.page);
    }
    // A fresh sequence from sorted entries, pages three quarters full.
    void assign(const std::vector<T>& sorted) {
        pages_.clear();
        size_ = sorted.size();
        constexpr std::size_t fill = kMax * 3 / 4;
        for (std::size_t at = 0; at < sorted.size(); at += fill) {
            const std::size_t n = std::min(fill, sorted.size() - at);
            pages_.push_back(PageRef<T>(Page<T>::make(n, sorted.data() + at, n)));
        }
    }
    void shrink() {
        for (std::size_t p = 0; p < pages_.size(); ++p) {
            auto& page = pages_[p];
            if (!page->shared() && page->capacity() > page->size()) {
                page = PageRef<T>(Page<T>::make(page->size(), page->data(), page->size()));
            }
        }
    }

private:
    // Page p, held by this sequence alone, with room for `room` entries.
    Page<T>* own(std::size_t p, std::size_t room) {
        auto& page = pages_[p];
        if (page->shared() || page->capacity() < room) {
            const std::size_t cap = room > page->size() ? std::min(kMax + 1, std::max(room, 2 * page->size()))
                                                        : page->size();
            page = PageRef<T>(Page<T>::make(cap, page->data(), page->size()));
        }
        return page.get();
    }
    PageTable<T> pages_;
    std::size_t size_ = 0;
};

}  // namespace satellite::zone
