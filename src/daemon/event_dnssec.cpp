// The re-sign, DNSKEY sync and DS check events of live and multi-signer zones, and keys taken from the primary.
#include "daemon/zone.hpp"

namespace satellite::daemon {

namespace {

// A DS RDATA at the parent that points at one of our KSKs.
bool ds_of(const dns::Name& origin, const std::vector<std::uint8_t>& ds, const modes::ManagedKey& k) {
    if (ds.size() < 5 || k.key.role != modes::KeyRole::Ksk) return false;
    return dns::ds_rdata(origin, k.key.dnskey, ds[3]) == ds;
}

}  // namespace

// What each parent server answered, for the status page: the key tags of
// our KSKs whose DS it serves, or the problem (named "server: why").
void ZoneManager::record_parent_servers(Zone& z, const std::vector<xfr::PrimaryAddress>& servers,
                                        const xfr::Answers& round) {
    std::vector<Zone::Signing::ParentServer> out;
    for (std::size_t i = 0; i < servers.size(); ++i) {
        Zone::Signing::ParentServer p;
        p.server = servers[i].to_string();
        p.answered = i < round.answered.size() && round.answered[i];
        if (p.answered && z.lifecycle && i < round.rdatas.size()) {
            for (const auto& k : z.lifecycle->keys()) {
                const bool served = std::any_of(round.rdatas[i].begin(), round.rdatas[i].end(),
                                                [&](const auto& ds) { return ds_of(z.origin, ds, k); });
                if (served) p.our_ds.push_back(k.key.tag);
            }
        }
        if (!p.answered) {
            for (const auto& why : round.problems) {
                if (why.starts_with(p.server + ":")) p.error = why.substr(p.server.size() + 1);
            }
            while (!p.error.empty() && p.error.front() == ' ') p.error.erase(0, 1);
            if (p.error.empty()) p.error = "no usable answer";
        }
        out.push_back(std::move(p));
    }
    z.sig_mut().parent_servers = std::move(out);
}

// Signature upkeep: re-sign what is due, keep the rest, publish.
void ZoneManager::arm_resign(Zone& z) {
    events_.cancel(z.id, ZoneEvent::Resign);
    if (!signs_here(z.cfg.mode) || !z.snapshot || !z.lifecycle) return;
    arm_parent_check(z);
    std::int64_t when = z.sig().next_resign;
    std::int64_t key_event = z.lifecycle->next_event(timing(z));
    if (z.cfg.mode == config::Mode::MultiSigner && !z.cfg.peers.empty() && z.lifecycle->awaiting_peers(now_unix())) {
        // Our new ZSK is due but a peer lacks it: ask the peers, not the clock.
        key_event = 0;
        check_peers(z);
    }
    if (key_event != 0 && (when == 0 || key_event < when)) when = key_event;
    if (when == 0) return;
    schedule(z, ZoneEvent::Resign, std::max<std::int64_t>(1, when - now_unix()));
}

// Multi-signer: asks every peer for its DNSKEY RRset (TCP, in parallel) and
// keeps what all of them serve. When that now includes our waiting ZSK, the
// zone is re-signed (the lifecycle moves the key on); else we ask again.
void ZoneManager::check_peers(Zone& z) {
    if (z.sig().peer_check_running || z.cfg.peers.empty()) return;
    z.sig_mut().peer_check_running = true;
    events_.cancel(z.id, ZoneEvent::DnskeySync);
    const std::string key = z.origin.lowered().to_string();
    xfr::ask_all(io_, addresses(z.cfg.peers), z.origin, dns::type::DNSKEY, std::chrono::seconds(5), [this, key](xfr::Answers round) {
        auto it = zones_.find(key);
        if (stopping_ || it == zones_.end() || it->second->removed) return;
        Zone& zone = *it->second;
        zone.sig_mut().peer_check_running = false;
        // What every peer serves.
        std::vector<std::vector<std::uint8_t>> common = round.rdatas[0];
        for (const auto& a : round.rdatas) {
            std::erase_if(common, [&](const auto& rd) {
                return std::none_of(a.begin(), a.end(), [&](const auto& x) { return same_rdata(x, rd); });
            });
        }
        if (!zone.lifecycle) return;
        const std::int64_t now = now_unix();
        const modes::ManagedKey* waiting = zone.lifecycle->awaiting_peers(now);
        if (!waiting) return;
        const config::Signing sc = zone.cfg.signing.value_or(config::Signing{});
        auto ask_again_in = [&](std::int64_t seconds) {
            schedule(zone, ZoneEvent::DnskeySync, std::max<std::int64_t>(1, seconds));
        };
        const bool there = std::any_of(common.begin(), common.end(),
                                       [&](const auto& rd) { return same_rdata(rd, waiting->key.dnskey); });
        if (there) {
            // A resolver may hold a peer's DNSKEY RRset from just before
            // the key arrived there: wait until that copy has expired.
            if (!same_rdata(zone.sig_mut().peers_serve, waiting->key.dnskey)) {
                zone.sig_mut().peers_serve = waiting->key.dnskey;
                zone.sig_mut().peers_ready_at = now + std::max(round.ttl, zone.sig_mut().dnskey_ttl) + sc.propagation_delay;
                spdlog::info("zone {}: every peer serves our new ZSK {}; it signs in {} s, when the peers' older "
                             "DNSKEY RRsets have left the caches",
                             zone.cfg.name, waiting->key.tag, zone.sig_mut().peers_ready_at - now);
            }
            if (now >= zone.sig_mut().peers_ready_at) {
                spdlog::info("zone {}: our new ZSK {} signs from now on", zone.cfg.name, waiting->key.tag);
                resign(zone, "the peers publish the new ZSK");
                return;
            }
            ask_again_in(zone.sig_mut().peers_ready_at - now);  // and make sure it is still there then
            return;
        }
        zone.sig_mut().peers_serve.clear();
        std::string why;
        for (const auto& p : round.problems) why += "; " + p;
        // Said once per key at warning level; each later attempt at debug.
        const bool first = zone.sig_mut().peer_wait_logged != waiting->key.tag;
        zone.sig_mut().peer_wait_logged = waiting->key.tag;
        spdlog::log(first ? spdlog::level::warn : spdlog::level::debug,
                    "zone {}: new ZSK {} waits: not every peer serves it in its DNSKEY RRset yet (import our "
                    "GET .../dnssec/peer-keys there){}",
                    zone.cfg.name, waiting->key.tag, why);
        ask_again_in(std::clamp<std::int64_t>(sc.propagation_delay, 2, 60));
    });
}

// RFC 8901 §8, at each successful check of a multi-signer zone: every
// provider in `peers` is asked for its DNSKEY, CDS and CDNSKEY RRsets (TCP,
// in parallel) and compared with what we serve (modes/provider_check.hpp);
// a provider that lacks one of our keys or serves another CDS/CDNSKEY set
// is logged when that changes, and shown by the API and /metrics.
void ZoneManager::probe_providers(Zone& z) {
    if (z.cfg.mode != config::Mode::MultiSigner || z.cfg.peers.empty() || !z.snapshot || z.sig().provider_probe_running) {
        return;
    }
    z.sig_mut().provider_probe_running = true;
    struct Round {
        int left = 3;
        xfr::Answers dnskey, cds, cdnskey;
    };
    auto round = std::make_shared<Round>();
    auto servers = addresses(z.cfg.peers);
    auto finish = [this, key = z.origin.lowered().to_string(), round, servers] {
        auto it = zones_.find(key);
        if (stopping_ || it == zones_.end() || it->second->removed) return;
        Zone& zone = *it->second;
        zone.sig_mut().provider_probe_running = false;
        if (!zone.snapshot || round->dnskey.answered.size() != servers.size()) return;
        const modes::ApexKeySets ours = modes::apex_key_sets(*zone.snapshot);
        const auto own = own_keys(zone).first;
        std::vector<modes::ProviderCheck> checks;
        for (std::size_t i = 0; i < servers.size(); ++i) {
            modes::ProviderCheck c;
            c.server = servers[i].to_string();
            c.answered = round->dnskey.answered[i] && round->cds.answered[i] && round->cdnskey.answered[i];
            if (!c.answered) {
                for (const auto* a : {&round->dnskey, &round->cds, &round->cdnskey}) {
                    for (const auto& p : a->problems) {
                        if (c.error.empty() && p.starts_with(c.server + ":")) c.error = p.substr(c.server.size() + 2);
                    }
                }
            } else {
                c.problems = modes::provider_disagreements(
                    ours, own, {round->dnskey.rdatas[i], round->cds.rdatas[i], round->cdnskey.rdatas[i]});
            }
            const auto before = std::find_if(zone.sig_mut().providers.begin(), zone.sig_mut().providers.end(),
                                             [&](const auto& p) { return p.server == c.server; });
            const bool was_consistent = before == zone.sig_mut().providers.end() || before->consistent();
            if (c.answered && !c.problems.empty() && (before == zone.sig_mut().providers.end() || before->problems != c.problems)) {
                std::string all;
                for (const auto& p : c.problems) all += (all.empty() ? "" : "; ") + p;
                spdlog::warn("zone {}: provider {} disagrees with our keys (RFC 8901): {}", zone.cfg.name, c.server, all);
            } else if (!c.answered && was_consistent) {
                spdlog::warn("zone {}: provider {} did not answer the consistency check: {}", zone.cfg.name, c.server,
                             c.error);
            } else if (c.consistent() && !was_consistent) {
                spdlog::info("zone {}: provider {} serves our keys and the same CDS/CDNSKEY again", zone.cfg.name,
                             c.server);
            }
            checks.push_back(std::move(c));
        }
        zone.sig_mut().providers = std::move(checks);
        zone.sig_mut().providers_checked_at = now_unix();
    };
    const auto timeout = std::chrono::seconds(5);
    auto ask = [&](std::uint16_t type, xfr::Answers Round::*into) {
        xfr::ask_all(io_, servers, z.origin, type, timeout, [round, finish, into](xfr::Answers a) {
            (*round).*into = std::move(a);
            if (--round->left == 0) finish();
        });
    };
    ask(dns::type::DNSKEY, &Round::dnskey);
    ask(dns::type::CDS, &Round::cds);
    ask(dns::type::CDNSKEY, &Round::cdnskey);
}

// parent_ds_check: while a DS is awaited (or its removal), look at the
// parent's DS RRset every parent_ds_check_interval.
void ZoneManager::arm_parent_check(Zone& z) {
    if (z.cfg.parent_ds_check.empty() || !z.lifecycle || z.sig().parent_check_running) return;
    if (!z.lifecycle->awaiting_ds() && !z.lifecycle->awaiting_ds_removal()) {
        events_.cancel(z.id, ZoneEvent::DsCheck);
        return;
    }
    const std::int64_t due = z.sig().parent_checked_at + z.cfg.parent_ds_check_interval;
    schedule(z, ZoneEvent::DsCheck, std::max<std::int64_t>(0, due - now_unix()));
}

// Asks every parent server for our DS RRset (TCP, in parallel). Published:
// every server has a DS for each KSK that awaits one (RFC 7344 §4.1 wants
// all of the parent's servers to agree); removed: none has a DS of ours.
//
// With parent_trust_anchor, each server is first asked for the parent's
// DNSKEY RRset, which must validate from the anchor; its DS answer then
// counts only when signed by those keys, and "no DS" only with an
// NSEC/NSEC3 proof (RFC 4035 §5.4, RFC 5155 §8). An answer that does not
// validate is a failed server: logged, asked again.
void ZoneManager::check_parent(Zone& z) {
    if (z.sig().parent_check_running) return;
    z.sig_mut().parent_check_running = true;
    const std::string key = z.origin.lowered().to_string();
    const auto servers = addresses(z.cfg.parent_ds_check);
    constexpr auto kTimeout = std::chrono::seconds(5);
    auto finish = [this, key, servers](xfr::Answers round) {
        auto it = zones_.find(key);
        if (stopping_ || it == zones_.end() || it->second->removed) return;
        Zone& zone = *it->second;
        zone.sig_mut().parent_check_running = false;
        zone.sig_mut().parent_checked_at = now_unix();
        record_parent_servers(zone, servers, round);
        parent_answered(zone, round.rdatas, round.problems);
        if (zone.snapshot) arm_resign(zone);
    };
    if (z.cfg.parent_trust_anchor.empty()) {
        xfr::ask_all(io_, servers, z.origin, dns::type::DS, kTimeout, finish);
        return;
    }
    auto anchor = std::make_shared<dns::TrustAnchor>();
    for (const auto& line : z.cfg.parent_trust_anchor) (void)dns::add_trust_anchor(*anchor, line);  // checked by config
    xfr::ask_all(io_, servers, anchor->zone, dns::type::DNSKEY, kTimeout,
                 [this, key, servers, anchor, finish, kTimeout](xfr::Answers keys_round) {
        auto it = zones_.find(key);
        if (stopping_ || it == zones_.end() || it->second->removed) return;
        const dns::Name origin = it->second->origin;
        const std::int64_t now = now_unix();
        // Each server's DS answer is checked with the keys that server gave.
        auto keys = std::make_shared<std::vector<std::vector<std::vector<std::uint8_t>>>>(servers.size());
        auto problems = std::make_shared<std::vector<std::string>>(keys_round.problems);
        auto usable = std::make_shared<std::vector<bool>>(servers.size(), false);
        for (std::size_t i = 0; i < servers.size(); ++i) {
            if (!keys_round.answered[i]) continue;  // its failure is among the problems
            auto v = dns::validated_dnskeys(*anchor, keys_round.responses[i], now);
            if (!v) {
                problems->push_back(servers[i].to_string() + ": " + anchor->zone.to_string() +
                                    " DNSKEY does not validate from parent_trust_anchor: " + v.error().message);
                continue;
            }
            (*keys)[i] = std::move(*v);
            (*usable)[i] = true;
        }
        xfr::ask_all(io_, servers, origin, dns::type::DS, kTimeout,
                     [this, servers, anchor, origin, keys, problems, usable, finish](xfr::Answers round) {
            const std::int64_t now = now_unix();
            xfr::Answers checked;
            checked.rdatas.resize(servers.size());
            checked.answered.assign(servers.size(), false);  // true once its answer validates
            checked.problems = *problems;
            for (const auto& p : round.problems) checked.problems.push_back(p);
            for (std::size_t i = 0; i < servers.size(); ++i) {
                if (!(*usable)[i] || !round.answered[i]) continue;
                auto proof = dns::validated_ds(origin, anchor->zone, (*keys)[i], round.responses[i], now);
                if (!proof) {
                    checked.problems.push_back(servers[i].to_string() + ": the DS answer does not validate: " +
                                               proof.error().message);
                    continue;
                }
                checked.rdatas[i] = std::move(proof->ds);
                checked.answered[i] = true;
            }
            finish(std::move(checked));
        });
    });
}

void ZoneManager::parent_answered(Zone& z, const std::vector<std::vector<std::vector<std::uint8_t>>>& answers,
                                  const std::vector<std::string>& problems) {
    if (!z.lifecycle) return;
    modes::Lifecycle& lc = *z.lifecycle;
    if (!problems.empty()) {
        std::string why;
        for (const auto& p : problems) why += (why.empty() ? "" : "; ") + p;
        spdlog::log(why != z.sig().parent_problem ? spdlog::level::warn : spdlog::level::debug,
                    "zone {}: parent DS check failed ({}); asking again in {} s", z.cfg.name, why,
                    z.cfg.parent_ds_check_interval);
        z.sig_mut().parent_problem = why;
        return;
    }
    z.sig_mut().parent_problem.clear();
    // Which of our KSKs each server's DS RRset points at.
    auto ours = [&](const std::vector<std::uint8_t>& ds, const modes::ManagedKey& k) { return ds_of(z.origin, ds, k); };
    const std::int64_t now = now_unix();
    modes::Outcome out;
    if (lc.awaiting_ds()) {
        std::vector<modes::DsRecord> confirmed;
        bool everywhere = true;
        for (const auto& k : lc.keys()) {
            if (k.key.role != modes::KeyRole::Ksk || k.state != modes::KeyState::DsSubmit) continue;
            for (const auto& set : answers) {
                everywhere &= std::any_of(set.begin(), set.end(), [&](const auto& ds) { return ours(ds, k); });
            }
        }
        if (!everywhere) {
            spdlog::debug("zone {}: the parent does not publish the awaited DS yet", z.cfg.name);
            return;
        }
        for (const auto& ds : answers.front()) {
            for (const auto& k : lc.keys()) {
                if (ours(ds, k)) {
                    confirmed.push_back({dns::load16(ds.data()), ds[2], ds[3], {ds.begin() + 4, ds.end()}});
                }
            }
        }
        out = lc.confirm_ds_published(confirmed, now, timing(z));
    } else if (lc.awaiting_ds_removal()) {
        for (const auto& set : answers) {
            for (const auto& ds : set) {
                for (const auto& k : lc.keys()) {
                    if (ours(ds, k)) return;  // still there
                }
            }
        }
        out = lc.confirm_ds_removed(now, timing(z));
    } else {
        return;
    }
    if (!out.ok()) {
        spdlog::warn("zone {}: parent DS check: {}", z.cfg.name, out.message);
        return;
    }
    spdlog::info("zone {}: parent DS check: {}; status {}, keys {}", z.cfg.name, out.message,
                 modes::to_string(lc.status()), describe_keys(lc));
    if (z.snapshot) resign(z, "parent DS check");
}

// Multi-signer: the peer keys kept in state_dir, read on first use.
Status ZoneManager::ensure_peer_keys(Zone& z) {
    if (z.peer_keys) return {};
    auto pk = modes::PeerKeys::load(state_dir_, z.origin);
    if (!pk) return make_error("peer keys: " + pk.error().message);
    z.peer_keys = std::make_unique<modes::PeerKeys>(std::move(*pk));
    return {};
}

// Our own keys' DNSKEY RDATAs and the algorithm peer keys must have.
std::pair<std::vector<std::vector<std::uint8_t>>, int> ZoneManager::own_keys(const Zone& z) const {
    std::vector<std::vector<std::uint8_t>> ours;
    int algorithm = z.cfg.signing ? z.cfg.signing->algorithm : 13;
    if (z.lifecycle) {
        for (const auto& k : z.lifecycle->keys()) ours.push_back(k.key.dnskey);
        if (z.lifecycle->signs()) algorithm = z.lifecycle->algorithm();
    }
    return {std::move(ours), algorithm};
}

// peer_keys_from_primary: the DNSKEYs at the apex of the primary's zone,
// less our own, are the "primary" peer keys from now on. A key that fails
// the checks is left out (and said so); the zone is still served.
void ZoneManager::import_primary_keys(Zone& z, const dns::RecordList& records,
                                      const std::vector<zone::ZoneDelta>* deltas) {
    if (z.cfg.mode != config::Mode::MultiSigner || !z.cfg.peer_keys_from_primary) return;
    if (!ensure_lifecycle(z) || !ensure_peer_keys(z)) return;
    auto [ours, algorithm] = own_keys(z);
    const dns::Name apex = z.origin.lowered();
    auto apex_dnskeys = [&](const dns::RecordList& list) {
        std::vector<std::vector<std::uint8_t>> out;
        for (const auto& r : list.refs()) {
            if (r.type != dns::type::DNSKEY || r.owner_len != apex.size() ||
                !dns::wire_name::equal_ci(list.owner(r), apex.data())) {
                continue;
            }
            auto rd = list.rdata(r);
            std::vector<std::uint8_t> v(rd.begin(), rd.end());
            if (std::any_of(ours.begin(), ours.end(), [&](const auto& o) { return same_rdata(o, v); })) continue;
            out.push_back(std::move(v));
        }
        return out;
    };
    std::vector<std::vector<std::uint8_t>> wanted;
    if (deltas) {
        // IXFR: the primary's set is ours-from-primary, less what it removed, plus what it added.
        for (const auto& k : z.peer_keys->keys()) {
            if (k.source == "primary") wanted.push_back(k.dnskey);
        }
        for (const auto& d : *deltas) {
            for (const auto& rd : apex_dnskeys(d.removed)) std::erase(wanted, rd);
            for (auto& rd : apex_dnskeys(d.added)) wanted.push_back(std::move(rd));
        }
    } else {
        wanted = apex_dnskeys(records);
    }
    std::vector<std::vector<std::uint8_t>> good;
    for (auto& rd : wanted) {
        if (auto s = modes::check_peer_key(rd, algorithm, ours); !s) {
            spdlog::warn("zone {}: DNSKEY {} from the primary is not imported: {}", z.cfg.name,
                         rd.size() >= 4 ? dns::key_tag(rd) : 0, s.error().message);
            continue;
        }
        good.push_back(std::move(rd));
    }
    if (!z.peer_keys->set_from_primary(good, now_unix())) return;
    if (auto s = z.peer_keys->save(); !s) {
        spdlog::error("zone {}: cannot save peer keys: {}", z.cfg.name, s.error().message);
    }
    std::string tags;
    for (const auto& k : z.peer_keys->keys()) {
        if (k.source == "primary") tags += (tags.empty() ? "" : ", ") + std::to_string(k.tag);
    }
    spdlog::info("zone {}: peer keys from the primary now: {}", z.cfg.name, tags.empty() ? "none" : tags);
}

void ZoneManager::resign(Zone& z, const char* why) {
    in_sequence(z, [this, &z, why] {
        if (!z.snapshot || z.removed) return;
        spdlog::debug("zone {}: re-signing ({})", z.cfg.name, why);
        auto fail = [this, why](Zone& zz, const std::string& message) {
            zz.state.last_error = std::string(why) + ": " + message;
            zz.state.last_error_at = now_unix();
            spdlog::error("zone {}: {} failed: {}; still serving serial {}, retrying in 60 s", zz.cfg.name, why,
                          message, zz.snapshot->serial());
            zz.sig_mut().next_resign = now_unix() + 60;
            arm_resign(zz);
        };
        auto in = build_input(z);
        if (!in) return fail(z, in.error().message);
        offload<modes::BuiltVersion>(
            z,
            [in = std::move(*in)] { return modes::build_version(in, in.previous->to_records()); },
            [this, fail](Zone& zz, Result<modes::BuiltVersion> b) {
                if (!b) return fail(zz, b.error().message);
                after_build(zz, *b, true);
                zz.snapshot = b->snapshot;
                zz.state.served = zz.snapshot->serial();
                publish(zz);
                dump(zz);
                arm_resign(zz);
                arm_expire(zz);  // new signatures: a new effective expiry
                schedule(zz, ZoneEvent::Flush, 0, true);
            });
    });
}

}  // namespace satellite::daemon
