// How far a long piece of zone work has got (issue 18): an AXFR (records
// and bytes received) or a full signing (signatures done of the total).
// The worker doing it stores plain counters with relaxed atomics; the
// control thread reads them for the API, /metrics and a log line every few
// seconds. No lock, and nothing here is on the query path.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace satellite::zone {

struct Progress {
    using Clock = std::chrono::steady_clock;

    std::atomic<bool> running{false};
    std::atomic<std::uint64_t> done{0};   // records received / signatures made or kept
    std::atomic<std::uint64_t> total{0};  // 0 = not known (an AXFR's size is known only at its end)
    std::atomic<std::uint64_t> bytes{0};  // received (transfers)
    std::atomic<std::int64_t> started_ms{0}, ended_ms{0};  // Clock, milliseconds
    std::atomic<std::int64_t> reported_ms{0};
    // Set once by the owner before the work begins: called (on the worker's
    // thread) at most every kReportEvery while the work runs — a log line.
    std::function<void(const struct ProgressView&)> report;
    static constexpr std::int64_t kReportEvery = 5000;

    static std::int64_t now_ms() {
        return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
    }
    std::atomic<std::uint64_t> generation{0};  // one per begin(): a late end() of an older run is ignored

    // A new run; its generation, for end().
    std::uint64_t begin(std::uint64_t total_items = 0) {
        done.store(0, std::memory_order_relaxed);
        bytes.store(0, std::memory_order_relaxed);
        total.store(total_items, std::memory_order_relaxed);
        started_ms.store(now_ms(), std::memory_order_relaxed);
        ended_ms.store(0, std::memory_order_relaxed);
        reported_ms.store(now_ms(), std::memory_order_relaxed);
        running.store(true, std::memory_order_release);
        return generation.fetch_add(1, std::memory_order_acq_rel) + 1;
    }
    void end(std::uint64_t run) {
        if (generation.load(std::memory_order_acquire) != run) return;  // a newer run has begun
        ended_ms.store(now_ms(), std::memory_order_relaxed);
        running.store(false, std::memory_order_release);
    }
};

// A reading of a Progress, with the rate and what is left.
struct ProgressView {
    bool running = false;
    std::uint64_t done = 0, total = 0, bytes = 0;
    double seconds = 0;        // since it began (until it ended)
    double rate = 0;           // items a second
    double bytes_rate = 0;     // bytes a second
    std::int64_t eta_s = -1;   // seconds left at this rate; -1 = unknown
};

inline ProgressView read(const Progress& p) {
    ProgressView v;
    v.running = p.running.load(std::memory_order_acquire);
    v.done = p.done.load(std::memory_order_relaxed);
    v.total = p.total.load(std::memory_order_relaxed);
    v.bytes = p.bytes.load(std::memory_order_relaxed);
    const std::int64_t start = p.started_ms.load(std::memory_order_relaxed);
    const std::int64_t end = v.running ? Progress::now_ms() : p.ended_ms.load(std::memory_order_relaxed);
    v.seconds = start > 0 && end > start ? static_cast<double>(end - start) / 1000.0 : 0;
    if (v.seconds > 0) {
        v.rate = static_cast<double>(v.done) / v.seconds;
        v.bytes_rate = static_cast<double>(v.bytes) / v.seconds;
    }
    if (v.running && v.total > v.done && v.rate > 0) {
        v.eta_s = static_cast<std::int64_t>(static_cast<double>(v.total - v.done) / v.rate + 0.5);
    }
    return v;
}

// The worker's hook after a step: the report, when it is due.
inline void tick(Progress& p) {
    if (!p.report) return;
    const std::int64_t now = Progress::now_ms();
    std::int64_t last = p.reported_ms.load(std::memory_order_relaxed);
    if (now - last < Progress::kReportEvery) return;
    // One thread of several (signing workers) wins the report.
    if (!p.reported_ms.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
    p.report(read(p));
}

}  // namespace satellite::zone
