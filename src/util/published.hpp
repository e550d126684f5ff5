// Published<T>: one immutable object that readers use without locks or
// reference counts, replaced by the writer with an atomic pointer swap.
// Old objects are freed by quiescent-state reclamation: each reader thread
// reports, between units of work, that it holds no pointer (the query
// workers go offline after each batch and online before the next); an old
// object is freed once every reader has reported after its replacement.
// The query path pays one acquire load per query and nothing else.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

namespace satellite {

template <class T>
class Published {
public:
    static constexpr std::uint64_t kOffline = std::numeric_limits<std::uint64_t>::max();

    explicit Published(std::unique_ptr<const T> initial, unsigned max_readers = 256)
        : current_(initial.release()), readers_(max_readers) {
        for (auto& r : readers_) r.seen.store(kOffline, std::memory_order_relaxed);
    }
    ~Published() {
        delete current_.load();
        std::lock_guard lock(mu_);
        retired_.clear();
    }
    Published(const Published&) = delete;
    Published& operator=(const Published&) = delete;

    // Readers: valid until the calling reader's next quiescent()/offline().
    const T* get() const { return current_.load(std::memory_order_acquire); }

    // Registers a reader thread; it starts online. Throws std::out_of_range
    // when every slot is taken.
    unsigned add_reader() {
        if (auto id = try_add_reader()) return *id;
        throw std::out_of_range("Published: every reader slot is taken");
    }
    // Registers a reader thread in a free slot (one remove_reader() gave
    // back, or a new one); it starts online. nullopt when every slot is taken.
    std::optional<unsigned> try_add_reader() {
        std::lock_guard lock(slots_mu_);
        for (unsigned id = 0; id < readers_.size(); ++id) {
            if (readers_[id].taken) continue;
            readers_[id].taken = true;
            readers_[id].seen.store(epoch_.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
            // reclaim() looks at slots below next_reader_ only.
            if (id >= next_reader_.load()) next_reader_.store(id + 1, std::memory_order_seq_cst);
            return id;
        }
        return std::nullopt;
    }
    // The reader's thread has ended: its slot holds nothing and is free for
    // the next try_add_reader() (a listener added by a reload).
    void remove_reader(unsigned reader) {
        offline(reader);
        std::lock_guard lock(slots_mu_);
        readers_[reader].taken = false;
    }
    // Slots try_add_reader() can still give.
    unsigned free_readers() const {
        std::lock_guard lock(slots_mu_);
        unsigned n = 0;
        for (const auto& r : readers_) n += r.taken ? 0 : 1;
        return n;
    }
    // The reader holds no pointer obtained from get() before this call.
    void quiescent(unsigned reader) {
        readers_[reader].seen.store(epoch_.load(std::memory_order_seq_cst),
                                    std::memory_order_release);
    }
    // The reader stops reading (until it calls online()). A reader that goes
    // offline whenever it waits for work holds up no reclamation while idle,
    // so it needs no timer to report quiescence.
    void offline(unsigned reader) {
        readers_[reader].seen.store(kOffline, std::memory_order_release);
    }
    // The reader starts reading. The store must be visible before the
    // reader's next get(), or a writer could free what that get() returns.
    void online(unsigned reader) {
        readers_[reader].seen.store(epoch_.load(std::memory_order_seq_cst),
                                    std::memory_order_seq_cst);
        std::atomic_thread_fence(std::memory_order_seq_cst);
    }

    // Writer: replaces the object; the old one is freed by reclaim() later.
    void publish(std::unique_ptr<const T> next) {
        const T* old = current_.exchange(next.release(), std::memory_order_seq_cst);
        retire(std::shared_ptr<const void>(std::unique_ptr<const T>(old)));
    }

    // Writer: another object readers may still hold (a zone's replaced
    // version, reached through the current object), freed like a replaced one.
    void retire(std::shared_ptr<const void> old) {
        std::uint64_t e = epoch_.fetch_add(1, std::memory_order_seq_cst) + 1;
        {
            std::lock_guard lock(mu_);
            retired_.push_back({e, std::move(old)});
        }
        if (on_retire_) on_retire_();
    }

    // Called after each publish()/retire(), on the writer's thread: lets the
    // owner schedule reclaim() only when something waits, so an idle server
    // has no reclamation timer running. Set before any writer runs.
    void on_retire(std::function<void()> fn) { on_retire_ = std::move(fn); }

    // Frees every retired object no reader can still hold. Returns how many
    // are still waiting.
    std::size_t reclaim() {
        std::uint64_t min_seen = kOffline;
        unsigned n = next_reader_.load();
        for (unsigned i = 0; i < n; ++i) {
            std::uint64_t s = readers_[i].seen.load(std::memory_order_acquire);
            if (s < min_seen) min_seen = s;
        }
        std::lock_guard lock(mu_);
        while (!retired_.empty() && retired_.front().epoch <= min_seen) retired_.pop_front();
        return retired_.size();
    }

private:
    struct alignas(64) Reader {
        std::atomic<std::uint64_t> seen;
        bool taken = false;  // under slots_mu_
    };
    struct Retired {
        std::uint64_t epoch;
        std::shared_ptr<const void> object;
    };
    std::atomic<const T*> current_;
    std::atomic<std::uint64_t> epoch_{0};
    std::atomic<unsigned> next_reader_{0};  // above every slot ever taken
    std::vector<Reader> readers_;
    mutable std::mutex slots_mu_;  // taking and giving back slots (never the query path)
    std::mutex mu_;
    std::deque<Retired> retired_;
    std::function<void()> on_retire_;
};

}  // namespace satellite
