// Snapshot building: validate records, group them into nodes and RRsets,
// add empty non-terminals, and precompute every link the query path follows
// so that answering a query is lookups and copies only.
#include "zone/snapshot.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

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

std::uint32_t Snapshot::find(const std::uint8_t* lc, std::size_t len) const {
    if (table_.empty()) return kNone;
    const std::uint64_t h = name_hash(lc, len);
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    std::uint64_t i = h & mask_;
    for (;;) {
        const Slot slot = table_[i];
        if (slot.node == 0) return kNone;
        if (slot.tag == tag) {
            const Node& n = nodes_[slot.node - 1];
            if (n.name_len == len && std::memcmp(data_.data() + n.name_lc, lc, len) == 0) {
                return slot.node - 1;
            }
        }
        i = (i + 1) & mask_;
    }
}

const Rrset* Snapshot::find_rrset(const Node& n, std::uint16_t type) const {
    for (std::uint32_t i = 0; i < n.rrset_count; ++i) {
        const Rrset& r = rrsets_[n.first_rrset + i];
        if (r.type == type) return &r;
    }
    return nullptr;
}

std::uint32_t Snapshot::predecessor(const std::uint8_t* lc, std::size_t len) const {
    // Binary search for the last node <= name (nodes are in canonical order).
    std::size_t lo = 0, hi = nodes_.size();
    while (lo < hi) {
        std::size_t mid = (lo + hi) / 2;
        const Node& n = nodes_[mid];
        if (wn::canonical_compare(data_.data() + n.name_lc, n.name_len, lc, len) <= 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo == 0 ? kNone : static_cast<std::uint32_t>(lo - 1);
}

Snapshot::Nsec3Hash Snapshot::nsec3_hash(const std::uint8_t* lc, std::size_t len) const {
    return dns::nsec3_hash(lc, len, nsec3_salt_, nsec3_iterations_);
}

std::uint32_t Snapshot::nsec3_match(const Nsec3Hash& h) const {
    auto it = std::lower_bound(nsec3_.begin(), nsec3_.end(), h,
                               [](const auto& e, const Nsec3Hash& v) { return e.first < v; });
    return it != nsec3_.end() && it->first == h ? it->second : kNone;
}

std::uint32_t Snapshot::nsec3_cover(const Nsec3Hash& h) const {
    if (nsec3_.empty()) return kNone;
    auto it = std::upper_bound(nsec3_.begin(), nsec3_.end(), h,
                               [](const Nsec3Hash& v, const auto& e) { return v < e.first; });
    // The last owner hash below h; before the first, the last one (wrap).
    return it == nsec3_.begin() ? nsec3_.back().second : std::prev(it)->second;
}

dns::RecordList Snapshot::to_records() const {
    dns::RecordList out;
    out.reserve(record_count_, data_.size());
    for (const Node& n : nodes_) {
        for (const Rrset& r : rrsets_of(n)) {
            const std::uint8_t* p = data_.data() + r.data;
            for (std::uint16_t k = 0; k < r.rr_count; ++k) {
                std::uint16_t len = load16(p);
                std::uint32_t ttl = r.ttl;
                if (r.type == dns::type::RRSIG && len >= 2) {
                    // The node's RRSIGs are kept as one set (with the lowest
                    // TTL); each goes out with its RRset's TTL (RFC 4034 §3).
                    if (const Rrset* covered = find_rrset(n, load16(p + 2))) ttl = covered->ttl;
                }
                out.add({data_.data() + n.name, n.name_len}, r.type, dns::rrclass::IN, ttl, {p + 2, len});
                p += 2 + len;
            }
        }
    }
    return out;
}

namespace {

std::string record_text(const dns::RecordList& recs, const dns::RecordRef& r) {
    return wn::to_string(recs.owner(r)) + " " + dns::type_to_string(r.type);
}

// Offsets into data() and indexes are 32-bit: a version whose data would
// pass this is refused while it is built, before any offset can wrap.
// Names are at most 2 x 255 bytes each, so checking after each RRset
// (and before the first) keeps every offset and length in range.
constexpr std::size_t kMaxArena = 0xffffffffu - 1024;
constexpr std::size_t kMaxRecords = 0x7fffffffu;

Error too_large(std::size_t bytes) {
    return make_error("zone too large for one version: " + std::to_string(bytes) +
                      " bytes of data (at most " + std::to_string(kMaxArena) + "); lower max_zone_bytes");
}

}  // namespace

// Index maintenance used only while building.
class SnapshotBuilder {
public:
    explicit SnapshotBuilder(Snapshot& s) : s_(s) {}

    std::uint32_t add_node(const std::uint8_t* name, const std::uint8_t* lc, std::size_t len) {
        Node n{};
        n.name = static_cast<std::uint32_t>(s_.data_.size());
        s_.data_.insert(s_.data_.end(), name, name + len);
        n.name_lc = static_cast<std::uint32_t>(s_.data_.size());
        s_.data_.insert(s_.data_.end(), lc, lc + len);
        n.name_len = static_cast<std::uint8_t>(len);
        n.labels = static_cast<std::uint8_t>(wn::label_count(lc));
        n.first_rrset = 0;
        if ((s_.nodes_.size() + 2) * 2 > s_.table_.size()) rehash(s_.table_.size() * 2);
        s_.nodes_.push_back(n);
        auto idx = static_cast<std::uint32_t>(s_.nodes_.size() - 1);
        insert(idx);
        return idx;
    }

    void rehash(std::size_t capacity) {
        if (capacity < 16) capacity = 16;
        std::vector<Snapshot::Slot>(capacity, Snapshot::Slot{0, 0}).swap(s_.table_);  // assign() keeps a larger capacity
        s_.mask_ = capacity - 1;
        for (std::uint32_t i = 0; i < s_.nodes_.size(); ++i) insert(i);
    }

private:
    void insert(std::uint32_t idx) {
        const Node& n = s_.nodes_[idx];
        const std::uint64_t h = name_hash(s_.data_.data() + n.name_lc, n.name_len);
        std::uint64_t i = h & s_.mask_;
        while (s_.table_[i].node != 0) i = (i + 1) & s_.mask_;
        s_.table_[i] = Snapshot::Slot{idx + 1, static_cast<std::uint32_t>(h >> 32)};
    }
    Snapshot& s_;
};

Result<std::shared_ptr<const Snapshot>> build_snapshot(const dns::Name& origin,
                                                       const dns::RecordList& recs,
                                                       std::shared_ptr<const OnlineSigning> online) {
    auto snap = std::shared_ptr<Snapshot>(new Snapshot());
    Snapshot& s = *snap;
    s.online_ = std::move(online);
    SnapshotBuilder b(s);
    s.origin_ = origin;
    const dns::Name olc = origin.lowered();
    const std::size_t n = recs.size();
    if (n > kMaxRecords) return make_error("zone too large for one version: " + std::to_string(n) + " records");
    s.record_count_ = 0;
    s.data_.reserve(n * 40);
    // Sized for about one name per two records, so large zones do not
    // rehash over and over while they load.
    std::size_t slots = 64;
    while (slots < n) slots *= 2;
    b.rehash(slots);

    // 1. Validate each record and map its owner to a node.
    std::vector<std::uint32_t> rec_node(n);
    std::uint8_t lc[dns::kMaxNameLen];
    for (std::size_t i = 0; i < n; ++i) {
        const dns::RecordRef& r = recs[i];
        const std::uint8_t* owner = recs.owner(r);
        if (r.rclass != dns::rrclass::IN) {
            return make_error(record_text(recs, r) + ": class " + std::to_string(r.rclass) +
                              " is not IN");
        }
        if (!wn::is_subdomain(owner, r.owner_len, olc.data(), olc.size())) {
            return make_error(record_text(recs, r) + ": owner is outside the zone " +
                              origin.to_string());
        }
        if ((r.type >= 128 && r.type <= 255) || r.type == dns::type::OPT || r.type == 0) {
            return make_error(record_text(recs, r) + ": meta type is not zone data");
        }
        if (!dns::rdata_well_formed(r.type, recs.rdata(r))) {
            return make_error(record_text(recs, r) + ": malformed RDATA");
        }
        wn::lower_copy(owner, r.owner_len, lc);
        std::uint32_t idx = s.find(lc, r.owner_len);
        if (idx == kNone) {
            if (s.data_.size() > kMaxArena) return too_large(s.data_.size());
            idx = b.add_node(owner, lc, r.owner_len);
        }
        rec_node[i] = idx;
    }
    std::uint32_t apex = s.find(olc.data(), olc.size());
    if (apex == kNone) return make_error("zone " + origin.to_string() + " has no SOA record");
    s.apex_ = apex;

    // 2. Empty non-terminals: every name between an owner and the apex.
    for (std::uint32_t i = 0; i < s.nodes_.size(); ++i) {
        Node nd = s.nodes_[i];
        std::size_t off = 0;
        while (nd.name_len - off > olc.size()) {
            off += 1 + s.data_[nd.name_lc + off];
            std::size_t plen = nd.name_len - off;
            if (plen <= olc.size()) break;
            std::uint8_t plc[dns::kMaxNameLen], porig[dns::kMaxNameLen];
            std::memcpy(plc, s.data_.data() + nd.name_lc + off, plen);
            if (s.find(plc, plen) != kNone) break;
            std::memcpy(porig, s.data_.data() + nd.name + off, plen);
            b.add_node(porig, plc, plen);
        }
    }

    // 2b. Canonical order (RFC 4034 §6.1), so that node order is the order
    // transfers, dumps and denial chains need. Each name gets a sort key of
    // its lower-cased labels right to left, each followed by 0x00; memcmp on
    // the keys is canonical order unless a label holds a 0x00 octet, where
    // the exact comparison is used.
    {
        const std::size_t count = s.nodes_.size();
        std::vector<std::uint8_t> keys;
        keys.reserve(count * 24);
        std::vector<std::uint32_t> key_at(count + 1);
        std::vector<std::uint8_t> exact(count, 0);
        std::uint8_t offs[dns::kMaxLabels + 1];
        for (std::uint32_t i = 0; i < count; ++i) {
            key_at[i] = static_cast<std::uint32_t>(keys.size());
            const std::uint8_t* nm = s.data_.data() + s.nodes_[i].name_lc;
            unsigned labels = wn::label_offsets(nm, offs);
            for (unsigned l = labels; l-- > 0;) {
                const std::uint8_t* lab = nm + offs[l];
                keys.insert(keys.end(), lab + 1, lab + 1 + lab[0]);
                keys.push_back(0);
                if (std::memchr(lab + 1, 0, lab[0])) exact[i] = 1;
            }
        }
        key_at[count] = static_cast<std::uint32_t>(keys.size());
        std::vector<std::uint32_t> perm(count);
        for (std::uint32_t i = 0; i < count; ++i) perm[i] = i;
        std::sort(perm.begin(), perm.end(), [&](std::uint32_t a, std::uint32_t c) {
            if (exact[a] | exact[c]) {
                const Node& na = s.nodes_[a];
                const Node& nc = s.nodes_[c];
                return wn::canonical_compare(s.data_.data() + na.name_lc, na.name_len,
                                             s.data_.data() + nc.name_lc, nc.name_len) < 0;
            }
            std::size_t la = key_at[a + 1] - key_at[a], lc2 = key_at[c + 1] - key_at[c];
            int cmp = std::memcmp(keys.data() + key_at[a], keys.data() + key_at[c], std::min(la, lc2));
            return cmp != 0 ? cmp < 0 : la < lc2;
        });
        std::vector<std::uint32_t> inverse(count);
        std::vector<Node> sorted(count);
        for (std::uint32_t i = 0; i < count; ++i) {
            inverse[perm[i]] = i;
            sorted[i] = s.nodes_[perm[i]];
        }
        s.nodes_ = std::move(sorted);
        for (auto& rn : rec_node) rn = inverse[rn];
        apex = inverse[apex];
        s.apex_ = apex;
        b.rehash(s.table_.size());
    }

    // 3. Group records by node, then by type; sort RDATA and drop duplicates.
    const std::size_t nn = s.nodes_.size();
    std::vector<std::uint32_t> start(nn + 1, 0);
    for (std::size_t i = 0; i < n; ++i) ++start[rec_node[i] + 1];
    for (std::size_t i = 0; i < nn; ++i) start[i + 1] += start[i];
    std::vector<std::uint32_t> order(n);
    {
        std::vector<std::uint32_t> fill(start.begin(), start.end() - 1);
        for (std::size_t i = 0; i < n; ++i) order[fill[rec_node[i]]++] = static_cast<std::uint32_t>(i);
    }
    auto rr_less = [&](std::uint32_t a, std::uint32_t c) {
        const dns::RecordRef& ra = recs[a];
        const dns::RecordRef& rc = recs[c];
        if (ra.type != rc.type) return ra.type < rc.type;
        auto da = recs.rdata(ra), dc = recs.rdata(rc);
        int cmp = std::memcmp(da.data(), dc.data(), std::min(da.size(), dc.size()));
        if (cmp != 0) return cmp < 0;
        return da.size() < dc.size();
    };
    s.rrsets_.reserve(n);
    for (std::uint32_t ni = 0; ni < nn; ++ni) {
        Node& nd = s.nodes_[ni];
        nd.first_rrset = static_cast<std::uint32_t>(s.rrsets_.size());
        auto first = order.begin() + start[ni], last = order.begin() + start[ni + 1];
        std::sort(first, last, rr_less);
        for (auto it = first; it != last;) {
            const std::uint16_t type = recs[*it].type;
            Rrset rs{};
            rs.type = type;
            if (s.data_.size() > kMaxArena) return too_large(s.data_.size());
            rs.data = static_cast<std::uint32_t>(s.data_.size());
            rs.ttl = recs[*it].ttl;
            std::span<const std::uint8_t> prev;
            for (; it != last && recs[*it].type == type; ++it) {
                if (rs.rr_count == 0xffff) {  // counts are 16-bit, as ANCOUNT is
                    return make_error(wn::to_string(s.data_.data() + nd.name) + " " +
                                      dns::type_to_string(type) +
                                      ": more than 65535 records in one RRset");
                }
                auto rd = recs.rdata(recs[*it]);
                if (rs.rr_count > 0 && rd.size() == prev.size() &&
                    std::memcmp(rd.data(), prev.data(), rd.size()) == 0) {
                    continue;  // duplicate record (RFC 2181 §5)
                }
                // RFC 2181 §5.2: one TTL per RRset; take the lowest.
                rs.ttl = std::min(rs.ttl, recs[*it].ttl);
                s.data_.push_back(static_cast<std::uint8_t>(rd.size() >> 8));
                s.data_.push_back(static_cast<std::uint8_t>(rd.size()));
                s.data_.insert(s.data_.end(), rd.begin(), rd.end());
                ++rs.rr_count;
                prev = rd;
            }
            if (s.data_.size() > kMaxArena) return too_large(s.data_.size());
            rs.data_len = static_cast<std::uint32_t>(s.data_.size() - rs.data);
            s.record_count_ += rs.rr_count;
            s.rrsets_.push_back(rs);
        }
        nd.rrset_count = static_cast<std::uint16_t>(s.rrsets_.size() - nd.first_rrset);
    }

    // 4. Per-node rules and flags.
    for (std::uint32_t ni = 0; ni < nn; ++ni) {
        Node& nd = s.nodes_[ni];
        auto where = [&] { return wn::to_string(s.data_.data() + nd.name); };
        bool has_cname = false, has_other = false, has_ns = false;
        for (const Rrset& r : s.rrsets_of(nd)) {
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
        }
        bool nsec3_only = ni != apex && nd.rrset_count > 0;
        for (const Rrset& r : s.rrsets_of(nd)) {
            nsec3_only &= r.type == dns::type::NSEC3 || r.type == dns::type::RRSIG;
        }
        if (nsec3_only && s.find_rrset(nd, dns::type::NSEC3)) nd.flags |= Node::Nsec3Only;
        if (has_cname && has_other) {
            return make_error(where() + ": CNAME and other data (RFC 2181 §10.1)");
        }
        if (ni == apex) {
            nd.flags |= Node::Apex;
            const Rrset* soa = s.find_rrset(nd, dns::type::SOA);
            if (!soa) return make_error("zone " + origin.to_string() + " has no SOA record");
            if (soa->rr_count != 1) {
                return make_error("zone " + origin.to_string() + " has more than one SOA record");
            }
            if (!has_ns) return make_error("zone " + origin.to_string() + " has no NS records at the apex");
            s.soa_rrset_ = static_cast<std::uint32_t>(soa - s.rrsets_.data());
        } else {
            if (has_ns) nd.flags |= Node::Cut;
            if (s.find_rrset(nd, dns::type::SOA)) {
                return make_error(where() + ": SOA record below the zone apex");
            }
        }
        const std::uint8_t* lcn = s.data_.data() + nd.name_lc;
        if (lcn[0] == 1 && lcn[1] == '*') {
            nd.flags |= Node::Wildcard;
            std::uint32_t parent = s.find(lcn + 2, nd.name_len - 2u);
            if (parent != kNone) s.nodes_[parent].wildcard_child = ni;
        }
    }

    // 5. Occlusion: names strictly below a cut or a DNAME owner (the apex
    // included: RFC 6672 §2.3 lets a DNAME sit at the apex).
    const bool apex_dname = s.nodes_[apex].flags & Node::Dname;
    for (std::uint32_t ni = 0; ni < nn; ++ni) {
        Node& nd = s.nodes_[ni];
        if (apex_dname && ni != apex) {
            nd.flags |= Node::Occluded;
            continue;
        }
        std::size_t off = 0;
        const std::uint8_t* lcn = s.data_.data() + nd.name_lc;
        while (nd.name_len - off > olc.size()) {
            off += 1 + lcn[off];
            if (nd.name_len - off <= olc.size()) break;
            std::uint32_t anc = s.find(lcn + off, nd.name_len - off);
            if (anc != kNone && (s.nodes_[anc].flags & (Node::Cut | Node::Dname))) {
                nd.flags |= Node::Occluded;
                break;
            }
        }
    }

    // 6. Additional-section targets (RFC 1035 §3.3.11, §3.3.9; RFC 2782).
    for (std::uint32_t ni = 0; ni < nn; ++ni) {
        const Node& nd = s.nodes_[ni];
        if (nd.flags & Node::Occluded) continue;
        for (std::uint32_t k = 0; k < nd.rrset_count; ++k) {
            Rrset& r = s.rrsets_[nd.first_rrset + k];
            int toff = dns::additional_target_offset(r.type);
            if (toff < 0) continue;
            r.additional = static_cast<std::uint32_t>(s.additional_.size());
            std::size_t p = r.data;
            for (std::uint16_t j = 0; j < r.rr_count; ++j) {
                std::uint16_t len = load16(s.data_.data() + p);
                const std::uint8_t* target = s.data_.data() + p + 2 + toff;
                std::size_t tlen = wn::length(target, len - toff);
                p += 2 + len;
                wn::lower_copy(target, tlen, lc);
                if (!wn::is_subdomain(lc, tlen, olc.data(), olc.size())) continue;
                std::uint32_t t = s.find(lc, tlen);
                if (t == kNone) continue;
                const Node& tn = s.nodes_[t];
                // Glue below a cut only serves NS; other targets must be
                // authoritative data.
                if ((tn.flags & Node::Occluded) && r.type != dns::type::NS) continue;
                if (!s.find_rrset(tn, dns::type::A) && !s.find_rrset(tn, dns::type::AAAA)) continue;
                auto first = s.additional_.begin() + r.additional;
                if (std::find(first, s.additional_.end(), t) != s.additional_.end()) continue;
                s.additional_.push_back(t);
            }
            r.additional_count = static_cast<std::uint16_t>(s.additional_.size() - r.additional);
        }
    }

    // 6b. DNSSEC: split each node's RRSIGs by type covered and link them to
    // the RRsets they sign; note, for each node, the NSEC that covers it.
    for (std::uint32_t ni = 0; ni < nn; ++ni) {
        const Node& nd = s.nodes_[ni];
        const Rrset* all = s.find_rrset(nd, dns::type::RRSIG);
        if (!all) continue;
        for (std::uint32_t k = 0; k < nd.rrset_count; ++k) {
            Rrset& target = s.rrsets_[nd.first_rrset + k];
            if (target.type == dns::type::RRSIG) continue;
            Rrset sig{};
            sig.type = dns::type::RRSIG;
            sig.ttl = target.ttl;  // RFC 4034 §3: an RRSIG's TTL is its RRset's
            // Reserve first: the copies come from data_ itself. Grow
            // geometrically: an exact reserve per RRset would copy the
            // whole arena each time (quadratic in zone size).
            if (s.data_.size() + all->data_len > kMaxArena) return too_large(s.data_.size() + all->data_len);
            if (s.data_.capacity() < s.data_.size() + all->data_len) {
                s.data_.reserve(std::max(s.data_.size() + all->data_len, s.data_.capacity() * 2));
            }
            sig.data = static_cast<std::uint32_t>(s.data_.size());
            std::size_t p = all->data;
            for (std::uint16_t j = 0; j < all->rr_count; ++j) {
                std::uint16_t len = load16(s.data_.data() + p);
                if (len >= 2 && load16(s.data_.data() + p + 2) == target.type) {
                    const std::size_t at = s.data_.size();
                    s.data_.resize(at + 2 + len);  // no reallocation: reserved above
                    std::memcpy(s.data_.data() + at, s.data_.data() + p, 2 + len);
                    ++sig.rr_count;
                }
                p += 2 + len;
            }
            if (sig.rr_count == 0) continue;
            sig.data_len = static_cast<std::uint32_t>(s.data_.size() - sig.data);
            target.sigs = static_cast<std::uint32_t>(s.sigsets_.size());
            s.sigsets_.push_back(sig);
        }
    }
    s.signed_ = s.find_rrset(s.nodes_[apex], dns::type::DNSKEY) != nullptr;
    s.nsec_before_.assign(nn, kNone);
    {
        std::uint32_t last = kNone;
        for (std::uint32_t ni = 0; ni < nn; ++ni) {
            if (s.find_rrset(s.nodes_[ni], dns::type::NSEC)) {
                last = ni;
                s.has_nsec_ = true;
            }
            s.nsec_before_[ni] = last;
        }
    }

    // 6c. NSEC3: parameters and the hash index (owner label in base32hex).
    if (const Rrset* param = s.find_rrset(s.nodes_[apex], dns::type::NSEC3PARAM)) {
        const std::uint8_t* rd = s.data_.data() + param->data + 2;
        std::uint16_t rdlen = load16(s.data_.data() + param->data);
        if (rdlen >= 5 && rd[0] == 1 && rdlen >= 5u + rd[4]) {  // SHA-1
            s.nsec3_iterations_ = load16(rd + 2);
            s.nsec3_salt_.assign(rd + 5, rd + 5 + rd[4]);
            for (std::uint32_t ni = 0; ni < nn; ++ni) {
                const Node& nd = s.nodes_[ni];
                if (!s.find_rrset(nd, dns::type::NSEC3)) continue;
                if (auto h = dns::nsec3_label_hash(s.data_.data() + nd.name_lc)) s.nsec3_.push_back({*h, ni});
            }
            std::sort(s.nsec3_.begin(), s.nsec3_.end());
        }
    }

    // 7. SOA fields.
    {
        const Rrset& soa = s.rrsets_[s.soa_rrset_];
        const std::uint8_t* rd = s.data_.data() + soa.data + 2;
        std::uint16_t len = load16(s.data_.data() + soa.data);
        std::size_t a = wn::length(rd, len);
        std::size_t c = wn::length(rd + a, len - a);
        s.serial_ = load32(rd + a + c);
        s.refresh_ = load32(rd + a + c + 4);
        s.retry_ = load32(rd + a + c + 8);
        s.expire_ = load32(rd + a + c + 12);
        std::uint32_t minimum = load32(rd + a + c + 16);
        s.negative_ttl_ = std::min(soa.ttl, minimum);
    }

    // 8. Fit the storage to the zone: many small zones must not each keep a
    // large hash table or reserved, unused capacity (copying costs O(size),
    // like the build).
    {
        std::size_t cap = 16;
        while ((nn + 2) * 2 > cap) cap *= 2;
        if (cap < s.table_.size()) b.rehash(cap);
        auto fit = [](auto& v) {
            using V = std::remove_reference_t<decltype(v)>;
            const std::size_t spare = (v.capacity() - v.size()) * sizeof(typename V::value_type);
            if (spare > 64 && v.capacity() > v.size() + v.size() / 8) V(v.begin(), v.end()).swap(v);
        };
        fit(s.data_);
        fit(s.nodes_);
        fit(s.rrsets_);
        fit(s.additional_);
        fit(s.sigsets_);
        fit(s.nsec_before_);
        fit(s.nsec3_);
    }
    return std::shared_ptr<const Snapshot>(std::move(snap));
}

}  // namespace satellite::zone
