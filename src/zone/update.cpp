#include "zone/update.hpp"

#include <string>
#include <unordered_map>
#include <unordered_set>

#include "dns/types.hpp"
#include "zone/snapshot.hpp"

namespace satellite::zone {

namespace {

namespace wn = dns::wire_name;

std::uint64_t owner_hash(const dns::RecordList& l, const dns::RecordRef& r) {
    std::uint8_t lc[dns::kMaxNameLen];
    wn::lower_copy(l.owner(r), r.owner_len, lc);
    return name_hash(lc, r.owner_len);
}

}  // namespace

std::string record_key(const dns::RecordList& l, const dns::RecordRef& r) {
    std::string k(r.owner_len + 2 + r.rdata_len, '\0');
    wn::lower_copy(l.owner(r), r.owner_len, reinterpret_cast<std::uint8_t*>(k.data()));
    k[r.owner_len] = static_cast<char>(r.type >> 8);
    k[r.owner_len + 1] = static_cast<char>(r.type);
    auto rd = l.rdata(r);
    std::copy(rd.begin(), rd.end(), k.begin() + r.owner_len + 2);
    return k;
}

std::string describe_change(const ZoneDelta& d, const char* verb, const dns::RecordList& l,
                            const dns::RecordRef& r) {
    return "IXFR " + std::to_string(d.from) + "→" + std::to_string(d.to) + " " + verb + " " +
           wn::to_string(l.owner(r)) + " " + dns::type_to_string(r.type);
}

Result<dns::RecordList> apply_deltas(const dns::RecordList& current,
                                     const std::vector<ZoneDelta>& deltas) {
    // Net change: key → the record to add, or a deletion of a current record.
    struct Change {
        bool add;
        const dns::RecordList* list;  // for adds
        std::uint32_t index;
        bool seen = false;  // deletion matched a current record
        std::string what;
    };
    std::unordered_map<std::string, Change> net;
    std::unordered_set<std::uint64_t> owners;
    for (const ZoneDelta& d : deltas) {
        for (const auto& r : d.removed.refs()) {
            std::string k = record_key(d.removed, r);
            auto it = net.find(k);
            if (it != net.end() && it->second.add) {
                net.erase(it);  // added by an earlier difference, now gone again
            } else if (it != net.end()) {
                return make_error(describe_change(d, "deletes", d.removed, r) + ", twice");
            } else {
                net.emplace(std::move(k), Change{false, nullptr, 0, false, describe_change(d, "deletes", d.removed, r)});
                owners.insert(owner_hash(d.removed, r));
            }
        }
        for (std::uint32_t i = 0; i < d.added.size(); ++i) {
            const auto& r = d.added[i];
            std::string k = record_key(d.added, r);
            auto it = net.find(k);
            if (it != net.end() && !it->second.add) {
                // Deleted then added back: keep the current record, but take
                // the new TTL by replacing it.
                it->second = Change{true, &d.added, i, false, describe_change(d, "adds", d.added, r)};
                it->second.seen = true;  // marks "replaces a current record"
            } else if (it != net.end()) {
                return make_error(describe_change(d, "adds", d.added, r) + ", twice");
            } else {
                net.emplace(std::move(k), Change{true, &d.added, i, false, describe_change(d, "adds", d.added, r)});
                owners.insert(owner_hash(d.added, r));
            }
        }
    }
    dns::RecordList out;
    out.reserve(current.size() + deltas.size() * 4, 0);
    std::size_t deletions_matched = 0, deletions = 0, replaced_seen = 0, replaced = 0;
    for (const auto& [k, c] : net) {
        if (!c.add) ++deletions;
        if (c.add && c.seen) ++replaced;
    }
    for (const auto& r : current.refs()) {
        if (owners.count(owner_hash(current, r))) {
            auto it = net.find(record_key(current, r));
            if (it != net.end()) {
                Change& c = it->second;
                if (!c.add) {
                    c.seen = true;
                    ++deletions_matched;
                    continue;
                }
                if (c.seen) {  // delete + add of the same record: the add replaces it
                    ++replaced_seen;
                    continue;
                }
                return make_error(c.what + ", which we already have");
            }
        }
        out.add({current.owner(r), r.owner_len}, r.type, r.rclass, r.ttl, current.rdata(r));
    }
    if (deletions_matched != deletions || replaced_seen != replaced) {
        for (const auto& [k, c] : net) {
            if (!c.add && !c.seen) return make_error(c.what + ", which we do not have");
        }
        return make_error("IXFR deletes a record we do not have");
    }
    for (const auto& [k, c] : net) {
        if (!c.add) continue;
        const auto& r = (*c.list)[c.index];
        out.add({c.list->owner(r), r.owner_len}, r.type, r.rclass, r.ttl, c.list->rdata(r));
    }
    return out;
}

}  // namespace satellite::zone
