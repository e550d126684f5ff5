// Incremental zone updates (RFC 1995 differences) applied to a record list.
// Differences are folded into one net change first, so one pass over the
// zone is enough and only names the change touches are hashed.
#pragma once

#include <cstdint>
#include <vector>

#include "dns/records.hpp"
#include "util/result.hpp"

namespace satellite::zone {

struct ZoneDelta {
    std::uint32_t from = 0;
    std::uint32_t to = 0;
    dns::RecordList removed;  // includes the old SOA
    dns::RecordList added;    // includes the new SOA
};

// Applies `deltas` in order to `current`. A delete of a record we do not
// have, or an add of one we already have, is an error (the caller falls
// back to a full transfer). Records match on owner (case-insensitive), type
// and RDATA; an add may change the TTL.
Result<dns::RecordList> apply_deltas(const dns::RecordList& current,
                                     const std::vector<ZoneDelta>& deltas);

}  // namespace satellite::zone
