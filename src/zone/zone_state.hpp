// A secondary zone's transfer state (the model is NSD's xfrd): the serial we
// serve, the one stored on disk, the newest one a NOTIFY announced; whether
// the zone is ok, refreshing or expired; and the record of checks and
// failures an operator reads. Saved beside the stored copy (fsync, rename)
// so a restart keeps its timers and its history.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dns/name.hpp"
#include "util/result.hpp"

namespace satellite::zone {

enum class Phase : std::uint8_t {
    Ok,          // served and confirmed by a primary within the SOA refresh
    Refreshing,  // the refresh time has passed without a confirmation: retrying
    Expired,     // no confirmation for SOA expire (or no data yet): SERVFAIL
};
const char* to_string(Phase p);

struct ZoneState {
    std::optional<std::uint32_t> served;    // the version answering queries
    std::optional<std::uint32_t> stored;    // the copy in state_dir
    std::optional<std::uint32_t> notified;  // announced by a NOTIFY and not yet served
    Phase phase = Phase::Expired;
    std::int64_t last_check = 0;     // a primary last confirmed our serial (or we received one): the expire clock
    std::int64_t last_transfer = 0;  // the served version was received
    std::int64_t last_attempt = 0;   // the last refresh ended, well or not
    std::uint32_t failures = 0;      // consecutive failed refreshes
    std::string last_error;          // the last failure; cleared by the next success
    std::int64_t last_error_at = 0;
    std::uint64_t transfers_ok = 0, transfers_failed = 0;  // since start (not saved)
    // The served version's earliest RRSIG expiration and the RRset holding
    // it (0: unsigned); the effective expiry = min(last_check + SOA expire,
    // that expiration - signature_safety_margin); and whether the phase is
    // Expired because of the signatures (a fresher version is needed, not
    // just a check).
    std::int64_t signature_expiry = 0;
    std::string signature_rrset;
    std::int64_t effective_expiry = 0;
    bool expired_by_signatures = false;

    // A primary confirmed our serial, or a new version was installed.
    void succeeded(std::int64_t now);
    void failed(std::int64_t now, std::string why);
    // A NOTIFY announced `serial`; false when we already serve it (or newer).
    bool notify(std::optional<std::uint32_t> serial);
};

std::string zone_state_path(const std::string& dir, const dns::Name& origin);

// Durable: written to a temporary file, fsynced, renamed, directory fsynced.
Status save_zone_state(const std::string& dir, const dns::Name& origin, const ZoneState& s);

// nullopt when nothing is stored. A state saved by an older Satellite (only
// the time of the last check, in "<zone>.checked") is read as such.
Result<std::optional<ZoneState>> load_zone_state(const std::string& dir, const dns::Name& origin);

}  // namespace satellite::zone
