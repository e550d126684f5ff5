// An immutable zone version: nodes (owner names, including empty
// non-terminals) in canonical order, their RRsets with pre-encoded RDATA, a
// flat hash index for exact-name lookups, and precomputed links the query
// path needs (wildcard child, zone cuts, additional-section targets).
// Built once beside the served version, then published by pointer swap.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <utility>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dns/dnssec.hpp"
#include "dns/name.hpp"
#include "dns/records.hpp"
#include "dns/types.hpp"
#include "zone/paged.hpp"
#include "zone/update.hpp"
#include "util/result.hpp"

namespace satellite::zone {

inline constexpr std::uint32_t kNone = 0xffffffffu;

// Hash of a lower-cased wire name (used by both build and lookup).
std::uint64_t name_hash(const std::uint8_t* lc, std::size_t len);

// One RRset of a node: its RDATA sits in the node's own storage, at an
// offset from the Rrset itself, so an Rrset is valid wherever its node is.
struct Rrset {
    std::uint32_t data;   // offset from this Rrset: rr_count × ([u16 rdlen][rdata])
    std::uint32_t data_len;
    std::uint32_t ttl;
    std::uint32_t additional = 0;  // offset from this Rrset: additional_count node ids
    std::uint16_t additional_count = 0;
    std::uint16_t type;
    std::uint16_t rr_count;
    std::int16_t sigs = 0;  // distance (in Rrsets) to the RRSIGs covering this RRset; 0: none
    const std::uint8_t* rdata() const { return reinterpret_cast<const std::uint8_t*>(this) + data; }
};

// The immutable content of one name: its owner (as written and lower-cased),
// RRsets, the RRSIGs split by type covered, and the ids of its
// additional-section targets; one allocation, shared by every version in
// which the name did not change.
class NodeData {
public:
    std::uint32_t rrset_count() const { return rrsets_; }
    const Rrset* rrsets() const { return reinterpret_cast<const Rrset*>(this + 1); }
    const std::uint8_t* name() const {
        return reinterpret_cast<const std::uint8_t*>(additional_ids() + additional_);
    }
    const std::uint8_t* lc() const { return name() + name_len_; }
    std::uint8_t name_len() const { return name_len_; }
    // Earliest RRSIG expiration at this name (unix time read near the build;
    // 0: no RRSIG), for the signature-expiry guard.
    std::int64_t earliest_expiration() const { return earliest_; }
    std::uint32_t rrsig_count() const { return rrsig_count_; }

    void retain() const { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() const {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            this->~NodeData();
            ::operator delete(const_cast<NodeData*>(this));
        }
    }

private:
    friend class NodeWriter;
    NodeData() = default;
    const std::uint32_t* additional_ids() const {
        return reinterpret_cast<const std::uint32_t*>(rrsets() + rrsets_ + sigsets_);
    }
    mutable std::atomic<std::uint32_t> refs_{1};
    std::uint16_t rrsets_ = 0, sigsets_ = 0;
    std::uint32_t additional_ = 0;
    std::uint32_t rrsig_count_ = 0;
    std::int64_t earliest_ = 0;
    std::uint8_t name_len_ = 0;
};

// A counted reference to a NodeData.
class NodeRef {
public:
    NodeRef() = default;
    explicit NodeRef(const NodeData* adopt) : p_(adopt) {}
    NodeRef(const NodeRef& o) : p_(o.p_) {
        if (p_) p_->retain();
    }
    NodeRef(NodeRef&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
    NodeRef& operator=(NodeRef o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~NodeRef() {
        if (p_) p_->release();
    }
    const NodeData* get() const { return p_; }
    const NodeData* operator->() const { return p_; }
    const NodeData& operator*() const { return *p_; }

private:
    const NodeData* p_ = nullptr;
};

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
        // Not in this version: a name known to the version's lineage (once
        // present, or an additional-section target), kept so that node ids
        // stay stable; lookups and walks never see it.
        Absent = 64,
    };
    NodeRef data;
    std::uint32_t wildcard_child = kNone;  // node id of "*.<this>", if any
    std::uint16_t rrset_count = 0;
    std::uint16_t flags = 0;
    std::uint8_t name_len = 0;
    std::uint8_t labels = 0;
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
    const dns::PackedName& origin() const { return origin_; }
    // True if the lower-cased name is at or below the origin.
    bool contains(const std::uint8_t* lc, std::size_t len) const {
        const Node& a = node(apex_);  // its lower-cased name is the origin's
        return dns::wire_name::is_subdomain(lc, len, a.data->lc(), a.name_len);
    }
    std::uint32_t serial() const { return serial_; }
    std::size_t record_count() const { return record_count_; }

    // Exact lookup of a lower-cased wire name. Returns node id or kNone.
    std::uint32_t find(const std::uint8_t* lc, std::size_t len) const {
        std::uint32_t id = find_any(lc, len);
        return id != kNone && (node(id).flags & Node::Absent) ? kNone : id;
    }

    // Node ids are stable from one version to the next derived from it.
    const Node& node(std::uint32_t id) const { return nodes_[id]; }
    // Names in this version (empty non-terminals included).
    std::size_t node_count() const { return order_.size(); }
    // True when node ids are 0..node_count()-1 in canonical order (a version
    // built whole, not derived from another by apply_deltas).
    bool dense() const { return dense_; }
    // Calls f(id, node) for each name in canonical order.
    template <class F>
    void for_each_node(F&& f) const {
        for (auto p = order_.begin(); p != order_.end(); p = order_.next(p)) {
            const std::uint32_t id = order_.at(p);
            f(id, nodes_[id]);
        }
    }
    // A walk in canonical order that can pause (outgoing transfers).
    using Cursor = PagedSorted<std::uint32_t>::Pos;
    Cursor first() const { return order_.begin(); }
    bool at_end(Cursor c) const { return c == order_.end(); }
    std::uint32_t id_at(Cursor c) const { return order_.at(c); }
    Cursor next(Cursor c) const { return order_.next(c); }
    // Neighbours in canonical order, for a signer's walk to the names
    // beside a change: the first name after `lc` (a name of this version or
    // not), and a step back.
    Cursor after(const std::uint8_t* lc, std::size_t len) const;
    bool at_begin(Cursor c) const { return c == order_.begin(); }
    Cursor prev(Cursor c) const { return order_.prev(c); }
    Cursor end() const { return order_.end(); }
    // One past the highest node id of this version (Absent ids included).
    std::size_t id_limit() const { return nodes_.size(); }

    std::span<const Rrset> rrsets_of(const Node& n) const { return {n.data->rrsets(), n.rrset_count}; }
    // The RRset of `type` at node n, or nullptr.
    const Rrset* find_rrset(const Node& n, std::uint16_t type) const {
        const Rrset* r = n.data->rrsets();
        for (std::uint32_t i = 0; i < n.rrset_count; ++i) {
            if (r[i].type == type) return &r[i];
        }
        return nullptr;
    }
    const std::uint8_t* node_name(const Node& n) const { return n.data->name(); }
    const std::uint8_t* node_lc(const Node& n) const { return n.data->lc(); }
    // The ids of the in-zone names an RRset's RDATA points at (NS, MX, SRV
    // targets), in RDATA order; use those that additional_usable() accepts.
    std::span<const std::uint32_t> additional_nodes(const Rrset& r) const {
        return {reinterpret_cast<const std::uint32_t*>(reinterpret_cast<const std::uint8_t*>(&r) + r.additional),
                r.additional_count};
    }
    // RFC 1035 §3.3.11, §3.3.9; RFC 2782: a target in this version with an
    // address; glue below a cut serves NS only.
    bool additional_usable(const Rrset& r, std::uint32_t target) const {
        const Node& t = node(target);
        if (t.flags & Node::Absent) return false;
        if ((t.flags & Node::Occluded) && r.type != dns::type::NS) return false;
        return find_rrset(t, dns::type::A) || find_rrset(t, dns::type::AAAA);
    }

    std::uint32_t apex() const { return apex_; }

    // DNSSEC (RFC 4035 §3.1): the RRSIGs over an RRset, split by type covered.
    const Rrset* signatures(const Rrset& r) const { return r.sigs == 0 ? nullptr : &r + r.sigs; }
    bool has_nsec() const { return nsec_nodes_ > 0; }
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
    // The NSEC3 owners in hash order, for a signer's walk along the chain:
    // the first owner whose hash is above `h`, and steps from there.
    struct Nsec3Entry {
        Nsec3Hash hash;
        std::uint32_t id;
    };
    using Nsec3Pos = PagedSorted<Nsec3Entry>::Pos;
    Nsec3Pos nsec3_after(const Nsec3Hash& h) const;
    Nsec3Pos nsec3_begin() const { return nsec3_.begin(); }
    Nsec3Pos nsec3_end() const { return nsec3_.end(); }
    Nsec3Pos nsec3_next(Nsec3Pos p) const { return nsec3_.next(p); }
    Nsec3Pos nsec3_prev(Nsec3Pos p) const { return nsec3_.prev(p); }
    const Nsec3Entry& nsec3_at(Nsec3Pos p) const { return nsec3_.at(p); }
    // The last node at or before the name (lower-cased) in canonical order.
    std::uint32_t predecessor(const std::uint8_t* lc, std::size_t len) const;
    // The node whose NSEC covers (or matches) the name: the nearest node at
    // or before it that owns an NSEC, or kNone.
    std::uint32_t nsec_covering(const std::uint8_t* lc, std::size_t len) const;
    const Rrset& soa() const { return *soa_; }
    // RFC 2308 §3: TTL of the SOA in negative answers = min(SOA TTL, MINIMUM).
    std::uint32_t negative_ttl() const { return negative_ttl_; }
    // SOA timers (RFC 1035 §3.3.13), in seconds.
    std::uint32_t refresh() const { return refresh_; }
    std::uint32_t retry() const { return retry_; }
    std::uint32_t expire() const { return expire_; }

    // Set when this zone signs its denial at query time (RFC 9824).
    const OnlineSigning* online() const { return online_.get(); }

    // The node holding the earliest RRSIG expiration, or kNone (unsigned),
    // and the number of RRSIGs: kept per page, so a new version finds them
    // in O(pages changed).
    std::uint32_t earliest_signature_node() const;
    std::size_t rrsig_count() const { return rrsig_count_; }

    // All records in canonical order (for transfers out, dumps, IXFR).
    dns::RecordList to_records() const;
    // The records at the given nodes, in the order given.
    dns::RecordList records_at(std::span<const std::uint32_t> ids) const;

private:
    friend class SnapshotBuilder;
    friend class VersionFinisher;
    friend class ChangeApplier;
    friend Result<std::shared_ptr<const Snapshot>> build_snapshot(const dns::Name&, const dns::RecordList&,
                                                                  std::shared_ptr<const OnlineSigning>);
    std::uint32_t find_any(const std::uint8_t* lc, std::size_t len) const;
    std::shared_ptr<const OnlineSigning> online_;
    dns::PackedName origin_;
    std::uint32_t serial_ = 0;
    std::uint32_t negative_ttl_ = 0;
    std::uint32_t refresh_ = 0, retry_ = 0, expire_ = 0;
    std::uint32_t apex_ = 0;
    const Rrset* soa_ = nullptr;  // in the apex node's data
    std::size_t record_count_ = 0;
    std::size_t rrsig_count_ = 0;
    std::size_t nsec_nodes_ = 0;  // names owning an NSEC
    std::size_t absent_ = 0;      // ids of Absent nodes
    bool signed_ = false;
    bool dense_ = true;
    PagedArray<Node, 8> nodes_;              // by id
    PagedSorted<std::uint32_t> order_;       // present ids, canonical order
    // Per page of nodes_: the id with the earliest RRSIG expiration (kNone:
    // none); empty while no page holds one.
    std::vector<std::uint32_t> page_earliest_;
    PagedSorted<Nsec3Entry> nsec3_;
    bool nsec3_on_ = false;
    std::uint16_t nsec3_iterations_ = 0;
    std::vector<std::uint8_t> nsec3_salt_;
    // Open addressing over every id (Absent ones included): id + 1 (0 =
    // empty) and the upper half of the name's hash, so a probe touches a
    // node only when its tag matches. Ids are never removed.
    struct Slot {
        std::uint32_t node;
        std::uint32_t tag;
    };
    PagedArray<Slot, 9> table_;
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

// The version `prev` becomes with `changes` applied in order (RFC 1995
// differences, or a signer's re-signed RRsets), sharing every name the
// change does not touch: O(k log n) for k changed records. Refused exactly
// as build_snapshot would refuse the resulting records, and for a delete of
// a record the version does not have or an add of one it has (the caller
// falls back to a full transfer). `touched`, when given, receives the ids of
// the names whose records changed (in this version).
Result<std::shared_ptr<const Snapshot>> apply_changes(const Snapshot& prev, const std::vector<ZoneDelta>& changes,
                                                      std::vector<std::uint32_t>* touched = nullptr);

}  // namespace satellite::zone
