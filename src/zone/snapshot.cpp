// Zone versions: validate records, group them into nodes and RRsets, add
// empty non-terminals, and precompute every link the query path follows so
// that answering a query is lookups and copies only. A version is built
// whole (build_snapshot) or derived from the one before by a change
// (apply_changes), which copies only the pages the change touches.
#include "zone/snapshot.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <unordered_map>

#include "dns/dnssec.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace satellite::zone {

using dns::load16;
using dns::load32;
namespace wn = dns::wire_name;

std::uint64_t name_hash(const std::uint8_t* lc, std::size_t len) {
    // FNV-1a over 8-byte words, then a final mix: names are short.
    std::uint64_t h = 0xcbf29ce484222325ull ^ len;
    std::size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, lc + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    std::uint64_t tail = 0;
    std::memcpy(&tail, lc + i, len - i);
    h = (h ^ tail) * 0x100000001b3ull;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}

std::uint32_t Snapshot::find_any(const std::uint8_t* lc, std::size_t len) const {
    if (table_.size() == 0) return kNone;
    const std::uint64_t h = name_hash(lc, len);
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    std::uint64_t i = h & mask_;
    for (;;) {
        const Slot slot = table_[i];
        if (slot.node == 0) return kNone;
        if (slot.tag == tag) {
            const Node& n = nodes_[slot.node - 1];
            if (n.name_len == len && std::memcmp(n.data->lc(), lc, len) == 0) return slot.node - 1;
        }
        i = (i + 1) & mask_;
    }
}

std::uint32_t Snapshot::predecessor(const std::uint8_t* lc, std::size_t len) const {
    auto p = order_.partition([&](std::uint32_t id) {
        const Node& n = nodes_[id];
        return wn::canonical_compare(n.data->lc(), n.name_len, lc, len) <= 0;
    });
    if (p == order_.begin()) return kNone;
    return order_.at(order_.prev(p));
}

Snapshot::Cursor Snapshot::after(const std::uint8_t* lc, std::size_t len) const {
    return order_.partition([&](std::uint32_t id) {
        const Node& n = nodes_[id];
        return wn::canonical_compare(n.data->lc(), n.name_len, lc, len) <= 0;
    });
}

Snapshot::Nsec3Pos Snapshot::nsec3_after(const Nsec3Hash& h) const {
    return nsec3_.partition([&](const Nsec3Entry& e) { return !(h < e.hash); });
}

std::uint32_t Snapshot::nsec_covering(const std::uint8_t* lc, std::size_t len) const {
    if (nsec_nodes_ == 0) return kNone;
    auto p = order_.partition([&](std::uint32_t id) {
        const Node& n = nodes_[id];
        return wn::canonical_compare(n.data->lc(), n.name_len, lc, len) <= 0;
    });
    // Back from the predecessor to the nearest name that owns an NSEC
    // (names below a cut and empty non-terminals own none).
    while (p != order_.begin()) {
        p = order_.prev(p);
        const std::uint32_t id = order_.at(p);
        if (find_rrset(nodes_[id], dns::type::NSEC)) return id;
    }
    return kNone;
}

Snapshot::Nsec3Hash Snapshot::nsec3_hash(const std::uint8_t* lc, std::size_t len) const {
    return dns::nsec3_hash(lc, len, nsec3_salt_, nsec3_iterations_);
}

std::uint32_t Snapshot::nsec3_match(const Nsec3Hash& h) const {
    auto p = nsec3_.partition([&](const Nsec3Entry& e) { return e.hash < h; });
    return p != nsec3_.end() && nsec3_.at(p).hash == h ? nsec3_.at(p).id : kNone;
}

std::uint32_t Snapshot::nsec3_cover(const Nsec3Hash& h) const {
    if (nsec3_.empty()) return kNone;
    auto p = nsec3_.partition([&](const Nsec3Entry& e) { return !(h < e.hash); });
    // The last owner hash below h; before the first, the last one (wrap).
    return p == nsec3_.begin() ? nsec3_.back().id : nsec3_.at(nsec3_.prev(p)).id;
}

std::uint32_t Snapshot::earliest_signature_node() const {
    std::uint32_t best = kNone;
    std::int64_t at = 0;
    for (std::uint32_t id : page_earliest_) {
        if (id == kNone) continue;
        const std::int64_t e = nodes_[id].data->earliest_expiration();
        if (best == kNone || e < at) {
            best = id;
            at = e;
        }
    }
    return best;
}

namespace {

// Appends the records of one node, each RRSIG with the TTL of the RRset it
// covers (RFC 4034 §3: the node keeps its RRSIGs as one set, lowest TTL).
void add_node_records(const Snapshot& s, const Node& n, dns::RecordList& out) {
    for (const Rrset& r : s.rrsets_of(n)) {
        const std::uint8_t* p = r.rdata();
        for (std::uint16_t k = 0; k < r.rr_count; ++k) {
            std::uint16_t len = load16(p);
            std::uint32_t ttl = r.ttl;
            if (r.type == dns::type::RRSIG && len >= 2) {
                if (const Rrset* covered = s.find_rrset(n, load16(p + 2))) ttl = covered->ttl;
            }
            out.add({s.node_name(n), n.name_len}, r.type, dns::rrclass::IN, ttl, {p + 2, len});
            p += 2 + len;
        }
    }
}

}  // namespace

dns::RecordList Snapshot::to_records() const {
    dns::RecordList out;
    out.reserve(record_count_, record_count_ * 48);
    for_each_node([&](std::uint32_t, const Node& n) { add_node_records(*this, n, out); });
    return out;
}

dns::RecordList Snapshot::records_at(std::span<const std::uint32_t> ids) const {
    dns::RecordList out;
    for (std::uint32_t id : ids) {
        const Node& n = nodes_[id];
        if (!(n.flags & Node::Absent)) add_node_records(*this, n, out);
    }
    return out;
}

namespace {

std::string record_text(const dns::RecordList& recs, const dns::RecordRef& r) {
    return wn::to_string(recs.owner(r)) + " " + dns::type_to_string(r.type);
}

constexpr std::size_t kMaxRecords = 0x7fffffffu;

// One record of a name while its node is made.
struct OwnerRecord {
    std::uint16_t type;
    std::uint32_t ttl;
    std::span<const std::uint8_t> rdata;
};

bool rdata_less(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    int cmp = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
    return cmp != 0 ? cmp < 0 : a.size() < b.size();
}

// The record-level rules of build_snapshot.
Status check_record(const dns::RecordList& recs, const dns::RecordRef& r, const dns::Name& origin,
                    const dns::Name& olc) {
    if (r.rclass != dns::rrclass::IN) {
        return make_error(record_text(recs, r) + ": class " + std::to_string(r.rclass) + " is not IN");
    }
    if (!wn::is_subdomain(recs.owner(r), r.owner_len, olc.data(), olc.size())) {
        return make_error(record_text(recs, r) + ": owner is outside the zone " + origin.to_string());
    }
    if ((r.type >= 128 && r.type <= 255) || r.type == dns::type::OPT || r.type == 0) {
        return make_error(record_text(recs, r) + ": meta type is not zone data");
    }
    if (!dns::rdata_well_formed(r.type, recs.rdata(r))) return make_error(record_text(recs, r) + ": malformed RDATA");
    return {};
}

}  // namespace

// Lays out one node's data in a single allocation.
class NodeWriter {
    struct Set {
        std::uint16_t type;
        std::uint32_t ttl;
        std::size_t first, count;  // in keep
    };
    struct SigSet {
        std::size_t target;        // index in sets
        std::size_t first, count;  // in sig_recs
    };
    struct Scratch {
        std::vector<std::uint32_t> keep;
        std::vector<Set> sets;
        std::vector<SigSet> sigsets;
        std::vector<std::uint32_t> sig_recs;
        std::vector<std::uint32_t> targets;
        std::vector<std::pair<std::uint32_t, std::uint32_t>> target_range;
        void clear() {
            keep.clear();
            sets.clear();
            sigsets.clear();
            sig_recs.clear();
            targets.clear();
        }
    };

public:
    // A node that holds only its name (empty non-terminal, or Absent).
    static NodeRef name_only(const std::uint8_t* name, const std::uint8_t* lc, std::size_t len) {
        void* mem = ::operator new(sizeof(NodeData) + 2 * len);
        auto* d = new (mem) NodeData();
        d->name_len_ = static_cast<std::uint8_t>(len);
        std::memcpy(const_cast<std::uint8_t*>(d->name()), name, len);
        std::memcpy(const_cast<std::uint8_t*>(d->lc()), lc, len);
        return NodeRef(d);
    }

    // The node of one name from its records (sorted here; duplicates
    // dropped, one TTL per RRset: the lowest, RFC 2181 §5). `id_for` gives
    // the id of an in-zone additional-section target.
    template <class IdFor>
    static Result<NodeRef> make(const std::uint8_t* name, const std::uint8_t* lc, std::size_t len,
                                std::vector<OwnerRecord>& recs, const dns::Name& olc, std::int64_t now,
                                IdFor&& id_for) {
        std::sort(recs.begin(), recs.end(), [](const OwnerRecord& a, const OwnerRecord& b) {
            return a.type != b.type ? a.type < b.type : rdata_less(a.rdata, b.rdata);
        });
        // Scratch kept per thread: a whole build makes millions of nodes.
        thread_local Scratch scratch;
        scratch.clear();
        auto& keep = scratch.keep;  // indexes into recs, without duplicates
        auto& sets = scratch.sets;
        for (std::size_t i = 0; i < recs.size();) {
            const std::uint16_t type = recs[i].type;
            Set set{type, recs[i].ttl, keep.size(), 0};
            for (; i < recs.size() && recs[i].type == type; ++i) {
                if (set.count > 0 && recs[i].rdata.size() == recs[keep.back()].rdata.size() &&
                    std::memcmp(recs[i].rdata.data(), recs[keep.back()].rdata.data(), recs[i].rdata.size()) == 0) {
                    continue;  // duplicate record (RFC 2181 §5)
                }
                if (set.count == 0xffff) {  // counts are 16-bit, as ANCOUNT is
                    return make_error(wn::to_string(name) + " " + dns::type_to_string(type) +
                                      ": more than 65535 records in one RRset");
                }
                set.ttl = std::min(set.ttl, recs[i].ttl);
                keep.push_back(static_cast<std::uint32_t>(i));
                ++set.count;
            }
            sets.push_back(set);
        }
        if (sets.size() > 16000) return make_error(wn::to_string(name) + ": too many RRsets at one name");
        // RRSIGs split by type covered (RFC 4035 §3.1), for each other RRset.
        const Set* all_sigs = nullptr;
        for (const Set& st : sets) {
            if (st.type == dns::type::RRSIG) all_sigs = &st;
        }
        auto& sigsets = scratch.sigsets;
        auto& sig_recs = scratch.sig_recs;
        std::size_t bytes = 2 * len;
        for (const Set& st : sets) {
            for (std::size_t k = 0; k < st.count; ++k) bytes += 2 + recs[keep[st.first + k]].rdata.size();
        }
        std::uint32_t rrsig_count = 0;
        std::int64_t earliest = 0;
        if (all_sigs) {
            for (std::size_t t = 0; t < sets.size(); ++t) {
                if (sets[t].type == dns::type::RRSIG) continue;
                SigSet ss{t, sig_recs.size(), 0};
                for (std::size_t k = 0; k < all_sigs->count; ++k) {
                    const auto& rd = recs[keep[all_sigs->first + k]].rdata;
                    if (rd.size() >= 2 && load16(rd.data()) == sets[t].type) {
                        sig_recs.push_back(keep[all_sigs->first + k]);
                        ++ss.count;
                        bytes += 2 + rd.size();
                    }
                }
                if (ss.count > 0) sigsets.push_back(ss);
            }
            for (std::size_t k = 0; k < all_sigs->count; ++k) {
                const auto& rd = recs[keep[all_sigs->first + k]].rdata;
                if (rd.size() < 18) continue;
                ++rrsig_count;
                const std::int64_t e = now + static_cast<std::int32_t>(load32(rd.data() + 8) - static_cast<std::uint32_t>(now));
                if (earliest == 0 || e < earliest) earliest = e;
            }
        }
        // Additional-section targets (RFC 1035 §3.3.11, §3.3.9; RFC 2782).
        auto& targets = scratch.targets;
        auto& target_range = scratch.target_range;
        target_range.assign(sets.size(), {0, 0});
        for (std::size_t t = 0; t < sets.size(); ++t) {
            const int toff = dns::additional_target_offset(sets[t].type);
            if (toff < 0) continue;
            const auto first = static_cast<std::uint32_t>(targets.size());
            for (std::size_t k = 0; k < sets[t].count; ++k) {
                const auto& rd = recs[keep[sets[t].first + k]].rdata;
                const std::uint8_t* target = rd.data() + toff;
                const std::size_t tlen = wn::length(target, rd.size() - toff);
                std::uint8_t tlc[dns::kMaxNameLen];
                wn::lower_copy(target, tlen, tlc);
                if (!wn::is_subdomain(tlc, tlen, olc.data(), olc.size())) continue;
                const std::uint32_t id = id_for(target, tlc, tlen);
                if (std::find(targets.begin() + first, targets.end(), id) == targets.end()) targets.push_back(id);
            }
            target_range[t] = {first, static_cast<std::uint32_t>(targets.size()) - first};
        }
        if (targets.size() > 0xffff) return make_error(wn::to_string(name) + ": too many additional-section targets");

        const std::size_t nsets = sets.size() + sigsets.size();
        void* mem = ::operator new(sizeof(NodeData) + nsets * sizeof(Rrset) + targets.size() * 4 + bytes);
        auto* d = new (mem) NodeData();
        d->rrsets_ = static_cast<std::uint16_t>(sets.size());
        d->sigsets_ = static_cast<std::uint16_t>(sigsets.size());
        d->additional_ = static_cast<std::uint32_t>(targets.size());
        d->name_len_ = static_cast<std::uint8_t>(len);
        d->rrsig_count_ = rrsig_count;
        d->earliest_ = earliest;
        NodeRef ref(d);
        auto* rs = const_cast<Rrset*>(d->rrsets());
        auto* ids = const_cast<std::uint32_t*>(d->additional_ids());
        if (!targets.empty()) std::memcpy(ids, targets.data(), targets.size() * 4);
        auto* name_at = const_cast<std::uint8_t*>(d->name());
        std::memcpy(name_at, name, len);
        std::memcpy(name_at + len, lc, len);
        std::uint8_t* out = name_at + 2 * len;
        auto put = [&](Rrset& r, std::uint16_t type, std::uint32_t ttl, auto&& each) {
            r = Rrset{};
            r.type = type;
            r.ttl = ttl;
            r.data = static_cast<std::uint32_t>(out - reinterpret_cast<std::uint8_t*>(&r));
            const std::uint8_t* start = out;
            each([&](std::span<const std::uint8_t> rd) {
                *out++ = static_cast<std::uint8_t>(rd.size() >> 8);
                *out++ = static_cast<std::uint8_t>(rd.size());
                if (!rd.empty()) std::memcpy(out, rd.data(), rd.size());
                out += rd.size();
                ++r.rr_count;
            });
            r.data_len = static_cast<std::uint32_t>(out - start);
        };
        for (std::size_t t = 0; t < sets.size(); ++t) {
            put(rs[t], sets[t].type, sets[t].ttl, [&](auto&& emit) {
                for (std::size_t k = 0; k < sets[t].count; ++k) emit(recs[keep[sets[t].first + k]].rdata);
            });
            if (target_range[t].second > 0) {
                rs[t].additional = static_cast<std::uint32_t>(reinterpret_cast<std::uint8_t*>(ids + target_range[t].first) -
                                                              reinterpret_cast<std::uint8_t*>(&rs[t]));
                rs[t].additional_count = static_cast<std::uint16_t>(target_range[t].second);
            }
        }
        for (std::size_t k = 0; k < sigsets.size(); ++k) {
            Rrset& sig = rs[sets.size() + k];
            const std::size_t t = sigsets[k].target;
            // RFC 4034 §3: an RRSIG's TTL is its RRset's.
            put(sig, dns::type::RRSIG, sets[t].ttl, [&](auto&& emit) {
                for (std::size_t i = 0; i < sigsets[k].count; ++i) emit(recs[sig_recs[sigsets[k].first + i]].rdata);
            });
            rs[t].sigs = static_cast<std::int16_t>(sets.size() + k - t);
        }
        return ref;
    }
};

// Index maintenance, shared by the whole build and by changes.
class SnapshotBuilder {
public:
    explicit SnapshotBuilder(Snapshot& s) : s_(s) {}

    // A new id for a name; present nodes also enter the canonical order
    // (the caller places them).
    std::uint32_t add_id(Node n) {
        if ((s_.nodes_.size() + 2) * 2 > s_.table_.size()) rehash(std::max<std::size_t>(16, s_.table_.size() * 2));
        const auto id = static_cast<std::uint32_t>(s_.nodes_.size());
        if (n.flags & Node::Absent) ++s_.absent_;
        s_.nodes_.push_back(n);
        insert(id);
        return id;
    }

    // Every id again, in a table of `capacity` slots (built flat, then paged).
    void rehash(std::size_t capacity) {
        std::vector<Snapshot::Slot> flat(capacity, Snapshot::Slot{0, 0});
        const std::uint64_t mask = capacity - 1;
        for (std::uint32_t id = 0; id < s_.nodes_.size(); ++id) {
            const Node& n = s_.nodes_[id];
            const std::uint64_t h = name_hash(n.data->lc(), n.name_len);
            std::uint64_t i = h & mask;
            while (flat[i].node != 0) i = (i + 1) & mask;
            flat[i] = Snapshot::Slot{id + 1, static_cast<std::uint32_t>(h >> 32)};
        }
        s_.table_.assign(flat);
        s_.mask_ = mask;
    }

    // A whole build: the nodes in id order, then the table once.
    void add_all(std::vector<Node>&& nodes, std::size_t capacity) {
        for (auto& n : nodes) {
            if (n.flags & Node::Absent) ++s_.absent_;
        }
        s_.nodes_.assign(nodes);
        rehash(capacity);
    }

    // The position at which a name goes in the canonical order.
    Snapshot::Cursor order_position(const std::uint8_t* lc, std::size_t len) const {
        return s_.order_.partition([&](std::uint32_t id) {
            const Node& n = s_.nodes_[id];
            return wn::canonical_compare(n.data->lc(), n.name_len, lc, len) < 0;
        });
    }

private:
    void insert(std::uint32_t id) {
        const Node& n = s_.nodes_[id];
        const std::uint64_t h = name_hash(n.data->lc(), n.name_len);
        std::uint64_t i = h & s_.mask_;
        while (s_.table_[i].node != 0) i = (i + 1) & s_.mask_;
        s_.table_.mutate(i) = Snapshot::Slot{id + 1, static_cast<std::uint32_t>(h >> 32)};
    }
    Snapshot& s_;
};

namespace {

// Flags a node's own data decides, and the rules of one node (the whole
// build and a change apply the same ones).
Status node_rules(Node& nd, bool is_apex, const dns::Name& origin) {
    const NodeData& d = *nd.data;
    auto where = [&] { return wn::to_string(d.name()); };
    bool has_cname = false, has_other = false, has_ns = false, has_soa = false;
    bool nsec3_only = !is_apex && nd.rrset_count > 0, has_nsec3 = false;
    nd.flags &= static_cast<std::uint16_t>(Node::Occluded);
    for (std::uint32_t i = 0; i < nd.rrset_count; ++i) {
        const Rrset& r = d.rrsets()[i];
        switch (r.type) {
            case dns::type::CNAME:
                has_cname = true;
                if (r.rr_count > 1) return make_error(where() + ": more than one CNAME record");
                break;
            case dns::type::DNAME:
                nd.flags |= Node::Dname;
                if (r.rr_count > 1) return make_error(where() + ": more than one DNAME record");
                has_other = true;
                break;
            case dns::type::NS:
                has_ns = true;
                has_other = true;
                break;
            case dns::type::RRSIG:
            case dns::type::NSEC:
                break;  // may sit beside a CNAME (RFC 4035 §2.5)
            default:
                has_other = true;
        }
        if (r.type == dns::type::SOA) has_soa = true;
        if (r.type == dns::type::NSEC3) has_nsec3 = true;
        nsec3_only &= r.type == dns::type::NSEC3 || r.type == dns::type::RRSIG;
    }
    if (nsec3_only && has_nsec3) nd.flags |= Node::Nsec3Only;
    if (has_cname && has_other) return make_error(where() + ": CNAME and other data (RFC 2181 §10.1)");
    if (is_apex) {
        nd.flags |= Node::Apex;
        const Rrset* soa = nullptr;
        for (std::uint32_t i = 0; i < nd.rrset_count; ++i) {
            if (d.rrsets()[i].type == dns::type::SOA) soa = &d.rrsets()[i];
        }
        if (!soa) return make_error("zone " + origin.to_string() + " has no SOA record");
        if (soa->rr_count != 1) return make_error("zone " + origin.to_string() + " has more than one SOA record");
        if (!has_ns) return make_error("zone " + origin.to_string() + " has no NS records at the apex");
    } else {
        if (has_ns) nd.flags |= Node::Cut;
        if (has_soa) return make_error(where() + ": SOA record below the zone apex");
    }
    const std::uint8_t* lcn = d.lc();
    if (lcn[0] == 1 && lcn[1] == '*') nd.flags |= Node::Wildcard;
    return {};
}

}  // namespace

// The parts of a version derived from the apex and from every node: SOA
// fields, NSEC3 parameters, the per-page signature summary.
class VersionFinisher {
public:
    static void apex_fields(Snapshot& s) {
        const Node& apex = s.nodes_[s.apex_];
        s.soa_ = s.find_rrset(apex, dns::type::SOA);
        const Rrset& soa = *s.soa_;
        const std::uint8_t* rd = soa.rdata() + 2;
        std::uint16_t len = load16(soa.rdata());
        std::size_t a = wn::length(rd, len);
        std::size_t c = wn::length(rd + a, len - a);
        s.serial_ = load32(rd + a + c);
        s.refresh_ = load32(rd + a + c + 4);
        s.retry_ = load32(rd + a + c + 8);
        s.expire_ = load32(rd + a + c + 12);
        std::uint32_t minimum = load32(rd + a + c + 16);
        s.negative_ttl_ = std::min(soa.ttl, minimum);
        s.signed_ = s.find_rrset(apex, dns::type::DNSKEY) != nullptr;
    }

    // NSEC3 parameters from the apex NSEC3PARAM; true when they changed.
    static bool nsec3_params(Snapshot& s) {
        std::uint16_t iterations = 0;
        std::vector<std::uint8_t> salt;
        bool on = false;
        if (const Rrset* param = s.find_rrset(s.nodes_[s.apex_], dns::type::NSEC3PARAM)) {
            const std::uint8_t* rd = param->rdata() + 2;
            std::uint16_t rdlen = load16(param->rdata());
            if (rdlen >= 5 && rd[0] == 1 && rdlen >= 5u + rd[4]) {  // SHA-1
                on = true;
                iterations = load16(rd + 2);
                salt.assign(rd + 5, rd + 5 + rd[4]);
            }
        }
        const bool changed = on != s.nsec3_on_ || iterations != s.nsec3_iterations_ || salt != s.nsec3_salt_;
        s.nsec3_on_ = on;
        s.nsec3_iterations_ = iterations;
        s.nsec3_salt_ = std::move(salt);
        return changed;
    }

    static void nsec3_index(Snapshot& s) {
        std::vector<Snapshot::Nsec3Entry> entries;
        if (s.nsec3_on_) {
            s.for_each_node([&](std::uint32_t id, const Node& n) {
                if (!s.find_rrset(n, dns::type::NSEC3)) return;
                if (auto h = dns::nsec3_label_hash(n.data->lc())) entries.push_back({*h, id});
            });
            std::sort(entries.begin(), entries.end(),
                      [](const auto& a, const auto& b) { return a.hash != b.hash ? a.hash < b.hash : a.id < b.id; });
        }
        s.nsec3_.assign(entries);
    }

    // An unsigned version keeps no summary at all (empty: no page holds an
    // RRSIG), one allocation less per zone (issue 13).
    static void page_summary(Snapshot& s, const std::vector<std::size_t>& pages) {
        if (!s.page_earliest_.empty()) s.page_earliest_.resize(s.nodes_.page_count(), kNone);
        for (std::size_t p : pages) {
            std::uint32_t best = kNone;
            std::int64_t at = 0;
            const auto& page = s.nodes_.page(p);
            for (std::size_t i = 0; i < page.size(); ++i) {
                const Node& n = page[i];
                const std::int64_t e = n.data->earliest_expiration();
                if (e == 0 || (n.flags & Node::Absent)) continue;
                if (best == kNone || e < at) {
                    best = static_cast<std::uint32_t>(p * decltype(s.nodes_)::kPage + i);
                    at = e;
                }
            }
            if (best == kNone && s.page_earliest_.empty()) continue;
            if (s.page_earliest_.empty()) s.page_earliest_.resize(s.nodes_.page_count(), kNone);
            s.page_earliest_[p] = best;
        }
    }
};

Result<std::shared_ptr<const Snapshot>> build_snapshot(const dns::Name& origin,
                                                       const dns::RecordList& recs,
                                                       std::shared_ptr<const OnlineSigning> online) {
    auto snap = std::shared_ptr<Snapshot>(new Snapshot());
    Snapshot& s = *snap;
    s.online_ = std::move(online);
    s.origin_ = origin;
    const dns::Name olc = origin.lowered();
    const std::size_t n = recs.size();
    if (n > kMaxRecords) return make_error("zone too large for one version: " + std::to_string(n) + " records");
    const std::int64_t now = std::time(nullptr);

    // 1. Validate each record and map its owner to a name (a scratch table
    //    of lower-cased names; ids come once they are in canonical order).
    struct Scratch {
        std::vector<std::uint8_t> bytes;  // per name: original, then lower-cased
        std::vector<std::uint32_t> at;
        std::vector<std::uint8_t> len;
        std::vector<std::uint32_t> table;  // name index + 1
        std::uint64_t mask = 0;
        const std::uint8_t* lc(std::uint32_t i) const { return bytes.data() + at[i] + len[i]; }
        const std::uint8_t* name(std::uint32_t i) const { return bytes.data() + at[i]; }
        void grow() {
            std::vector<std::uint32_t>(std::max<std::size_t>(64, table.size() * 2), 0).swap(table);
            mask = table.size() - 1;
            for (std::uint32_t i = 0; i < at.size(); ++i) place(i);
        }
        void place(std::uint32_t i) {
            std::uint64_t k = name_hash(lc(i), len[i]) & mask;
            while (table[k] != 0) k = (k + 1) & mask;
            table[k] = i + 1;
        }
        std::uint32_t find(const std::uint8_t* l, std::size_t n) const {
            if (table.empty()) return kNone;
            for (std::uint64_t k = name_hash(l, n) & mask;; k = (k + 1) & mask) {
                if (table[k] == 0) return kNone;
                const std::uint32_t i = table[k] - 1;
                if (len[i] == n && std::memcmp(lc(i), l, n) == 0) return i;
            }
        }
        std::uint32_t add(const std::uint8_t* name, const std::uint8_t* l, std::size_t n) {
            if ((at.size() + 2) * 2 > table.size()) grow();
            const auto i = static_cast<std::uint32_t>(at.size());
            at.push_back(static_cast<std::uint32_t>(bytes.size()));
            len.push_back(static_cast<std::uint8_t>(n));
            bytes.insert(bytes.end(), name, name + n);
            bytes.insert(bytes.end(), l, l + n);
            place(i);
            return i;
        }
    } names;
    names.bytes.reserve(n * 24);
    std::vector<std::uint32_t> rec_name(n);
    std::uint8_t lc[dns::kMaxNameLen];
    for (std::size_t i = 0; i < n; ++i) {
        const dns::RecordRef& r = recs[i];
        if (auto st = check_record(recs, r, origin, olc); !st) return st.error();
        wn::lower_copy(recs.owner(r), r.owner_len, lc);
        std::uint32_t idx = names.find(lc, r.owner_len);
        if (idx == kNone) idx = names.add(recs.owner(r), lc, r.owner_len);
        rec_name[i] = idx;
    }
    if (names.find(olc.data(), olc.size()) == kNone) return make_error("zone " + origin.to_string() + " has no SOA record");

    // 2. Empty non-terminals: every name between an owner and the apex.
    for (std::uint32_t i = 0; i < names.at.size(); ++i) {
        std::size_t off = 0;
        const std::size_t len = names.len[i];
        while (len - off > olc.size()) {
            off += 1 + names.lc(i)[off];
            std::size_t plen = len - off;
            if (plen <= olc.size()) break;
            std::uint8_t plc[dns::kMaxNameLen], porig[dns::kMaxNameLen];
            std::memcpy(plc, names.lc(i) + off, plen);
            if (names.find(plc, plen) != kNone) break;
            std::memcpy(porig, names.name(i) + off, plen);
            names.add(porig, plc, plen);
        }
    }

    // 3. Canonical order (RFC 4034 §6.1): node ids follow it, so a version
    //    built whole is walked by id. Each name gets a sort key of its
    //    lower-cased labels right to left, each followed by 0x00; memcmp on
    //    the keys is canonical order unless a label holds a 0x00 octet,
    //    where the exact comparison is used.
    const std::size_t count = names.at.size();
    std::vector<std::uint32_t> perm(count);
    {
        std::vector<std::uint8_t> keys;
        keys.reserve(count * 24);
        std::vector<std::uint32_t> key_at(count + 1);
        std::vector<std::uint8_t> exact(count, 0);
        std::uint8_t offs[dns::kMaxLabels + 1];
        for (std::uint32_t i = 0; i < count; ++i) {
            key_at[i] = static_cast<std::uint32_t>(keys.size());
            const std::uint8_t* nm = names.lc(i);
            unsigned labels = wn::label_offsets(nm, offs);
            for (unsigned l = labels; l-- > 0;) {
                const std::uint8_t* lab = nm + offs[l];
                keys.insert(keys.end(), lab + 1, lab + 1 + lab[0]);
                keys.push_back(0);
                if (std::memchr(lab + 1, 0, lab[0])) exact[i] = 1;
            }
        }
        key_at[count] = static_cast<std::uint32_t>(keys.size());
        for (std::uint32_t i = 0; i < count; ++i) perm[i] = i;
        std::sort(perm.begin(), perm.end(), [&](std::uint32_t a, std::uint32_t c) {
            if (exact[a] | exact[c]) {
                return wn::canonical_compare(names.lc(a), names.len[a], names.lc(c), names.len[c]) < 0;
            }
            std::size_t la = key_at[a + 1] - key_at[a], lc2 = key_at[c + 1] - key_at[c];
            int cmp = std::memcmp(keys.data() + key_at[a], keys.data() + key_at[c], std::min(la, lc2));
            return cmp != 0 ? cmp < 0 : la < lc2;
        });
    }
    std::vector<std::uint32_t> id_of(count);  // scratch name → id
    for (std::uint32_t i = 0; i < count; ++i) id_of[perm[i]] = i;

    // 4. Nodes, in canonical order, each from its records. Targets of
    //    additional-section data that are not names of the zone get ids
    //    after every present name, as Absent nodes.
    std::vector<std::uint32_t> start(count + 1, 0);
    for (std::size_t i = 0; i < n; ++i) ++start[id_of[rec_name[i]] + 1];
    for (std::size_t i = 0; i < count; ++i) start[i + 1] += start[i];
    std::vector<std::uint32_t> order(n);
    {
        std::vector<std::uint32_t> fill(start.begin(), start.end() - 1);
        for (std::size_t i = 0; i < n; ++i) order[fill[id_of[rec_name[i]]]++] = static_cast<std::uint32_t>(i);
    }
    std::vector<std::pair<std::uint32_t, NodeRef>> absent;  // scratch index, node
    auto id_for = [&](const std::uint8_t* target, const std::uint8_t* tlc, std::size_t tlen) -> std::uint32_t {
        std::uint32_t i = names.find(tlc, tlen);
        if (i == kNone) {
            i = names.add(target, tlc, tlen);
            id_of.push_back(static_cast<std::uint32_t>(count + absent.size()));
            absent.emplace_back(i, NodeWriter::name_only(target, tlc, tlen));
        }
        return id_of[i];
    };
    std::vector<Node> nodes(count);
    std::vector<OwnerRecord> owner_recs;
    const std::uint32_t apex_id = id_of[names.find(olc.data(), olc.size())];
    for (std::uint32_t id = 0; id < count; ++id) {
        const std::uint32_t i = perm[id];
        owner_recs.clear();
        for (std::uint32_t k = start[id]; k < start[id + 1]; ++k) {
            const dns::RecordRef& r = recs[order[k]];
            owner_recs.push_back({r.type, r.ttl, recs.rdata(r)});
        }
        Node& nd = nodes[id];
        nd.name_len = names.len[i];
        nd.labels = static_cast<std::uint8_t>(wn::label_count(names.lc(i)));
        if (owner_recs.empty()) {
            nd.data = NodeWriter::name_only(names.name(i), names.lc(i), names.len[i]);
            continue;
        }
        // Copies: an additional-section target may grow the scratch names.
        std::uint8_t own_name[dns::kMaxNameLen], own_lc[dns::kMaxNameLen];
        std::memcpy(own_name, names.name(i), names.len[i]);
        std::memcpy(own_lc, names.lc(i), names.len[i]);
        auto made = NodeWriter::make(own_name, own_lc, names.len[i], owner_recs, olc, now, id_for);
        if (!made) return made.error();
        nd.data = std::move(*made);
        nd.rrset_count = static_cast<std::uint16_t>(nd.data->rrset_count());
    }
    // 5. Per-node rules and flags.
    for (std::uint32_t id = 0; id < count; ++id) {
        Node& nd = nodes[id];
        if (auto st = node_rules(nd, id == apex_id, origin); !st) return st.error();
        for (std::uint32_t k = 0; k < nd.rrset_count; ++k) s.record_count_ += nd.data->rrsets()[k].rr_count;
        s.rrsig_count_ += nd.data->rrsig_count();
        for (std::uint32_t k = 0; k < nd.rrset_count; ++k) s.nsec_nodes_ += nd.data->rrsets()[k].type == dns::type::NSEC;
    }
    SnapshotBuilder b(s);
    std::vector<std::uint32_t> ids(count);
    for (std::uint32_t id = 0; id < count; ++id) ids[id] = id;
    nodes.reserve(count + absent.size());
    for (auto& [i, data] : absent) {
        Node nd;
        nd.name_len = names.len[i];
        nd.labels = static_cast<std::uint8_t>(wn::label_count(names.lc(i)));
        nd.flags = Node::Absent;
        nd.data = std::move(data);
        nodes.push_back(std::move(nd));
    }
    {
        std::size_t slots = 16;
        while ((nodes.size() + 2) * 2 > slots) slots *= 2;
        b.add_all(std::move(nodes), slots);
    }
    s.order_.assign(ids);
    s.apex_ = s.find_any(olc.data(), olc.size());

    // Wildcard links.
    for (std::uint32_t id = 0; id < count; ++id) {
        const Node& nd = s.nodes_[id];
        if (!(nd.flags & Node::Wildcard)) continue;
        const std::uint8_t* lcn = nd.data->lc();
        std::uint32_t parent = s.find(lcn + 2, nd.name_len - 2u);
        if (parent != kNone) s.nodes_.mutate(parent).wildcard_child = id;
    }

    // 6. Occlusion: names strictly below a cut or a DNAME owner (the apex
    //    included: RFC 6672 §2.3 lets a DNAME sit at the apex).
    const bool apex_dname = s.nodes_[s.apex_].flags & Node::Dname;
    for (std::uint32_t id = 0; id < count; ++id) {
        const Node& nd = s.nodes_[id];
        bool occluded = apex_dname && id != s.apex_;
        std::size_t off = 0;
        const std::uint8_t* lcn = nd.data->lc();
        while (!occluded && nd.name_len - off > olc.size()) {
            off += 1 + lcn[off];
            if (nd.name_len - off <= olc.size()) break;
            std::uint32_t anc = s.find(lcn + off, nd.name_len - off);
            occluded = anc != kNone && (s.nodes_[anc].flags & (Node::Cut | Node::Dname));
        }
        if (occluded) s.nodes_.mutate(id).flags |= Node::Occluded;
    }

    // 7. SOA fields, NSEC3 index, signature summary; fitted storage.
    VersionFinisher::apex_fields(s);
    VersionFinisher::nsec3_params(s);
    VersionFinisher::nsec3_index(s);
    {
        s.nodes_.take_dirty();
        std::vector<std::size_t> all(s.nodes_.page_count());
        for (std::size_t p = 0; p < all.size(); ++p) all[p] = p;
        VersionFinisher::page_summary(s, all);
    }
    s.table_.take_dirty();
    s.nodes_.shrink();
    s.table_.shrink();
    s.dense_ = true;
    return std::shared_ptr<const Snapshot>(std::move(snap));
}

// Derives a version from the one before: the names a change touches get new
// nodes; everything else is shared page by page.
class ChangeApplier {
public:
    ChangeApplier(const Snapshot& prev, std::shared_ptr<Snapshot> next)
        : prev_(prev), snap_(std::move(next)), s_(*snap_), b_(s_), origin_(prev.origin().name()), olc_(origin_.lowered()) {}

    Result<std::shared_ptr<const Snapshot>> run(const std::vector<ZoneDelta>& deltas, std::vector<std::uint32_t>* touched) {
        s_.nodes_.take_dirty();
        s_.table_.take_dirty();
        if (auto st = fold(deltas); !st) return st.error();
        if (net_.empty()) return std::shared_ptr<const Snapshot>(snap_);
        s_.dense_ = false;
        now_ = std::time(nullptr);
        // 1. Each touched name's new records, then its node.
        std::vector<std::uint32_t> emptied;
        for (auto& [owner, changes] : by_owner_) {
            auto id = apply_owner(owner, changes, emptied);
            if (!id) return id.error();
            if (touched && *id != kNone) touched_.push_back(*id);
        }
        // 2. Names left without records and without names below them go.
        while (!emptied.empty()) {
            const std::uint32_t id = emptied.back();
            emptied.pop_back();
            const Node& n = s_.nodes_[id];
            if ((n.flags & Node::Absent) || n.rrset_count != 0 || id == s_.apex_ || has_below(id)) continue;
            remove(id);
            const std::uint8_t* lc = n.data->lc();
            const std::size_t up = 1 + lc[0];
            if (n.name_len - up > olc_.size()) {
                const std::uint32_t parent = s_.find(lc + up, n.name_len - up);
                if (parent != kNone) emptied.push_back(parent);
            }
        }
        // 3. Rules and flags of every changed name; occlusion below a name
        //    whose cut or DNAME came or went; wildcard links.
        std::sort(changed_.begin(), changed_.end());
        changed_.erase(std::unique(changed_.begin(), changed_.end()), changed_.end());
        bool all_occlusion = false;
        std::vector<std::uint32_t> subtrees;
        for (std::uint32_t id : changed_) {
            Node& nd = s_.nodes_.mutate(id);
            const std::uint16_t before = id < prev_.nodes_.size() && !(prev_.nodes_[id].flags & Node::Absent)
                                             ? prev_.nodes_[id].flags
                                             : 0;
            if (nd.flags & Node::Absent) {
                nd.flags = Node::Absent;
                nd.wildcard_child = kNone;
                continue;
            }
            if (auto st = node_rules(nd, id == s_.apex_, origin_); !st) return st.error();
            if ((before ^ nd.flags) & (Node::Cut | Node::Dname)) {
                if (id == s_.apex_) all_occlusion = true;
                subtrees.push_back(id);
            }
        }
        if (all_occlusion) {
            s_.for_each_node([&](std::uint32_t id, const Node&) { occlude(id); });
        } else {
            for (std::uint32_t id : changed_) {
                if (!(s_.nodes_[id].flags & Node::Absent)) occlude(id);
            }
            for (std::uint32_t id : subtrees) {
                const Node& top = s_.nodes_[id];
                auto p = b_.order_position(top.data->lc(), top.name_len);
                for (p = s_.order_.next(p); !(p == s_.order_.end()); p = s_.order_.next(p)) {
                    const std::uint32_t below = s_.order_.at(p);
                    const Node& bn = s_.nodes_[below];
                    if (!wn::is_subdomain(bn.data->lc(), bn.name_len, top.data->lc(), top.name_len)) break;
                    occlude(below);
                }
            }
        }
        for (std::uint32_t id : changed_) link_wildcard(id);
        // 4. Counters, the apex, NSEC3, the signature summary.
        VersionFinisher::apex_fields(s_);
        const bool params = VersionFinisher::nsec3_params(s_);
        for (std::uint32_t id : changed_) count(id, params);
        if (params) VersionFinisher::nsec3_index(s_);
        VersionFinisher::page_summary(s_, s_.nodes_.take_dirty());
        s_.table_.take_dirty();
        // A lineage that has forgotten more names than it serves starts over.
        if (s_.absent_ > std::max<std::size_t>(4096, s_.node_count())) {
            return build_snapshot(origin_, s_.to_records(), prev_.online_);
        }
        if (touched) {
            touched->clear();
            for (std::uint32_t id : touched_) {
                if (!(s_.nodes_[id].flags & Node::Absent)) touched->push_back(id);
            }
        }
        return std::shared_ptr<const Snapshot>(snap_);
    }

private:
    struct Net {
        bool add;
        const dns::RecordList* list;
        std::uint32_t index;
        bool replaces = false;  // deleted and added back: the add replaces a current record
        bool seen = false;
        std::string what;
    };

    // The net change, record by record, as apply_deltas folds it.
    Status fold(const std::vector<ZoneDelta>& deltas) {
        for (const ZoneDelta& d : deltas) {
            for (const auto& r : d.removed.refs()) {
                std::string k = record_key(d.removed, r);
                auto it = net_.find(k);
                if (it != net_.end() && it->second.add) {
                    if (it->second.replaces) {  // a current record, replaced, now deleted after all
                        it->second = Net{false, nullptr, 0, false, false, it->second.what};
                    } else {
                        net_.erase(it);  // added by an earlier difference, now gone again
                    }
                } else if (it != net_.end()) {
                    return make_error(describe_change(d, "deletes", d.removed, r) + ", twice");
                } else {
                    net_.emplace(std::move(k), Net{false, nullptr, 0, false, false, describe_change(d, "deletes", d.removed, r)});
                }
            }
            for (std::uint32_t i = 0; i < d.added.size(); ++i) {
                const auto& r = d.added[i];
                if (auto st = check_record(d.added, r, origin_, olc_); !st) return st;
                std::string k = record_key(d.added, r);
                auto it = net_.find(k);
                if (it != net_.end() && !it->second.add) {
                    it->second = Net{true, &d.added, i, true, false, describe_change(d, "adds", d.added, r)};
                } else if (it != net_.end()) {
                    return make_error(describe_change(d, "adds", d.added, r) + ", twice");
                } else {
                    net_.emplace(std::move(k), Net{true, &d.added, i, false, false, describe_change(d, "adds", d.added, r)});
                }
            }
        }
        for (auto& entry : net_) {
            const auto& k = entry.first;
            const std::size_t owner_len = wn::length(reinterpret_cast<const std::uint8_t*>(k.data()), k.size());
            by_owner_[k.substr(0, owner_len)].push_back(&entry);
        }
        return {};
    }

    // The new records of one name; returns its id (kNone: nothing there
    // before or after).
    Result<std::uint32_t> apply_owner(const std::string& owner, std::vector<std::pair<const std::string, Net>*>& changes,
                                      std::vector<std::uint32_t>& emptied) {
        const auto* lc = reinterpret_cast<const std::uint8_t*>(owner.data());
        const std::size_t len = owner.size();
        std::uint32_t id = s_.find_any(lc, len);
        const bool present = id != kNone && !(s_.nodes_[id].flags & Node::Absent);
        dns::RecordList old;
        if (present) add_node_records(s_, s_.nodes_[id], old);
        std::vector<OwnerRecord> recs;
        recs.reserve(old.size() + changes.size());
        std::size_t kept = 0;
        for (const auto& r : old.refs()) {
            std::string k = record_key(old, r);
            auto it = net_.find(k);
            if (it != net_.end()) {
                Net& c = it->second;
                c.seen = true;
                if (!c.add || c.replaces) continue;  // deleted, or replaced by the add
                return make_error(c.what + ", which we already have");
            }
            recs.push_back({r.type, r.ttl, old.rdata(r)});
            ++kept;
        }
        // A name keeps its spelling while it keeps a record; otherwise it
        // takes the spelling of its first new record.
        const std::uint8_t* name = present && kept > 0 ? s_.nodes_[id].data->name() : nullptr;
        for (auto* entry : changes) {
            Net& c = entry->second;
            if (!c.add && !c.seen) return make_error(c.what + ", which we do not have");
            if (c.add && c.replaces && !c.seen) return make_error("IXFR deletes a record we do not have");
            if (!c.add) continue;
            const auto& r = (*c.list)[c.index];
            recs.push_back({r.type, r.ttl, c.list->rdata(r)});
            if (!name) name = c.list->owner(r);
        }
        if (recs.empty()) {
            if (!present) return kNone;
            if (id == s_.apex_) return make_error("zone " + origin_.to_string() + " has no SOA record");
            Node& nd = s_.nodes_.mutate(id);
            nd.data = NodeWriter::name_only(nd.data->name(), nd.data->lc(), len);
            nd.rrset_count = 0;
            changed_.push_back(id);
            emptied.push_back(id);
            return id;
        }
        auto made = NodeWriter::make(name, lc, len, recs, olc_, now_,
                                     [&](const std::uint8_t* target, const std::uint8_t* tlc, std::size_t tlen) {
                                         return id_for(target, tlc, tlen);
                                     });
        if (!made) return made.error();
        if (id == kNone) id = id_for(name, lc, len);
        {
            Node& nd = s_.nodes_.mutate(id);
            nd.data = std::move(*made);
            nd.rrset_count = static_cast<std::uint16_t>(nd.data->rrset_count());
        }
        changed_.push_back(id);
        if (!present) {
            make_present(id);
            add_parents(name, lc, len);
        }
        return id;
    }

    std::uint32_t id_for(const std::uint8_t* name, const std::uint8_t* lc, std::size_t len) {
        std::uint32_t id = s_.find_any(lc, len);
        if (id != kNone) return id;
        Node nd;
        nd.name_len = static_cast<std::uint8_t>(len);
        nd.labels = static_cast<std::uint8_t>(wn::label_count(lc));
        nd.flags = Node::Absent;
        nd.data = NodeWriter::name_only(name, lc, len);
        return b_.add_id(std::move(nd));
    }

    void make_present(std::uint32_t id) {
        Node& nd = s_.nodes_.mutate(id);
        nd.flags = 0;
        nd.wildcard_child = kNone;
        --s_.absent_;
        s_.order_.insert(b_.order_position(nd.data->lc(), nd.name_len), id);
        changed_.push_back(id);
    }

    // Empty non-terminals for the names between a new name and the apex.
    void add_parents(const std::uint8_t* name, const std::uint8_t* lc, std::size_t len) {
        std::size_t off = 0;
        while (len - off > olc_.size()) {
            off += 1 + lc[off];
            const std::size_t plen = len - off;
            if (plen <= olc_.size()) break;
            const std::uint32_t pid = id_for(name + off, lc + off, plen);
            if (!(s_.nodes_[pid].flags & Node::Absent)) break;
            Node& nd = s_.nodes_.mutate(pid);
            nd.data = NodeWriter::name_only(name + off, lc + off, plen);
            nd.rrset_count = 0;
            make_present(pid);
        }
    }

    void remove(std::uint32_t id) {
        Node& nd = s_.nodes_.mutate(id);
        auto p = b_.order_position(nd.data->lc(), nd.name_len);
        s_.order_.erase(p);
        nd.flags = Node::Absent;
        nd.wildcard_child = kNone;
        nd.rrset_count = 0;
        ++s_.absent_;
        changed_.push_back(id);
    }

    bool has_below(std::uint32_t id) const {
        const Node& n = s_.nodes_[id];
        auto p = b_.order_position(n.data->lc(), n.name_len);
        p = s_.order_.next(p);
        if (p == s_.order_.end()) return false;
        const Node& next = s_.nodes_[s_.order_.at(p)];
        return wn::is_subdomain(next.data->lc(), next.name_len, n.data->lc(), n.name_len);
    }

    void occlude(std::uint32_t id) {
        const Node& cur = s_.nodes_[id];
        bool occluded = false;
        if (id != s_.apex_) {
            if (s_.nodes_[s_.apex_].flags & Node::Dname) {
                occluded = true;
            } else {
                std::size_t off = 0;
                const std::uint8_t* lcn = cur.data->lc();
                while (cur.name_len - off > olc_.size()) {
                    off += 1 + lcn[off];
                    if (cur.name_len - off <= olc_.size()) break;
                    std::uint32_t anc = s_.find(lcn + off, cur.name_len - off);
                    if (anc != kNone && (s_.nodes_[anc].flags & (Node::Cut | Node::Dname))) {
                        occluded = true;
                        break;
                    }
                }
            }
        }
        if (occluded != bool(cur.flags & Node::Occluded)) {
            Node& nd = s_.nodes_.mutate(id);
            nd.flags ^= Node::Occluded;
        }
    }

    void link_wildcard(std::uint32_t id) {
        const Node& nd = s_.nodes_[id];
        const bool present = !(nd.flags & Node::Absent);
        const std::uint8_t* lc = nd.data->lc();
        if (lc[0] == 1 && lc[1] == '*') {
            const std::uint32_t parent = s_.find(lc + 2, nd.name_len - 2u);
            if (parent != kNone && s_.nodes_[parent].wildcard_child != (present ? id : kNone)) {
                s_.nodes_.mutate(parent).wildcard_child = present ? id : kNone;
            }
        }
        if (present && nd.name_len + 2u <= dns::kMaxNameLen) {
            std::uint8_t wild[dns::kMaxNameLen];
            wild[0] = 1;
            wild[1] = '*';
            std::memcpy(wild + 2, lc, nd.name_len);
            const std::uint32_t w = s_.find(wild, nd.name_len + 2u);
            if (nd.wildcard_child != w) s_.nodes_.mutate(id).wildcard_child = w;
        }
    }

    void count(std::uint32_t id, bool nsec3_rebuilt) {
        const Node* before = id < prev_.nodes_.size() && !(prev_.nodes_[id].flags & Node::Absent) ? &prev_.nodes_[id] : nullptr;
        const Node* after = !(s_.nodes_[id].flags & Node::Absent) ? &s_.nodes_[id] : nullptr;
        auto records = [&](const Node* n) {
            std::size_t c = 0;
            if (n) {
                for (const Rrset& r : s_.rrsets_of(*n)) c += r.rr_count;
            }
            return c;
        };
        auto has = [&](const Node* n, std::uint16_t type) { return n && s_.find_rrset(*n, type) != nullptr; };
        s_.record_count_ += records(after);
        s_.record_count_ -= records(before);
        s_.rrsig_count_ += after ? after->data->rrsig_count() : 0;
        s_.rrsig_count_ -= before ? before->data->rrsig_count() : 0;
        s_.nsec_nodes_ += has(after, dns::type::NSEC);
        s_.nsec_nodes_ -= has(before, dns::type::NSEC);
        if (nsec3_rebuilt || !s_.nsec3_on_) return;
        auto entry = [&](const Node* n) -> std::optional<Snapshot::Nsec3Entry> {
            if (!has(n, dns::type::NSEC3)) return std::nullopt;
            auto h = dns::nsec3_label_hash(n->data->lc());
            if (!h) return std::nullopt;
            return Snapshot::Nsec3Entry{*h, id};
        };
        auto position = [&](const Snapshot::Nsec3Entry& e) {
            return s_.nsec3_.partition([&](const Snapshot::Nsec3Entry& x) {
                return x.hash != e.hash ? x.hash < e.hash : x.id < e.id;
            });
        };
        if (auto old = entry(before)) {
            auto p = position(*old);
            if (p != s_.nsec3_.end() && s_.nsec3_.at(p).id == id && s_.nsec3_.at(p).hash == old->hash) s_.nsec3_.erase(p);
        }
        if (auto now = entry(after)) s_.nsec3_.insert(position(*now), *now);
    }

    const Snapshot& prev_;
    std::shared_ptr<Snapshot> snap_;
    Snapshot& s_;
    SnapshotBuilder b_;
    const dns::Name origin_;
    const dns::Name olc_;
    std::int64_t now_ = 0;
    std::unordered_map<std::string, Net> net_;
    std::map<std::string, std::vector<std::pair<const std::string, Net>*>> by_owner_;
    std::vector<std::uint32_t> changed_;  // content or presence changed
    std::vector<std::uint32_t> touched_;
};

Result<std::shared_ptr<const Snapshot>> apply_changes(const Snapshot& prev, const std::vector<ZoneDelta>& changes,
                                                      std::vector<std::uint32_t>* touched) {
    ChangeApplier applier(prev, std::make_shared<Snapshot>(prev));
    return applier.run(changes, touched);
}

}  // namespace satellite::zone
