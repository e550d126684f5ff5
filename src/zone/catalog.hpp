// The catalog: origin → zone, immutable once published. The serving side
// finds the zone for a query by longest match; the control side builds a new
// catalog beside the old one and publishes it (util/published.hpp).
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "dns/tsig.hpp"
#include "zone/snapshot.hpp"

namespace satellite::zone {

// What the serving side knows of one configured zone.
struct ServedZone {
    dns::Name origin;
    // nullptr while the zone has no usable data (never loaded, or expired):
    // queries for it get SERVFAIL.
    std::shared_ptr<const Snapshot> snapshot;
    // NOTIFY intake (RFC 1996 §3.10): a zone with primaries accepts NOTIFY
    // from these addresses (IPv6, IPv4 as v4-mapped), signed with `tsig`
    // when it is set.
    bool secondary = false;
    std::vector<std::array<std::uint8_t, 16>> notify_allow;
    std::shared_ptr<const dns::TsigKey> tsig;
};

class Catalog {
public:
    explicit Catalog(std::vector<ServedZone> zones);

    // Longest-match zone for a lower-cased query name, or nullptr.
    const ServedZone* find(const std::uint8_t* lc, std::size_t len) const;

    const std::vector<ServedZone>& zones() const { return zones_; }
    const ServedZone* exact(const dns::Name& origin) const;

private:
    std::vector<ServedZone> zones_;
    std::vector<std::uint32_t> table_;  // zone index + 1
    std::uint64_t mask_ = 0;
    std::bitset<129> depths_;  // label counts that some origin has
    std::vector<std::vector<std::uint8_t>> lc_;  // lower-cased origins
};

}  // namespace satellite::zone
