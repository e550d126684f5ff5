// Incremental live signing (DESIGN.md §6, incremental versions): a signed
// version plus a primary's differences becomes the next signed version in
// three steps, each O(change):
//
//   1. the primary's data changes go into the signed version as they are
//      (zone::apply_changes): the new data, the old signatures and denial
//      records beside it;
//   2. the names the change touched (and, for NSEC3 and compact denial,
//      their ancestors, which may have become or stopped being empty
//      non-terminals; and names whose occlusion changed) are looked at in
//      that intermediate version: the denial record each should own now,
//      the denial records of their neighbours in the chain (canonical
//      order for NSEC, hash order for NSEC3), and the signatures every
//      RRset there needs, kept when the RRset did not change;
//   3. the differences of step 2 are applied, and the one signed difference
//      from the previous version to the new one is read off the names
//      either step touched.
//
// Anything that changes every signature or denial record (keys, the
// denial, NSEC3 parameters, the SOA TTL or MINIMUM, signatures due for
// refresh) is left to the whole pass in live.cpp.
#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <set>

#include "dns/types.hpp"
#include "dns/wire.hpp"
#include "modes/live.hpp"
#include "modes/sign_jobs.hpp"

namespace satellite::modes {

namespace t = dns::type;
namespace wn = dns::wire_name;
using namespace signing;
using zone::kNone;
using zone::Node;
using zone::Snapshot;

namespace {

// Types of the zone's data (the denial records and signatures are ours).
bool data_type(std::uint16_t type) { return type != t::RRSIG && type != t::NSEC && type != t::NSEC3; }

using Bytes = std::vector<std::uint8_t>;
using Hash = Snapshot::Nsec3Hash;
// Byte strings in order (out of line: GCC 12 misreads std::less on byte vectors).
struct BytesLess {
    bool operator()(const Bytes& a, const Bytes& b) const { return rdata_less(a, b); }
};
using ByteSet = std::set<Bytes, BytesLess>;
template <class V>
using ByteMap = std::map<Bytes, V, BytesLess>;

// An apex RRset's RDATAs, sorted (as strings: GCC 12 misreads sorting byte vectors).
std::vector<std::string> sorted_rdatas(const Snapshot& s, std::uint32_t apex, std::uint16_t type) {
    std::vector<std::string> out;
    if (const zone::Rrset* r = s.find_rrset(s.node(apex), type)) {
        for (auto rd : rdatas_of(*r)) out.emplace_back(reinterpret_cast<const char*>(rd.data()), rd.size());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> sorted_rdatas(const std::vector<Bytes>& in) {
    std::vector<std::string> out;
    for (const auto& rd : in) out.emplace_back(reinterpret_cast<const char*>(rd.data()), rd.size());
    std::sort(out.begin(), out.end());
    return out;
}

// The (algorithm, key tag) pairs of the signatures over an RRset.
std::set<std::pair<std::uint8_t, std::uint16_t>> signers_of(const Snapshot& s, const zone::Rrset* r) {
    std::set<std::pair<std::uint8_t, std::uint16_t>> out;
    if (!r) return out;
    if (const zone::Rrset* sigs = s.signatures(*r)) {
        for (auto sig : rdatas_of(*sigs)) {
            if (sig.size() >= 18) out.emplace(sig[2], dns::load16(sig.data() + 16));
        }
    }
    return out;
}

class ChangeSigner {
public:
    ChangeSigner(const dns::Name& origin, const Snapshot& prev, const ZoneKeys& keys, const LivePolicy& policy,
                 std::int64_t now, std::string* why_whole)
        : origin_(origin), prev_(prev), keys_(keys), policy_(policy), now_(now), why_whole_(why_whole) {
        const dns::Name lc = origin.lowered();
        olc_.assign(lc.data(), lc.data() + lc.size());
    }

    Result<std::optional<SignedChange>> run(const std::vector<zone::ZoneDelta>& deltas) {
        auto roles = SigningKeys::of(keys_);
        if (!roles) return roles.error();
        roles_ = std::move(*roles);
        if (auto why = incremental_possible(); !why.empty()) {
            if (why_whole_) *why_whole_ = why;
            return std::optional<SignedChange>{};
        }

        // 1. The primary's data changes.
        std::vector<zone::ZoneDelta> data;
        std::size_t dropped = 0;
        for (const auto& d : deltas) {
            zone::ZoneDelta f{d.from, d.to, {}, {}};
            for (auto [from, to] : {std::pair{&d.removed, &f.removed}, std::pair{&d.added, &f.added}}) {
                for (const auto& r : from->refs()) {
                    const std::uint8_t* owner = from->owner(r);
                    const bool at_apex = r.owner_len == olc_.size() && wn::equal_ci(owner, olc_.data());
                    if (signer_type(r.type) || (r.type == t::DS && at_apex)) {
                        ++dropped;
                        continue;
                    }
                    to->add({owner, r.owner_len}, r.type, r.rclass, r.ttl, from->rdata(r));
                }
            }
            data.push_back(std::move(f));
        }
        auto s1 = zone::apply_changes(prev_, data);
        if (!s1) return s1.error();
        s_ = s1->get();
        s1_ = std::move(*s1);
        if (s_->soa().ttl != prev_.soa().ttl || s_->negative_ttl() != prev_.negative_ttl() ||
            (s_->node(s_->apex()).flags & Node::Dname)) {
            if (why_whole_) *why_whole_ = "the SOA TTL or MINIMUM changed";  // every key or denial record changes
            return std::optional<SignedChange>{};
        }

        // 2. The names to look at: every owner of a change, the names below
        //    one whose cut or DNAME came or went, and (NSEC3, compact) their
        //    ancestors.
        for (const auto& d : data) {
            for (const auto* list : {&d.removed, &d.added}) {
                for (const auto& r : list->refs()) {
                    Bytes lc(r.owner_len);
                    wn::lower_copy(list->owner(r), r.owner_len, lc.data());
                    look_at(lc);
                }
            }
        }
        std::vector<Bytes> tops;
        for (const auto& [lc, id] : names_) {
            if (id == kNone || (s_->node(id).flags & Node::Absent)) continue;
            const std::uint16_t before =
                id < prev_.id_limit() && !(prev_.node(id).flags & Node::Absent) ? prev_.node(id).flags : 0;
            if ((before ^ s_->node(id).flags) & (Node::Cut | Node::Dname)) tops.push_back(lc);
        }
        for (const auto& top : tops) {
            for (auto p = s_->after(top.data(), top.size()); !s_->at_end(p); p = s_->next(p)) {
                const Node& n = s_->node(s_->id_at(p));
                if (!wn::is_subdomain(n.data->lc(), n.name_len, top.data(), top.size())) break;
                look_at(Bytes(n.data->lc(), n.data->lc() + n.name_len));
            }
        }
        if (policy_.denial != Denial::Nsec) {
            std::vector<Bytes> names;
            for (const auto& [lc, id] : names_) names.push_back(lc);
            for (const auto& lc : names) {
                std::size_t off = 0;
                while (lc.size() - off > olc_.size()) {
                    off += 1 + lc[off];
                    Bytes up(lc.begin() + static_cast<std::ptrdiff_t>(off), lc.end());
                    if (names_.count(up)) break;  // it and its ancestors are looked at
                    look_at(up);
                }
            }
        }
        switch (policy_.denial) {
            case Denial::Nsec: nsec_chain(); break;
            case Denial::Nsec3:
                if (auto st = nsec3_chain(); !st) return st.error();
                break;
            case Denial::Compact: compact_denial(); break;
        }

        // The signatures every RRset at those names needs.
        auto st = signatures();
        if (!st) return st.error();

        // 3. Applied; the signed difference read off the names touched.
        zone::ZoneDelta gen{s_->serial(), s_->serial(), std::move(removed_), std::move(added_)};
        std::shared_ptr<const Snapshot> next = s1_;
        if (gen.removed.size() > 0 || gen.added.size() > 0) {
            auto applied = zone::apply_changes(*s_, {gen});
            if (!applied) return make_error("signed change does not apply: " + applied.error().message);
            next = std::move(*applied);
        }
        SignedChange out;
        out.zone.snapshot = next;
        out.zone.made = st->made;
        out.zone.kept = next->rrsig_count() - std::min(next->rrsig_count(), st->made);
        out.zone.dropped = dropped;
        const std::uint32_t e = next->earliest_signature_node();
        out.zone.next_resign = e == kNone ? now_ + policy_.refresh
                                          : next->node(e).data->earliest_expiration() - policy_.refresh;
        out.diff = difference(*next, gen);
        return std::optional<SignedChange>{std::move(out)};
    }

private:
    // The previous version is ours, with the keys, denial and parameters
    // this pass would make, and no signature due.
    std::string incremental_possible() const {
        if (!prev_.is_signed()) return "the version served is not signed";
        const std::uint32_t apex = prev_.apex();
        const Node& an = prev_.node(apex);
        const ApexKeySets want = apex_key_sets(origin_, keys_);
        if (sorted_rdatas(prev_, apex, t::DNSKEY) != sorted_rdatas(want.dnskey) ||
            sorted_rdatas(prev_, apex, t::CDS) != sorted_rdatas(want.cds) ||
            sorted_rdatas(prev_, apex, t::CDNSKEY) != sorted_rdatas(want.cdnskey)) {
            return "the keys published changed";
        }
        auto tags = [&](const std::vector<std::uint32_t>& idx) {
            std::set<std::pair<std::uint8_t, std::uint16_t>> out;
            for (std::uint32_t i : idx) out.emplace(keys_.keys[i].key->algorithm(), keys_.keys[i].tag);
            return out;
        };
        if (signers_of(prev_, &prev_.soa()) != tags(roles_.zsks) ||
            signers_of(prev_, prev_.find_rrset(an, t::DNSKEY)) != tags(roles_.ksks)) {
            return "the signing keys changed";
        }
        const std::uint32_t e = prev_.earliest_signature_node();
        if (e == kNone || prev_.node(e).data->earliest_expiration() <= due_before(policy_, now_)) {
            return "signatures are due for refresh";
        }
        switch (policy_.denial) {
            case Denial::Nsec:
                return prev_.has_nsec() && !prev_.has_nsec3() && !prev_.online() ? "" : "the denial changed";
            case Denial::Compact:
                return prev_.online() && prev_.online()->key_tag == keys_.keys[roles_.zsks.front()].tag
                           ? ""
                           : "the denial changed";
            case Denial::Nsec3: {
                if (!prev_.has_nsec3() || prev_.online()) return "the denial changed";
                if (sorted_rdatas(prev_, apex, t::NSEC3PARAM) != sorted_rdatas({nsec3param_rdata(policy_)})) {
                    return "the NSEC3 parameters changed";
                }
                // The opt-out flag lives in each NSEC3: read the first.
                const Node& first = prev_.node(prev_.nsec3_at(prev_.nsec3_begin()).id);
                const zone::Rrset* n3 = prev_.find_rrset(first, t::NSEC3);
                const bool same = n3 && n3->rr_count == 1 && (n3->rdata()[3] & 1) == (policy_.nsec3_opt_out ? 1 : 0);
                return same ? "" : "NSEC3 opt-out changed";
            }
        }
        return "";
    }

    void look_at(const Bytes& lc) {
        if (names_.count(lc)) return;
        names_.emplace(lc, s_->find(lc.data(), lc.size()));
    }

    std::uint32_t id_of(const Bytes& lc) const {
        auto it = names_.find(lc);
        return it != names_.end() ? it->second : s_->find(lc.data(), lc.size());
    }

    bool has_data(const Node& n) const {
        for (const auto& rs : s_->rrsets_of(n)) {
            if (data_type(rs.type)) return true;
        }
        return false;
    }

    // A name of the new version: data of its own, or data below it (an
    // empty non-terminal). Names left with only our records go.
    bool present(std::uint32_t id) const {
        if (id == kNone) return false;
        const Node& n = s_->node(id);
        if (n.flags & (Node::Absent | Node::Nsec3Only)) return false;
        if (id == s_->apex() || has_data(n)) return true;
        for (auto p = s_->after(n.data->lc(), n.name_len); !s_->at_end(p); p = s_->next(p)) {
            const Node& b = s_->node(s_->id_at(p));
            if (!wn::is_subdomain(b.data->lc(), b.name_len, n.data->lc(), n.name_len)) break;
            if (has_data(b)) return true;
        }
        return false;
    }

    // The types a name's denial record lists (RFC 4034 §4.1.2, RFC 5155
    // §3.2), as live.cpp's whole pass lists them.
    std::vector<std::uint16_t> types_at(std::uint32_t id, bool with_rrsig_always) const {
        const Node& n = s_->node(id);
        std::vector<std::uint16_t> types;
        bool has_signed = id == s_->apex();
        for (const auto& rs : s_->rrsets_of(n)) {
            if (!data_type(rs.type)) continue;
            if ((n.flags & Node::Cut) && rs.type != t::NS && rs.type != t::DS) continue;
            types.push_back(rs.type);
            if (!(n.flags & Node::Cut) || rs.type == t::DS) has_signed = true;
        }
        if (with_rrsig_always || has_signed) types.push_back(t::RRSIG);
        std::sort(types.begin(), types.end());
        types.erase(std::unique(types.begin(), types.end()), types.end());
        return types;
    }

    Bytes lc_of(std::uint32_t id) const {
        const Node& n = s_->node(id);
        return Bytes(n.data->lc(), n.data->lc() + n.name_len);
    }

    // The denial record a name should own (empty: none), by owner name.
    void want_denial(const Bytes& owner_lc, std::uint16_t type, Bytes rdata) {
        denial_[owner_lc] = Want{type, std::move(rdata)};
    }

    // --- NSEC (RFC 4035 §2.3): authoritative names with data, in
    //     canonical order, each pointing at the next.
    bool nsec_owner(std::uint32_t id) const {
        if (id == kNone) return false;
        const Node& n = s_->node(id);
        return !(n.flags & (Node::Absent | Node::Occluded)) && has_data(n);
    }

    std::uint32_t next_owner(const Bytes& lc) const {
        for (auto p = s_->after(lc.data(), lc.size()); !s_->at_end(p); p = s_->next(p)) {
            if (nsec_owner(s_->id_at(p))) return s_->id_at(p);
        }
        return s_->apex();  // the last name points back at the apex
    }

    std::uint32_t previous_owner(const Bytes& lc) const {
        auto p = s_->after(lc.data(), lc.size());
        for (std::size_t steps = 0; steps <= s_->node_count(); ++steps) {
            if (s_->at_begin(p)) p = s_->end();  // before the apex: the last name
            p = s_->prev(p);
            const std::uint32_t id = s_->id_at(p);
            if (nsec_owner(id) && lc_of(id) != lc) return id;
        }
        return s_->apex();
    }

    Bytes nsec_rdata(std::uint32_t id) const {
        Bytes rd = lc_of(next_owner(lc_of(id)));
        auto types = types_at(id, true);
        types.push_back(t::NSEC);
        std::sort(types.begin(), types.end());
        append_type_bitmap(types, rd);
        return rd;
    }

    void nsec_chain() {
        ByteSet owners;
        for (const auto& [lc, id] : names_) {
            if (nsec_owner(id)) owners.insert(lc);
            else want_denial(lc, t::NSEC, {});
            owners.insert(lc_of(previous_owner(lc)));
        }
        for (const auto& lc : owners) want_denial(lc, t::NSEC, nsec_rdata(id_of(lc)));
    }

    // --- Compact denial (RFC 9824): every name that exists owns an NSEC
    //     that names only itself.
    void compact_denial() {
        for (const auto& [lc, id] : names_) {
            if (!present(id) || (s_->node(id).flags & Node::Occluded)) {
                want_denial(lc, t::NSEC, {});
                continue;
            }
            Bytes rd = compact_next(lc, (s_->node(id).flags & Node::Cut) != 0);
            auto types = types_at(id, true);
            types.push_back(t::NSEC);
            std::sort(types.begin(), types.end());
            append_type_bitmap(types, rd);
            want_denial(lc, t::NSEC, std::move(rd));
        }
    }

    // --- NSEC3 (RFC 5155 §7.1): every authoritative name, empty
    //     non-terminals too, by hash; with opt-out, insecure delegations
    //     are left out.
    Bytes hash_owner(const Hash& h) const {
        const std::string label = base32hex(h.data(), h.size());
        Bytes owner(1 + label.size() + olc_.size());
        owner[0] = static_cast<std::uint8_t>(label.size());
        std::memcpy(owner.data() + 1, label.data(), label.size());
        std::memcpy(owner.data() + 1 + label.size(), olc_.data(), olc_.size());
        return owner;
    }

    // The first hash of the new chain above h (wrapping), or below it.
    Hash neighbour(const Hash& h, bool up) const {
        std::optional<Hash> best;
        auto better = [&](const Hash& c) {
            if (!best || (up ? c < *best : *best < c)) best = c;
        };
        // Strictly beyond h, from the index (skipping names that leave) and the names that join.
        if (up) {
            for (auto p = s_->nsec3_after(h); !(p == s_->nsec3_end()); p = s_->nsec3_next(p)) {
                if (!leave_.count(s_->nsec3_at(p).hash)) {
                    better(s_->nsec3_at(p).hash);
                    break;
                }
            }
            if (auto it = join_.upper_bound(h); it != join_.end()) better(it->first);
        } else {
            auto p = s_->nsec3_after(h);
            while (!(p == s_->nsec3_begin())) {
                p = s_->nsec3_prev(p);
                const Hash& c = s_->nsec3_at(p).hash;
                if (c < h && !leave_.count(c)) {
                    better(c);
                    break;
                }
            }
            if (auto it = join_.lower_bound(h); it != join_.begin()) better(std::prev(it)->first);
        }
        if (best) return *best;
        // Wrap: the lowest (highest) hash of the whole new chain.
        if (up) {
            for (auto p = s_->nsec3_begin(); !(p == s_->nsec3_end()); p = s_->nsec3_next(p)) {
                if (!leave_.count(s_->nsec3_at(p).hash)) {
                    better(s_->nsec3_at(p).hash);
                    break;
                }
            }
            if (!join_.empty()) better(join_.begin()->first);
        } else {
            auto p = s_->nsec3_end();
            while (!(p == s_->nsec3_begin())) {
                p = s_->nsec3_prev(p);
                if (!leave_.count(s_->nsec3_at(p).hash)) {
                    better(s_->nsec3_at(p).hash);
                    break;
                }
            }
            if (!join_.empty()) better(join_.rbegin()->first);
        }
        return best ? *best : h;
    }

    Bytes nsec3_rdata(const Hash& h, const Bytes& bitmap) const {
        Bytes rd = nsec3param_rdata(policy_);
        rd[1] = policy_.nsec3_opt_out ? 1 : 0;
        rd.push_back(static_cast<std::uint8_t>(h.size()));
        const Hash next = neighbour(h, true);
        rd.insert(rd.end(), next.begin(), next.end());
        rd.insert(rd.end(), bitmap.begin(), bitmap.end());
        return rd;
    }

    Status nsec3_chain() {
        if (olc_.size() + 33 > dns::kMaxNameLen) return make_error("zone name too long for NSEC3 owners");
        // Each name's hash and whether it is in the new chain.
        std::map<Hash, Bytes> bitmaps;  // hashes in the chain whose name was looked at
        for (const auto& [lc, id] : names_) {
            const Hash h = s_->nsec3_hash(lc.data(), lc.size());
            bool in = present(id) && !(s_->node(id).flags & Node::Occluded);
            if (in && policy_.nsec3_opt_out && (s_->node(id).flags & Node::Cut) &&
                !s_->find_rrset(s_->node(id), t::DS)) {
                in = false;
            }
            const bool had = s_->nsec3_match(h) != kNone;
            if (!in) {
                if (had) leave_.insert(h);
                continue;
            }
            Bytes bitmap;
            if (id == s_->apex() || has_data(s_->node(id))) append_type_bitmap(types_at(id, false), bitmap);
            bitmaps[h] = std::move(bitmap);
            if (!had) join_.emplace(h, lc);
        }
        // The records to write: the names looked at, and the hash before
        // each hash that joins or leaves (its next hash changes).
        std::set<Hash> write;
        for (const auto& [h, bitmap] : bitmaps) write.insert(h);
        std::vector<Hash> changed(leave_.begin(), leave_.end());
        for (const auto& [h, lc] : join_) changed.push_back(h);
        for (const Hash& h : changed) {
            const Hash p = neighbour(h, false);
            if (!leave_.count(p)) write.insert(p);
        }
        for (const Hash& h : leave_) want_denial(hash_owner(h), t::NSEC3, {});
        for (const Hash& h : write) {
            Bytes bitmap;
            if (auto it = bitmaps.find(h); it != bitmaps.end()) {
                bitmap = it->second;
            } else {
                // A neighbour whose types did not change: its bitmap as it is.
                const std::uint32_t id = s_->nsec3_match(h);
                if (id == kNone) continue;
                const zone::Rrset* n3 = s_->find_rrset(s_->node(id), t::NSEC3);
                if (!n3 || n3->rr_count != 1) continue;
                auto rd = rdatas_of(*n3).front();
                const std::size_t salt = rd[4];
                const std::size_t at = 5 + salt + 1 + rd[5 + salt];
                if (at > rd.size()) continue;
                bitmap.assign(rd.begin() + static_cast<std::ptrdiff_t>(at), rd.end());
            }
            want_denial(hash_owner(h), t::NSEC3, nsec3_rdata(h, bitmap));
        }
        return {};
    }

    // The denial records as they are and as they should be, then the
    // signatures of every RRset at each name looked at or re-denied.
    struct Want {
        std::uint16_t type;
        Bytes rdata;  // empty: none
    };

    Result<Signatures> signatures() {
        const std::uint32_t nsec_ttl = s_->negative_ttl();
        // Owner → its records to sign in the new version.
        struct Owner {
            Bytes name;  // as spelled
            std::uint32_t id = kNone;
            const Want* denial = nullptr;
        };
        ByteMap<Owner> owners;
        for (const auto& [lc, id] : names_) owners[lc].id = id;
        for (auto& [lc, want] : denial_) {
            Owner& o = owners[lc];
            o.id = id_of(lc);
            o.denial = &want;
        }
        std::vector<std::pair<const Owner*, std::size_t>> first_job;  // per owner, its first job
        for (auto& [lc, o] : owners) {
            const bool exists = o.id != kNone && !(s_->node(o.id).flags & Node::Absent);
            o.name = exists ? Bytes(s_->node_name(s_->node(o.id)), s_->node_name(s_->node(o.id)) + s_->node(o.id).name_len)
                            : lc;
            first_job.emplace_back(&o, jobs_.size());
            // The denial record: as it is, and as it should be.
            if (o.denial) {
                const zone::Rrset* cur = exists ? s_->find_rrset(s_->node(o.id), o.denial->type) : nullptr;
                std::vector<std::span<const std::uint8_t>> cur_rd;
                if (cur) cur_rd = rdatas_of(*cur);
                const bool same = cur && cur->rr_count == 1 && !o.denial->rdata.empty() && cur->ttl == nsec_ttl &&
                                  cur_rd[0].size() == o.denial->rdata.size() &&
                                  std::equal(cur_rd[0].begin(), cur_rd[0].end(), o.denial->rdata.begin());
                if (!same) {
                    for (auto rd : cur_rd) removed_.add({o.name.data(), o.name.size()}, o.denial->type, dns::rrclass::IN, cur->ttl, rd);
                    if (!o.denial->rdata.empty()) {
                        added_.add({o.name.data(), o.name.size()}, o.denial->type, dns::rrclass::IN, nsec_ttl,
                                   o.denial->rdata);
                    }
                }
                if (!o.denial->rdata.empty()) {
                    storage_.push_back(o.denial->rdata);
                    for (std::uint32_t key : roles_.zsks) {
                        jobs_.push_back({o.name.data(), static_cast<std::uint8_t>(o.name.size()), o.denial->type,
                                         nsec_ttl, key, {std::span<const std::uint8_t>(storage_.back())}});
                    }
                }
            } else if (exists) {
                // The denial record stays: its signatures stay too.
                for (std::uint16_t type : {t::NSEC, t::NSEC3}) {
                    if (const zone::Rrset* cur = s_->find_rrset(s_->node(o.id), type)) {
                        for (std::uint32_t key : roles_.zsks) {
                            jobs_.push_back({o.name.data(), static_cast<std::uint8_t>(o.name.size()), type, cur->ttl,
                                             key, rdatas_of(*cur)});
                        }
                    }
                }
            }
            if (!exists) continue;
            // The data: authoritative RRsets, at a delegation only the DS.
            const Node& n = s_->node(o.id);
            if (n.flags & Node::Occluded) continue;
            for (const auto& rs : s_->rrsets_of(n)) {
                if (!data_type(rs.type) || ((n.flags & Node::Cut) && rs.type != t::DS)) continue;
                for (std::uint32_t key : roles_.for_type(rs.type)) {
                    jobs_.push_back({o.name.data(), static_cast<std::uint8_t>(o.name.size()), rs.type, rs.ttl, key,
                                     rdatas_of(rs)});
                }
            }
        }
        auto sigs = sign_jobs(jobs_, origin_, keys_, roles_, policy_, &prev_, now_);
        if (!sigs) return sigs.error();
        // Per owner: the RRSIGs it has against the ones it should have.
        for (std::size_t k = 0; k < first_job.size(); ++k) {
            const Owner& o = *first_job[k].first;
            const std::size_t end = k + 1 < first_job.size() ? first_job[k + 1].second : jobs_.size();
            std::set<std::pair<std::uint32_t, std::string>> want;
            for (std::size_t j = first_job[k].second; j < end; ++j) {
                auto sig = sigs->of(jobs_[j]);
                want.emplace(jobs_[j].ttl, std::string(reinterpret_cast<const char*>(sig.data()), sig.size()));
            }
            if (o.id != kNone && !(s_->node(o.id).flags & Node::Absent)) {
                for (const auto& rs : s_->rrsets_of(s_->node(o.id))) {
                    if (rs.type != t::RRSIG) continue;
                    for (auto rd : rdatas_of(rs)) {
                        std::string have(reinterpret_cast<const char*>(rd.data()), rd.size());
                        if (want.erase({rs.ttl, have})) continue;
                        removed_.add({o.name.data(), o.name.size()}, t::RRSIG, dns::rrclass::IN, rs.ttl, rd);
                    }
                }
            }
            for (const auto& [ttl, rd] : want) {
                added_.add({o.name.data(), o.name.size()}, t::RRSIG, dns::rrclass::IN, ttl,
                           {reinterpret_cast<const std::uint8_t*>(rd.data()), rd.size()});
            }
        }
        return sigs;
    }

    // The one difference from the previous version to `next`: the records
    // of every name either step touched, before and after.
    zone::ZoneDelta difference(const Snapshot& next, const zone::ZoneDelta& gen) const {
        ByteSet names;
        for (const auto& [lc, id] : names_) names.insert(lc);
        for (const auto* list : {&gen.removed, &gen.added}) {
            for (const auto& r : list->refs()) {
                Bytes lc(r.owner_len);
                wn::lower_copy(list->owner(r), r.owner_len, lc.data());
                names.insert(std::move(lc));
            }
        }
        zone::ZoneDelta d{prev_.serial(), next.serial(), {}, {}};
        auto records = [](const Snapshot& s, const Bytes& lc) {
            const std::uint32_t id = s.find(lc.data(), lc.size());
            if (id == kNone) return dns::RecordList{};
            const std::uint32_t ids[] = {id};
            return s.records_at(ids);
        };
        auto keyed = [](const dns::RecordList& l, const dns::RecordRef& r) {
            std::string k = zone::record_key(l, r);
            k.append(reinterpret_cast<const char*>(&r.ttl), sizeof r.ttl);
            return k;
        };
        for (const auto& lc : names) {
            dns::RecordList before = records(prev_, lc), after = records(next, lc);
            std::set<std::string> a, b;
            for (const auto& r : before.refs()) b.insert(keyed(before, r));
            for (const auto& r : after.refs()) a.insert(keyed(after, r));
            for (const auto& r : before.refs()) {
                if (!a.count(keyed(before, r))) d.removed.add({before.owner(r), r.owner_len}, r.type, r.rclass, r.ttl, before.rdata(r));
            }
            for (const auto& r : after.refs()) {
                if (!b.count(keyed(after, r))) d.added.add({after.owner(r), r.owner_len}, r.type, r.rclass, r.ttl, after.rdata(r));
            }
        }
        return d;
    }

    const dns::Name& origin_;
    const Snapshot& prev_;
    const ZoneKeys& keys_;
    const LivePolicy& policy_;
    const std::int64_t now_;
    std::string* why_whole_;
    Bytes olc_;
    SigningKeys roles_;
    std::shared_ptr<const Snapshot> s1_;
    const Snapshot* s_ = nullptr;
    ByteMap<std::uint32_t> names_;  // lower-cased name → id in s_ (kNone: not there)
    ByteMap<Want> denial_;           // owner → its denial record in the new version
    std::set<Hash> leave_;                  // NSEC3 hashes leaving the chain
    std::map<Hash, Bytes> join_;            // NSEC3 hashes joining it, and their names
    std::deque<Bytes> storage_;             // generated RDATA the jobs point into
    std::vector<Job> jobs_;
    dns::RecordList removed_, added_;
};

}  // namespace

Result<std::optional<SignedChange>> sign_changes(const dns::Name& origin, const zone::Snapshot& previous,
                                                 const std::vector<zone::ZoneDelta>& deltas, const ZoneKeys& keys,
                                                 const LivePolicy& policy, std::int64_t now, std::string* why_whole) {
    return ChangeSigner(origin, previous, keys, policy, now, why_whole).run(deltas);
}

}  // namespace satellite::modes
