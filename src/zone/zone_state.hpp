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
    // RFC 7314: the EXPIRE value that primary answered with at last_check
    // (a secondary upstream gives what is left of its own timer): the
    // expire clock then runs min(this, SOA expire) from last_check.
    std::optional<std::uint32_t> primary_expire;
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

// Written to a temporary file and renamed over the state. `durable`: the
// file is fsynced before the rename. The directory is not synced: a crash
// may bring back the previous state, which names an older stored serial (or
// none) — never one that is not on disk, as long as the stored copy's own
// rename was made durable before this call (zone/store.hpp save_zone does).
// Without `durable`, a crash may lose the file's content (read back as "no
// state"); callers skip the fsync only when the fields that matter for a
// restart (durable_fields) equal those of the last durable save.
Status save_zone_state(const std::string& dir, const dns::Name& origin, const ZoneState& s, bool durable = true);

// A digest of the fields a restart must not lose (serials, phase, failures,
// last error); the timing fields (last check, attempt, transfer) are left
// out: a state differing from the last durable one only in those may be
// saved without an fsync.
std::uint64_t durable_fields(const ZoneState& s);

// nullopt when nothing is stored. A state saved by an older Satellite (only
// the time of the last check, in "<zone>.checked") is read as such.
Result<std::optional<ZoneState>> load_zone_state(const std::string& dir, const dns::Name& origin);

}  // namespace satellite::zone
