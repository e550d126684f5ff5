// An immutable zone version: nodes (owner names, including empty
// non-terminals) in canonical order, their RRsets with pre-encoded RDATA, a
// flat hash index for exact-name lookups, and precomputed links the query
// path needs (wildcard child, zone cuts, additional-section targets).
// Built once beside the served version, then published by pointer swap.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dns/dnssec.hpp"
#include "dns/name.hpp"
#include "dns/records.hpp"
#include "util/result.hpp"

namespace satellite::zone {

inline constexpr std::uint32_t kNone = 0xffffffffu;

// Hash of a lower-cased wire name (used by both build and lookup).
std::uint64_t name_hash(const std::uint8_t* lc, std::size_t len);

struct Node {
    enum Flags : std::uint16_t {
        Apex = 1,
        Cut = 2,        // NS below the apex: a delegation point
        Dname = 4,      // owns a DNAME
        Occluded = 8,   // at or below a cut/DNAME owner, strictly below it
        Wildcard = 16,  // first label is '*'
        // Holds only NSEC3 (and its RRSIGs): a hashed owner, not a name of
        // the zone (RFC 5155 §7.2.8) — lookups treat it as absent.
        Nsec3Only = 32,
    };
    std::uint32_t name;        // offset in data(): wire name as written
    std::uint32_t name_lc;     // offset in data(): lower-cased wire name
    std::uint32_t first_rrset;
    std::uint32_t wildcard_child = kNone;  // node index of "*.<this>", if any
    std::uint16_t rrset_count = 0;
    std::uint16_t flags = 0;
    std::uint8_t name_len;
    std::uint8_t labels;
};

struct Rrset {
    std::uint32_t data;   // offset in data(): rr_count × ([u16 rdlen][rdata])
    std::uint32_t data_len;
    std::uint32_t ttl;
    std::uint32_t additional = 0;  // index into additional_nodes()
    std::uint16_t additional_count = 0;
    std::uint16_t type;
    std::uint16_t rr_count;
    std::uint32_t sigs = kNone;  // index into signatures(): the RRSIGs covering this RRset
};

// Compact denial of existence (RFC 9824): what the query path needs to
// sign the NSEC records of names that do not exist, at query time. The
// snapshot of such a zone holds, pre-signed, an NSEC at every name that
// exists (next name "\000.<owner>", its types plus NSEC and RRSIG),
// empty non-terminals and delegations included.
struct OnlineSigning {
    std::shared_ptr<const dns::SigningKey> zsk;
    std::uint16_t key_tag = 0;
    std::uint32_t validity = 0;   // seconds an online signature is valid from now
    std::uint32_t inception_offset = 3600;  // inception backdated this much
    std::uint32_t nsec_ttl = 0;   // RFC 9077: min(SOA TTL, SOA MINIMUM)
};

class Snapshot {
public:
    const dns::Name& origin() const { return origin_; }
    // True if the lower-cased name is at or below the origin.
    bool contains(const std::uint8_t* lc, std::size_t len) const {
        const Node& a = nodes_[apex_];  // its lower-cased name is the origin's
        return dns::wire_name::is_subdomain(lc, len, data_.data() + a.name_lc, a.name_len);
    }
    std::uint32_t serial() const { return serial_; }
    std::size_t record_count() const { return record_count_; }

    // Exact lookup of a lower-cased wire name. Returns node index or kNone.
    std::uint32_t find(const std::uint8_t* lc, std::size_t len) const;

    const Node& node(std::uint32_t i) const { return nodes_[i]; }
    std::size_t node_count() const { return nodes_.size(); }
    const Rrset& rrset(std::uint32_t i) const { return rrsets_[i]; }
    std::span<const Rrset> rrsets_of(const Node& n) const {
        return {rrsets_.data() + n.first_rrset, n.rrset_count};
    }
    // The RRset of `type` at node n, or nullptr.
    const Rrset* find_rrset(const Node& n, std::uint16_t type) const;
    const std::uint8_t* data() const { return data_.data(); }
    const std::uint8_t* node_name(const Node& n) const { return data_.data() + n.name; }
    std::span<const std::uint32_t> additional_nodes(const Rrset& r) const {
        return {additional_.data() + r.additional, r.additional_count};
    }

    std::uint32_t apex() const { return apex_; }

    // DNSSEC (RFC 4035 §3.1): the RRSIGs over an RRset, split by type covered.
    const Rrset* signatures(const Rrset& r) const {
        return r.sigs == kNone ? nullptr : &sigsets_[r.sigs];
    }
    bool has_nsec() const { return has_nsec_; }
    bool is_signed() const { return signed_; }  // a DNSKEY RRset at the apex

    // NSEC3 (RFC 5155): parameters from the apex NSEC3PARAM and the NSEC3
    // owners sorted by hash, for matching and covering proofs.
    static constexpr std::size_t kNsec3HashLen = 20;  // SHA-1
    using Nsec3Hash = std::array<std::uint8_t, kNsec3HashLen>;
    bool has_nsec3() const { return !nsec3_.empty(); }
    // The NSEC3 hash of a lower-cased wire name with this zone's parameters.
    Nsec3Hash nsec3_hash(const std::uint8_t* lc, std::size_t len) const;
    // Node of the NSEC3 whose hash equals `h`, or kNone.
    std::uint32_t nsec3_match(const Nsec3Hash& h) const;
    // Node of the NSEC3 whose interval covers `h` (hash order is circular).
    std::uint32_t nsec3_cover(const Nsec3Hash& h) const;
    // The last node at or before the name (lower-cased) in canonical order.
    std::uint32_t predecessor(const std::uint8_t* lc, std::size_t len) const;
    // The node whose NSEC covers (or matches) node i: the nearest node at or
    // before it that owns an NSEC, or kNone.
    std::uint32_t nsec_owner(std::uint32_t i) const {
        return i == kNone ? kNone : nsec_before_[i];
    }
    const Rrset& soa() const { return rrsets_[soa_rrset_]; }
    // RFC 2308 §3: TTL of the SOA in negative answers = min(SOA TTL, MINIMUM).
    std::uint32_t negative_ttl() const { return negative_ttl_; }
    // SOA timers (RFC 1035 §3.3.13), in seconds.
    std::uint32_t refresh() const { return refresh_; }
    std::uint32_t retry() const { return retry_; }
    std::uint32_t expire() const { return expire_; }

    // Set when this zone signs its denial at query time (RFC 9824).
    const OnlineSigning* online() const { return online_.get(); }

    // All records in canonical order (for transfers out, dumps, IXFR).
    dns::RecordList to_records() const;

private:
    friend class SnapshotBuilder;
    friend Result<std::shared_ptr<const Snapshot>> build_snapshot(
        const dns::Name&, const dns::RecordList&, std::shared_ptr<const OnlineSigning>);
    std::shared_ptr<const OnlineSigning> online_;
    dns::Name origin_;
    std::uint32_t serial_ = 0;
    std::uint32_t negative_ttl_ = 0;
    std::uint32_t refresh_ = 0, retry_ = 0, expire_ = 0;
    std::uint32_t apex_ = 0;
    std::uint32_t soa_rrset_ = 0;
    std::size_t record_count_ = 0;
    std::vector<Node> nodes_;
    std::vector<Rrset> rrsets_;
    std::vector<std::uint32_t> additional_;
    std::vector<Rrset> sigsets_;
    std::vector<std::uint32_t> nsec_before_;
    bool has_nsec_ = false;
    bool signed_ = false;
    std::vector<std::pair<Nsec3Hash, std::uint32_t>> nsec3_;
    std::uint16_t nsec3_iterations_ = 0;
    std::vector<std::uint8_t> nsec3_salt_;
    std::vector<std::uint8_t> data_;
    // Open addressing: node index + 1 (0 = empty) and the upper half of the
    // name's hash, so a probe touches a node only when its tag matches.
    struct Slot {
        std::uint32_t node;
        std::uint32_t tag;
    };
    std::vector<Slot> table_;
    std::uint64_t mask_ = 0;
};

// Builds a snapshot of the zone at `origin` from `records`. Refuses, with a
// message naming the record, anything a server must not serve: records
// outside the zone, class other than IN, malformed RDATA, no SOA or several
// at the apex, no apex NS, CNAME beside other data (RFC 2181 §10.1), more
// than one CNAME or DNAME at a name.
Result<std::shared_ptr<const Snapshot>> build_snapshot(
    const dns::Name& origin, const dns::RecordList& records,
    std::shared_ptr<const OnlineSigning> online = nullptr);

}  // namespace satellite::zone
