// The narrow interface the REST API drives (STYLE.md: REST over a narrow
// control interface of the zone catalog). The daemon implements it on its
// control thread; the API only translates HTTP ↔ these calls, so it can be
// tested over a real socket against a fake.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace satellite::api {

// A long piece of work on a zone: an AXFR (records and bytes so far) or a
// signing pass (signatures done of the total), running or the last one.
struct ProgressInfo {
    bool running = false;
    std::uint64_t done = 0, total = 0, bytes = 0;  // total 0 = not known (a transfer)
    double seconds = 0, rate = 0, bytes_rate = 0;  // rates a second
    std::int64_t eta_s = -1;                       // -1 = unknown
};

// GET /api/v1/zones, /api/v1/zones/{zone}
struct ZoneInfo {
    std::string name;       // "example.com." (with the final dot)
    std::string kind;       // "secondary" | "file"
    std::string mode;       // "presigned" | "live" | "multi-signer"
    std::optional<std::uint32_t> serial;  // the primary's serial we hold
    bool serving = false;
    std::string source;     // primary address or file path
    std::int64_t last_success = 0;   // unix seconds; 0 = never
    std::int64_t last_failure = 0;
    std::string last_error;
    std::int64_t next_refresh = 0;
    std::int64_t expires_at = 0;
    std::string dnssec_status;  // "" for presigned zones, else a DESIGN.md §4 status
    // The zone state (NSD's model): `serial` above is the served one.
    std::string phase;          // "ok" | "refreshing" | "expired"
    std::optional<std::uint32_t> stored_serial;    // the copy in state_dir
    std::optional<std::uint32_t> notified_serial;  // announced by a NOTIFY, not yet served
    std::int64_t last_check = 0;     // a primary last confirmed our serial (the expire clock)
    std::int64_t last_transfer = 0;  // the served version was received
    std::string last_transfer_kind;  // "AXFR" | "IXFR" (since the daemon started; "" = none)
    std::int64_t last_attempt = 0;   // the last refresh ended, well or not
    std::uint32_t failures = 0;      // consecutive failed refreshes
    std::uint64_t transfers_ok = 0, transfers_failed = 0;  // since the daemon started
    std::vector<std::string> primaries;  // "host:port", in the order tried
    std::size_t records = 0;             // records served (0 when not served)
    // Why /readyz counts the zone as not ready ("" = ready): not served,
    // expired, or inside its warning window before the SOA expire.
    std::string not_ready;
    // The served version's earliest RRSIG expiration (0: unsigned) and the
    // RRset holding it; the effective expiry (issue 15), 0 = none.
    std::int64_t signature_expiry = 0;
    std::string signature_rrset;
    std::int64_t effective_expiry = 0;
    // Multi-signer zones with `peers` (RFC 8901 §8): whether each provider
    // serves our keys and the same CDS/CDNSKEY, as last asked (0: not yet).
    struct Provider {
        std::string server;
        bool answered = false;
        bool consistent = false;
        std::string error;                  // why it did not answer
        std::vector<std::string> problems;  // each disagreement, in words
    };
    bool has_providers = false;
    std::int64_t providers_checked_at = 0;
    std::vector<Provider> providers;
    // Zones with `parent_ds_check`: whether each parent server serves the
    // DS of our KSKs, as the DS check last asked (0: not yet asked).
    struct ParentServer {
        std::string server;
        bool answered = false;
        std::vector<std::uint16_t> our_ds;  // key tags of our KSKs whose DS it serves
        std::string error;                  // why it gave no usable answer
    };
    bool has_parent_check = false;
    std::int64_t parent_checked_at = 0;
    std::vector<ParentServer> parent_servers;
    // The running or last transfer and signing pass (none = never since start).
    std::optional<ProgressInfo> transfer_progress, signing_progress;
};

// One DNSSEC key as seed 003 shows it, plus its lifecycle state (§4).
struct KeyInfo {
    std::uint16_t key_tag = 0;
    std::uint8_t algorithm = 0;
    std::string public_key;     // base64 of the DNSKEY public key field
    std::string key_type;       // "KSK" | "ZSK"
    std::int64_t created_at = 0;
    std::int64_t expires_at = 0;  // 0 = no planned end
    bool active = false;
    std::string state;          // generate publish ready active retire dead ds_submit ...
    std::int64_t next_transition = 0;  // 0 = none planned
    bool standby = false;       // a standby KSK (DS at the parent, not in DNSKEY)
    // When the lifecycle published its DNSKEY, made it sign, retired it
    // (unix seconds; 0 = not yet): the status page's key timeline.
    std::int64_t published_at = 0, active_at = 0, retire_at = 0;
};

struct DsInfo {
    std::uint16_t key_tag = 0;
    std::uint8_t algorithm = 0;
    std::uint8_t digest_type = 0;
    std::string digest;  // hex, upper case
};

enum class DnssecOp { Get, Enable, Disable, RotateZsk, RotateKsk, ConfirmDsPublished, ConfirmDsRemoved, Sync };

struct DnssecRequest {
    std::optional<int> algorithm;       // enable
    std::vector<DsInfo> ds_records;     // confirm-ds-published
};

// The outcome of a DNSSEC call: `http_status` 200, 400 (bad request /
// DS mismatch / unsupported algorithm), 404 (unknown zone or not a signing
// zone), 409 (invalid transition); `message` says why in words.
struct DnssecReply {
    int http_status = 200;
    std::string message;
    // State after the call (GET, sync, and in every 200 reply).
    bool enabled = false;
    std::string status;
    int algorithm = 0;
    std::vector<KeyInfo> ksk, zsk;
    std::vector<DsInfo> ds_records;
    // enable: the new keys; rotate-*: old and new key.
    std::optional<KeyInfo> new_ksk, new_zsk, old_key, new_key;
    // rotate-ksk and GET during a double-KSK roll: from when the new DS may
    // be at the parent (unix seconds; 0 = now / not rolling).
    std::int64_t publish_after = 0;
    // When the status last changed (unix seconds); 0 = never enabled (null).
    std::int64_t modified_on = 0;
};

// Multi-signer key exchange (RFC 8901 model 2; DESIGN.md §5 peer-keys).
// One DNSKEY as a peer imports it: `dnskey` is the presentation record
// ("example.com. 3600 IN DNSKEY 256 3 13 <base64>"), the rest its fields.
struct PeerKeyInfo {
    std::string dnskey;
    std::uint16_t key_tag = 0;
    std::string key_type;  // "KSK" (flags 257) | "ZSK" (flags 256)
    std::uint16_t flags = 256;
    std::uint8_t protocol = 3;
    std::uint8_t algorithm = 0;
    std::string public_key;  // base64
    std::string source;      // imported keys: "api" | "primary"; "" for our own
    std::int64_t added_at = 0;  // imported keys: unix seconds
};

enum class PeerKeyOp { Get, Add, Remove };

struct PeerKeysRequest {
    // Add: the records to import; Remove: the records to drop (or key_tag).
    std::vector<std::string> dnskeys;  // presentation format
    std::optional<std::uint16_t> key_tag;
};

// 200; 400 (a record that is not an acceptable peer DNSKEY; nothing is
// changed), 404 (unknown zone, not multi-signer, no such peer key), 409
// (a key tag names several peer keys), 500 (disk).
struct PeerKeysReply {
    int http_status = 200;
    std::string message;
    std::string zone;     // with the final dot
    int algorithm = 0;    // the zone's signing algorithm
    std::vector<PeerKeyInfo> keys;       // ours, as published in our DNSKEY RRset
    std::vector<PeerKeyInfo> peer_keys;  // the other providers' keys we publish
    std::size_t added = 0, removed = 0;
};

// Thrown by a Control whose answer did not come within its deadline (the
// daemon's control thread is busy); the router answers 503 with Retry-After.
struct ControlBusy {
    unsigned retry_after_s = 2;
};

class Control {
public:
    virtual ~Control() = default;
    virtual std::vector<ZoneInfo> zones() = 0;
    virtual std::optional<ZoneInfo> zone(const std::string& name) = 0;  // name with or without final dot
    // Queues a refresh of a secondary zone (full: a whole-zone AXFR whatever
    // the serials say); false if unknown (404) or not a secondary.
    virtual bool refresh(const std::string& name, bool full) = 0;
    virtual DnssecReply dnssec(const std::string& zone, DnssecOp op, const DnssecRequest& req) = 0;
    virtual PeerKeysReply peer_keys(const std::string& zone, PeerKeyOp op, const PeerKeysRequest& req) = 0;
    // Prometheus text exposition (the daemon's counters and gauges).
    virtual std::string metrics() = 0;
};

}  // namespace satellite::api
