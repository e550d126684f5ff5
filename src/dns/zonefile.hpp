// Zone files (RFC 1035 §5 master format) → records, parsed by ldns.
#pragma once

#include <string>

#include "dns/name.hpp"
#include "dns/records.hpp"
#include "util/result.hpp"

namespace satellite::dns {

// Reads the zone file at `path` with `origin` as the default $ORIGIN.
// Errors name the file and line.
Result<RecordList> read_zone_file(const std::string& path, const Name& origin);

// Writes records in presentation format (one per line, as ldns prints
// them), atomically: a temp file renamed over `path`.
Status write_zone_file(const std::string& path, const RecordList& records);

// Parses one record in presentation format (for tests and tools).
Result<RecordList> parse_records(const std::string& text, const Name& origin);

}  // namespace satellite::dns
