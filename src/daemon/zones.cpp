#include "daemon/zones.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include <boost/asio/post.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <random>
#include <thread>

#include "dns/serial.hpp"

#include "dns/wire.hpp"
#include "dns/validate.hpp"
#include "dns/zonefile.hpp"
#include "modes/keys.hpp"
#include "modes/live.hpp"
#include "modes/modes.hpp"
#include "modes/peer_keys.hpp"
#include "xfr/refresh.hpp"
#include "zone/store.hpp"

namespace satellite::daemon {

namespace asio = boost::asio;

namespace {

constexpr unsigned kMaxConcurrentTransfers = 8;

std::int64_t now_unix() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::int64_t file_mtime(const std::string& path) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return -1;
    return std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}


}  // namespace

struct ZoneManager::Zone : std::enable_shared_from_this<ZoneManager::Zone> {
    config::Zone cfg;
    dns::Name origin;
    bool secondary = false;
    std::shared_ptr<const dns::TsigKey> tsig;
    std::vector<std::array<std::uint8_t, 16>> notify_allow;
    std::vector<xfr::PrimaryAddress> primaries;
    std::shared_ptr<const zone::Snapshot> snapshot;
    std::shared_ptr<zone::ZoneSlot> slot = std::make_shared<zone::ZoneSlot>();  // what queries see
    zone::ZoneState state;
    // Bumped when a reload changes what a transfer depends on (primaries,
    // TSIG key): a refresh started before then drops its result.
    std::uint64_t xfr_generation = 0;
    std::unique_ptr<RefreshRun> refresh;  // the refresh under way, if any
    std::int64_t file_mtime = -1;
    ZoneId id = 0;  // its events in the scheduler
    // Live signing: the zone's keys (read or made on first use) and the
    // timer that keeps signatures fresh.
    std::optional<modes::Lifecycle> lifecycle;
    // Multi-signer: the other providers' keys (read on first use); our new
    // ZSK that every peer serves, and when resolvers holding a peer's older
    // DNSKEY RRset have surely fetched it again (the key may sign from then).
    std::optional<modes::PeerKeys> peer_keys;
    std::vector<std::uint8_t> peers_serve;
    std::int64_t peers_ready_at = 0;
    bool peer_check_running = false;
    int peer_wait_logged = -1;  // the key tag last reported as waiting for the peers
    // parent_ds_check (its DS check event):
    bool parent_check_running = false;
    std::int64_t parent_checked_at = 0;
    std::string parent_problem;  // the last failure, said once
    std::int64_t next_resign = 0;
    std::uint32_t dnskey_ttl = 3600, max_ttl = 86400;  // of the data last signed
    bool again = false, removed = false, queued = false;
    // The zone's sequence: a step's work is on a worker; the steps after it wait.
    bool working = false;
    std::deque<std::function<void()>> pending;
    std::vector<std::function<void()>> idle_waiters;
    bool force_axfr = false;  // the next transfer is an AXFR (`zone retransfer`)
    std::int64_t next_refresh = 0, expires_at = 0;
    std::string source;

    bool expired() const { return state.phase == zone::Phase::Expired; }
    bool serving() const { return snapshot && !expired(); }
    std::string key() const { return origin.lowered().to_string(); }
};

// One refresh: the policy's decisions and what they were made with. A copy
// of the primaries and key, so a reload cannot pull them from under it.
struct ZoneManager::RefreshRun {
    xfr::RefreshPolicy policy;
    std::vector<xfr::PrimaryAddress> primaries;
    std::shared_ptr<const dns::TsigKey> tsig;
    std::uint64_t generation = 0;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

namespace {

std::string describe_keys(const modes::Lifecycle& lc) {
    std::string out;
    for (const auto& k : lc.keys()) {
        if (!out.empty()) out += ", ";
        out += (k.key.role == modes::KeyRole::Ksk ? "KSK " : "ZSK ") + std::to_string(k.key.tag) + " " +
               modes::to_string(k.state);
    }
    return out.empty() ? "none" : out;
}

modes::LivePolicy live_policy(const config::Signing& sc) {
    modes::LivePolicy p;
    p.denial = sc.denial == config::Denial::Nsec3     ? modes::Denial::Nsec3
               : sc.denial == config::Denial::Compact ? modes::Denial::Compact
                                                      : modes::Denial::Nsec;
    p.nsec3_iterations = static_cast<std::uint16_t>(sc.nsec3_iterations);
    for (std::size_t i = 0; i + 1 < sc.nsec3_salt.size(); i += 2) {
        p.nsec3_salt.push_back(static_cast<std::uint8_t>(std::stoi(sc.nsec3_salt.substr(i, 2), nullptr, 16)));
    }
    p.nsec3_opt_out = sc.nsec3_opt_out;
    p.validity = sc.signature_validity;
    p.refresh = sc.signature_refresh;
    return p;
}

std::vector<xfr::PrimaryAddress> addresses(const std::vector<config::Endpoint>& endpoints) {
    std::vector<xfr::PrimaryAddress> out;
    for (const auto& e : endpoints) out.push_back({e.host, e.port});
    return out;
}

bool signs_here(config::Mode m) { return m == config::Mode::Live || m == config::Mode::MultiSigner; }

bool same_rdata(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) { return a == b; }

bool same_signing(const std::optional<config::Signing>& a, const std::optional<config::Signing>& b) {
    if (a.has_value() != b.has_value()) return false;
    if (!a) return true;
    return a->enabled == b->enabled && a->algorithm == b->algorithm && a->denial == b->denial &&
           a->nsec3_iterations == b->nsec3_iterations && a->nsec3_salt == b->nsec3_salt &&
           a->nsec3_opt_out == b->nsec3_opt_out && a->signature_validity == b->signature_validity &&
           a->signature_refresh == b->signature_refresh && a->peer_publish_delay == b->peer_publish_delay &&
           a->standby_ksk == b->standby_ksk;
}

}  // namespace

modes::LifecycleTiming ZoneManager::timing(const Zone& z) const {
    modes::LifecycleTiming t;
    const config::Signing sc = z.cfg.signing.value_or(config::Signing{});
    t.dnskey_ttl = z.dnskey_ttl;
    t.max_zone_ttl = z.max_ttl;
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
    if (lc->signs() && z.cfg.signing && lc->algorithm() != z.cfg.signing->algorithm) {
        spdlog::warn("zone {}: signing with algorithm {} (its keys), not zone.signing.algorithm {}; "
                     "an algorithm rollover is not supported yet",
                     z.cfg.name, lc->algorithm(), z.cfg.signing->algorithm);
    }
    z.lifecycle = std::move(*lc);
    return {};
}

// The mode pipeline's input (modes/pipeline.hpp), captured on the zone's
// sequence: the DNSSEC lifecycle advanced to now, the keys that sign, the
// policies, and the version served so far (DESIGN.md §3).
Result<modes::BuildInput> ZoneManager::build_input(Zone& z) {
    modes::BuildInput in;
    in.origin = z.origin;
    in.previous = z.snapshot;
    in.now = now_unix();
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
            return same_rdata(z.peers_serve, k.dnskey) && now >= z.peers_ready_at;
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
    return in;
}

// What a built version tells the zone: when to re-sign, the TTLs the key
// timings wait for, and the lines an operator reads.
void ZoneManager::after_build(Zone& z, const modes::BuiltVersion& b, bool ours) {
    if (!b.warning.empty()) spdlog::warn("zone {}: {}", z.cfg.name, b.warning);
    if (!signs_here(z.cfg.mode)) return;
    z.max_ttl = b.max_ttl;
    z.dnskey_ttl = b.soa_ttl;
    z.next_resign = b.next_resign;
    if (b.next_resign == 0) return;  // served unsigned
    spdlog::info("zone {}: signed serial {} ({} signatures made, {} kept) in {} ms{}", z.cfg.name,
                 b.snapshot->serial(), b.made, b.kept, b.ms,
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

template <typename T>
void ZoneManager::offload(Zone& z, std::function<Result<T>()> work, std::function<void(Zone&, Result<T>)> done) {
    z.working = true;
    // The zone is held until its result is back, even if a reload removes it.
    std::shared_ptr<Zone> held = z.shared_from_this();
    asio::post(workers_, [this, held, work = std::move(work), done = std::move(done)]() mutable {
        // Untrusted data may still exhaust memory: that is this zone's
        // failure, never the daemon's.
        auto result = [&]() -> Result<T> {
            try {
                return work();
            } catch (const std::exception& e) {
                return make_error(std::string("internal error: ") + e.what());
            }
        }();
        asio::post(io_, [this, z = std::move(held), result = std::move(result), done = std::move(done)]() mutable {
            z->working = false;
            if (!stopping_) done(*z, std::move(result));
            run_pending(*z);
        });
    });
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

// Signature upkeep: re-sign what is due, keep the rest, publish.
void ZoneManager::arm_resign(Zone& z) {
    events_.cancel(z.id, ZoneEvent::Resign);
    if (!signs_here(z.cfg.mode) || !z.snapshot || !z.lifecycle) return;
    arm_parent_check(z);
    std::int64_t when = z.next_resign;
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
    if (z.peer_check_running || z.cfg.peers.empty()) return;
    z.peer_check_running = true;
    events_.cancel(z.id, ZoneEvent::DnskeySync);
    const std::string key = z.origin.lowered().to_string();
    xfr::ask_all(io_, addresses(z.cfg.peers), z.origin, dns::type::DNSKEY, std::chrono::seconds(5), [this, key](xfr::Answers round) {
        auto it = zones_.find(key);
        if (stopping_ || it == zones_.end() || it->second->removed) return;
        Zone& zone = *it->second;
        zone.peer_check_running = false;
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
            if (!same_rdata(zone.peers_serve, waiting->key.dnskey)) {
                zone.peers_serve = waiting->key.dnskey;
                zone.peers_ready_at = now + std::max(round.ttl, zone.dnskey_ttl) + sc.propagation_delay;
                spdlog::info("zone {}: every peer serves our new ZSK {}; it signs in {} s, when the peers' older "
                             "DNSKEY RRsets have left the caches",
                             zone.cfg.name, waiting->key.tag, zone.peers_ready_at - now);
            }
            if (now >= zone.peers_ready_at) {
                spdlog::info("zone {}: our new ZSK {} signs from now on", zone.cfg.name, waiting->key.tag);
                resign(zone, "the peers publish the new ZSK");
                return;
            }
            ask_again_in(zone.peers_ready_at - now);  // and make sure it is still there then
            return;
        }
        zone.peers_serve.clear();
        std::string why;
        for (const auto& p : round.problems) why += "; " + p;
        // Said once per key at warning level; each later attempt at debug.
        const bool first = zone.peer_wait_logged != waiting->key.tag;
        zone.peer_wait_logged = waiting->key.tag;
        spdlog::log(first ? spdlog::level::warn : spdlog::level::debug,
                    "zone {}: new ZSK {} waits: not every peer serves it in its DNSKEY RRset yet (import our "
                    "GET .../dnssec/peer-keys there){}",
                    zone.cfg.name, waiting->key.tag, why);
        ask_again_in(std::clamp<std::int64_t>(sc.propagation_delay, 2, 60));
    });
}

// parent_ds_check: while a DS is awaited (or its removal), look at the
// parent's DS RRset every parent_ds_check_interval.
void ZoneManager::arm_parent_check(Zone& z) {
    if (z.cfg.parent_ds_check.empty() || !z.lifecycle || z.parent_check_running) return;
    if (!z.lifecycle->awaiting_ds() && !z.lifecycle->awaiting_ds_removal()) {
        events_.cancel(z.id, ZoneEvent::DsCheck);
        return;
    }
    const std::int64_t due = z.parent_checked_at + z.cfg.parent_ds_check_interval;
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
    if (z.parent_check_running) return;
    z.parent_check_running = true;
    const std::string key = z.origin.lowered().to_string();
    const auto servers = addresses(z.cfg.parent_ds_check);
    constexpr auto kTimeout = std::chrono::seconds(5);
    auto finish = [this, key](xfr::Answers round) {
        auto it = zones_.find(key);
        if (stopping_ || it == zones_.end() || it->second->removed) return;
        Zone& zone = *it->second;
        zone.parent_check_running = false;
        zone.parent_checked_at = now_unix();
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
                     [servers, anchor, origin, keys, problems, usable, finish](xfr::Answers round) {
            const std::int64_t now = now_unix();
            xfr::Answers checked;
            checked.rdatas.resize(servers.size());
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
        spdlog::log(why != z.parent_problem ? spdlog::level::warn : spdlog::level::debug,
                    "zone {}: parent DS check failed ({}); asking again in {} s", z.cfg.name, why,
                    z.cfg.parent_ds_check_interval);
        z.parent_problem = why;
        return;
    }
    z.parent_problem.clear();
    // Which of our KSKs each server's DS RRset points at.
    auto ours = [&](const std::vector<std::uint8_t>& ds, const modes::ManagedKey& k) {
        if (ds.size() < 5 || k.key.role != modes::KeyRole::Ksk) return false;
        return dns::ds_rdata(z.origin, k.key.dnskey, ds[3]) == ds;
    };
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
    z.peer_keys = std::move(*pk);
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
            zz.next_resign = now_unix() + 60;
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
                schedule(zz, ZoneEvent::Flush, 0, true);
            });
    });
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
                         std::shared_ptr<zone::ZoneStats> stats)
    : io_(control),
      catalog_(catalog),
      stats_(std::move(stats)),
      loop_(events_, control, clock_, [this](ZoneId id, ZoneEvent e) { on_event(id, e); }),
      workers_(std::max(2u, std::thread::hardware_concurrency())) {}

ZoneManager::~ZoneManager() { shutdown(); }

void ZoneManager::shutdown() {
    stopping_ = true;
    loop_.stop();
}

void ZoneManager::configure(const config::Config& cfg) {
    state_dir_ = cfg.server.state_dir;
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
        dns::Name origin = *dns::Name::from_text(zc.name);
        std::string key = origin.lowered().to_string();
        const bool secondary = zc.file.empty();
        std::shared_ptr<Zone> z;
        if (auto it = zones_.find(key); it != zones_.end() && it->second->secondary == secondary) {
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
        z->cfg = zc;
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
        next[key] = z;
        if (!secondary || fresh) {
            // Loads run as the zone's load event; start-up waits for them.
            ++loads_in_flight_;
            schedule(*z, ZoneEvent::Load, 0, true);
        }
        if (resign_now && z->snapshot) {
            // A changed mode or [zone.signing]: sign (or unsign) the data we have.
            asio::post(io_, [this, key] {
                auto it = zones_.find(key);
                if (it != zones_.end() && !it->second->removed) resign(*it->second, "configuration change");
            });
        }
    }
    for (auto& [k, z] : zones_) {
        if (next.find(k) == next.end() || next[k] != z) {
            z->removed = true;
            if (events_.due(z->id, ZoneEvent::Load)) --loads_in_flight_;
            events_.remove_zone(z->id);
            if (z->id < by_id_.size()) by_id_[z->id].reset();
            spdlog::info("zone {} removed", z->origin.to_string());
        }
    }
    zones_ = std::move(next);
    publish_catalog();
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
        served.push_back(std::move(s));
    }
    catalog_.publish(std::make_unique<zone::Catalog>(std::move(served), stats_));
}

// A new version of one zone (or its expiry): one pointer swap in its slot.
void ZoneManager::publish(Zone& z) {
    catalog_.retire(z.slot->swap(z.serving() ? z.snapshot : nullptr));
}

void ZoneManager::load_local_file(Zone& z) {
    in_sequence(z, [this, &z] {
        const std::int64_t mtime = file_mtime(z.cfg.file);
        if (z.snapshot && mtime == z.file_mtime && z.source == z.cfg.file) return;
        auto refuse = [this](Zone& zz, const std::string& message) {
            zz.state.failed(now_unix(), message);
            if (zz.snapshot) {
                spdlog::error("zone {}: {}; still serving serial {}", zz.cfg.name, message, zz.snapshot->serial());
            } else {
                spdlog::error("zone {}: {}; answering SERVFAIL until it loads", zz.cfg.name, message);
            }
        };
        auto in = build_input(z);
        if (!in) return refuse(z, in.error().message);
        ++loads_in_flight_;
        const auto t0 = std::chrono::steady_clock::now();
        offload<modes::BuiltVersion>(
            z,
            [in = std::move(*in), file = z.cfg.file]() -> Result<modes::BuiltVersion> {
                auto records = dns::read_zone_file(file, in.origin);
                if (!records) return records.error();
                return modes::build_version(in, *records);
            },
            [this, mtime, refuse, t0](Zone& zz, Result<modes::BuiltVersion> b) {
                --loads_in_flight_;
                if (!b) return refuse(zz, b.error().message);
                after_build(zz, *b, false);
                auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
                              .count();
                spdlog::info("zone {} loaded from {}: serial {}, {} records in {} ms", zz.cfg.name, zz.cfg.file,
                             b->snapshot->serial(), b->snapshot->record_count(), ms);
                zz.snapshot = b->snapshot;
                zz.file_mtime = mtime;
                zz.source = zz.cfg.file;
                zz.state.served = zz.snapshot->serial();
                zz.state.last_transfer = now_unix();
                zz.state.succeeded(zz.state.last_transfer);
                publish(zz);
                dump(zz);
                arm_resign(zz);
            });
    });
}

namespace {

// A stored copy read back (with its journal) and built, on a worker.
struct FromDisk {
    modes::BuiltVersion built;
    std::uint32_t serial = 0;
    std::int64_t last_check = 0, last_transfer = 0;
    std::string source;
    std::vector<std::pair<spdlog::level::level_enum, std::string>> lines;  // to log, in order
    bool resigned = true;  // the version differs from the stored copy (store it)
};

Result<std::optional<FromDisk>> read_stored(const std::string& dir, const modes::BuildInput& in) {
    auto stored = zone::load_zone(dir, in.origin);
    if (!stored) {
        std::string path = zone::stored_zone_path(dir, in.origin);
        std::rename(path.c_str(), (path + ".damaged").c_str());
        return make_error(stored.error().message + "; ignoring it and transferring afresh");
    }
    if (!stored->has_value()) return std::optional<FromDisk>();
    zone::StoredZone& sz = **stored;
    FromDisk out;
    if (sz.signed_by_us) {
        // Our own signed version: its signatures are the previous version's,
        // kept while fresh. A zone no longer signed here takes the primary's.
        if (in.kind == modes::BuildInput::Kind::Presigned) {
            return make_error("stored copy was signed here, and the zone is now presigned; transferring afresh");
        }
        auto previous = zone::build_snapshot(in.origin, sz.records);
        if (!previous) return make_error("stored copy is unusable (" + previous.error().message + "); transferring afresh");
        modes::BuildInput with_previous = in;
        with_previous.previous = *previous;
        auto built = modes::build_version(with_previous, sz.records);
        if (!built) return make_error("stored copy is unusable (" + built.error().message + "); transferring afresh");
        out.built = std::move(*built);
        out.serial = sz.serial;
        out.last_check = sz.last_check;
        out.last_transfer = sz.last_transfer;
        out.source = sz.source;
        out.resigned = out.built.made > 0;
        return std::optional<FromDisk>(std::move(out));
    }
    if (auto j = zone::load_journal(dir, in.origin); !j) {
        out.lines.emplace_back(spdlog::level::err, j.error().message + "; using the stored copy without it");
    } else {
        if (!j->warning.empty()) out.lines.emplace_back(spdlog::level::warn, j->warning);
        std::uint32_t serial = sz.serial;
        bool chained = !j->deltas.empty();
        for (const auto& d : j->deltas) {
            chained &= d.from == serial;
            serial = d.to;
        }
        if (chained) {
            auto applied = zone::apply_deltas(sz.records, j->deltas);
            if (applied) {
                out.lines.emplace_back(spdlog::level::info, "journal brings the stored copy from serial " +
                                                                std::to_string(sz.serial) + " to " +
                                                                std::to_string(serial));
                sz.records = std::move(*applied);
                sz.serial = serial;
            } else {
                out.lines.emplace_back(spdlog::level::warn,
                                       "journal does not apply (" + applied.error().message + "); ignoring it");
            }
        } else if (!j->deltas.empty()) {
            out.lines.emplace_back(spdlog::level::warn, "journal does not continue the stored serial " +
                                                            std::to_string(sz.serial) + "; ignoring it");
        }
    }
    auto built = modes::build_version(in, sz.records);
    if (!built) return make_error("stored copy is unusable (" + built.error().message + "); transferring afresh");
    out.built = std::move(*built);
    out.serial = sz.serial;
    out.last_check = sz.last_check;
    out.last_transfer = sz.last_transfer;
    out.source = sz.source;
    return std::optional<FromDisk>(std::move(out));
}

}  // namespace

void ZoneManager::load_from_disk(Zone& z) {
    if (auto st = zone::load_zone_state(state_dir_, z.origin); !st) {
        spdlog::warn("zone {}: {}; starting with a fresh state", z.cfg.name, st.error().message);
    } else if (st->has_value()) {
        z.state = std::move(**st);
        z.state.served.reset();
        z.state.phase = zone::Phase::Expired;  // until the stored copy is served
    }
    in_sequence(z, [this, &z] {
        auto in = build_input(z);
        if (!in) {
            spdlog::error("zone {}: stored copy is unusable ({}); transferring afresh", z.cfg.name,
                          in.error().message);
            schedule_refresh(z, 0);
            return;
        }
        ++loads_in_flight_;
        offload<std::optional<FromDisk>>(
            z, [in = std::move(*in), dir = state_dir_] { return read_stored(dir, in); },
            [this](Zone& z, Result<std::optional<FromDisk>> r) {
                --loads_in_flight_;
                if (!r) {
                    spdlog::error("zone {}: {}", z.cfg.name, r.error().message);
                    schedule_refresh(z, 0);
                    return;
                }
                if (!r->has_value()) {
                    schedule_refresh(z, 0);
                    return;
                }
                FromDisk& d = **r;
                for (const auto& [level, line] : d.lines) spdlog::log(level, "zone {}: {}", z.cfg.name, line);
                after_build(z, d.built, false);
                const std::int64_t now = now_unix();
                z.snapshot = d.built.snapshot;
                dump(z);
                arm_resign(z);
                z.source = d.source;
                z.state.served = z.state.stored = z.snapshot->serial();
                z.state.phase = zone::Phase::Ok;
                z.state.last_transfer = std::max(z.state.last_transfer, d.last_transfer);
                z.state.last_check = std::max(d.last_check, z.state.last_check);
                spdlog::info("zone {}: serving serial {} from {} ({} records, received {} s ago)", z.cfg.name,
                             z.snapshot->serial(), state_dir_, z.snapshot->record_count(),
                             now - z.state.last_transfer);
                publish(z);
                arm_expire(z);
                schedule_refresh(z, std::max<std::int64_t>(0, z.state.last_check + z.snapshot->refresh() - now));
                if (signs_here(z.cfg.mode) && d.resigned) schedule(z, ZoneEvent::Flush, 0, true);
            });
    });
}

void ZoneManager::schedule_refresh(Zone& z, std::int64_t delay_s) {
    z.next_refresh = now_unix() + delay_s;
    schedule(z, ZoneEvent::Refresh, delay_s);
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

// RFC 1034 §4.3.5: with no confirmation from a primary for SOA expire, the
// zone is no longer served (SERVFAIL) until one comes.
void ZoneManager::arm_expire(Zone& z) {
    if (!z.snapshot) return;
    z.expires_at = z.state.last_check + z.snapshot->expire();
    // The last check is known to the second: expire once that second has
    // passed too, never before (short test timers would lose up to 1 s).
    events_.schedule(z.id, ZoneEvent::Expire, z.expires_at + 1);
    loop_.changed();
}

void ZoneManager::expire(Zone& z) {
    if (z.expired() || !z.snapshot || now_unix() <= z.expires_at) return;
    z.state.phase = zone::Phase::Expired;
    spdlog::error("zone {} expired: no successful check with a primary for {} s (SOA expire); "
                  "answering SERVFAIL until a transfer succeeds",
                  z.cfg.name, z.snapshot->expire());
    save_state(z);
    publish(z);
}
void ZoneManager::save_state(Zone& z) {
    if (!z.secondary) return;
    if (auto s = zone::save_zone_state(state_dir_, z.origin, z.state); !s) {
        spdlog::error("zone {}: cannot save its state: {}", z.cfg.name, s.error().message);
    }
}

void ZoneManager::notify(const dns::Name& zone, std::optional<std::uint32_t> serial,
                         const std::string& from) {
    asio::post(io_, [this, key = zone.lowered().to_string(), serial, from] {
        auto it = zones_.find(key);
        if (it == zones_.end() || stopping_) return;
        auto& z = it->second;
        if (!z->state.notify(serial)) {
            spdlog::info("zone {}: NOTIFY from {} with serial {}, which we have", z->cfg.name, from, *serial);
            return;
        }
        spdlog::info("zone {}: NOTIFY from {}{}", z->cfg.name, from,
                     serial ? " (serial " + std::to_string(*serial) + ")" : std::string());
        schedule(*z, ZoneEvent::Notify, 0, true);  // NOTIFYs close together: one check
    });
}

bool ZoneManager::refresh_now(const std::string& zone_name, bool full) {
    auto origin = dns::Name::from_text(zone_name);
    if (!origin) return false;
    std::string key = origin->lowered().to_string();
    if (zones_.find(key) == zones_.end()) return false;
    asio::post(io_, [this, key, full] {
        auto it = zones_.find(key);
        if (it == zones_.end() || !it->second->secondary) return;
        it->second->force_axfr |= full;
        start_refresh(it->second, full ? "operator request: full transfer" : "operator request");
    });
    return true;
}

void ZoneManager::start_refresh(const std::shared_ptr<Zone>& z, const char* why) {
    if (!z->secondary || z->removed || stopping_) return;
    if (z->refresh) {
        z->again = true;  // coalesce: one more check after the running one
        return;
    }
    if (active_transfers_ >= kMaxConcurrentTransfers) {
        if (!z->queued) {
            z->queued = true;
            waiting_.push_back(z);
        }
        return;
    }
    ++active_transfers_;
    spdlog::debug("zone {}: checking primaries ({})", z->cfg.name, why);
    std::vector<std::string> names;
    for (const auto& p : z->primaries) names.push_back(p.to_string());
    std::optional<std::uint32_t> served;
    if (z->snapshot) served = z->snapshot->serial();
    z->refresh.reset(new RefreshRun{xfr::RefreshPolicy(z->cfg.name, std::move(names), served, z->force_axfr),
                                    z->primaries, z->tsig, z->xfr_generation});
    z->force_axfr = false;
    refresh_step(z, z->refresh->policy.start());
}

// A refresh's answer came back: the zone's own, unless a reload removed the
// zone or changed its primaries or key meanwhile (then it is dropped).
std::shared_ptr<ZoneManager::Zone> ZoneManager::still_wanted(const std::weak_ptr<Zone>& wz, std::uint64_t generation) {
    auto z = wz.lock();
    if (!z) {
        --active_transfers_;
        return nullptr;
    }
    if (!z->removed && !stopping_ && z->refresh && z->refresh->generation == generation) return z;
    if (!z->removed && !stopping_) {
        spdlog::info("zone {}: its primaries or TSIG key changed during the refresh; its result is dropped",
                     z->cfg.name);
        z->again = true;
    }
    z->refresh.reset();
    finish_refresh(*z);
    return nullptr;
}

void ZoneManager::refresh_step(const std::shared_ptr<Zone>& z, xfr::RefreshStep step) {
    using Do = xfr::RefreshStep::Do;
    RefreshRun& run = *z->refresh;
    for (const auto& note : run.policy.take_notes()) spdlog::warn("{}", note);
    std::weak_ptr<Zone> wz = z;
    const std::uint64_t gen = run.generation;
    switch (step.what) {
        case Do::AskSoa: {
            auto client = std::make_shared<xfr::QueryClient>(z->origin, dns::type::SOA, run.tsig.get());
            const auto timeout = std::chrono::seconds(std::min<std::uint32_t>(10, z->cfg.transfer_timeout));
            const std::size_t p = step.primary;
            xfr::run_query(io_, run.primaries[p], client, timeout, [this, wz, gen, p, client](Status s) {
                auto zp = still_wanted(wz, gen);
                if (!zp) return;
                auto& policy = zp->refresh->policy;
                std::string why = !s                          ? s.error().message
                                  : !client->soa_serial()     ? "the answer has no SOA"
                                  : !client->authoritative()  ? "the answer is not authoritative (AA clear)"
                                                              : "";
                if (!why.empty()) {
                    spdlog::warn("zone {}: SOA query to {} failed: {}", zp->cfg.name,
                                 zp->refresh->primaries[p].to_string(), why);
                    return refresh_step(zp, policy.soa_failed(p, why));
                }
                refresh_step(zp, policy.soa_answered(p, *client->soa_serial()));
            });
            return;
        }
        case Do::Transfer:
            transfer(z, step.primary, step.kind);
            return;
        case Do::Current: {
            const bool was_expired = z->expired();
            z->state.succeeded(now_unix());
            spdlog::debug("zone {}: serial {} is current at {}", z->cfg.name, z->snapshot->serial(),
                          run.primaries[step.primary].to_string());
            save_state(*z);
            if (was_expired) publish(*z);
            break;
        }
        case Do::Install:  // transfer() installs before it asks the policy; not reached
        case Do::GiveUp: {
            const std::int64_t now = now_unix();
            z->state.failed(now, step.error);
            ++z->state.transfers_failed;
            const std::int64_t delay =
                xfr::retry_delay(z->snapshot ? std::optional<std::uint32_t>(z->snapshot->retry()) : std::nullopt,
                                 z->state.failures, rng_);
            if (z->snapshot) {
                spdlog::error("zone {}: no primary answered usefully (last: {}); still serving serial {}, "
                              "retry in {} s{}",
                              z->cfg.name, step.error, z->snapshot->serial(), delay,
                              z->expired() ? " (expired: SERVFAIL)" : "");
            } else {
                spdlog::error("zone {}: no primary answered usefully (last: {}); no data yet (SERVFAIL), "
                              "retry in {} s",
                              z->cfg.name, step.error, delay);
            }
            save_state(*z);
            z->refresh.reset();
            schedule_refresh(*z, delay);
            finish_refresh(*z);
            return;
        }
    }
    // A successful check: the expire clock starts again.
    z->refresh.reset();
    arm_expire(*z);
    schedule_refresh(*z, xfr::refresh_delay(z->snapshot->refresh(), rng_));
    finish_refresh(*z);
}

void ZoneManager::transfer(const std::shared_ptr<Zone>& z, std::size_t primary, xfr::TransferKind kind) {
    RefreshRun& run = *z->refresh;
    xfr::TransferLimits limits;
    limits.max_records = z->cfg.max_zone_records;
    auto client = std::make_shared<xfr::TransferClient>(z->origin, kind, z->snapshot ? z->snapshot->serial() : 0,
                                                        run.tsig.get(), limits);
    std::weak_ptr<Zone> wz = z;
    const std::uint64_t gen = run.generation;
    xfr::run_transfer(io_, run.primaries[primary], client, std::chrono::seconds(z->cfg.transfer_timeout),
                      [this, wz, gen, primary, kind, client](Status s) {
                          auto zp = still_wanted(wz, gen);
                          if (!zp) return;
                          auto& policy = zp->refresh->policy;
                          auto fail = [&](const std::string& why) {
                              spdlog::warn("zone {}: {} from {} failed: {}", zp->cfg.name,
                                           kind == xfr::TransferKind::Axfr ? "AXFR" : "IXFR",
                                           zp->refresh->primaries[primary].to_string(), why);
                              refresh_step(zp, policy.transfer_failed(primary, kind, why));
                          };
                          if (!s) return fail(s.error().message);
                          auto step = policy.transferred(primary, kind, client->outcome(), client->new_serial());
                          if (step.what != xfr::RefreshStep::Do::Install) return refresh_step(zp, step);
                          install_transfer(*zp, primary, client, step.backwards, [this, wz, gen, primary, kind](Status installed) {
                              auto zp = still_wanted(wz, gen);
                              if (!zp) return;
                              if (!installed) {
                                  spdlog::warn("zone {}: {} from {} failed: {}", zp->cfg.name,
                                               kind == xfr::TransferKind::Axfr ? "AXFR" : "IXFR",
                                               zp->refresh->primaries[primary].to_string(), installed.error().message);
                                  return refresh_step(zp, zp->refresh->policy.transfer_failed(primary, kind,
                                                                                              installed.error().message));
                              }
                              // Served: a successful refresh.
                              zp->refresh.reset();
                              arm_expire(*zp);
                              schedule_refresh(*zp, xfr::refresh_delay(zp->snapshot->refresh(), rng_));
                              finish_refresh(*zp);
                          });
                      });
}

namespace {

// A transfer's data built into a version (on a worker); for an IXFR, also
// the whole record set it led to (the stored copy when the journal is compacted).
struct Transferred {
    modes::BuiltVersion built;
    std::optional<dns::RecordList> records;
};

}  // namespace

// The transfer's data through the mode pipeline to the served version (on a
// worker), then to disk (on a worker, after it is served). `done` says
// whether it was served; a refusal leaves the served version as it was.
void ZoneManager::install_transfer(Zone& z, std::size_t primary_index, std::shared_ptr<xfr::TransferClient> client,
                                   bool backwards, std::function<void(Status)> done) {
    const std::uint64_t gen = z.refresh ? z.refresh->generation : 0;
    in_sequence(z, [this, &z, primary_index, client, backwards, done, gen] {
        if (z.removed || !z.refresh || z.refresh->generation != gen) return done(make_error("dropped"));
        const std::string primary = z.refresh->primaries[primary_index].to_string();
        const bool full = client->outcome() == xfr::TransferClient::Outcome::Full;
        if (full) {
            import_primary_keys(z, client->full(), nullptr);
        } else {
            import_primary_keys(z, dns::RecordList{}, &client->deltas());  // the deltas say it all
        }
        auto in = build_input(z);
        if (!in) return done(make_error("zone data refused: " + in.error().message));
        offload<Transferred>(
            z,
            [in = std::move(*in), client, full]() -> Result<Transferred> {
                Transferred t;
                if (full) {
                    auto b = modes::build_version(in, client->full());
                    if (!b) return make_error("zone data refused: " + b.error().message);
                    t.built = std::move(*b);
                    return t;
                }
                auto records = zone::apply_deltas(in.previous->to_records(), client->deltas());
                if (!records) return records.error();
                // The records are our signed version plus the primary's changes.
                auto b = modes::build_version(in, *records);
                if (!b) return make_error("zone data refused after IXFR: " + b.error().message);
                t.built = std::move(*b);
                t.records = std::move(*records);
                return t;
            },
            [this, primary, client, backwards, done, full](Zone& z, Result<Transferred> t) {
                if (!t) return done(t.error());
                std::optional<std::uint32_t> old;
                if (z.snapshot) old = z.snapshot->serial();
                after_build(z, t->built, !full);
                install(z, t->built.snapshot, primary);
                if (backwards && old) {
                    spdlog::warn("zone {}: went backwards from serial {} to {} (retransfer from {})", z.cfg.name,
                                 *old, z.snapshot->serial(), primary);
                }
                const std::int64_t now = now_unix();
                ++z.state.transfers_ok;
                z.state.succeeded(now);
                store_transfer(z, primary, std::move(client), std::move(t->records));
                done({});
            });
    });
}

// The stored copy follows the served version: a whole zone is rewritten; a
// small change is a small write (appended to the journal), and the whole
// copy is rewritten once the journal has grown.
void ZoneManager::store_transfer(Zone& z, const std::string& primary, std::shared_ptr<xfr::TransferClient> client,
                                 std::optional<dns::RecordList> records) {
    if (signs_here(z.cfg.mode)) return schedule(z, ZoneEvent::Flush, 0, true);
    const std::uint32_t serial = z.snapshot->serial();
    const std::uint64_t limit = std::max<std::uint64_t>(1 << 20, z.snapshot->record_count() * 16);
    offload<std::uint32_t>(
        z,
        [dir = state_dir_, origin = z.origin, primary, client, records = std::move(records), serial,
         limit]() mutable -> Result<std::uint32_t> {
            const std::int64_t now = now_unix();
            if (records && zone::journal_size(dir, origin) < limit) {
                if (zone::append_journal(dir, origin, client->deltas())) return serial;
            }
            zone::StoredZone sz{serial, now, now, primary, records ? std::move(*records) : std::move(client->full())};
            if (auto s = zone::save_zone(dir, origin, sz); !s) return s.error();
            zone::remove_journal(dir, origin);
            return serial;
        },
        [this](Zone& z, Result<std::uint32_t> stored) {
            if (!stored) {
                spdlog::error("zone {}: cannot save to {}: {}", z.cfg.name, state_dir_, stored.error().message);
            } else {
                z.state.stored = *stored;
            }
            save_state(z);
        });
}

// A zone signed here keeps what it serves: the signed version is the stored
// copy, so a restart serves the same signatures at once and re-signs only
// what is due (the previous version's fresh signatures are kept).
void ZoneManager::store_served(Zone& z) {
    if (!z.secondary || !z.snapshot) return;
    offload<std::uint32_t>(
        z,
        [dir = state_dir_, origin = z.origin, snap = z.snapshot, source = z.source,
         last_check = z.state.last_check, last_transfer = z.state.last_transfer]() -> Result<std::uint32_t> {
            zone::StoredZone sz{snap->serial(), last_check, last_transfer, source, snap->to_records(), true};
            if (auto s = zone::save_zone(dir, origin, sz); !s) return s.error();
            zone::remove_journal(dir, origin);
            return sz.serial;
        },
        [this](Zone& z, Result<std::uint32_t> stored) {
            if (!stored) {
                spdlog::error("zone {}: cannot save to {}: {}", z.cfg.name, state_dir_, stored.error().message);
            } else {
                z.state.stored = *stored;
            }
            save_state(z);
        });
}

void ZoneManager::install(Zone& z, std::shared_ptr<const zone::Snapshot> snap, const std::string& primary) {
    const std::int64_t now = now_unix();
    const auto started = z.refresh ? z.refresh->started : std::chrono::steady_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    std::optional<std::uint32_t> old;
    if (z.snapshot) old = z.snapshot->serial();
    z.snapshot = std::move(snap);
    z.state.served = z.snapshot->serial();
    z.state.phase = zone::Phase::Ok;
    z.state.last_check = z.state.last_transfer = now;
    z.source = primary;
    publish(z);
    dump(z);
    arm_resign(z);
    spdlog::info("zone {}: serving serial {} from {} ({} records){} in {} ms", z.cfg.name,
                 z.snapshot->serial(), primary, z.snapshot->record_count(),
                 old ? ", was " + std::to_string(*old) : std::string(), ms);
}

void ZoneManager::finish_refresh(Zone& z) {
    --active_transfers_;
    if (z.again && !z.removed) {
        z.again = false;
        asio::post(io_, [this, key = z.key()] {
            auto it = zones_.find(key);
            if (it != zones_.end()) start_refresh(it->second, "NOTIFY during transfer");
        });
    }
    while (active_transfers_ < kMaxConcurrentTransfers && !waiting_.empty()) {
        auto next = waiting_.front().lock();
        waiting_.pop_front();
        if (!next || next->removed) continue;
        next->queued = false;
        start_refresh(next, "queued");
    }
}

namespace {

std::string hex_upper(const std::vector<std::uint8_t>& in) {
    static const char* d = "0123456789ABCDEF";
    std::string out;
    for (std::uint8_t b : in) {
        out.push_back(d[b >> 4]);
        out.push_back(d[b & 15]);
    }
    return out;
}

bool parse_hex(const std::string& text, std::vector<std::uint8_t>& out) {
    if (text.empty() || text.size() % 2) return false;
    for (std::size_t i = 0; i < text.size(); i += 2) {
        auto v = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10; };
        if (!std::isxdigit(static_cast<unsigned char>(text[i])) || !std::isxdigit(static_cast<unsigned char>(text[i + 1]))) {
            return false;
        }
        out.push_back(static_cast<std::uint8_t>(v(text[i]) * 16 + v(text[i + 1])));
    }
    return true;
}

// The lifecycle's refusals as the API's statuses (seed 003).
int http_status(modes::Refusal r) {
    switch (r) {
        case modes::Refusal::None: return 200;
        case modes::Refusal::Invalid: return 400;
        case modes::Refusal::Conflict: return 409;
        case modes::Refusal::Storage: return 500;
    }
    return 500;
}

const char* mode_name(config::Mode m) {
    return m == config::Mode::Live ? "live" : m == config::Mode::MultiSigner ? "multi-signer" : "presigned";
}

}  // namespace

std::vector<api::ZoneInfo> ZoneManager::api_zones() const {
    std::vector<api::ZoneInfo> out;
    for (const auto& [k, z] : zones_) {
        api::ZoneInfo i;
        i.name = z->origin.to_string();
        i.kind = z->secondary ? "secondary" : "file";
        i.mode = mode_name(z->cfg.mode);
        if (z->snapshot) i.serial = z->snapshot->serial();
        i.serving = z->serving();
        i.source = z->source;
        i.last_success = z->state.last_check;
        i.last_failure = z->state.last_error_at;
        i.last_error = z->state.last_error;
        i.next_refresh = z->secondary ? z->next_refresh : 0;
        i.expires_at = z->secondary ? z->expires_at : 0;
        if (z->cfg.mode != config::Mode::Presigned) {
            i.dnssec_status = z->lifecycle ? modes::to_string(z->lifecycle->status())
                                           : (z->cfg.signing && z->cfg.signing->enabled ? "pending_ds" : "disabled");
        }
        out.push_back(std::move(i));
    }
    return out;
}

api::DnssecReply ZoneManager::api_dnssec(const std::string& zone_name, api::DnssecOp op,
                                         const api::DnssecRequest& req) {
    api::DnssecReply reply;
    auto origin = dns::Name::from_text(zone_name.empty() || zone_name.back() != '.' ? zone_name + "." : zone_name);
    auto it = origin ? zones_.find(origin->lowered().to_string()) : zones_.end();
    if (it == zones_.end()) {
        reply.http_status = 404;
        reply.message = "zone " + zone_name + " is not served here";
        return reply;
    }
    Zone& z = *it->second;
    if (!signs_here(z.cfg.mode)) {
        reply.http_status = 404;
        reply.message = "zone " + z.cfg.name + " is " + mode_name(z.cfg.mode) +
                        "; its DNSSEC is managed elsewhere (only live and multi-signer zones are signed here)";
        return reply;
    }
    const bool multi = z.cfg.mode == config::Mode::MultiSigner;
    if (op == api::DnssecOp::Sync) {
        z.lifecycle.reset();  // re-read what is stored
        z.peer_keys.reset();
    }
    if (auto s = ensure_lifecycle(z); !s) {
        reply.http_status = 500;
        reply.message = s.error().message;
        return reply;
    }
    if (multi) {
        if (auto s = ensure_peer_keys(z); !s) {
            reply.http_status = 500;
            reply.message = s.error().message;
            return reply;
        }
    }
    // Multi-signer: the DS set at the parent holds every provider's KSK
    // (RFC 8901 §8); the other providers' part is theirs to check.
    auto peer_ds = [&] {
        std::vector<modes::DsRecord> out;
        if (!multi) return out;
        for (const auto& k : z.peer_keys->keys()) {
            if (!k.is_ksk()) continue;
            auto rd = dns::ds_rdata(z.origin, k.dnskey, 2);
            out.push_back({k.tag, k.algorithm(), 2, std::vector<std::uint8_t>(rd.begin() + 4, rd.end())});
        }
        return out;
    };
    modes::Lifecycle& lc = *z.lifecycle;
    const std::int64_t now = now_unix();
    const modes::LifecycleTiming t = timing(z);
    const config::Signing sc = z.cfg.signing.value_or(config::Signing{});
    auto key_info = [&](const modes::ManagedKey& k) {
        api::KeyInfo ki;
        ki.key_tag = k.key.tag;
        ki.algorithm = k.key.key->algorithm();
        ki.public_key = modes::base64(k.key.key->public_key());
        ki.key_type = k.key.role == modes::KeyRole::Ksk ? "KSK" : "ZSK";
        ki.created_at = k.key.created;
        const std::uint32_t lifetime = k.key.role == modes::KeyRole::Ksk ? sc.ksk_lifetime : sc.zsk_lifetime;
        ki.expires_at = lifetime && k.active_at ? k.active_at + lifetime : 0;
        ki.active = k.state == modes::KeyState::Active ||
                    (k.key.role == modes::KeyRole::Ksk && !k.standby &&
                     (k.state == modes::KeyState::DsSubmit || k.state == modes::KeyState::DsPublish ||
                      k.state == modes::KeyState::KeyPublish));
        ki.standby = k.standby;
        ki.state = modes::to_string(k.state);
        ki.next_transition = k.next_transition;
        return ki;
    };
    auto newest = [&](modes::KeyRole role) -> std::optional<api::KeyInfo> {
        const modes::ManagedKey* found = nullptr;
        for (const auto& k : lc.keys()) {
            if (k.key.role == role && (!found || k.key.created >= found->key.created)) found = &k;
        }
        if (!found) return std::nullopt;
        return key_info(*found);
    };
    auto signing_key = [&](modes::KeyRole role) -> std::optional<api::KeyInfo> {
        for (const auto& k : lc.keys()) {
            if (k.key.role == role && k.state == modes::KeyState::Active) return key_info(k);
        }
        return std::nullopt;
    };
    std::optional<api::KeyInfo> before;
    modes::Outcome out{modes::Refusal::None, ""};
    switch (op) {
        case api::DnssecOp::Get:
        case api::DnssecOp::Sync:
            break;
        case api::DnssecOp::Enable:
            out = lc.enable(req.algorithm.value_or(sc.algorithm), now);
            break;
        case api::DnssecOp::Disable:
            out = lc.disable(now);
            break;
        case api::DnssecOp::RotateZsk:
            before = signing_key(modes::KeyRole::Zsk);
            out = lc.rotate_zsk(now, t);
            break;
        case api::DnssecOp::RotateKsk:
            before = signing_key(modes::KeyRole::Ksk);
            out = lc.rotate_ksk(now, t);
            break;
        case api::DnssecOp::ConfirmDsPublished: {
            std::vector<modes::DsRecord> ds;
            for (const auto& d : req.ds_records) {
                modes::DsRecord r{d.key_tag, d.algorithm, d.digest_type, {}};
                if (!parse_hex(d.digest, r.digest)) {
                    out = {modes::Refusal::Invalid, "DS digest \"" + d.digest + "\" is not hex"};
                    break;
                }
                // A DS of another provider's KSK is expected; ours are checked.
                bool peers = false;
                if (multi) {
                    for (const auto& k : z.peer_keys->keys()) {
                        if (!k.is_ksk() || k.tag != r.key_tag || k.algorithm() != r.algorithm) continue;
                        auto rd = dns::ds_rdata(z.origin, k.dnskey, r.digest_type);
                        peers |= rd.size() > 4 && std::equal(rd.begin() + 4, rd.end(), r.digest.begin(), r.digest.end());
                    }
                }
                if (!peers) ds.push_back(std::move(r));
            }
            if (out.ok()) out = lc.confirm_ds_published(ds, now, t);
            break;
        }
        case api::DnssecOp::ConfirmDsRemoved:
            out = lc.confirm_ds_removed(now, t);
            break;
    }
    if (!out.ok()) {
        reply.http_status = http_status(out.refused);
        reply.message = out.message;
        spdlog::warn("zone {}: DNSSEC request refused ({}): {}", z.cfg.name, reply.http_status, out.message);
        return reply;
    }
    if (!z.cfg.parent_ds_check.empty() &&
        (op == api::DnssecOp::Enable || op == api::DnssecOp::RotateKsk || op == api::DnssecOp::Disable)) {
        out.message += "; parent_ds_check will confirm the parent's DS change by itself";
    }
    if (op != api::DnssecOp::Get) {
        spdlog::info("zone {}: {}; status {}, keys {}", z.cfg.name, out.message.empty() ? "DNSSEC sync" : out.message,
                     modes::to_string(lc.status()), describe_keys(lc));
        if (z.snapshot) resign(z, "DNSSEC change");  // serve what the new state says, now
    }
    reply.message = out.message;
    reply.enabled = lc.signs();
    reply.status = modes::to_string(lc.status());
    reply.algorithm = lc.signs() ? lc.algorithm() : 0;
    for (const auto& k : lc.keys()) {
        (k.key.role == modes::KeyRole::Ksk ? reply.ksk : reply.zsk).push_back(key_info(k));
    }
    for (const auto& d : lc.ds_records()) reply.ds_records.push_back({d.key_tag, d.algorithm, d.digest_type, hex_upper(d.digest)});
    if (lc.signs() && lc.status() != modes::DnssecStatus::PendingDisabled) {
        for (const auto& d : peer_ds()) reply.ds_records.push_back({d.key_tag, d.algorithm, d.digest_type, hex_upper(d.digest)});
    }
    if (op == api::DnssecOp::Enable) {
        reply.new_ksk = newest(modes::KeyRole::Ksk);
        reply.new_zsk = newest(modes::KeyRole::Zsk);
    } else if (op == api::DnssecOp::RotateZsk || op == api::DnssecOp::RotateKsk) {
        const auto role = op == api::DnssecOp::RotateZsk ? modes::KeyRole::Zsk : modes::KeyRole::Ksk;
        reply.old_key = before;
        reply.new_key = newest(role);
        if (role == modes::KeyRole::Ksk && reply.new_key) {
            std::vector<api::DsInfo> only_new;
            for (const auto& d : reply.ds_records) {
                if (d.key_tag == reply.new_key->key_tag) only_new.push_back(d);
            }
            reply.ds_records = only_new;
        }
    }
    return reply;
}

api::PeerKeysReply ZoneManager::api_peer_keys(const std::string& zone_name, api::PeerKeyOp op,
                                              const api::PeerKeysRequest& req) {
    api::PeerKeysReply reply;
    auto fail = [&](int status, std::string message) {
        reply.http_status = status;
        reply.message = std::move(message);
        if (status != 404) spdlog::warn("zone {}: peer-keys request refused ({}): {}", zone_name, status, reply.message);
        return reply;
    };
    auto origin = dns::Name::from_text(zone_name.empty() || zone_name.back() != '.' ? zone_name + "." : zone_name);
    auto it = origin ? zones_.find(origin->lowered().to_string()) : zones_.end();
    if (it == zones_.end()) return fail(404, "zone " + zone_name + " is not served here");
    Zone& z = *it->second;
    if (z.cfg.mode != config::Mode::MultiSigner) {
        return fail(404, "zone " + z.cfg.name + " is " + mode_name(z.cfg.mode) +
                             "; peer keys belong to multi-signer zones (mode = \"multi-signer\")");
    }
    if (auto s = ensure_lifecycle(z); !s) return fail(500, s.error().message);
    if (auto s = ensure_peer_keys(z); !s) return fail(500, s.error().message);
    auto [ours, algorithm] = own_keys(z);
    modes::PeerKeys& pk = *z.peer_keys;
    const std::int64_t now = now_unix();

    std::size_t changed = 0;
    if (op == api::PeerKeyOp::Add || (op == api::PeerKeyOp::Remove && !req.key_tag)) {
        // All or nothing: every record must be acceptable before one is taken.
        std::vector<std::vector<std::uint8_t>> rdatas;
        for (const auto& text : req.dnskeys) {
            auto rd = op == api::PeerKeyOp::Add ? modes::parse_peer_dnskey(text, z.origin, algorithm, ours)
                                                 : modes::parse_peer_dnskey(text, z.origin, algorithm, {});
            if (!rd) return fail(400, rd.error().message);
            rdatas.push_back(std::move(*rd));
        }
        if (rdatas.empty()) return fail(400, "no DNSKEY records given");
        if (op == api::PeerKeyOp::Add) {
            changed = pk.add(rdatas, "api", now);
        } else {
            for (const auto& rd : rdatas) changed += pk.remove(rd);
            if (changed == 0) return fail(404, "none of these DNSKEY records is a peer key of " + z.cfg.name);
        }
    } else if (op == api::PeerKeyOp::Remove) {
        std::size_t n = 0;
        for (const auto& k : pk.keys()) n += k.tag == *req.key_tag;
        if (n == 0) return fail(404, "zone " + z.cfg.name + " has no peer key with tag " + std::to_string(*req.key_tag));
        if (n > 1) {
            return fail(409, std::to_string(n) + " peer keys have tag " + std::to_string(*req.key_tag) +
                                 "; remove the one you mean by its DNSKEY record");
        }
        changed = pk.remove_tag(*req.key_tag);
    }
    if (changed) {
        if (auto s = pk.save(); !s) {
            z.peer_keys.reset();  // what is on disk is the truth
            return fail(500, "cannot save peer keys: " + s.error().message);
        }
        spdlog::info("zone {}: {} {} peer key(s); now {}", z.cfg.name, op == api::PeerKeyOp::Add ? "added" : "removed",
                     changed, pk.keys().size());
        if (z.snapshot && z.lifecycle->signs()) resign(z, "peer keys changed");
    }

    reply.zone = z.origin.to_string();
    reply.algorithm = algorithm;
    reply.message = op == api::PeerKeyOp::Get      ? ""
                    : op == api::PeerKeyOp::Add    ? std::to_string(changed) + " peer key(s) added"
                                                   : std::to_string(changed) + " peer key(s) removed";
    (op == api::PeerKeyOp::Add ? reply.added : reply.removed) = changed;
    const std::uint32_t ttl = z.dnskey_ttl;
    auto info = [&](const std::vector<std::uint8_t>& rd) {
        api::PeerKeyInfo ki;
        ki.dnskey = modes::dnskey_text(z.origin, ttl, rd);
        ki.key_tag = dns::key_tag(rd);
        ki.flags = static_cast<std::uint16_t>(rd[0] << 8 | rd[1]);
        ki.key_type = (ki.flags & 1) ? "KSK" : "ZSK";
        ki.protocol = rd[2];
        ki.algorithm = rd[3];
        ki.public_key = modes::base64(std::vector<std::uint8_t>(rd.begin() + 4, rd.end()));
        return ki;
    };
    if (z.lifecycle->signs()) {
        for (const auto& k : z.lifecycle->signing_keys().keys) {
            if (k.published) reply.keys.push_back(info(k.dnskey));
        }
    }
    for (const auto& k : pk.keys()) {
        api::PeerKeyInfo ki = info(k.dnskey);
        ki.source = k.source;
        ki.added_at = k.added_at;
        reply.peer_keys.push_back(std::move(ki));
    }
    return reply;
}

std::string ZoneManager::api_metrics() const {
    std::string out;
    auto label = [](const std::string& zone) { return "{zone=\"" + zone + "\"}"; };
    out += "# HELP satellite_zone_serial SOA serial of the zone as received from its primary.\n"
           "# TYPE satellite_zone_serial gauge\n";
    for (const auto& [k, z] : zones_) {
        if (z->snapshot) out += "satellite_zone_serial" + label(z->cfg.name) + " " + std::to_string(z->snapshot->serial()) + "\n";
    }
    out += "# HELP satellite_zone_serving 1 when the zone is answered from data, 0 when SERVFAIL.\n"
           "# TYPE satellite_zone_serving gauge\n";
    for (const auto& [k, z] : zones_) {
        out += "satellite_zone_serving" + label(z->cfg.name) + " " + (z->serving() ? "1" : "0") + "\n";
    }
    out += "# HELP satellite_transfers_total Zone transfers by outcome.\n# TYPE satellite_transfers_total counter\n";
    for (const auto& [k, z] : zones_) {
        if (!z->secondary) continue;
        out += "satellite_transfers_total{zone=\"" + z->cfg.name + "\",result=\"ok\"} " + std::to_string(z->state.transfers_ok) + "\n";
        out += "satellite_transfers_total{zone=\"" + z->cfg.name + "\",result=\"failed\"} " + std::to_string(z->state.transfers_failed) + "\n";
    }
    out += "# HELP satellite_signature_refresh_timestamp_seconds When the zone's earliest signature is re-signed.\n"
           "# TYPE satellite_signature_refresh_timestamp_seconds gauge\n";
    for (const auto& [k, z] : zones_) {
        if (z->lifecycle && z->lifecycle->signs() && z->next_resign) {
            out += "satellite_signature_refresh_timestamp_seconds" + label(z->cfg.name) + " " + std::to_string(z->next_resign) + "\n";
        }
    }
    out += "# HELP satellite_dnssec_next_key_event_timestamp_seconds When the next timed key state change happens.\n"
           "# TYPE satellite_dnssec_next_key_event_timestamp_seconds gauge\n";
    for (const auto& [k, z] : zones_) {
        if (!z->lifecycle) continue;
        if (std::int64_t e = z->lifecycle->next_event(timing(*z)); e) {
            out += "satellite_dnssec_next_key_event_timestamp_seconds" + label(z->cfg.name) + " " + std::to_string(e) + "\n";
        }
    }
    // The query workers' counters (serve/query_counters.hpp), through the
    // catalog we serve: it holds its zones' slots in them.
    if (const zone::ZoneStats* stats = catalog_.get()->stats()) out += stats->metrics_text();
    return out;
}

}  // namespace satellite::daemon
