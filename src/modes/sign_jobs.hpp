// What a whole signing pass (live.cpp) and an incremental one
// (live_changes.cpp) share: the RRsets to sign as jobs, signed across
// threads, each keeping the previous version's signature when its RRset is
// unchanged, signed by the same key and not due; and the denial records'
// building blocks.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "modes/keys.hpp"
#include "modes/live.hpp"
#include "util/result.hpp"
#include "zone/snapshot.hpp"

namespace satellite::modes::signing {

// One RRset to sign (or whose previous signature to keep).
struct Job {
    const std::uint8_t* owner;
    std::uint8_t owner_len;
    std::uint16_t type;
    std::uint32_t ttl;
    std::uint32_t key;  // index into ZoneKeys::keys
    std::vector<std::span<const std::uint8_t>> rdatas;  // sorted as a snapshot stores them
    // Result: where the RRSIG RDATA landed.
    std::uint32_t thread = 0;
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    bool made = false;
};

// Records a signer owns (RRSIG, NSEC, NSEC3, NSEC3PARAM, DNSKEY, CDS,
// CDNSKEY): whatever a primary sent of these is replaced by ours.
bool signer_type(std::uint16_t type);

// The signing keys of each role (indexes into ZoneKeys::keys).
struct SigningKeys {
    std::vector<std::uint32_t> ksks, zsks;
    static Result<SigningKeys> of(const ZoneKeys& keys);
    // DNSKEY, CDS and CDNSKEY are signed by the KSKs, the rest by the ZSKs.
    const std::vector<std::uint32_t>& for_type(std::uint16_t type) const;
};

struct Signatures {
    std::vector<std::vector<std::uint8_t>> buffers;  // per thread
    std::int64_t earliest = INT64_MAX;               // the earliest expiration among them
    std::size_t made = 0, kept = 0;
    std::span<const std::uint8_t> of(const Job& j) const { return {buffers[j.thread].data() + j.offset, j.length}; }
};

// Signs every job (threads: policy.threads, at most one per 64 jobs).
// `previous` (may be null) lends the signatures it may keep.
Result<Signatures> sign_jobs(std::vector<Job>& jobs, const dns::Name& origin, const ZoneKeys& keys,
                             const SigningKeys& roles, const LivePolicy& policy, const zone::Snapshot* previous,
                             std::int64_t now);

// The RDATAs of an RRset as a snapshot stores them (sorted).
std::vector<std::span<const std::uint8_t>> rdatas_of(const zone::Rrset& r);
bool rdata_less(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);
// Serial-arithmetic reading of a 32-bit RRSIG time near `now` (RFC 4034 §3.1.5).
inline std::int64_t rrsig_time(std::uint32_t v, std::int64_t now) {
    return now + static_cast<std::int32_t>(v - static_cast<std::uint32_t>(now));
}
// Signatures due before this are made again (refresh plus slack).
std::int64_t due_before(const LivePolicy& policy, std::int64_t now);

// The apex key records a live zone serves: DNSKEY (the published keys),
// CDS and CDNSKEY (RFC 7344 §3: the KSKs the parent should point at, a
// standby KSK among them; RFC 8078 §4: the delete request).
struct ApexKeySets {
    std::vector<std::vector<std::uint8_t>> dnskey, cds, cdnskey;
};
ApexKeySets apex_key_sets(const dns::Name& origin, const ZoneKeys& keys);

// RFC 4034 §4.1.2: window blocks of a sorted, duplicate-free type list.
void append_type_bitmap(const std::vector<std::uint16_t>& types, std::vector<std::uint8_t>& out);
std::string base32hex(const std::uint8_t* p, std::size_t n);
// NSEC3PARAM RDATA (RFC 5155 §4.2, flags 0) of a policy.
std::vector<std::uint8_t> nsec3param_rdata(const LivePolicy& policy);
// Compact denial's NSEC next name for a name (lower-cased) that exists
// (RFC 9824 §3, §3.4 at a delegation or for a name too long).
std::vector<std::uint8_t> compact_next(const std::vector<std::uint8_t>& lc, bool cut);

}  // namespace satellite::modes::signing
