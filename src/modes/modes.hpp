// The mode selector: every zone, from a file or a transfer, passes through
// its zone's DNSSEC mode before a snapshot of it may be published
// (DESIGN.md §3). Only `presigned` exists so far; the config refuses the
// others until they land.
#pragma once

#include <cstdint>
#include <string>

#include "dns/name.hpp"
#include "dns/records.hpp"
#include "util/result.hpp"

namespace satellite::modes {

enum class Verify { Off, Keys, Full };

struct PresignedPolicy {
    bool allow_nsec3 = false;
    // keys: the apex DNSKEY RRset must be signed by a key in it; full: every
    // RRSIG must verify with the zone's keys.
    Verify verify = Verify::Keys;
    // Warn when the earliest signature expiry is closer than this.
    std::int64_t expiry_warning_s = 3 * 86400;
};

// RFC 9276 §3.2: a pre-signed NSEC3 zone with more iterations is refused.
inline constexpr std::uint16_t kMaxNsec3Iterations = 100;

struct PreflightReport {
    std::size_t signatures = 0;
    std::int64_t earliest_expiry = 0;  // unix time; 0 = unsigned zone
    std::string warning;                // set when expiry is near
};

// Presigned passthrough (seed 001, 004): the zone is served exactly as
// transferred, but it is refused (the last good copy keeps serving) when it
// carries NSEC3/NSEC3PARAM and NSEC3 was not opted into, or when a signature
// is outside its validity period — a secondary serving expired signatures is
// a classic outage. An unsigned zone passes as plain DNS.
Result<PreflightReport> check_presigned(const dns::Name& origin, const dns::RecordList& records,
                                        const PresignedPolicy& policy, std::int64_t now);

}  // namespace satellite::modes
