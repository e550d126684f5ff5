// Query-time signing for compact denial of existence (RFC 9824): the NSEC
// records of names that do not exist, and the RRSIGs of answers synthesized
// from wildcards, made with the zone's ZSK when a query needs them. One
// OnlineSigner per worker thread (no locks): it owns the OpenSSL signing
// contexts, preallocated scratch space and a fixed-size cache, so repeated
// queries reuse a signature instead of signing again.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dns/dnssec.hpp"
#include "zone/snapshot.hpp"

namespace satellite::serve {

// What a cached online record is, beside its owner name.
enum class OnlineKind : std::uint8_t {
    NxName = 1,      // RFC 9824 §3.1: NSEC "RRSIG NSEC NXNAME" at a name that does not exist
    NoData = 2,      // RFC 9824 §3.3: NSEC with the types of the wildcard (or node) at a name
    Delegation = 3,  // RFC 9824 §3.4: NSEC at a delegation point (next name not below it)
    RrsetSig = 4,    // RFC 9824 §3.3: RRSIG over a wildcard-synthesized RRset at the name
};

// An online record ready to be written: NSEC RDATA (empty for RrsetSig) and
// the RRSIG RDATA over it. Valid until the next call on the same signer.
struct OnlineRecord {
    std::span<const std::uint8_t> nsec;
    std::span<const std::uint8_t> rrsig;
};

class OnlineSigner {
public:
    // `entries`: cache size (rounded up to a power of two, at least 2).
    explicit OnlineSigner(std::size_t entries = 2048);
    ~OnlineSigner();
    OnlineSigner(const OnlineSigner&) = delete;
    OnlineSigner& operator=(const OnlineSigner&) = delete;

    // The signed NSEC at `owner_lc` (a lower-cased wire name of `len`
    // octets) for `kind` NxName, NoData or Delegation. `types` lists the
    // RR types at the name for NoData and Delegation (NSEC and RRSIG are
    // added); it is ignored for NxName. False if the zone has no online key
    // or signing failed.
    bool nsec(const std::shared_ptr<const zone::Snapshot>& zone, const std::uint8_t* owner_lc,
              std::size_t len, OnlineKind kind, std::span<const std::uint16_t> types,
              std::uint32_t now, OnlineRecord& out);

    // The RRSIG over RRset `rrset` of `zone` as if it were owned by
    // `owner_lc` (labels = the owner's label count): a wildcard answer that
    // needs no proof that the name does not exist (RFC 9824 §3.3).
    bool rrset_signature(const std::shared_ptr<const zone::Snapshot>& zone,
                         const std::uint8_t* owner_lc, std::size_t len, const zone::Rrset& rrset,
                         std::uint32_t now, OnlineRecord& out);

    // The signing budget: at most `per_second` signatures a second for
    // queries it applies to (0: no budget). Past it nsec() and
    // rrset_signature() decline, declined() says so, and answer() sends the
    // answer truncated (TC=1) rather than signed: a random-subdomain flood
    // over UDP costs at most this much CPU per worker, and a real client
    // retries over TCP, where the budget does not apply.
    void set_budget(unsigned per_second) { budget_ = per_second; }
    // Before each query: whether the budget applies to it; clears declined().
    void apply_budget(bool applies) {
        budget_applies_ = applies;
        declined_ = false;
    }
    bool declined() const { return declined_; }

    // Counters, for tests and metrics.
    std::uint64_t signatures_made() const { return signed_; }
    std::uint64_t cache_hits() const { return hits_; }
    std::uint64_t budget_declines() const { return declines_; }

private:
    struct Entry;
    Entry* lookup(const std::shared_ptr<const zone::Snapshot>& zone, const std::uint8_t* lc,
                  std::size_t len, OnlineKind kind, std::uint16_t type, std::uint32_t now,
                  Entry** victim);
    dns::Signer* signer_for(const std::shared_ptr<const dns::SigningKey>& key);
    bool sign(const zone::Snapshot& zone, const dns::RrsetView& view, std::uint32_t ttl,
              std::uint32_t now);
    bool finish(const std::shared_ptr<const zone::Snapshot>& zone, const std::uint8_t* lc,
                std::size_t len, OnlineKind kind, std::uint16_t type, std::uint32_t now,
                Entry* victim, std::span<const std::uint8_t> nsec, OnlineRecord& out);

    std::unique_ptr<Entry[]> entries_;
    std::size_t mask_ = 0;  // entries are paired: index & ~1 and its neighbour
    static constexpr unsigned kSigners = 4;
    std::unique_ptr<dns::Signer> signers_[kSigners];
    unsigned next_signer_ = 0;
    dns::RrsetView view_;
    std::vector<std::uint8_t> scratch_;  // signed data
    std::vector<std::uint8_t> sig_;      // RRSIG RDATA being made
    std::vector<std::uint8_t> nsec_;     // NSEC RDATA of an uncached answer
    std::uint64_t signed_ = 0;
    std::uint64_t hits_ = 0;
    unsigned budget_ = 0;
    bool budget_applies_ = false;
    bool declined_ = false;
    std::uint32_t budget_second_ = 0;
    unsigned budget_used_ = 0;
    std::uint64_t declines_ = 0;
};

}  // namespace satellite::serve
