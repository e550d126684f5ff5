// The catalogs we consume (RFC 9432; zone/consumed_catalog.hpp): each
// [[catalog]] is a presigned secondary zone like any other; each new version
// of it is read into a member list, and the member zones are added, removed
// and re-configured through the same path as the config's zones.
//
//   catalog version ─► read_catalog ─► refused (logged; the last good list stays)
//                                  └─► groups checked ─► saved in state_dir ─► sync_members
//   sync_members: owner of each member (coo moves it, RFC 9432 §5.6) ─► configure_zone / drop_zone
//   dropped member ─► files kept member_grace ─► purge_removed_members deletes them
//   [[catalog]] gone on reload ─► retired: its members dropped as above; back
//                                 within member_grace, it takes them up from state_dir
#include <algorithm>
#include <filesystem>
#include <set>
#include <unordered_map>

#include "daemon/zone.hpp"
#include "zone/consumed_catalog.hpp"

namespace satellite::daemon {

struct ZoneManager::Consumer {
    config::Catalog cfg;
    dns::Name origin;
    std::string key;                           // lower-cased name
    zone::ConsumerState state;                 // the last good member list; removed members
    std::weak_ptr<const zone::Snapshot> read;  // the version last read
};

namespace {

std::string key_of(const dns::Name& n) {
    return n.lowered().to_string();
}

// A member list by lower-cased member name (a catalog may list thousands).
using MemberIndex = std::unordered_map<std::string, const zone::CatalogEntry*>;
MemberIndex index_of(const std::optional<zone::MemberList>& list) {
    MemberIndex out;
    if (!list) return out;
    out.reserve(list->members.size());
    for (const auto& m : list->members) out.emplace(key_of(m.zone), &m);
    return out;
}

}  // namespace

void ZoneManager::configure_consumers(const config::Config& cfg, std::map<std::string, std::shared_ptr<Zone>>& next) {
    std::vector<std::shared_ptr<Consumer>> consumers;
    for (const auto& cc : cfg.catalogs) {
        auto origin = *dns::Name::from_text(cc.name);
        const std::string key = key_of(origin);
        std::shared_ptr<Consumer> c;
        for (const auto& old : consumers_) {
            if (old->key == key) c = old;
        }
        for (auto it = retired_consumers_.begin(); !c && it != retired_consumers_.end(); ++it) {
            if ((*it)->key != key) continue;
            // Back within member_grace: its member list and removed members as they were.
            c = *it;
            retired_consumers_.erase(it);
            spdlog::info("catalog {} is configured again; its member zones are served from {}", cc.name, state_dir_);
            break;
        }
        if (!c) {
            c = std::make_shared<Consumer>();
            c->origin = origin;
            c->key = key;
            // The last good member list: its members are served from state_dir
            // at once, before the catalog itself is loaded or refreshed.
            if (auto st = zone::load_consumer_state(state_dir_, origin); !st) {
                spdlog::error("catalog {}: {}; starting with no members until it is transferred", cc.name,
                              st.error().message);
            } else {
                c->state = std::move(*st);
                if (c->state.members) {
                    spdlog::info("catalog {}: {} member zones from {} (serial {})", cc.name,
                                 c->state.members->members.size(), state_dir_, c->state.members->serial);
                }
            }
        }
        c->cfg = cc;
        consumers.push_back(c);
        // The catalog zone: pulled like a presigned secondary zone; served,
        // but transferred out to nobody.
        config::Zone zc;
        zc.name = cc.name;
        zc.primaries = cc.primaries;
        zc.tsig_key = cc.tsig_key;
        zc.notify_allow = cc.notify_allow;
        auto z = configure_zone(zc);
        z->consumed_catalog = true;
        next[key] = z;
    }
    // A catalog no longer configured: its members go as if its catalog had
    // dropped them, their files kept member_grace (the grace is kept in its
    // state file, and purged, for as long as this process runs). Retired
    // after sync_members, whose purge must not take it before that.
    std::vector<std::shared_ptr<Consumer>> retiring;
    for (const auto& old : consumers_) {
        if (std::none_of(consumers.begin(), consumers.end(), [&](const auto& c) { return c == old; })) {
            spdlog::info("catalog {} is no longer configured; its member zones are removed, their keys and state "
                         "kept for member_grace ({} s)",
                         old->cfg.name, old->cfg.member_grace);
            retiring.push_back(old);
        }
    }
    consumers_ = std::move(consumers);
    sync_members(next);
    // Members running now that this reload drops (their [[catalog]] is gone,
    // or their group's template): removed as a catalog change removes them,
    // their files kept member_grace. configure() purges once zones_ is `next`.
    const std::int64_t now = now_unix();
    std::set<Consumer*> changed;
    for (const auto& [k, z] : zones_) {
        if (z->member_of.empty() || z->removed) continue;
        if (auto n = next.find(k); n != next.end() && n->second == z) continue;
        Consumer* c = nullptr;
        for (const auto* list : {&consumers_, &retiring, &retired_consumers_}) {
            for (const auto& x : *list) {
                if (!c && x->key == z->member_of) c = x.get();
            }
        }
        if (!c) continue;
        c->state.removed.push_back({z->origin, now + c->cfg.member_grace});
        changed.insert(c);
        spdlog::info("zone {}: no longer served after the reload (catalog {}); keys and state kept in {} for the "
                     "grace period",
                     z->cfg.name, c->cfg.name, state_dir_);
    }
    for (Consumer* c : changed) save_consumer(*c);
    retired_consumers_.insert(retired_consumers_.end(), retiring.begin(), retiring.end());
}

// A new version of a catalog we consume (after publish()).
void ZoneManager::catalog_changed(const std::string& catalog_key) {
    if (stopping_) return;
    auto zit = zones_.find(catalog_key);
    std::shared_ptr<Consumer> c;
    for (const auto& x : consumers_) {
        if (x->key == catalog_key) c = x;
    }
    if (!c || zit == zones_.end() || !zit->second->snapshot) return;
    const auto snap = zit->second->snapshot;
    if (c->read.lock() == snap) return;
    c->read = snap;
    if (c->state.members && c->state.members->serial == snap->serial()) return;  // the list we have
    auto refuse = [&](const std::string& why) {
        spdlog::error("catalog {}: serial {} refused: {}; keeping {}", c->cfg.name, snap->serial(), why,
                      c->state.members ? "the member list of serial " + std::to_string(c->state.members->serial)
                                       : std::string("no members"));
    };
    auto list = zone::read_catalog(c->origin, snap->to_records());
    if (!list) return refuse(list.error().message);
    for (const auto& m : list->members) {
        if (!c->cfg.template_for(m.group)) {
            return refuse("member " + m.zone.to_string() + " has group \"" + m.group + "\", and the catalog has no " +
                          "[catalog.group." + m.group + "] template");
        }
        for (const auto& other : consumers_) {
            if (other->origin.equals(m.zone))
                return refuse("member " + m.zone.to_string() + " is a catalog we consume");
        }
    }
    // RFC 9432 §5.5: a member whose unique ID changed is reset (transferred afresh).
    std::vector<std::string> reset;
    const MemberIndex before = index_of(c->state.members);
    for (const auto& m : list->members) {
        auto it = before.find(key_of(m.zone));
        if (it != before.end() && it->second->id != m.id) reset.push_back(m.zone.to_string());
    }
    spdlog::info("catalog {}: serial {}, {} member zones", c->cfg.name, list->serial, list->members.size());
    c->state.members = std::move(*list);
    save_consumer(*c);
    sync_members(zones_);
    publish_catalog();
    for (const auto& name : reset) {
        spdlog::info("zone {}: its catalog ID changed; transferring it afresh (RFC 9432 §5.5)", name);
        refresh_now(name, true);
    }
}

// Makes the member zones in `zones` those the consumed catalogs list now.
void ZoneManager::sync_members(std::map<std::string, std::shared_ptr<Zone>>& zones) {
    auto consumer = [&](const std::string& key) -> Consumer* {
        for (const auto& c : consumers_) {
            if (c->key == key) return c.get();
        }
        return nullptr;
    };
    std::unordered_map<const Consumer*, MemberIndex> indexes;
    for (const auto& c : consumers_) indexes.emplace(c.get(), index_of(c->state.members));
    auto listed = [&](const Consumer* c, const dns::Name& zone) -> const zone::CatalogEntry* {
        auto i = c ? indexes.find(c) : indexes.end();
        if (i == indexes.end()) return nullptr;
        auto e = i->second.find(key_of(zone));
        return e == i->second.end() ? nullptr : e->second;
    };
    // RFC 9432 §5.6: a member its catalog hands over by coo to another
    // catalog we consume belongs to that one as soon as it lists it.
    auto owner_for = [&](Consumer* c, const zone::CatalogEntry& e) -> Consumer* {
        if (e.coo) {
            Consumer* d = consumer(key_of(*e.coo));
            if (d && d != c && listed(d, e.zone)) return d;
        }
        return c;
    };
    std::map<std::string, std::pair<Consumer*, const zone::CatalogEntry*>> wanted;
    // The owner so far keeps a member it still lists; the rest go to the
    // first catalog (in config order) listing them.
    for (const auto& [mkey, ckey] : member_owner_) {
        Consumer* c = consumer(ckey);
        auto name = dns::Name::from_text(mkey);
        const auto* e = name ? listed(c, *name) : nullptr;
        if (!e) continue;
        Consumer* o = owner_for(c, *e);
        wanted[mkey] = {o, listed(o, *name)};
    }
    for (const auto& c : consumers_) {
        if (!c->state.members) continue;
        for (const auto& e : c->state.members->members) {
            const std::string mkey = key_of(e.zone);
            if (wanted.count(mkey)) continue;
            Consumer* o = owner_for(c.get(), e);
            wanted[mkey] = {o, listed(o, e.zone)};
        }
    }
    const std::int64_t now = now_unix();
    std::set<Consumer*> changed;
    // Members no longer listed: removed, their files kept for the grace period.
    for (auto it = zones.begin(); it != zones.end();) {
        Zone& z = *it->second;
        if (z.member_of.empty() || wanted.count(it->first)) {
            ++it;
            continue;
        }
        if (Consumer* c = consumer(z.member_of)) {
            c->state.removed.push_back({z.origin, now + c->cfg.member_grace});
            changed.insert(c);
        }
        spdlog::info("zone {}: no longer in catalog {}; keys and state kept in {} for the grace period", z.cfg.name,
                     z.member_of, state_dir_);
        drop_zone(z);
        it = zones.erase(it);
    }
    std::map<std::string, std::string> owners;
    for (const auto& [mkey, owner] : wanted) {
        auto [c, e] = owner;
        auto existing = zones.find(mkey);
        if (existing != zones.end() && existing->second->member_of.empty()) {
            // A [[zone]] of the config wins over a catalog listing the same name.
            spdlog::warn("catalog {}: member {} is also a [[zone]] in the config; the config's settings apply",
                         c->cfg.name, e->zone.to_string());
            continue;
        }
        const config::Zone* tmpl = c->cfg.template_for(e->group);
        if (!tmpl) {
            spdlog::error(
                "catalog {}: member {} has group \"{}\", which the config no longer has a template for; "
                "not serving it",
                c->cfg.name, e->zone.to_string(), e->group);
            continue;
        }
        // The zone as it runs now (in `zones`, or, during configure(), in zones_).
        const Zone* prior = existing != zones.end() ? existing->second.get() : nullptr;
        if (!prior) {
            auto running = zones_.find(mkey);
            if (running != zones_.end() && !running->second->removed) prior = running->second.get();
        }
        const bool added = !prior;
        if (prior && !prior->member_of.empty() && prior->member_of != c->key) {
            spdlog::info("zone {}: moves from catalog {} to {} (coo, RFC 9432 §5.6)", e->zone.to_string(),
                         prior->member_of, c->cfg.name);
        } else if (added) {
            spdlog::info("zone {}: added by catalog {}{}", e->zone.to_string(), c->cfg.name,
                         e->group.empty() ? std::string() : " (group " + e->group + ")");
        }
        config::Zone zc = *tmpl;
        zc.name = e->zone.to_string();
        zc.block_digest = 0;
        auto z = configure_zone(zc);
        z->member_of = c->key;
        zones[mkey] = z;
        owners[mkey] = c->key;
        // Back within its grace period: its files are its own again.
        for (const auto& x : consumers_) {
            if (!added) break;
            auto& r = x->state.removed;
            auto before = r.size();
            r.erase(std::remove_if(r.begin(), r.end(), [&](const auto& m) { return m.zone.equals(e->zone); }), r.end());
            if (r.size() != before) changed.insert(x.get());
        }
    }
    member_owner_ = std::move(owners);
    for (Consumer* c : changed) save_consumer(*c);
    if (!changed.empty()) purge_removed_members();
}

void ZoneManager::save_consumer(Consumer& c) {
    if (auto s = zone::save_consumer_state(state_dir_, c.origin, c.state); !s) {
        spdlog::error("catalog {}: cannot save its member list: {}", c.cfg.name, s.error().message);
    }
}

// Deletes what removed members left in state_dir once their grace period
// is over (a member listed again meanwhile keeps its files), and waits for
// the next one.
void ZoneManager::purge_removed_members() {
    const std::int64_t now = now_unix();
    std::int64_t next = 0;
    std::vector<std::shared_ptr<Consumer>> all = consumers_;
    all.insert(all.end(), retired_consumers_.begin(), retired_consumers_.end());
    for (const auto& c : all) {
        auto& removed = c->state.removed;
        const auto before = removed.size();
        for (auto it = removed.begin(); it != removed.end();) {
            if (zones_.count(key_of(it->zone))) {
                it = removed.erase(it);
                continue;
            }
            if (it->purge_at > now) {
                next = next == 0 ? it->purge_at : std::min(next, it->purge_at);
                ++it;
                continue;
            }
            std::error_code ec;
            const std::string stored = zone::stored_zone_path(state_dir_, it->zone);
            std::filesystem::remove(stored, ec);
            zone::remove_journal(state_dir_, it->zone);
            std::filesystem::remove(zone::zone_state_path(state_dir_, it->zone), ec);
            std::filesystem::remove_all(modes::key_directory(state_dir_, it->zone), ec);
            spdlog::info("zone {}: removed from its catalog longer than member_grace; its keys and state are deleted",
                         it->zone.to_string());
            it = removed.erase(it);
        }
        if (removed.size() != before) save_consumer(*c);
    }
    // A retired catalog whose members' grace is over: its member list goes
    // too (configured again later, it starts afresh).
    for (auto it = retired_consumers_.begin(); it != retired_consumers_.end();) {
        if (!(*it)->state.removed.empty()) {
            ++it;
            continue;
        }
        std::error_code ec;
        std::filesystem::remove(zone::consumer_state_path(state_dir_, (*it)->origin), ec);
        spdlog::info("catalog {}: no longer configured for longer than member_grace; its member list is deleted",
                     (*it)->cfg.name);
        it = retired_consumers_.erase(it);
    }
    purge_timer_.cancel();
    if (next == 0 || stopping_) return;
    purge_timer_.expires_after(std::chrono::seconds(std::max<std::int64_t>(1, next - now)));
    purge_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec && !stopping_) purge_removed_members();
    });
}

}  // namespace satellite::daemon
