// Slot bookkeeping (control side, under one mutex) and the sums the metrics
// page shows. Nothing here runs on the query path.
#include "serve/query_counters.hpp"
#include "serve/notify.hpp"

#include <algorithm>

namespace satellite::serve {

namespace {

// Prometheus text format: label values escape \, " and newline.
std::string label_value(const std::string& v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

QueryCounters::QueryCounters() { slots_.push_back(Slot{"", "", 1}); }  // slot 0 is always held

QueryCounters::~QueryCounters() = default;

void QueryCounters::add_chunk(Worker& w) {
    auto c = std::make_unique<Chunk>();
    for (auto& slot : c->cells) {
        for (auto& cell : slot) cell.store(0, std::memory_order_relaxed);
    }
    // Release: a worker that sees the pointer sees the zeroed cells.
    w.chunks_[w.owned_.size()].store(c.get(), std::memory_order_release);
    w.owned_.push_back(std::move(c));
}

QueryCounters::Worker& QueryCounters::add_worker() {
    {
        std::lock_guard lock(mu_);
        if (!idle_workers_.empty()) {
            Worker* w = idle_workers_.back();
            idle_workers_.pop_back();
            return *w;
        }
    }
    auto w = std::make_unique<Worker>();
    for (auto& c : w->chunks_) c.store(nullptr, std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    for (std::uint32_t i = 0; i < chunks_; ++i) add_chunk(*w);
    workers_.push_back(std::move(w));
    return *workers_.back();
}

void QueryCounters::release_worker(Worker& w) {
    std::lock_guard lock(mu_);
    idle_workers_.push_back(&w);
}

std::uint32_t QueryCounters::acquire(const dns::Name& origin) {
    const dns::Name lc = origin.lowered();
    std::string key(reinterpret_cast<const char*>(lc.data()), lc.size());
    std::lock_guard lock(mu_);
    if (auto it = by_key_.find(key); it != by_key_.end()) {
        ++slots_[it->second].holds;
        return it->second;
    }
    std::uint32_t slot;
    if (!free_.empty()) {
        // No catalog holds it, so no worker counts into it: start from zero.
        slot = free_.back();
        free_.pop_back();
        for (auto& w : workers_) {
            auto& cells = w->chunks_[slot / kSlotsPerChunk].load(std::memory_order_relaxed)
                              ->cells[slot % kSlotsPerChunk];
            for (auto& cell : cells) cell.store(0, std::memory_order_relaxed);
        }
    } else {
        if (slots_.size() >= kMaxSlots) return 0;
        slot = static_cast<std::uint32_t>(slots_.size());
        slots_.emplace_back();
        if (slot / kSlotsPerChunk >= chunks_) {
            for (auto& w : workers_) add_chunk(*w);
            ++chunks_;
        }
    }
    slots_[slot] = Slot{key, origin.to_string(), 1};
    by_key_.emplace(std::move(key), slot);
    return slot;
}

void QueryCounters::release(std::uint32_t slot) {
    if (slot == 0) return;
    std::lock_guard lock(mu_);
    if (slot >= slots_.size() || slots_[slot].holds == 0) return;
    if (--slots_[slot].holds > 0) return;
    by_key_.erase(slots_[slot].key);
    slots_[slot] = Slot{};
    free_.push_back(slot);
}

std::vector<QueryCounters::ZoneCounts> QueryCounters::by_zone() const {
    std::vector<ZoneCounts> out;
    std::lock_guard lock(mu_);
    for (std::uint32_t slot = 0; slot < slots_.size(); ++slot) {
        if (slots_[slot].holds == 0) continue;
        ZoneCounts zc;
        zc.zone = slots_[slot].name;
        for (const auto& w : workers_) {
            const auto& cells = w->chunks_[slot / kSlotsPerChunk].load(std::memory_order_acquire)
                                    ->cells[slot % kSlotsPerChunk];
            for (unsigned i = 0; i < kRcodeCells; ++i) {
                zc.rcodes[i] += cells[i].load(std::memory_order_relaxed);
            }
        }
        out.push_back(std::move(zc));
    }
    std::sort(out.begin() + 1, out.end(),
              [](const ZoneCounts& a, const ZoneCounts& b) { return a.zone < b.zone; });
    return out;
}

QueryCounters::Totals QueryCounters::totals() const {
    Totals t;
    std::lock_guard lock(mu_);
    for (const auto& w : workers_) {
        t.udp += w->udp_.load(std::memory_order_relaxed);
        t.tcp += w->tcp_.load(std::memory_order_relaxed);
        t.dropped += w->dropped_.load(std::memory_order_relaxed);
        t.tcp_connections += w->tcp_connections_.load(std::memory_order_relaxed);
        t.tcp_refused += w->tcp_refused_.load(std::memory_order_relaxed);
        t.rrl_dropped += w->rrl_dropped_.load(std::memory_order_relaxed);
        t.rrl_slipped += w->rrl_slipped_.load(std::memory_order_relaxed);
        for (unsigned i = 0; i < Worker::kCookieCells; ++i) t.cookies[i] += w->cookies_[i].load(std::memory_order_relaxed);
        t.signing_truncated += w->signing_truncated_.load(std::memory_order_relaxed);
    }
    return t;
}

std::string QueryCounters::rcode_label(unsigned cell) {
    static const char* const kNames[] = {"NOERROR", "FORMERR", "SERVFAIL",
                                         "NXDOMAIN", "NOTIMP", "REFUSED"};
    if (cell < 6) return kNames[cell];
    if (cell < 12) return std::to_string(cell);
    if (cell == kBadversCell) return "16";
    return "other";
}

std::string QueryCounters::metrics_text() const {
    const auto zones = by_zone();
    const Totals t = totals();
    std::string out;
    out += "# HELP satellite_queries_total Queries answered (NOTIFY not included), by the zone "
           "answered from (zone=\"\": no zone served here) and response code (other codes as "
           "numbers).\n"
           "# TYPE satellite_queries_total counter\n";
    for (const auto& z : zones) {
        const std::string zone = label_value(z.zone);
        for (unsigned cell = 0; cell < kRcodeCells; ++cell) {
            if (z.rcodes[cell] == 0) continue;
            out += "satellite_queries_total{zone=\"" + zone + "\",rcode=\"" + rcode_label(cell) +
                   "\"} " + std::to_string(z.rcodes[cell]) + "\n";
        }
    }
    out += "# HELP satellite_queries_by_transport_total Queries answered, by transport.\n"
           "# TYPE satellite_queries_by_transport_total counter\n"
           "satellite_queries_by_transport_total{transport=\"udp\"} " + std::to_string(t.udp) + "\n"
           "satellite_queries_by_transport_total{transport=\"tcp\"} " + std::to_string(t.tcp) + "\n";
    out += "# HELP satellite_queries_dropped_total Messages received and not answered "
           "(malformed, or not a query).\n"
           "# TYPE satellite_queries_dropped_total counter\n"
           "satellite_queries_dropped_total " + std::to_string(t.dropped) + "\n";
    out += "# HELP satellite_tcp_connections_total TCP connections accepted.\n"
           "# TYPE satellite_tcp_connections_total counter\n"
           "satellite_tcp_connections_total " + std::to_string(t.tcp_connections) + "\n";
    out += "# HELP satellite_rrl_limited_total UDP responses limited by response rate limiting, "
           "dropped or sent truncated (slipped).\n"
           "# TYPE satellite_rrl_limited_total counter\n"
           "satellite_rrl_limited_total{action=\"dropped\"} " + std::to_string(t.rrl_dropped) + "\n"
           "satellite_rrl_limited_total{action=\"slipped\"} " + std::to_string(t.rrl_slipped) + "\n";
    out += "# HELP satellite_cookies_total Queries with a DNS COOKIE option (RFC 7873), by what it held.\n"
           "# TYPE satellite_cookies_total counter\n";
    static const char* const kCookie[] = {"none", "malformed", "client_only", "invalid", "valid"};
    for (unsigned i = 1; i < Worker::kCookieCells; ++i) {
        out += std::string("satellite_cookies_total{status=\"") + kCookie[i] + "\"} " + std::to_string(t.cookies[i]) + "\n";
    }
    out += "# HELP satellite_online_signing_truncated_total UDP answers sent truncated because the worker's "
           "online signing budget (compact denial) was spent.\n"
           "# TYPE satellite_online_signing_truncated_total counter\n"
           "satellite_online_signing_truncated_total " + std::to_string(t.signing_truncated) + "\n";
    out += "# HELP satellite_notify_refused_total NOTIFY messages refused, by reason.\n"
           "# TYPE satellite_notify_refused_total counter\n";
    for (int why = 0; why < NotifyRefusals::kReasons; ++why) {
        const auto r = static_cast<NotifyRefusals::Reason>(why);
        out += std::string("satellite_notify_refused_total{reason=\"") + NotifyRefusals::label(r) + "\"} " +
               std::to_string(NotifyRefusals::instance().count(r)) + "\n";
    }
    out += "# HELP satellite_tcp_connections_refused_total TCP connections closed at accept "
           "(per-client or global cap).\n"
           "# TYPE satellite_tcp_connections_refused_total counter\n"
           "satellite_tcp_connections_refused_total " + std::to_string(t.tcp_refused) + "\n";
    return out;
}

}  // namespace satellite::serve
