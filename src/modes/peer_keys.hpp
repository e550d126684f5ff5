// Multi-signer DNSSEC (RFC 8901 model 2; DESIGN.md §3 `multi-signer`): the
// other providers' public keys, published in our DNSKEY RRset so that a
// resolver holding either provider's DNSKEY RRset can validate the other's
// signatures, and named by our CDS/CDNSKEY when they are KSKs, so the
// parent's DS set covers every provider.
//
// Keys arrive through the API (`source` "api") or in the DNSKEY RRset of the
// primary's zone (`source` "primary", when the zone opts in). They are kept
// in <state_dir>/keys/<zone>/peer-keys and survive restarts. Every key is
// checked before it is taken: owner, protocol, flags, algorithm (the zone's
// own: RFC 4035 §2.2 wants every algorithm in the DNSKEY RRset to sign the
// whole zone) and a public key OpenSSL accepts.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "modes/keys.hpp"
#include "util/result.hpp"

namespace satellite::modes {

struct PeerKey {
    std::vector<std::uint8_t> dnskey;  // RDATA
    std::uint16_t tag = 0;
    std::string source;  // "api" | "primary"
    std::int64_t added_at = 0;
    std::uint16_t flags() const { return static_cast<std::uint16_t>(dnskey[0] << 8 | dnskey[1]); }
    std::uint8_t algorithm() const { return dnskey[3]; }
    bool is_ksk() const { return (flags() & 1) != 0; }  // the SEP bit
};

// Why `rdata` cannot be a peer key of a zone signed with `algorithm`, or
// nothing. `ours` are our own keys' RDATAs (a provider does not import
// itself).
// The most peer keys one zone publishes through the API (DESIGN.md §5).
inline constexpr std::size_t kMaxPeerKeys = 32;

Status check_peer_key(std::span<const std::uint8_t> rdata, int algorithm,
                      const std::vector<std::vector<std::uint8_t>>& ours);

// One DNSKEY record in presentation format ("owner TTL IN DNSKEY 256 3 13
// base64"; TTL and class optional) → its RDATA, checked as above and
// against the owner `zone`.
Result<std::vector<std::uint8_t>> parse_peer_dnskey(const std::string& text, const dns::Name& zone,
                                                    int algorithm,
                                                    const std::vector<std::vector<std::uint8_t>>& ours);

// "zone. TTL IN DNSKEY flags protocol algorithm base64".
std::string dnskey_text(const dns::Name& zone, std::uint32_t ttl, std::span<const std::uint8_t> rdata);

class PeerKeys {
public:
    // Reads <state_dir>/keys/<zone>/peer-keys; none when the file is absent.
    static Result<PeerKeys> load(const std::string& state_dir, const dns::Name& zone);
    Status save() const;

    const std::vector<PeerKey>& keys() const { return keys_; }

    // Adds checked RDATAs; a key already held is not added again (nor its
    // source changed). Returns how many were new.
    std::size_t add(const std::vector<std::vector<std::uint8_t>>& rdatas, const std::string& source,
                    std::int64_t now);
    // Removes the keys with this tag, or this exact RDATA; returns how many.
    std::size_t remove_tag(std::uint16_t tag);
    std::size_t remove(std::span<const std::uint8_t> rdata);
    // The primary's DNSKEY RRset, without our own keys, is the set of
    // "primary" keys from now on (keys added through the API stay). True
    // when that changed anything.
    bool set_from_primary(const std::vector<std::vector<std::uint8_t>>& rdatas, std::int64_t now);

    // Our keys plus the peers' as the signer takes them: peer keys are
    // published (and KSKs named by CDS/CDNSKEY) but never sign.
    void add_to(ZoneKeys& keys) const;

private:
    std::string state_dir_;
    dns::Name zone_;
    std::string path_;
    std::vector<PeerKey> keys_;
};

}  // namespace satellite::modes
