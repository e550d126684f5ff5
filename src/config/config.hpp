// The operator's TOML config as plain structs (DESIGN.md §2).
// load() validates everything and reports the first problem as
// "file:line:col: message"; nothing here touches the network.
#pragma once

#include <cstdint>
#include <functional>
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

// [server.rrl]: response rate limiting (UDP). Absent = off; a [server.rrl]
// table turns it on with these defaults.
struct Rrl {
    unsigned rate = 0;                // responses a second per client prefix (/24, /56) and kind; 0 = off
    unsigned slip = 2;                // every slip-th limited response goes out truncated (0 = never)
    std::vector<std::string> exempt;  // "addr" or "addr/len", never limited
};

struct Server {
    std::vector<Endpoint> listen;       // default ["127.0.0.1:5353"]
    unsigned threads = 0;               // 0 = one per core
    std::string state_dir = "var/satellite";  // absolute after load()
    // Limits for TCP clients.
    unsigned tcp_max_connections = 1024;
    unsigned tcp_max_connections_per_client = 16;  // an IPv4 address or an IPv6 /64
    unsigned tcp_idle_timeout_ms = 10'000;
    // Largest UDP response we send (RFC 9715 / DNS flag day 2020).
    unsigned udp_max_payload = 1232;
    Rrl rrl;
    // DNS cookies (RFC 7873) with RFC 9018 server cookies: on unless
    // `cookies = false`. The secret (16 octets as 32 hex digits) is what an
    // anycast fleet shares; unset, a random one is made at start-up (kept
    // across reloads). The previous secret still validates (never issues)
    // cookies, for a rollover across the fleet. Both change on SIGHUP.
    // Compact denial (RFC 9824) signs at query time: at most this many
    // signatures a second per worker thread for UDP queries; past it the
    // answer goes out truncated (TC=1) and the client retries over TCP.
    // 0 = no limit.
    unsigned online_signing_budget = 5000;
    bool cookies = true;
    std::string cookie_secret;           // hex, "" = random per process
    std::string cookie_secret_previous;  // hex, "" = none
    // Who may AXFR/IXFR our zones out, for zones that do not say
    // (DESIGN.md §2): "192.0.2.0/24" or "192.0.2.0/24 key NAME" (key name
    // as in its [[tsig_key]]). Empty: nobody.
    std::vector<std::string> provide_xfr;
    // RFC 9432 producer: the name of a catalog zone listing our zones
    // (absolute, with the final dot; "" = none), transferable under
    // provide_xfr like any zone.
    std::string catalog;
    // Answers that say which server this is, off unless set: NSID (RFC
    // 5001) to queries asking for it; CHAOS TXT id.server. / hostname.bind.
    // (`identity`) and version.bind. / version.server. (`version`), RFC 4892.
    std::string nsid, identity, version;
};

struct ApiToken {
    std::string name;
    std::string secret;
    std::vector<std::string> permissions;  // zone:read zone:refresh dnssec:read|enable|disable|rotate
};

struct Api {
    std::optional<Endpoint> listen;  // absent = no API
    std::vector<ApiToken> tokens;
    // HTTPS when both are set (PEM files, absolute after load()): the
    // certificate chain and its private key.
    std::string tls_cert;
    std::string tls_key;
    bool tls() const { return !tls_cert.empty(); }
    // A listen address other than loopback without TLS is refused unless
    // this is set (tokens would cross the network in clear).
    bool allow_plaintext = false;
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
    std::uint64_t max_zone_bytes = 2'147'483'648;  // wire bytes of a transfer; a larger one is refused
    std::uint32_t transfer_timeout = 300;       // seconds for one transfer attempt
    std::uint32_t transfer_idle_timeout = 30;   // seconds without a message from the primary
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
    // Outgoing transfers: who may transfer this zone (the server's list
    // when the zone has none), and where NOTIFY goes after each new served
    // version (RFC 1996).
    std::vector<std::string> provide_xfr;
    std::vector<Endpoint> notify;
    // The member's `group` property in the produced catalog ("" = none).
    std::string catalog_group;
    // A digest of the [[zone]] block this was read from (its text and the
    // config's directory); 0 when unknown. A reload takes a zone whose block
    // did not change as it was, without parsing it again.
    std::uint64_t block_digest = 0;
};

// [[catalog]]: an RFC 9432 catalog zone we consume. It is pulled like a
// secondary zone (primaries, tsig_key, notify_allow); each member becomes a
// zone with the settings of the template its `group` property names.
struct Catalog {
    std::string name;  // absolute, with the final dot
    std::vector<Endpoint> primaries;
    std::string tsig_key;  // "" = none
    std::vector<std::string> notify_allow;
    // A removed member's keys and state stay in state_dir this long (a
    // member re-added meanwhile finds them), then are deleted.
    std::uint32_t member_grace = 7 * 86400;
    // The template for members without a group property: presigned, from
    // the catalog's primaries with its key, provide_xfr from [server]. Its
    // name is empty; a member's name goes there.
    Zone member;
    // [catalog.group.NAME]: a template per group (any [[zone]] setting but
    // name, file and parent_trust_anchor); primaries and tsig_key default
    // to the catalog's. A member naming another group refuses the catalog.
    std::vector<std::pair<std::string, Zone>> groups;
    const Zone* template_for(const std::string& group) const;
};

struct Config {
    std::string path;  // the file it came from
    Server server;
    Api api;
    Log log;
    std::vector<TsigKey> tsig_keys;
    std::vector<Zone> zones;
    std::vector<Catalog> catalogs;
    // A digest of everything outside the [[zone]] blocks (0: unknown); a
    // reload reuses unchanged zones only when this did not change either.
    std::uint64_t outside_zones_digest = 0;
};

// Reads and validates the file. Relative paths (state_dir, zone files) are
// resolved against the config file's directory.
Result<Config> load(const std::string& path);

// The zone configured now under a name (as written in a [[zone]] block), or
// nullptr.
using ConfiguredZone = std::function<const Zone*(const std::string& name)>;

// A reload of the same file: [[zone]] blocks whose text is unchanged since
// `previous` was read (and `configured` still has that zone from the same
// block) are taken as they are; only the rest is parsed and validated
// (zone files are still checked). The result and its messages are the
// same as load()'s.
Result<Config> reload(const std::string& path, const Config& previous, const ConfiguredZone& configured);

// Same, from text (for tests); `path` is used in messages and to resolve
// relative paths.
Result<Config> parse(const std::string& text, const std::string& path);

// "14d", "12h", "30m", "45s", "3600", "0" → seconds.
Result<std::uint32_t> parse_duration(const std::string& text);

}  // namespace satellite::config
