// Slots for concurrent refreshes: at most `total` at once, and at most
// `per_primary` talking to one primary (the first of a zone's list), so a
// slow or hostile primary cannot hold every slot while other primaries'
// zones wait. A slot is a lease: it is given back when the last copy goes
// (the refresh ends, or its zone is destroyed mid-refresh). Waiting items are
// queued per primary and taken round-robin across primaries, so the next
// one is found in O(primaries), never by scanning every waiting zone.
// Used on the control thread only.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace satellite::daemon {

// SOA queries and transfers under way at once (all zones). They wait on the
// network, not the CPU: 8 left a 20,000-zone first start idle most of the time.
constexpr unsigned kMaxConcurrentTransfers = 64;
// One primary (slow, or hostile) holds at most this many: the rest stay for the others.
constexpr unsigned kMaxTransfersPerPrimary = 32;

template <class Item>
class TransferSlots {
public:
    using Lease = std::shared_ptr<const std::string>;  // the primary it is for

    explicit TransferSlots(unsigned total = kMaxConcurrentTransfers, unsigned per_primary = kMaxTransfersPerPrimary)
        : s_(std::make_shared<State>()) {
        s_->total = total;
        s_->per_primary = per_primary;
    }

    // A slot for `primary`, or nullptr when none is free.
    Lease take(const std::string& primary) {
        if (!s_->free_for(primary)) return nullptr;
        return lease(primary);
    }

    // `item` waits for a slot for `primary` (see next()).
    void wait(const std::string& primary, Item item) {
        auto& q = s_->queues[primary];
        if (q.empty()) s_->ring.push_back(primary);
        q.push_back(std::move(item));
    }

    // The next waiting item whose primary has a free slot, with that slot taken.
    std::optional<std::pair<Item, Lease>> next() {
        for (std::size_t tries = s_->ring.size(); tries > 0 && s_->active < s_->total; --tries) {
            std::string p = std::move(s_->ring.front());
            s_->ring.pop_front();
            if (!s_->free_for(p)) {
                s_->ring.push_back(std::move(p));
                continue;
            }
            auto it = s_->queues.find(p);
            Item item = std::move(it->second.front());
            it->second.pop_front();
            if (it->second.empty()) {
                s_->queues.erase(it);
            } else {
                s_->ring.push_back(p);  // round-robin: other primaries first
            }
            return std::make_pair(std::move(item), lease(p));
        }
        return std::nullopt;
    }

    unsigned active() const { return s_->active; }
    unsigned active(const std::string& primary) const {
        auto it = s_->per.find(primary);
        return it == s_->per.end() ? 0 : it->second;
    }
    std::size_t waiting() const {
        std::size_t n = 0;
        for (const auto& [p, q] : s_->queues) n += q.size();
        return n;
    }

private:
    struct State {
        unsigned total = 0, per_primary = 0, active = 0;
        std::map<std::string, unsigned> per;
        std::map<std::string, std::deque<Item>> queues;
        std::deque<std::string> ring;  // primaries with waiting items
        bool free_for(const std::string& p) const {
            if (active >= total) return false;
            auto it = per.find(p);
            return it == per.end() || it->second < per_primary;
        }
    };

    Lease lease(const std::string& primary) {
        ++s_->active;
        ++s_->per[primary];
        // The state outlives the manager if a zone does (held by a handler at shutdown).
        return Lease(new std::string(primary), [s = s_](const std::string* p) {
            --s->active;
            auto it = s->per.find(*p);
            if (it != s->per.end() && --it->second == 0) s->per.erase(it);
            delete p;
        });
    }

    std::shared_ptr<State> s_;
};

}  // namespace satellite::daemon
