// Incremental zone updates (RFC 1995 differences) applied to a record list.
// Differences are folded into one net change first, so one pass over the
// zone is enough and only names the change touches are hashed.
#pragma once

#include <cstdint>
#include <string>
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

// The differences that led to a served version, oldest first, each
// continuing the one before and the last ending at that version's serial:
// what an outgoing IXFR (RFC 1995 §4) answers from. Immutable once shared.
struct IxfrHistory {
    std::vector<ZoneDelta> deltas;
    // The index of the delta starting at `serial`, or -1 when the history
    // does not reach back to it or does not end at `served`.
    int from(std::uint32_t serial, std::uint32_t served) const {
        if (deltas.empty() || deltas.back().to != served) return -1;
        for (std::size_t i = deltas.size(); i-- > 0;) {
            if (deltas[i].from == serial) return static_cast<int>(i);
            if (i > 0 && deltas[i - 1].to != deltas[i].from) return -1;  // a gap: nothing older counts
        }
        return -1;
    }
};

// The key a difference matches records on: owner (lower-cased), type, RDATA.
std::string record_key(const dns::RecordList& l, const dns::RecordRef& r);
// "IXFR 1→2 adds www.example. A", for errors naming a record of a difference.
std::string describe_change(const ZoneDelta& d, const char* verb, const dns::RecordList& l, const dns::RecordRef& r);

// Applies `deltas` in order to `current`. A delete of a record we do not
// have, or an add of one we already have, is an error (the caller falls
// back to a full transfer). Records match on owner (case-insensitive), type
// and RDATA; an add may change the TTL.
Result<dns::RecordList> apply_deltas(const dns::RecordList& current,
                                     const std::vector<ZoneDelta>& deltas);

}  // namespace satellite::zone
