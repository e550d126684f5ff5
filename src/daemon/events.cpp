// Per-zone events: an ordered index of (due, zone, event) over the zones that
// are not running, so 100,000 zones cost O(log n) per event, never a scan.
#include "daemon/events.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <string>

namespace satellite::daemon {

const char* to_string(ZoneEvent e) {
    switch (e) {
        case ZoneEvent::Load: return "load";
        case ZoneEvent::Refresh: return "refresh";
        case ZoneEvent::Expire: return "expire";
        case ZoneEvent::Notify: return "notify";
        case ZoneEvent::Resign: return "re-sign";
        case ZoneEvent::DsCheck: return "DS check";
        case ZoneEvent::DnskeySync: return "DNSKEY sync";
        case ZoneEvent::Flush: return "flush";
    }
    return "unknown";
}

namespace {

ZoneEvent event_at(std::size_t i) { return static_cast<ZoneEvent>(i); }
std::size_t index_of(ZoneEvent e) {
    auto i = static_cast<std::size_t>(e);
    if (i >= kZoneEventCount) throw std::out_of_range("zone event " + std::to_string(i));
    return i;
}

}  // namespace

EventScheduler::Slot& EventScheduler::slot(ZoneId id) {
    return const_cast<Slot&>(std::as_const(*this).slot(id));
}

const EventScheduler::Slot& EventScheduler::slot(ZoneId id) const {
    if (id >= slots_.size()) throw std::out_of_range("zone id " + std::to_string(id) + " was never issued");
    return slots_[id];
}

void EventScheduler::index_zone(ZoneId id) {
    const Slot& s = slots_[id];
    for (std::size_t i = 0; i < kZoneEventCount; ++i)
        if (s.due[i] != 0) index_.insert({s.due[i], id, event_at(i)});
}

void EventScheduler::unindex_zone(ZoneId id) {
    const Slot& s = slots_[id];
    for (std::size_t i = 0; i < kZoneEventCount; ++i)
        if (s.due[i] != 0) index_.erase({s.due[i], id, event_at(i)});
}

ZoneId EventScheduler::add_zone() {
    ZoneId id;
    if (!free_.empty()) {
        id = free_.back();
        free_.pop_back();
    } else {
        if (slots_.size() > std::numeric_limits<ZoneId>::max()) throw std::length_error("too many zones");
        id = static_cast<ZoneId>(slots_.size());
        slots_.emplace_back();
    }
    slots_[id] = Slot{};
    slots_[id].live = true;
    ++live_;
    return id;
}

// A running zone keeps its slot (not yet free) until finish(): the late finish()
// then releases the id instead of ending a newcomer's event.
void EventScheduler::remove_zone(ZoneId id) {
    Slot& s = slot(id);
    if (!s.live) return;
    if (!s.running) unindex_zone(id);
    s.due = {};
    s.live = false;
    --live_;
    if (!s.running) free_.push_back(id);
}

void EventScheduler::schedule(ZoneId id, ZoneEvent e, std::int64_t at_unix, When w) {
    Slot& s = slot(id);
    std::size_t i = index_of(e);
    if (!s.live) return;
    std::int64_t at = std::max<std::int64_t>(at_unix, 1);
    std::int64_t old = s.due[i];
    if (w == When::Earlier && old != 0 && old <= at) return;
    if (old == at) return;
    if (!s.running) {
        if (old != 0) index_.erase({old, id, e});
        index_.insert({at, id, e});
    }
    s.due[i] = at;
}

void EventScheduler::cancel(ZoneId id, ZoneEvent e) {
    Slot& s = slot(id);
    std::size_t i = index_of(e);
    if (s.due[i] == 0) return;
    if (!s.running) index_.erase({s.due[i], id, e});
    s.due[i] = 0;
}

std::int64_t EventScheduler::due(ZoneId id, ZoneEvent e) const {
    return slot(id).due[index_of(e)];
}

bool EventScheduler::running(ZoneId id) const {
    const Slot& s = slot(id);
    return s.live && s.running;
}

std::size_t EventScheduler::zones() const { return live_; }

std::optional<std::int64_t> EventScheduler::next_due() const {
    if (index_.empty()) return std::nullopt;
    return index_.begin()->due;
}

// The index's first entry is the earliest event overall, and for its zone the
// earliest with ties in enum order; taking the zone out of the index leaves the
// next zone's earliest in front, so every step is O(log n).
std::vector<std::pair<ZoneId, ZoneEvent>> EventScheduler::take_due(std::int64_t now, std::size_t max) {
    std::vector<std::pair<ZoneId, ZoneEvent>> taken;
    while (taken.size() < max && !index_.empty() && index_.begin()->due <= now) {
        Entry first = *index_.begin();
        unindex_zone(first.zone);
        Slot& s = slots_[first.zone];
        s.due[index_of(first.event)] = 0;
        s.running = true;
        taken.emplace_back(first.zone, first.event);
    }
    return taken;
}

void EventScheduler::finish(ZoneId id) {
    Slot& s = slot(id);
    if (!s.running) return;
    s.running = false;
    if (s.live)
        index_zone(id);
    else
        free_.push_back(id);
}

EventLoop::EventLoop(EventScheduler& scheduler, boost::asio::io_context& io, const Clock& clock,
                     Handler handler)
    : scheduler_(scheduler), io_(io), clock_(clock), handler_(std::move(handler)), timer_(io) {}

// Due times are Unix seconds on `clock`, the timer runs on the steady clock:
// arm for the difference (capped, so a far or odd due time just re-arms).
void EventLoop::changed() {
    if (stopped_) return;
    timer_.cancel();
    auto next = scheduler_.next_due();
    if (!next) return;
    std::int64_t wait = *next - clock_.now_unix();
    if (wait <= 0) {
        if (posted_) return;
        posted_ = true;
        boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
            if (alive.expired()) return;
            posted_ = false;
            fire();
        });
        return;
    }
    constexpr std::int64_t kMaxWait = 24 * 3600;
    timer_.expires_after(std::chrono::seconds(std::min(wait, kMaxWait)));
    timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
        if (ec || alive.expired()) return;
        fire();
    });
}

void EventLoop::stop() {
    stopped_ = true;
    timer_.cancel();
}

// A bounded pass: with 100,000 zones due at once (a reload's zone-file
// checks), what their handlers posted (a new zone's build result) runs
// between passes instead of after all of them.
void EventLoop::fire() {
    if (stopped_) return;
    constexpr std::size_t kPass = 512;
    for (auto [zone, event] : scheduler_.take_due(clock_.now_unix(), kPass)) handler_(zone, event);
    changed();
}

}  // namespace satellite::daemon
