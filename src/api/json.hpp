// The REST API's JSON bodies (seed 003 and DESIGN.md §5): Control's structs
// to JSON, and the request bodies of enable and confirm-ds-published back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "api/control.hpp"
#include "util/result.hpp"

namespace satellite::api {

// Unix seconds as RFC 3339 UTC ("2026-04-23T10:00:00Z"); null for 0 (never / none).
boost::json::value time_json(std::int64_t unix_seconds);

boost::json::value zone_json(const ZoneInfo& zone);
boost::json::value key_json(const KeyInfo& key);
boost::json::value ds_json(const DsInfo& ds);

// The path word of an operation ("enable", "rotate-zsk", ...); "" for Get.
std::string_view op_name(DnssecOp op);

// The 2xx body of a DNSSEC call, shaped per seed 003: the state for Get and
// Sync, {"domain_id", "action", ...} for the others.
boost::json::value dnssec_json(std::string_view domain_id, DnssecOp op, const DnssecReply& reply);

// POST .../dnssec/enable: an empty body, or {"algorithm": <integer 0-255>}.
Result<DnssecRequest> parse_enable_body(std::string_view body);

// POST .../dnssec/confirm-ds-published: {"ds_records": [{"key_tag", "algorithm",
// "digest_type", "digest"}, ...]}, at least one; digests come back upper case.
Result<DnssecRequest> parse_confirm_ds_body(std::string_view body);

}  // namespace satellite::api
