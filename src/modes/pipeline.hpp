// The mode pipeline (DESIGN.md §3): one entry that turns the records of a
// transferred (or loaded) version into the version to serve, for each mode.
// Its input is captured on the zone's sequence (keys, policies, the version
// served so far); build_version() itself is pure and runs on a worker
// thread, so signing a large zone never holds up another zone or the API.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "dns/name.hpp"
#include "dns/records.hpp"
#include "modes/expiry.hpp"
#include "modes/keys.hpp"
#include "modes/live.hpp"
#include "modes/modes.hpp"
#include "util/result.hpp"
#include "zone/snapshot.hpp"
#include "zone/update.hpp"

namespace satellite::modes {

struct BuildInput {
    enum class Kind {
        Presigned,  // checked, then served as it came
        Signed,     // live / multi-signer, DNSSEC on: signed with `keys`
        Unsigned,   // live / multi-signer, DNSSEC off: the signer's records stripped
    };
    Kind kind = Kind::Presigned;
    dns::Name origin;
    PresignedPolicy presigned;
    ZoneKeys keys;
    LivePolicy live;
    // The version served so far: its still-fresh signatures are kept.
    std::shared_ptr<const zone::Snapshot> previous;
    std::uint32_t previous_max_ttl = 0;  // of the records `previous` was built from
    std::int64_t now = 0;
    // A version whose earliest signature expires within this many seconds
    // of `now` is refused (modes/expiry.hpp).
    std::int64_t safety_margin = 3600;
};

struct BuiltVersion {
    std::shared_ptr<const zone::Snapshot> snapshot;
    std::size_t made = 0, kept = 0, dropped = 0;  // signatures made / reused, primary's DNSSEC records replaced
    std::int64_t next_resign = 0;                 // 0 when nothing is signed
    std::uint32_t max_ttl = 0, soa_ttl = 3600;    // of the records signed (key timings wait for them)
    std::string warning;                          // a pre-flight warning worth logging
    SignatureExpiry signatures;                   // the earliest RRSIG expiration served (0: unsigned)
    std::string validity_warning;                 // presigned: signatures live shorter than SOA expire
    std::int64_t ms = 0;                          // how long the build took
    // A zone signed here, changed incrementally: the one signed difference
    // from the previous version to this one (stored, served by IXFR).
    std::optional<zone::ZoneDelta> signed_diff;
    std::string signed_whole;  // why a difference was signed by a whole pass
};

Result<BuiltVersion> build_version(const BuildInput& in, const dns::RecordList& records);

// The version `in.previous` becomes with a primary's differences (IXFR,
// RFC 1995). Presigned zones and zones served unsigned take only the change
// (zone::apply_changes: the checks run on the names it touches and the
// apex); a zone signed here signs only what changed (modes::sign_changes),
// or, when keys, denial or due signatures say so, is signed whole with its
// fresh signatures kept.
Result<BuiltVersion> apply_version(const BuildInput& in, const std::vector<zone::ZoneDelta>& deltas);

}  // namespace satellite::modes
