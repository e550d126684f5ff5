// The signature-expiry guard (issue 15): a signed version is served only
// while its earliest RRSIG expiration is more than `signature_safety_margin`
// away. The earliest expiration is found once, when a version is built (on a
// worker), and kept beside it; the zone's expire event is armed for the
// effective expiry = min(SOA expire timer, earliest expiration - margin), so
// a validator behind us never sees a signature it would reject.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/result.hpp"
#include "zone/snapshot.hpp"

namespace satellite::modes {

struct SignatureExpiry {
    std::int64_t expiration = 0;  // unix time of the earliest RRSIG expiration; 0 = no signature
    std::int64_t inception = 0;   // that signature's inception
    std::string rrset;            // the RRset it covers: "owner TYPE"
    std::size_t signatures = 0;   // RRSIGs in the version
};

// RFC 4034 §3.1.5: a 32-bit RRSIG time read in serial arithmetic (RFC 1982) around `now`.
std::int64_t rrsig_time(std::uint32_t t, std::int64_t now);

// "2026-12-07T17:34:04Z".
std::string utc_time(std::int64_t unix_time);

// Every RRSIG the version serves, the earliest expiration (O(zone), on a worker).
SignatureExpiry earliest_signature(const zone::Snapshot& z, std::int64_t now);

// When the signatures stop the zone from being served: earliest expiration
// - margin; 0 when the version carries no signature.
inline std::int64_t signature_limit(const SignatureExpiry& e, std::int64_t margin) {
    return e.expiration == 0 ? 0 : e.expiration - margin;
}

// A new version whose earliest signature is already inside the margin is
// refused (the last good version keeps serving): the message names the
// RRset and the time.
Status check_signature_margin(const SignatureExpiry& e, std::int64_t margin, std::int64_t now);

// The misconfiguration behind most incidents: signatures that live shorter
// than SOA expire, so a secondary cut off from its primary would serve them
// expired. "" when the validity (expiration - inception of the earliest
// signature) covers SOA expire.
std::string validity_warning(const SignatureExpiry& e, std::uint32_t soa_expire, std::int64_t margin);

// RFC 7314 §4: how long the SOA expire clock runs from a successful check
// at `now`, given the EXPIRE option the primary answered with (if any):
// after a transfer the value is taken as it is (¶3); a check that only
// confirmed our serial may lengthen the clock, never shorten it (¶2:
// `previous_deadline` is when it would have run out); never longer than
// SOA expire (¶4). nullopt: SOA expire (no option, or one as long).
std::optional<std::uint32_t> expire_clock(std::optional<std::uint32_t> expire_option, bool transferred,
                                          std::int64_t previous_deadline, std::int64_t now, std::uint32_t soa_expire);

// "1h", "20s", "3d 4h".
std::string describe_duration(std::int64_t seconds);

}  // namespace satellite::modes
