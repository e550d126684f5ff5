// The REST API's JSON bodies (seed 003 and DESIGN.md §5): Control's structs
// to JSON, and the request bodies of enable, confirm-ds-published and
// peer-keys back.
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

// One DNSKEY of GET .../dnssec/peer-keys: {"dnskey", "key_tag", "key_type",
// "flags", "protocol", "algorithm", "public_key"}, and for an imported key
// also "source" and "added_at".
boost::json::value peer_key_json(const PeerKeyInfo& key, bool imported);

// The 2xx body of .../dnssec/peer-keys: {"zone", "algorithm", "keys",
// "peer_keys"}, plus {"added", "message"} for Add and {"removed", "message"}
// for Remove.
boost::json::value peer_keys_json(const PeerKeysReply& reply, PeerKeyOp op);

// POST (and DELETE with a body) .../dnssec/peer-keys: {"keys": [...]} or
// {"dnskey": "..."}. Each element of "keys" is a DNSKEY presentation record
// or an object with "dnskey", or lacking it "flags", "protocol", "algorithm"
// and "public_key" (the record is then composed with `zone_with_dot` as its
// owner and TTL 3600). A GET body is accepted as it is: its "peer_keys",
// "zone", "algorithm" and unknown members are ignored. The records are only
// shaped here; whether they are acceptable DNSKEYs is the control's call.
Result<PeerKeysRequest> parse_peer_keys_body(std::string_view body, std::string_view zone_with_dot);

}  // namespace satellite::api
