// Query counters by zone, response code and transport, kept per worker
// thread: a worker writes only its own cells (a relaxed load and store, no
// locked instruction, no cache line shared with another worker) and the
// metrics page sums them.
//
// A zone is counted under its catalog stats slot (zone::ZoneStats, given
// out here): a slot stays the origin's while any catalog holding it lives,
// so counts survive snapshot swaps and reloads, and the worker needs no
// lookup by name. A slot is given again only once no catalog holds it (no
// worker can count into it any more) and then starts from zero.
//
// Storage grows on the control side only: acquire(), called while a catalog
// is built and before it is published, adds fixed-size chunks whose
// addresses never change. The query path neither allocates nor waits.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "serve/answer.hpp"
#include "zone/catalog.hpp"

namespace satellite::serve {

class QueryCounters final : public zone::ZoneStats {
public:
    // Response codes 0-11 have a cell each, then BADVERS (RFC 6891 §6.1.3,
    // the one extended code we send), then "other"; 16 cells are two cache
    // lines, so one count touches one line.
    static constexpr unsigned kRcodeCells = 16;
    static constexpr unsigned kBadversCell = 12;
    static constexpr unsigned kOtherCell = 13;
    static constexpr std::uint32_t kSlotsPerChunk = 256;
    static constexpr std::uint32_t kMaxChunks = 4096;  // 1,048,576 zones; beyond that, slot 0
    static constexpr std::uint32_t kMaxSlots = kSlotsPerChunk * kMaxChunks;

    static constexpr unsigned cell_of(std::uint16_t rcode) {
        return rcode < 12 ? rcode : rcode == 16 ? kBadversCell : kOtherCell;
    }

private:
    struct alignas(64) Chunk {
        std::atomic<std::uint64_t> cells[kSlotsPerChunk][kRcodeCells];
    };

public:
    // One worker thread's counters. Only that thread counts into them.
    class alignas(64) Worker {
    public:
        // A query answered with `rcode` from the zone in `slot` (0: none).
        void answered(std::uint32_t slot, std::uint16_t rcode, Transport transport) {
            const std::uint32_t chunk = slot / kSlotsPerChunk;
            Chunk* c = chunk < kMaxChunks ? chunks_[chunk].load(std::memory_order_acquire) : nullptr;
            if (!c) {  // a slot from other ZoneStats (a test's catalog): count it as none
                c = chunks_[0].load(std::memory_order_acquire);
                slot = 0;
            }
            bump(c->cells[slot % kSlotsPerChunk][cell_of(rcode)]);
            bump(transport == Transport::Tcp ? tcp_ : udp_);
        }
        // A message that got no response (malformed header, or a response).
        void dropped() { bump(dropped_); }
        void tcp_connection() { bump(tcp_connections_); }
        // A TCP connection closed at accept: its client's or the global cap.
        void tcp_refused() { bump(tcp_refused_); }
        // Response rate limiting: a response dropped, or sent truncated (slip).
        void rrl_dropped() { bump(rrl_dropped_); }
        void rrl_slipped() { bump(rrl_slipped_); }
        // DNS cookies: a query's COOKIE option by its serve::CookieStatus
        // (1 malformed, 2 client only, 3 invalid, 4 valid; 0 none is not counted).
        void cookie(unsigned status) {
            if (status > 0 && status < kCookieCells) bump(cookies_[status]);
        }
        // A UDP answer truncated because the online signing budget was spent.
        void signing_truncated() { bump(signing_truncated_); }
        static constexpr unsigned kCookieCells = 5;

    private:
        friend class QueryCounters;
        static void bump(std::atomic<std::uint64_t>& c) {
            c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        }
        std::atomic<std::uint64_t> udp_{0};
        std::atomic<std::uint64_t> tcp_{0};
        std::atomic<std::uint64_t> dropped_{0};
        std::atomic<std::uint64_t> tcp_connections_{0};
        std::atomic<std::uint64_t> tcp_refused_{0};
        std::atomic<std::uint64_t> rrl_dropped_{0};
        std::atomic<std::uint64_t> rrl_slipped_{0};
        std::array<std::atomic<std::uint64_t>, kCookieCells> cookies_{};
        std::atomic<std::uint64_t> signing_truncated_{0};
        // Written by the control side only (under QueryCounters::mu_).
        std::array<std::atomic<Chunk*>, kMaxChunks> chunks_;
        std::vector<std::unique_ptr<Chunk>> owned_;
    };

    QueryCounters();
    ~QueryCounters() override;
    QueryCounters(const QueryCounters&) = delete;
    QueryCounters& operator=(const QueryCounters&) = delete;

    // Control side: counters for one more worker thread; they live (and
    // keep counting in the sums) as long as this object. Ones given back by
    // release_worker() are handed out again first, so threads that come
    // and go with reloads (a listen address's UDP threads) add no memory.
    Worker& add_worker();
    // Control side: the thread counting into `w` has ended (joined). Its
    // counts stay in the sums; the next add_worker() continues them.
    void release_worker(Worker& w);

    // zone::ZoneStats (acquire and release on the control side).
    std::uint32_t acquire(const dns::Name& origin) override;
    void release(std::uint32_t slot) override;
    // Prometheus text format (exposition format 0.0.4):
    // satellite_queries_total{zone,rcode} (non-zero series only),
    // satellite_queries_by_transport_total{transport}, satellite_queries_dropped_total,
    // satellite_tcp_connections_total, satellite_tcp_connections_refused_total.
    std::string metrics_text() const override;

    // Sums over the workers, read on any thread.
    struct ZoneCounts {
        std::string zone;  // presentation form with final dot; "" = no zone we serve
        std::array<std::uint64_t, kRcodeCells> rcodes{};
    };
    // Slot 0 (zone "") first, then the zones some catalog holds, by name.
    std::vector<ZoneCounts> by_zone() const;
    struct Totals {
        std::uint64_t udp = 0;
        std::uint64_t tcp = 0;
        std::uint64_t dropped = 0;
        std::uint64_t tcp_connections = 0;
        std::uint64_t tcp_refused = 0;
        std::uint64_t rrl_dropped = 0;
        std::uint64_t rrl_slipped = 0;
        std::array<std::uint64_t, Worker::kCookieCells> cookies{};
        std::uint64_t signing_truncated = 0;
    };
    Totals totals() const;

    // "NOERROR" … "REFUSED" for 0-5, "16" for BADVERS, other codes as
    // numbers, "other" for the catch-all cell.
    static std::string rcode_label(unsigned cell);

private:
    struct Slot {
        std::string key;   // lower-cased wire origin; "" when free
        std::string name;  // origin as first acquired
        std::uint32_t holds = 0;
    };
    void add_chunk(Worker& w);

    mutable std::mutex mu_;
    std::vector<Slot> slots_;  // [0]: no zone
    std::map<std::string, std::uint32_t> by_key_;
    std::vector<std::uint32_t> free_;  // slots no catalog holds
    std::uint32_t chunks_ = 1;         // chunks every worker has
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<Worker*> idle_workers_;  // released, not counting; under mu_
};

}  // namespace satellite::serve
