// The zones' manager: configuration, the event loop, each zone's sequence, publishing (daemon/zone.hpp has the map).
#include "daemon/zone.hpp"

namespace satellite::daemon {

namespace {

// NOTIFY targets of a zone. A target is sent a signed NOTIFY when the first
// provide_xfr entry holding its address names a key (the key it fetches
// with, so it knows it), unsigned otherwise.
std::vector<xfr::NotifyTarget> notify_targets(
    const config::Zone& zc, const std::map<std::string, std::shared_ptr<const dns::TsigKey>>& keys) {
    std::vector<xfr::NotifyTarget> out;
    for (const auto& ep : zc.notify) {
        xfr::NotifyTarget t{ep.host, ep.port, nullptr};
        auto addr = serve::parse_address(ep.host);
        for (const auto& text : zc.provide_xfr) {
            auto e = dns::parse_xfr_acl(text);
            if (!e || !addr || !e->prefix.matches(*addr)) continue;
            if (!e->key.empty()) {
                auto k = keys.find(dns::Name::from_text(e->key)->lowered().to_string());
                if (k != keys.end()) t.key = k->second;
            }
            break;
        }
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace

modes::LifecycleTiming ZoneManager::timing(const Zone& z) const {
    modes::LifecycleTiming t;
    const config::Signing sc = z.cfg.signing.value_or(config::Signing{});
    t.dnskey_ttl = z.sig().dnskey_ttl;
    t.max_zone_ttl = z.sig().max_ttl;
    t.propagation_delay = sc.propagation_delay;
    t.parent_ds_ttl = sc.parent_ds_ttl;
    t.zsk_lifetime = sc.zsk_lifetime;
    t.ksk_lifetime = sc.ksk_lifetime;
    t.standby_ksk = sc.standby_ksk;
    if (z.cfg.mode == config::Mode::MultiSigner) t.peer_publish_delay = sc.peer_publish_delay;
    return t;
}

// The zone's DNSSEC lifecycle, read from state_dir on first use; with
// nothing stored, `[zone.signing] enabled = true` starts it as if the API
// had enabled it.
Status ZoneManager::ensure_lifecycle(Zone& z) {
    if (z.lifecycle) return {};
    auto lc = modes::Lifecycle::load(state_dir_, z.origin);
    if (!lc) return make_error("DNSSEC keys: " + lc.error().message);
    for (const auto& w : lc->warnings()) spdlog::warn("zone {}: DNSSEC keys: {}", z.cfg.name, w);
    if (!lc->stored() && z.cfg.signing && z.cfg.signing->enabled) {
        auto out = lc->enable(z.cfg.signing->algorithm, now_unix());
        if (!out.ok()) return make_error("DNSSEC keys: " + out.message);
    }
    z.lifecycle = std::make_unique<modes::Lifecycle>(std::move(*lc));
    say_algorithm_change(z, z.cfg);
    return {};
}

// `[zone.signing] algorithm` differs from the algorithm of the zone's keys.
// Multi-signer: refused, because every provider's DNSKEY RRset, signatures
// and the parent's DS set would have to change algorithm in step (RFC 8901
// §2 wants all providers on one algorithm; RFC 6781 §4.1.4 orders the steps
// per zone, not across providers). Live: no algorithm rollover yet. Either
// way the zone goes on signing with its keys' algorithm.
void ZoneManager::say_algorithm_change(const Zone& z, const config::Zone& zc) {
    if (!z.lifecycle || !z.lifecycle->signs() || !zc.signing || z.lifecycle->algorithm() == zc.signing->algorithm) {
        return;
    }
    const int from = z.lifecycle->algorithm(), to = zc.signing->algorithm;
    if (zc.mode == config::Mode::MultiSigner) {
        spdlog::error("zone {}: zone.signing.algorithm {} refused: the zone is multi-signer and its keys use "
                      "algorithm {}; an algorithm rollover would need every provider to change algorithm in step "
                      "(RFC 8901), which Satellite does not coordinate. Still signing with algorithm {}. To change "
                      "it: disable DNSSEC at every provider (or move the zone to mode = \"live\" with a single "
                      "provider), then enable it again with algorithm {}; or set algorithm = {} to silence this",
                      zc.name, to, from, from, to, from);
    } else {
        spdlog::warn("zone {}: signing with algorithm {} (its keys), not zone.signing.algorithm {}; "
                     "an algorithm rollover is not supported yet",
                     zc.name, from, to);
    }
}

// The mode pipeline's input (modes/pipeline.hpp), captured on the zone's
// sequence: the DNSSEC lifecycle advanced to now, the keys that sign, the
// policies, and the version served so far (DESIGN.md §3).
Result<modes::BuildInput> ZoneManager::build_input(Zone& z) {
    modes::BuildInput in;
    in.origin = z.origin;
    in.previous = z.snapshot;
    in.previous_max_ttl = z.sig().max_ttl;
    in.now = now_unix();
    in.safety_margin = z.cfg.signature_safety_margin;
    const config::Zone& cfg = z.cfg;
    if (!signs_here(cfg.mode)) {
        in.kind = modes::BuildInput::Kind::Presigned;
        in.presigned.allow_nsec3 = cfg.allow_nsec3;
        in.presigned.expiry_warning_s = cfg.expiry_warning;
        in.presigned.verify = cfg.presigned_verify == "off"    ? modes::Verify::Off
                              : cfg.presigned_verify == "full" ? modes::Verify::Full
                                                               : modes::Verify::Keys;
        return in;
    }
    if (auto s = ensure_lifecycle(z); !s) return s.error();
    const bool multi = cfg.mode == config::Mode::MultiSigner;
    if (multi) {
        if (auto s = ensure_peer_keys(z); !s) return s.error();
    }
    modes::PeersPublish peers_publish;
    if (multi && !cfg.peers.empty()) {
        peers_publish = [&z, now = in.now](const modes::ZoneKey& k) {
            return same_rdata(z.sig().peers_serve, k.dnskey) && now >= z.sig().peers_ready_at;
        };
    }
    if (z.lifecycle->advance(in.now, timing(z), peers_publish)) {
        spdlog::info("zone {}: DNSSEC status {}, keys {}", cfg.name, modes::to_string(z.lifecycle->status()),
                     describe_keys(*z.lifecycle));
    }
    if (!z.lifecycle->signs()) {
        // DNSSEC status "disabled": the primary's data, served unsigned.
        in.kind = modes::BuildInput::Kind::Unsigned;
        return in;
    }
    in.kind = modes::BuildInput::Kind::Signed;
    in.keys = z.lifecycle->signing_keys();
    // RFC 8901 model 2: the other providers' keys are published (and
    // their KSKs named by CDS/CDNSKEY) beside ours; ours sign.
    if (multi) z.peer_keys->add_to(in.keys);
    in.live = live_policy(cfg.signing.value_or(config::Signing{}));
    in.live.progress = watch(z.sig_mut().signing_progress, cfg.name, "signing");
    return in;
}

// What a built version tells the zone: when to re-sign, the TTLs the key
// timings wait for, and the lines an operator reads.
void ZoneManager::after_build(Zone& z, const modes::BuiltVersion& b, bool ours) {
    if (!b.warning.empty()) spdlog::warn("zone {}: {}", z.cfg.name, b.warning);
    z.signatures = b.signatures;  // the version is installed by the caller right after
    if (!b.validity_warning.empty()) spdlog::warn("zone {}: {}", z.cfg.name, b.validity_warning);
    if (!signs_here(z.cfg.mode)) return;
    z.sig_mut().max_ttl = b.max_ttl;
    z.sig_mut().dnskey_ttl = b.soa_ttl;
    z.sig_mut().next_resign = b.next_resign;
    if (b.next_resign == 0) return;  // served unsigned
    spdlog::info("zone {}: signed serial {} ({} signatures made, {} kept) in {} ms{}{}", z.cfg.name,
                 b.snapshot->serial(), b.made, b.kept, b.ms,
                 b.signed_diff ? ", the change only"
                 : b.signed_whole.empty() ? std::string()
                                          : ", whole: " + b.signed_whole,
                 b.dropped && !ours ? "; dropped " + std::to_string(b.dropped) + " DNSSEC records from the primary"
                                    : std::string());
}

// The zone's sequence: its steps run one at a time on the control thread,
// and a step that builds (signing, verification, a snapshot, a disk write)
// hands that work to a worker; the zone's next step waits for its result,
// other zones do not.
void ZoneManager::in_sequence(Zone& z, std::function<void()> step) {
    if (z.working) {
        z.pending.push_back(std::move(step));
        return;
    }
    step();
}

void ZoneManager::run_pending(Zone& z) {
    while (!z.working && !z.pending.empty() && !stopping_) {
        auto step = std::move(z.pending.front());
        z.pending.pop_front();
        step();
    }
    if (!z.working && z.pending.empty() && !z.idle_waiters.empty()) {
        auto waiters = std::move(z.idle_waiters);
        z.idle_waiters.clear();
        for (auto& w : waiters) w();
    }
}


std::optional<zone::ZoneState> ZoneManager::zone_state(const std::string& zone_name) const {
    auto origin = dns::Name::from_text(zone_name.empty() || zone_name.back() != '.' ? zone_name + "." : zone_name);
    auto it = origin ? zones_.find(origin->lowered().to_string()) : zones_.end();
    if (it == zones_.end()) return std::nullopt;
    return it->second->state;
}

const config::Zone* ZoneManager::configured(const std::string& zone_name) const {
    auto origin = dns::Name::from_text(zone_name.empty() || zone_name.back() != '.' ? zone_name + "." : zone_name);
    auto it = origin ? zones_.find(origin->lowered().to_string()) : zones_.end();
    return it == zones_.end() ? nullptr : &it->second->cfg;
}

void ZoneManager::when_idle(const std::string& zone_name, std::function<void()> cb) {
    auto origin = dns::Name::from_text(zone_name.empty() || zone_name.back() != '.' ? zone_name + "." : zone_name);
    auto it = origin ? zones_.find(origin->lowered().to_string()) : zones_.end();
    if (it == zones_.end() || (!it->second->working && it->second->pending.empty())) {
        cb();
        return;
    }
    it->second->idle_waiters.push_back(std::move(cb));
}

// Test hook: SATELLITE_DUMP_DIR=<dir> writes each published live-signed
// zone to <dir>/<zone>.zone, for ldns-verify-zone.
void ZoneManager::dump(const Zone& z) const {
    const char* dir = std::getenv("SATELLITE_DUMP_DIR");
    if (!dir || !*dir || !z.snapshot || !signs_here(z.cfg.mode)) return;
    std::string name = z.origin.lowered().to_string();
    if (name.size() > 1) name.pop_back();
    if (auto s = dns::write_zone_file(std::string(dir) + "/" + name + ".zone", z.snapshot->to_records()); !s) {
        spdlog::warn("zone {}: dump failed: {}", z.cfg.name, s.error().message);
    }
}

ZoneManager::ZoneManager(asio::io_context& control, Published<zone::Catalog>& catalog,
                         std::shared_ptr<zone::ZoneStats> stats, const Clock* clock)
    : io_(control),
      catalog_(catalog),
      stats_(std::move(stats)),
      clock_(clock ? *clock : system_clock_),
      loop_(events_, control, clock_, [this](ZoneId id, ZoneEvent e) { on_event(id, e); }),
      purge_timer_(control),
      notify_out_(control, clock_),
      workers_(std::max(2u, std::thread::hardware_concurrency())),
      disk_(16) {}

ZoneManager::~ZoneManager() {
    shutdown();
    // Writes not started are dropped with the pools; the newest state of a
    // zone whose save was pending is written here (its stored copy, if any
    // was named, is already durable).
    disk_.stop();
    disk_.join();
    workers_.stop();
    workers_.join();
    for (const auto& [k, z] : zones_) {
        if (!z->secondary || !(z->state_saving || z->state_dirty)) continue;
        if (auto s = zone::save_zone_state(state_dir_, z->origin, z->state); !s) {
            spdlog::error("zone {}: cannot save its state: {}", z->cfg.name, s.error().message);
        }
    }
}

void ZoneManager::shutdown() {
    stopping_ = true;
    purge_timer_.cancel();
    loop_.stop();
}

void ZoneManager::configure(const config::Config& cfg) {
    state_dir_ = cfg.server.state_dir;
    produced_catalog_ = cfg.server.catalog;
    produced_catalog_acl_ = cfg.server.provide_xfr;
    keys_.clear();
    for (const auto& k : cfg.tsig_keys) {
        auto key = std::make_shared<dns::TsigKey>();
        key->name = dns::Name::from_text(k.name)->lowered();
        key->algorithm = *dns::tsig_algorithm_from_string(k.algorithm);
        key->secret = k.secret_bytes;
        keys_[dns::Name::from_text(k.name)->lowered().to_string()] = key;
    }
    std::map<std::string, std::shared_ptr<Zone>> next;
    for (const auto& zc : cfg.zones) {
        auto z = configure_zone(zc);
        next[z->key()] = z;
    }
    // The catalogs we consume, and their members (daemon/consumed_catalog.cpp).
    configure_consumers(cfg, next);
    for (auto& [k, z] : zones_) {
        if (next.find(k) == next.end() || next[k] != z) drop_zone(*z);
    }
    zones_ = std::move(next);
    publish_catalog();
    purge_removed_members();  // after zones_ is the new set: a member dropped by this reload is not running
}

// A zone the config (or a consumed catalog) names: the running one when
// there is one of the same kind, with the settings of `zc`; a new one
// (loaded from its file or state_dir) otherwise.
std::shared_ptr<ZoneManager::Zone> ZoneManager::configure_zone(const config::Zone& zc) {
    dns::Name origin = *dns::Name::from_text(zc.name);
    std::string key = origin.lowered().to_string();
    const bool secondary = zc.file.empty();
    std::shared_ptr<Zone> z;
    if (auto it = zones_.find(key); it != zones_.end() && it->second->secondary == secondary && !it->second->removed) {
        z = it->second;
    } else {
        z = std::make_shared<Zone>();
        z->id = events_.add_zone();
        if (by_id_.size() <= z->id) by_id_.resize(z->id + 1);
        by_id_[z->id] = z;
        z->origin = origin;
        z->secondary = secondary;
    }
    const bool fresh = z->cfg.name.empty();
    const bool resign_now = !fresh && z->snapshot &&
                            (z->cfg.mode != zc.mode || !same_signing(z->cfg.signing, zc.signing));
    if (!fresh) say_algorithm_change(*z, zc);  // a reload asking for another algorithm
    if (z->source_is_file && z->cfg.file != zc.file) {  // what it serves came from the old path
        z->source = z->cfg.file;
        z->source_is_file = false;
    }
    if (fresh || zc.block_digest == 0 || z->cfg.block_digest != zc.block_digest) z->cfg = zc;  // else the same
    std::shared_ptr<const dns::TsigKey> tsig;
    if (!zc.tsig_key.empty()) tsig = keys_[dns::Name::from_text(zc.tsig_key)->lowered().to_string()];
    std::vector<xfr::PrimaryAddress> primaries = addresses(zc.primaries);
    auto same_key = [](const dns::TsigKey* a, const dns::TsigKey* b) {
        if (!a || !b) return a == b;
        return a->name.to_string() == b->name.to_string() && a->algorithm == b->algorithm && a->secret == b->secret;
    };
    auto same_primaries = [&] {
        if (primaries.size() != z->primaries.size()) return false;
        for (std::size_t i = 0; i < primaries.size(); ++i) {
            if (primaries[i].to_string() != z->primaries[i].to_string()) return false;
        }
        return true;
    };
    if (!same_primaries() || !same_key(tsig.get(), z->tsig.get())) ++z->xfr_generation;
    z->tsig = std::move(tsig);
    z->primaries = std::move(primaries);
    z->notify_allow.clear();
    for (const auto& a : zc.notify_allow) {
        if (auto b = serve::parse_address(a)) z->notify_allow.push_back(*b);
    }
    z->member_of.clear();
    z->consumed_catalog = false;
    if (!secondary || fresh) {
        // Loads run as the zone's load event; start-up waits for them. A
        // new zone's load is due before the zone-file checks of the
        // zones kept (due time 1, "as soon as possible"): a reload that
        // adds one zone serves it without waiting for the others.
        ++loads_in_flight_;
        events_.schedule(z->id, ZoneEvent::Load, fresh ? 0 : now_unix(), EventScheduler::When::Earlier);
        loop_.changed();
    }
    if (resign_now && z->snapshot) {
        // A changed mode or [zone.signing]: sign (or unsign) the data we have.
        asio::post(io_, [this, key] {
            auto it = zones_.find(key);
            if (it != zones_.end() && !it->second->removed) resign(*it->second, "configuration change");
        });
    }
    return z;
}

// A zone no longer configured: its events end, queries stop finding it
// once the next catalog is published; its files stay in state_dir.
void ZoneManager::drop_zone(Zone& z) {
    if (z.removed) return;
    z.removed = true;
    if (events_.due(z.id, ZoneEvent::Load)) --loads_in_flight_;
    events_.remove_zone(z.id);
    if (z.id < by_id_.size()) by_id_[z.id].reset();
    spdlog::info("zone {} removed", z.origin.to_string());
}

// The zone set (or a zone's serving settings) changed: a new catalog, whose
// zones keep their slots and so the versions they serve.
void ZoneManager::publish_catalog() {
    std::vector<zone::ServedZone> served;
    served.reserve(zones_.size());
    for (const auto& [k, z] : zones_) {
        zone::ServedZone s;
        s.origin = z->origin;
        s.slot = z->slot;
        s.secondary = z->secondary;
        s.notify_allow = z->notify_allow;
        s.tsig = z->tsig;
        s.provide_xfr = xfr_allow(z->cfg.provide_xfr);
        served.push_back(std::move(s));
    }
    add_produced_catalog(served);
    catalog_.publish(std::make_unique<zone::Catalog>(std::move(served), stats_));
}

std::vector<zone::ServedZone::XfrAllow> ZoneManager::xfr_allow(const std::vector<std::string>& entries) {
    std::vector<zone::ServedZone::XfrAllow> out;
    for (const auto& text : entries) {  // checked by config::load
        auto e = dns::parse_xfr_acl(text);
        if (!e) continue;
        std::shared_ptr<const dns::TsigKey> key;
        if (!e->key.empty()) key = keys_[dns::Name::from_text(e->key)->lowered().to_string()];
        if (e->key.empty() || key) out.push_back({e->prefix, key});
    }
    return out;
}

// A new version of one zone (or its expiry): one pointer swap in its slot.
void ZoneManager::publish(Zone& z) {
    // RFC 8914: why an expired zone is SERVFAIL (read by the query path
    // only when the slot is empty; stored before the swap that empties it).
    const int ede = !z.snapshot || !z.expired()        ? -1
                    : z.state.expired_by_signatures ? zone::kEdeSignatureExpired
                                                    : zone::kEdeNoReachableAuthority;
    z.slot->unserved_ede.store(ede, std::memory_order_relaxed);
    catalog_.retire(z.slot->swap(z.serving() ? z.snapshot : nullptr));
    if (signs_here(z.cfg.mode) && z.slot->history.load(std::memory_order_acquire)) {
        // Signed here now (a changed mode): the primary's differences no longer describe what we serve.
        catalog_.retire(z.slot->swap_history(nullptr));
    }
    if (z.consumed_catalog && z.snapshot) {
        // A new version of a catalog we consume: its member list is read
        // outside this zone's step (it may add and remove zones).
        asio::post(io_, [this, key = z.key()] { catalog_changed(key); });
    }
    if (z.serving() && z.snapshot && !z.cfg.notify.empty()) {
        notify_out_.new_version(z.origin, z.snapshot->serial(), notify_targets(z.cfg, keys_));
    }
}

namespace {

// The uncompressed wire size of a difference's records (RFC 1035 §4.1.3).
std::size_t wire_bytes(const zone::ZoneDelta& d) {
    std::size_t n = 0;
    for (const auto* l : {&d.removed, &d.added}) {
        for (const auto& r : l->refs()) n += r.owner_len + 10u + r.rdata_len;
    }
    return n;
}

}  // namespace

// Outgoing IXFR (serve/xfr_out.hpp): the differences that led to the
// version just installed, after those before it: the primary's for a zone
// served as transferred; for a zone signed here, the signed differences of
// incremental signing (`signed_prior`: its history before the version was
// published, which forgets it). None after a whole transfer or a whole
// signing pass. At load, `deltas` is the stored journal, so a restart keeps
// what it holds (a compaction empties it: the history before it stays in
// memory only). Bounded by kIxfrHistorySteps, kIxfrHistoryBytes and not
// more records than the zone holds (a client further behind gets the zone).
void ZoneManager::remember_history(Zone& z, zone::ZoneDelta* signed_step, std::shared_ptr<const zone::IxfrHistory> prior) {
    std::vector<zone::ZoneDelta> one;
    one.push_back(std::move(*signed_step));
    remember_history(z, &one, prior ? std::move(prior) : std::make_shared<const zone::IxfrHistory>());
}

void ZoneManager::remember_history(Zone& z, const std::vector<zone::ZoneDelta>* deltas,
                                   std::shared_ptr<const zone::IxfrHistory> signed_prior) {
    std::shared_ptr<const zone::IxfrHistory> next;
    if (deltas && !deltas->empty() && (signed_prior || !signs_here(z.cfg.mode)) && z.snapshot &&
        deltas->back().to == z.snapshot->serial()) {
        std::vector<const zone::ZoneDelta*> all;
        const auto* current = z.slot->history.load(std::memory_order_acquire);  // we are its only writer
        const zone::IxfrHistory* old = signed_prior ? signed_prior.get() : current && *current ? current->get() : nullptr;
        if (old && !old->deltas.empty() && old->deltas.back().to == deltas->front().from) {
            for (const auto& d : old->deltas) all.push_back(&d);
        }
        for (const auto& d : *deltas) all.push_back(&d);
        // Newest first, keep what fits; the newest step is always kept.
        const std::size_t record_limit = std::max<std::size_t>(1024, z.snapshot->record_count());
        std::size_t records = 0, bytes = 0, keep = 0;
        for (std::size_t i = all.size(); i-- > 0;) {
            records += all[i]->removed.size() + all[i]->added.size();
            bytes += wire_bytes(*all[i]);
            if (keep > 0 && (keep >= kIxfrHistorySteps || records > record_limit || bytes > kIxfrHistoryBytes)) break;
            ++keep;
        }
        auto h = std::make_shared<zone::IxfrHistory>();
        h->deltas.reserve(keep);
        for (std::size_t i = all.size() - keep; i < all.size(); ++i) h->deltas.push_back(*all[i]);
        next = std::move(h);
    }
    if (!next && !z.slot->history.load(std::memory_order_acquire)) return;
    catalog_.retire(z.slot->swap_history(std::move(next)));
}

void ZoneManager::schedule(Zone& z, ZoneEvent e, std::int64_t delay_s, bool earlier) {
    events_.schedule(z.id, e, now_unix() + delay_s,
                     earlier ? EventScheduler::When::Earlier : EventScheduler::When::Replace);
    loop_.changed();
}

// One zone event is due (DESIGN.md §6). Each starts its work here; what
// takes longer (a transfer, a build) goes on in the zone's own sequence, so
// the event ends at once and the zone's next event is not held up by it.
void ZoneManager::on_event(ZoneId id, ZoneEvent e) {
    events_.finish(id);
    auto z = id < by_id_.size() ? by_id_[id].lock() : nullptr;
    if (!z || z->removed || stopping_) return;
    spdlog::trace("zone {}: event {}", z->cfg.name, to_string(e));
    switch (e) {
        case ZoneEvent::Load:
            if (z->secondary) {
                load_from_disk(*z);
            } else {
                load_local_file(*z);
            }
            --loads_in_flight_;  // the load's own work is counted from here on
            break;
        case ZoneEvent::Refresh: start_refresh(z, "refresh timer"); break;
        case ZoneEvent::Notify: start_refresh(z, "NOTIFY"); break;
        case ZoneEvent::Expire: expire(*z); break;
        case ZoneEvent::Resign: resign(*z, "signature refresh"); break;
        case ZoneEvent::DnskeySync: check_peers(*z); break;
        case ZoneEvent::DsCheck: check_parent(*z); break;
        case ZoneEvent::Flush: store_served(*z); break;
    }
}

}  // namespace satellite::daemon
