// Zone copies on disk: after each successful transfer the zone's records
// and timer state are written to a temporary file, fsynced and renamed over
// the old copy, with a SHA-256 over the content, so a crash leaves either
// the old or the new copy and a damaged file is detected, never served.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dns/name.hpp"
#include "dns/records.hpp"
#include "util/result.hpp"
#include "zone/update.hpp"

namespace satellite::zone {

struct StoredZone {
    std::uint32_t serial = 0;
    std::int64_t last_check = 0;    // unix time of the last successful SOA check or transfer
    std::int64_t last_transfer = 0; // unix time the stored copy was received
    std::string source;             // the primary it came from
    dns::RecordList records;
    // The records are the signed version this server served (live signing),
    // not the primary's copy. Files written before the marker existed read
    // as false.
    bool signed_by_us = false;
};

std::string stored_zone_path(const std::string& dir, const dns::Name& origin);

Status save_zone(const std::string& dir, const dns::Name& origin, const StoredZone& zone);

// nullopt when there is no file; an error when it is damaged.
Result<std::optional<StoredZone>> load_zone(const std::string& dir, const dns::Name& origin);

// The IXFR journal beside the stored copy: differences since it was
// written, appended (and fsynced) after each incremental transfer, so a
// small change costs a small write. Each entry carries its own SHA-256; a
// damaged entry ends the journal there (what came before still counts), and
// load_journal cuts the file back to the last whole entry so that later
// appends are not stranded behind it.
Status append_journal(const std::string& dir, const dns::Name& origin,
                      const std::vector<ZoneDelta>& deltas);
struct JournalRead {
    std::vector<ZoneDelta> deltas;
    std::string warning;  // set when a damaged tail was ignored
};
Result<JournalRead> load_journal(const std::string& dir, const dns::Name& origin);
void remove_journal(const std::string& dir, const dns::Name& origin);
std::uint64_t journal_size(const std::string& dir, const dns::Name& origin);

}  // namespace satellite::zone
