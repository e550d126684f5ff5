// A live-signed zone's keys on disk (DESIGN.md §3): one file per key under
// <state_dir>/keys/<zone>/, private key as PKCS#8 PEM behind a short header
// that records what the key must be (zone, role, algorithm, tag, public
// half). Files are 0600 in a 0700 directory, written atomically; a file that
// no longer matches its header is refused as damaged, never replaced.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns/dnssec.hpp"
#include "dns/name.hpp"
#include "util/result.hpp"

namespace satellite::modes {

enum class KeyRole { Ksk, Zsk };

struct ZoneKey {
    KeyRole role = KeyRole::Zsk;
    std::shared_ptr<const dns::SigningKey> key;
    std::vector<std::uint8_t> dnskey;  // RDATA: flags 257 (KSK) or 256 (ZSK)
    std::uint16_t tag = 0;
    std::int64_t created = 0;
    std::string path;
    // What the key does now (the lifecycle decides; DESIGN.md §4).
    bool published = true;  // in the DNSKEY RRset
    bool signing = true;    // KSK: signs DNSKEY, CDS, CDNSKEY; ZSK: everything else
    bool in_cds = true;     // KSK: named by CDS/CDNSKEY (RFC 7344)
};

// The keys a zone is signed with. Normally one KSK and one ZSK; during a
// rollover more are published, and one of each role signs.
struct ZoneKeys {
    std::vector<ZoneKey> keys;
    bool cds_delete = false;  // RFC 8078 §4: CDS/CDNSKEY ask the parent to remove the DS
    // The first signing key of a role (there is always one while signed).
    const ZoneKey& ksk() const { return first(KeyRole::Ksk); }
    const ZoneKey& zsk() const { return first(KeyRole::Zsk); }
    const ZoneKey& first(KeyRole role) const {
        for (const auto& k : keys) {
            if (k.role == role && k.signing) return k;
        }
        for (const auto& k : keys) {
            if (k.role == role) return k;
        }
        return keys.front();
    }
};

// Base64 (RFC 4648) as key files and the API show public keys.
std::string base64(const std::vector<std::uint8_t>& in);

// <state_dir>/keys/<zone, lower case, without the final dot; "root" for .>
std::string key_directory(const std::string& state_dir, const dns::Name& zone);

// Reads a key file and checks it against its header.
Result<ZoneKey> read_key_file(const std::string& path, const dns::Name& zone);
// Writes a key file atomically (temp file, fsync, rename, fsync directory).
Status write_key_file(const std::string& path, const dns::Name& zone, const ZoneKey& key);

// Writes `text` to `path` atomically and privately (0600): a temp file,
// fsync, rename, fsync of the directory.
Status write_private_file(const std::string& path, const std::string& text);
// fsync of a directory: what makes a rename, a new file or an unlink in it
// survive a crash.
Status fsync_directory(const std::string& dir);

// Creates <state_dir>/keys/<zone>/ (0700) if needed and returns its path.
Result<std::string> prepare_key_directory(const std::string& state_dir, const dns::Name& zone);
// A new key of `role`, written to a fresh file in `dir`.
Result<ZoneKey> generate_key(const std::string& dir, const dns::Name& zone, KeyRole role,
                             std::uint8_t algorithm, std::int64_t now);

// The zone's KSK and ZSK: read from its key directory, or generated with
// `algorithm` and stored when the directory holds no key at all. Refuses —
// with the file named — damaged files, a directory missing one of the two
// roles, and keys of another algorithm (an algorithm rollover is a
// lifecycle operation, not a config edit).
Result<ZoneKeys> load_or_create_keys(const std::string& state_dir, const dns::Name& zone,
                                     std::uint8_t algorithm, std::int64_t now);

}  // namespace satellite::modes
