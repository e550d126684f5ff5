// The catalog: origin → zone, immutable once published. The serving side
// finds the zone for a query by longest match; the control side builds a new
// catalog beside the old one and publishes it (util/published.hpp).
// Each zone also gets a stats slot: a small number that stays the origin's
// while any catalog holding it lives, so per-zone counters on the query path
// survive catalog swaps without a lookup by name.
#pragma once

#include <array>
#include <atomic>
#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <span>
#include <vector>

#include "dns/acl.hpp"
#include "dns/name.hpp"
#include "dns/tsig.hpp"
#include "zone/snapshot.hpp"
#include "zone/update.hpp"

namespace satellite::zone {

// A zone's stable slot: the version served now, swapped with one atomic
// store when a new version is published (no catalog rebuild). Shared by
// every catalog that holds the zone; the writer retires the version it
// replaces through the catalog's quiescent-state reclamation.
// RFC 8914 INFO-CODEs an empty slot answers SERVFAIL with.
inline constexpr int kEdeSignatureExpired = 7;       // expired by the signature-expiry guard
inline constexpr int kEdeNoReachableAuthority = 22;  // SOA expire: no primary confirmed the zone
inline constexpr int kEdeNotAuthoritative = 20;      // REFUSED: the name is in none of our zones

struct ZoneSlot {
    std::atomic<const std::shared_ptr<const Snapshot>*> version{nullptr};
    // The Extended DNS Error of the SERVFAIL given while the slot is empty
    // (-1: none); written before the swap that empties the slot.
    std::atomic<int> unserved_ede{-1};
    // RFC 7314 EDNS EXPIRE: the served version's effective expiry (unix
    // seconds; 0: only the SOA expire field applies, as on a primary).
    std::atomic<std::int64_t> expire_at{0};
    // The differences leading to the served version, for outgoing IXFR
    // (nullptr: none; a history not ending at the served serial is unused).
    std::atomic<const std::shared_ptr<const IxfrHistory>*> history{nullptr};
    ZoneSlot() = default;
    explicit ZoneSlot(std::shared_ptr<const Snapshot> initial)
        : version(new std::shared_ptr<const Snapshot>(std::move(initial))) {}
    ~ZoneSlot() {
        delete version.load();
        delete history.load();
    }
    // Writer: the new history; returns the old holder, for retirement.
    std::unique_ptr<const std::shared_ptr<const IxfrHistory>> swap_history(std::shared_ptr<const IxfrHistory> next) {
        return std::unique_ptr<const std::shared_ptr<const IxfrHistory>>(history.exchange(
            next ? new std::shared_ptr<const IxfrHistory>(std::move(next)) : nullptr, std::memory_order_acq_rel));
    }
    ZoneSlot(const ZoneSlot&) = delete;
    ZoneSlot& operator=(const ZoneSlot&) = delete;
    // Writer: the new version; returns the old holder, for retirement.
    std::unique_ptr<const std::shared_ptr<const Snapshot>> swap(std::shared_ptr<const Snapshot> next) {
        return std::unique_ptr<const std::shared_ptr<const Snapshot>>(
            version.exchange(new std::shared_ptr<const Snapshot>(std::move(next)), std::memory_order_acq_rel));
    }
};

// What the serving side knows of one configured zone.
struct ServedZone {
    dns::PackedName origin;
    // The initial version, for a catalog that makes the zone's slot itself
    // (moved into it then); the version served is served().
    std::shared_ptr<const Snapshot> snapshot;
    // The version answering queries; shared with the zone's manager.
    std::shared_ptr<ZoneSlot> slot;
    // nullptr while the zone has no usable data (never loaded, or expired):
    // queries for it get SERVFAIL.
    const std::shared_ptr<const Snapshot>* served() const {
        const std::shared_ptr<const Snapshot>* v = slot ? slot->version.load(std::memory_order_acquire) : nullptr;
        return v && *v ? v : nullptr;
    }
    // NOTIFY intake (RFC 1996 §3.10): a zone with primaries accepts NOTIFY
    // from these addresses (IPv6, IPv4 as v4-mapped), signed with `tsig`
    // when it is set.
    bool secondary = false;
    std::vector<std::array<std::uint8_t, 16>> notify_allow;
    std::shared_ptr<const dns::TsigKey> tsig;
    // Outgoing AXFR/IXFR (`provide_xfr`): who may transfer the served
    // version; an entry with a key admits only requests signed with it.
    // Empty: nobody.
    struct XfrAllow {
        dns::AddressPrefix prefix;
        std::shared_ptr<const dns::TsigKey> key;  // nullptr: unsigned allowed
    };
    std::vector<XfrAllow> provide_xfr;
    // Set by the Catalog from its ZoneStats (0: no slot). Equal for equal
    // origins in every catalog alive at the same time.
    std::uint32_t stats_slot = 0;
};

// Per-zone statistics kept beside the catalogs, which outlive them (the
// query counters, serve/query_counters.hpp). A catalog holds a slot in them
// for each of its zones while it lives. acquire() and release() are called
// on the control side only, when a catalog is built or destroyed.
class ZoneStats {
public:
    virtual ~ZoneStats() = default;
    // The origin's slot, held once more; 0 when there is none to give.
    virtual std::uint32_t acquire(const dns::Name& origin) = 0;
    // One hold fewer; a slot no catalog holds may go to another origin.
    virtual void release(std::uint32_t slot) = 0;
    // The statistics in Prometheus text format, for the metrics page.
    virtual std::string metrics_text() const = 0;
};

class Catalog {
public:
    // `stats`: where the zones take their statistics slots (nullptr: none,
    // every zone gets slot 0).
    explicit Catalog(std::vector<ServedZone> zones, std::shared_ptr<ZoneStats> stats = nullptr);
    ~Catalog();
    Catalog(const Catalog&) = delete;  // a copy would give its slots back twice
    Catalog& operator=(const Catalog&) = delete;
    Catalog(Catalog&&) = default;
    Catalog& operator=(Catalog&&) = delete;

    // Longest-match zone for a lower-cased query name, or nullptr.
    const ServedZone* find(const std::uint8_t* lc, std::size_t len) const;

    const std::vector<ServedZone>& zones() const { return zones_; }
    const ServedZone* exact(const dns::Name& origin) const;
    // Where the zones' stats slots are (nullptr: none).
    const ZoneStats* stats() const { return stats_.get(); }

private:
    std::vector<ServedZone> zones_;
    std::vector<std::uint32_t> table_;  // zone index + 1
    std::uint64_t mask_ = 0;
    std::bitset<129> depths_;  // label counts that some origin has
    // Lower-cased origins, end to end (zone i's from lc_at_[i] to lc_at_[i + 1]).
    std::vector<std::uint8_t> lc_;
    std::vector<std::uint32_t> lc_at_;
    std::span<const std::uint8_t> origin_lc(std::size_t i) const { return {lc_.data() + lc_at_[i], lc_at_[i + 1] - lc_at_[i]}; }
    std::shared_ptr<ZoneStats> stats_;           // where stats_slot came from
};

}  // namespace satellite::zone
