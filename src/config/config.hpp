// The operator's TOML config as plain structs (DESIGN.md §2).
// load() validates everything and reports the first problem as
// "file:line:col: message"; nothing here touches the network.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace satellite::config {

// "127.0.0.1:53", "[::1]:53". host is the bare address text (no brackets).
struct Endpoint {
    std::string host;
    std::uint16_t port = 53;
    std::string to_string() const;  // re-bracketed for IPv6
};

struct Server {
    std::vector<Endpoint> listen;       // default ["127.0.0.1:5353"]
    unsigned threads = 0;               // 0 = one per core
    std::string state_dir = "var/satellite";  // absolute after load()
    // Limits for TCP clients.
    unsigned tcp_max_connections = 1024;
    unsigned tcp_idle_timeout_ms = 10'000;
    // Largest UDP response we send (RFC 9715 / DNS flag day 2020).
    unsigned udp_max_payload = 1232;
};

struct ApiToken {
    std::string name;
    std::string secret;
    std::vector<std::string> permissions;  // zone:read zone:refresh dnssec:read|enable|disable|rotate
};

struct Api {
    std::optional<Endpoint> listen;  // absent = no API
    std::vector<ApiToken> tokens;
};

struct Log {
    std::string level = "info";   // trace debug info warn error
    std::string format = "text";  // text | json
};

struct TsigKey {
    std::string name;       // as written; a DNS name
    std::string algorithm;  // hmac-sha256 | hmac-sha384 | hmac-sha512
    std::string secret;     // base64 text as written
    std::vector<std::uint8_t> secret_bytes;  // decoded
};

enum class Mode { Presigned, Live, MultiSigner };
enum class Denial { Nsec, Nsec3, Compact };

struct Signing {
    bool enabled = false;
    int algorithm = 13;  // 8 10 13 14 15
    Denial denial = Denial::Nsec;
    unsigned nsec3_iterations = 0;
    std::string nsec3_salt;  // hex, "" = none
    bool nsec3_opt_out = false;  // RFC 5155 §6: skip insecure delegations
    std::uint32_t signature_validity = 14 * 86400;  // seconds
    std::uint32_t signature_refresh = 7 * 86400;
    std::uint32_t zsk_lifetime = 90 * 86400;
    std::uint32_t ksk_lifetime = 0;  // 0 = roll only on request
    // RFC 7583 §2: how long a change takes to reach every secondary and
    // cache beyond the TTLs, and the TTL of our DS at the parent.
    std::uint32_t propagation_delay = 3600;
    std::uint32_t parent_ds_ttl = 86400;
    // Multi-signer: how long the other providers take to publish a new key
    // of ours; a new ZSK waits this long on top of the TTLs before it signs.
    std::uint32_t peer_publish_delay = 3600;
    // Keep a standby KSK: its DS goes to the parent ahead of need, so a KSK
    // roll (an emergency one too) waits only for the DNSKEY TTL.
    bool standby_ksk = false;
};

struct Zone {
    std::string name;                // absolute, with the final dot, as written
    std::vector<Endpoint> primaries;  // secondary zone
    std::string file;                // or a local zone file (absolute after load())
    std::string tsig_key;            // name of a [[tsig_key]], "" = none
    std::vector<std::string> notify_allow;  // addresses; default = primaries' hosts
    Mode mode = Mode::Presigned;
    bool allow_nsec3 = false;
    std::string presigned_verify = "keys";     // keys | full | off
    std::uint32_t expiry_warning = 3 * 86400;  // warn when a signature expires sooner
    // Effective expiry = min(SOA expire timer, earliest RRSIG expiration -
    // this): a signed version is never served closer to its signatures'
    // expiry (issue 15). Default 1h; for a zone signed here, at most half
    // the window its own re-signing leaves (signature_validity - refresh).
    std::uint32_t signature_safety_margin = 3600;
    std::size_t max_zone_records = 5'000'000;  // a larger transfer is refused
    std::uint32_t transfer_timeout = 300;       // seconds for one transfer attempt
    std::optional<Signing> signing;  // [zone.signing]
    // Multi-signer (RFC 8901): the other providers' servers, asked for their
    // DNSKEY RRset before a new ZSK of ours signs; and whether DNSKEYs in
    // the primary's zone are the other providers' keys.
    std::vector<Endpoint> peers;
    bool peer_keys_from_primary = false;
    // Live and multi-signer: the parent's servers, asked for our DS RRset
    // so DS publication and removal are confirmed without an operator.
    std::vector<Endpoint> parent_ds_check;
    std::uint32_t parent_ds_check_interval = 600;
    // The parent zone's trust anchor ("parent. DS ..." / "parent. DNSKEY ..."
    // lines): each server's DS answer then counts only when it validates
    // (RRSIGs, or an NSEC/NSEC3 proof that there is no DS).
    std::vector<std::string> parent_trust_anchor;
};

struct Config {
    std::string path;  // the file it came from
    Server server;
    Api api;
    Log log;
    std::vector<TsigKey> tsig_keys;
    std::vector<Zone> zones;
};

// Reads and validates the file. Relative paths (state_dir, zone files) are
// resolved against the config file's directory.
Result<Config> load(const std::string& path);

// Same, from text (for tests); `path` is used in messages and to resolve
// relative paths.
Result<Config> parse(const std::string& text, const std::string& path);

// "14d", "12h", "30m", "45s", "3600", "0" → seconds.
Result<std::uint32_t> parse_duration(const std::string& text);

}  // namespace satellite::config
