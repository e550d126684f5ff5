// Per-zone events (DESIGN §6, Knot's src/knot/events/): each zone has a fixed
// set of events with one due time each, run one at a time per zone, zones
// concurrently. EventScheduler is the pure bookkeeping (no I/O, no threads, no
// locks) so it is tested on a manual clock; EventLoop is the thin Asio driver.
//
//   schedule(zone, event, at) ──► index (due, zone, event) ──► take_due(now) ──► zone running
//        (while running: due times kept, out of the index)          handler ... finish(zone) ─┘
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "util/clock.hpp"

namespace satellite::daemon {

enum class ZoneEvent : std::uint8_t { Load, Refresh, Expire, Notify, Resign, DsCheck, DnskeySync, Flush };
inline constexpr std::size_t kZoneEventCount = 8;
static_assert(static_cast<std::size_t>(ZoneEvent::Flush) + 1 == kZoneEventCount);

// "load", "refresh", "expire", "notify", "re-sign", "DS check", "DNSKEY sync", "flush".
const char* to_string(ZoneEvent e);

using ZoneId = std::uint32_t;

// Due times are Unix seconds; 0 means "not scheduled". A zone's entries sit in
// an ordered index only while it is not running, so next_due() is O(1) and
// take_due() costs O(log n) per event taken, whatever the number of zones.
// Ids that were never issued by add_zone() are a bug (std::out_of_range);
// calls on a removed zone are harmless (ignored, or 0/false).
class EventScheduler {
public:
    // Dense ids; ids of removed zones are reused (a zone removed while running
    // keeps its id until its finish(), so a late finish() never hits a newcomer).
    ZoneId add_zone();
    // Drops its due events; a later finish(id) of a running event is harmless.
    void remove_zone(ZoneId id);

    // Earlier: keep the earlier of the old and new due time (Knot's zone_events_schedule_at).
    enum class When { Replace, Earlier };
    // at_unix <= 0 means "as soon as possible" and is stored as 1 (0 is "not scheduled").
    void schedule(ZoneId id, ZoneEvent e, std::int64_t at_unix, When w = When::Replace);
    void cancel(ZoneId id, ZoneEvent e);
    std::int64_t due(ZoneId id, ZoneEvent e) const;  // 0 when not scheduled
    bool running(ZoneId id) const;
    std::size_t zones() const;  // live zone count

    // Earliest due time among zones that are not running (nullopt when nothing is scheduled for them).
    std::optional<std::int64_t> next_due() const;
    // Events due at or before `now`: at most one per zone (its earliest; ties in enum order), only
    // zones not running, at most `max` in all, earliest first. Each taken zone is marked running and
    // the taken event's due time cleared (it may be scheduled again, even while running: it then
    // waits for finish()).
    std::vector<std::pair<ZoneId, ZoneEvent>> take_due(std::int64_t now, std::size_t max = SIZE_MAX);
    // The zone's running event ended; its other due events may now be taken.
    void finish(ZoneId id);

private:
    struct Slot {
        std::array<std::int64_t, kZoneEventCount> due{};
        bool live = false;
        bool running = false;
    };
    struct Entry {
        std::int64_t due;
        ZoneId zone;
        ZoneEvent event;
        auto operator<=>(const Entry&) const = default;
    };

    Slot& slot(ZoneId id);
    const Slot& slot(ZoneId id) const;
    void index_zone(ZoneId id);    // puts the zone's due events into the index
    void unindex_zone(ZoneId id);  // takes them out

    std::vector<Slot> slots_;
    std::vector<ZoneId> free_;  // removed ids, not running, ready for reuse
    std::size_t live_ = 0;
    std::set<Entry> index_;  // due events of live zones that are not running
};

// Drives an EventScheduler from an io_context: one steady_timer armed for the
// scheduler's next due time (read on `clock`), the handler called for each
// event taken. Everything (handler, finish(), changed()) runs on the
// io_context's thread; the handler calls scheduler.finish(id) when the event
// ends (possibly later, from another handler) and then loop.changed().
class EventLoop {
public:
    using Handler = std::function<void(ZoneId, ZoneEvent)>;

    EventLoop(EventScheduler& scheduler, boost::asio::io_context& io, const Clock& clock, Handler handler);
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // The schedule changed: re-arm the timer for next_due (at once if already due).
    void changed();
    // Cancels the timer; later changed() calls do nothing (shutdown).
    void stop();

private:
    void fire();

    EventScheduler& scheduler_;
    boost::asio::io_context& io_;
    const Clock& clock_;
    Handler handler_;
    boost::asio::steady_timer timer_;
    bool posted_ = false;
    bool stopped_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // expires with the loop: late waits/posts do nothing
};

}  // namespace satellite::daemon
