// Live signing (DESIGN.md §3 `live`): the primary's unsigned zone in, a
// signed snapshot out. Transferred DNSSEC records are dropped; DNSKEY, CDS
// and CDNSKEY go in at the apex; the denial chain is built (NSEC, NSEC3 with
// RFC 9276 parameters, or the per-name NSECs of compact denial, RFC 9824);
// every authoritative RRset is signed, across all cores. Signatures of the
// previous signed version are kept for RRsets whose content did not change
// and that are not due for refresh, so an IXFR or a refresh pass signs only
// what it must.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <memory>
#include <optional>
#include <vector>

#include "dns/name.hpp"
#include "dns/records.hpp"
#include "modes/keys.hpp"
#include "util/result.hpp"
#include "zone/progress.hpp"
#include "zone/snapshot.hpp"
#include "zone/update.hpp"

namespace satellite::modes {

enum class Denial { Nsec, Nsec3, Compact };

struct LivePolicy {
    Denial denial = Denial::Nsec;
    std::uint16_t nsec3_iterations = 0;      // RFC 9276 §3.1: 0
    std::vector<std::uint8_t> nsec3_salt;    // RFC 9276 §3.1: none
    bool nsec3_opt_out = false;
    std::uint32_t validity = 14 * 86400;     // signature lifetime
    std::uint32_t refresh = 7 * 86400;       // re-sign when less than this is left
    std::uint32_t inception_offset = 3600;   // inception backdated for clock skew
    unsigned threads = 0;                    // 0 = one per core
    // Signatures made or kept of the pass's total, for the API and a log
    // line (zone/progress.hpp); null = nobody watches.
    std::shared_ptr<zone::Progress> progress;
};

struct SignedZone {
    std::shared_ptr<const zone::Snapshot> snapshot;
    std::size_t made = 0;       // signatures made in this pass
    std::size_t kept = 0;       // signatures reused from the previous version
    std::size_t dropped = 0;    // DNSSEC records from the primary, replaced
    std::int64_t next_resign = 0;  // when the earliest signature reaches its refresh point
};

// Signs the zone. `previous` is the last signed snapshot of this zone (or
// null); `now` is unix time. Fails with a message when the zone is not
// servable or signing fails; nothing is half-signed.
Result<SignedZone> sign_zone(const dns::Name& origin, const dns::RecordList& records,
                             const ZoneKeys& keys, const LivePolicy& policy,
                             const zone::Snapshot* previous, std::int64_t now);

// A signed version and a primary's differences (IXFR) in, the next signed
// version out, in time and memory proportional to the change: only the
// RRsets that changed are signed, only the NSEC / NSEC3 records whose
// names or neighbours changed are rebuilt, everything else is shared with
// `previous`. `diff` is the one signed difference from `previous` to the
// new version (what the stored copy and an outgoing IXFR carry).
struct SignedChange {
    SignedZone zone;
    zone::ZoneDelta diff;
};
// Empty (no error) when the change cannot be made incrementally and the
// zone must be signed whole: the keys, the denial or its parameters, the
// SOA TTL or MINIMUM changed, or signatures are due for refresh (the
// reason goes to `why_whole`).
Result<std::optional<SignedChange>> sign_changes(const dns::Name& origin, const zone::Snapshot& previous,
                                                 const std::vector<zone::ZoneDelta>& deltas, const ZoneKeys& keys,
                                                 const LivePolicy& policy, std::int64_t now,
                                                 std::string* why_whole = nullptr);

// A live zone whose DNSSEC state is "disabled": the primary's data without
// the records a signer owns (RRSIG, NSEC, NSEC3, NSEC3PARAM, DNSKEY, CDS,
// CDNSKEY), served unsigned.
Result<std::shared_ptr<const zone::Snapshot>> strip_signer_records(const dns::Name& origin,
                                                                  const dns::RecordList& records);

}  // namespace satellite::modes
