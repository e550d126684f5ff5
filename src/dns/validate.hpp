// A DNSSEC validator for one job: a parent's answer to "<child> DS", checked from a trust
// anchor for the parent (RFC 4035 §5, RFC 5155 §8): the parent's DNSKEY RRset from the
// anchor, then the DS RRset or the proof there is none with those keys. Pure; no I/O.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "dns/name.hpp"
#include "util/result.hpp"

namespace satellite::dns {

// One resource record of a response as received. RDATA is the wire RDATA
// (DNSSEC types carry uncompressed names, RFC 4034 §3.1.7, §4.1.1).
struct WireRecord {
    std::vector<std::uint8_t> owner;  // wire form, any case
    std::uint16_t type = 0;
    std::uint16_t rclass = 1;
    std::uint32_t ttl = 0;
    std::vector<std::uint8_t> rdata;
};
struct ResponseRecords {
    unsigned rcode = 0;  // 0 NOERROR, 3 NXDOMAIN
    std::vector<WireRecord> answer, authority;
};
// A trust anchor for one zone, as unbound's trust-anchor lines: DS and/or DNSKEY RDATAs.
struct TrustAnchor {
    Name zone;
    std::vector<std::vector<std::uint8_t>> ds;
    std::vector<std::vector<std::uint8_t>> dnskey;
};

// Adds one line "zone. [TTL] [IN] DS <tag> <alg> <digest type> <hex>" or "zone. [TTL] [IN] DNSKEY
// <flags> 3 <alg> <base64>". The first line sets a still-root anchor.zone; others must match it.
// Errors: "trust anchor \"<line>\": <why>".
Status add_trust_anchor(TrustAnchor& anchor, std::string_view line);

// The zone's DNSKEY RRset from an answer to "<zone> DNSKEY": valid when a zone key (not revoked,
// RFC 5011) that the anchor names (RFC 4034 §5.2) signs it, within the RRSIG's validity window
// (RFC 4035 §5.3.1). Returns all its DNSKEY RDATAs (the ZSKs sign the rest of the zone).
Result<std::vector<std::vector<std::uint8_t>>> validated_dnskeys(const TrustAnchor& anchor,
                                                                const ResponseRecords& response,
                                                                std::int64_t now);

// What a parent's answer to "<child> DS" proves, checked with the parent's validated DNSKEYs.
struct DsProof {
    bool present = false;                       // a signed DS RRset at child
    std::vector<std::vector<std::uint8_t>> ds;  // its RDATAs when present
};

// present: the DS RRset at `child`, signed by `parent` with one of `keys`, valid at `now`; one
// that does not validate is an error, never a reason to look for a denial.
// absent: a signed NSEC (RFC 4035 §5.4) or NSEC3 (RFC 5155 §8, SHA-1; opt-out §8.6) proof of no DS.
Result<DsProof> validated_ds(const Name& child, const Name& parent,
                             const std::vector<std::vector<std::uint8_t>>& keys,
                             const ResponseRecords& response, std::int64_t now);

}  // namespace satellite::dns
