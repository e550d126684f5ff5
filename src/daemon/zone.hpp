// Inside the zones' manager (not for other folders): a zone's state as its
// events see it, the helpers they share, and how a step hands its heavy work
// to a worker. The behaviours are one file each, after Knot's zone events:
//   zones.cpp          wiring: configure, the event loop, the zone's sequence, publishing
//   event_load.cpp     load: a zone file, or the copy kept in state_dir
//   event_refresh.cpp  refresh / notify / expire: SOA, IXFR, AXFR (xfr/refresh.hpp decides), install, store
//   event_dnssec.cpp   re-sign, DNSKEY sync (multi-signer peers), DS check (parent), keys from the primary
//   zone_api.cpp       what the API and /metrics read and change
//   consumed_catalog.cpp  RFC 9432 consumer: member zones from catalogs we pull
#pragma once

#include "daemon/zones.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

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
#include <list>
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
#include "modes/provider_check.hpp"
#include "xfr/refresh.hpp"
#include "zone/store.hpp"

namespace satellite::daemon {

namespace asio = boost::asio;

inline std::int64_t file_mtime(const std::string& path) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return -1;
    return std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

struct ZoneManager::Zone : std::enable_shared_from_this<ZoneManager::Zone> {
    config::Zone cfg;
    dns::PackedName origin;
    bool secondary = false;
    std::shared_ptr<const dns::TsigKey> tsig;
    std::vector<std::array<std::uint8_t, 16>> notify_allow;
    std::vector<xfr::PrimaryAddress> primaries;
    std::shared_ptr<const zone::Snapshot> snapshot;
    modes::SignatureExpiry signatures;  // of `snapshot`, found when it was built (modes/expiry.hpp)
    std::weak_ptr<const zone::Snapshot> stored_version;  // the version last written to state_dir (signed zones)
    std::shared_ptr<zone::ZoneSlot> slot = std::make_shared<zone::ZoneSlot>();  // what queries see
    zone::ZoneState state;
    // Its state file: one write at a time per zone (the newest state is
    // written once the one under way ends); durable_fields of the last
    // write that was fsynced.
    bool state_saving = false, state_dirty = false;
    std::uint64_t state_synced = 0;
    // Bumped when a reload changes what a transfer depends on (primaries,
    // TSIG key): a refresh started before then drops its result.
    std::uint64_t xfr_generation = 0;
    std::unique_ptr<RefreshRun> refresh;  // the refresh under way, if any
    std::int64_t file_mtime = -1;
    ZoneId id = 0;  // its events in the scheduler
    // Live signing: the zone's keys (read or made on first use) and the
    // timer that keeps signatures fresh.
    std::unique_ptr<modes::Lifecycle> lifecycle;  // not optional<>: ~420 B inline in every zone
    // Multi-signer: the other providers' keys (read on first use); our new
    // ZSK that every peer serves, and when resolvers holding a peer's older
    // DNSKEY RRset have surely fetched it again (the key may sign from then).
    std::unique_ptr<modes::PeerKeys> peer_keys;  // (~350 B inline as an optional<>)
    // What only a zone signed here uses: made at its first write (a zone
    // served as transferred carries 8 bytes for it, not ~150: issue 13).
    struct Signing {
        std::vector<std::uint8_t> peers_serve;
        std::int64_t peers_ready_at = 0;
        bool peer_check_running = false;
        int peer_wait_logged = -1;  // the key tag last reported as waiting for the peers
        // RFC 8901 §8 consistency probe: each provider in `peers` as last asked
        // (DNSKEY, CDS, CDNSKEY against ours), and when.
        std::vector<modes::ProviderCheck> providers;
        std::int64_t providers_checked_at = 0;
        bool provider_probe_running = false;
        // parent_ds_check (its DS check event):
        bool parent_check_running = false;
        std::int64_t parent_checked_at = 0;
        std::string parent_problem;  // the last failure, said once
        // Each parent server as last asked: the key tags of our KSKs whose DS
        // it serves, or why it gave no usable answer (the status page shows it).
        struct ParentServer {
            std::string server;
            bool answered = false;
            std::vector<std::uint16_t> our_ds;  // key tags
            std::string error;
        };
        std::vector<ParentServer> parent_servers;
        std::int64_t next_resign = 0;
        std::uint32_t dnskey_ttl = 3600, max_ttl = 86400;  // of the data last signed
        std::shared_ptr<zone::Progress> signing_progress;  // the running (or last) signing pass
    };
    std::unique_ptr<Signing> signing_;
    const Signing& sig() const {
        static const Signing none;
        return signing_ ? *signing_ : none;
    }
    Signing& sig_mut() {
        if (!signing_) signing_ = std::make_unique<Signing>();
        return *signing_;
    }
    bool again = false, removed = false, queued = false;
    // The zone's sequence: a step's work is on a worker; the steps after it wait.
    bool working = false;
    std::list<std::function<void()>> pending;  // not a deque: an empty one allocates ~600 B
    std::vector<std::function<void()>> idle_waiters;
    bool force_axfr = false;  // the next transfer is an AXFR (`zone retransfer`)
    std::int64_t next_refresh = 0, expires_at = 0;
    const char* last_transfer_kind = "";  // "AXFR" (a whole zone) | "IXFR", for the status page
    // The running (or last) transfer: records so far (zone/progress.hpp);
    // made at the first one (the signing pass's is in Signing).
    std::shared_ptr<zone::Progress> transfer_progress;
    // Where the served version came from: a primary, or the zone file
    // cfg.file when source_is_file (not copied: 100,000 zones, issue 13).
    std::string source;
    bool source_is_file = false;
    std::string source_text() const { return source_is_file ? cfg.file : source; }
    // Catalog consumer (daemon/consumed_catalog.cpp): the catalog (lower-cased
    // name) this zone is a member of ("" = configured by a [[zone]]), and
    // whether this zone is itself a catalog we consume.
    std::string member_of;
    bool consumed_catalog = false;

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
    std::shared_ptr<const std::string> slot;  // its TransferSlots lease: given back with the run
    std::optional<std::uint32_t> expire;      // RFC 7314: EXPIRE in the primary's last answer, if any
};

// The zone's Progress for `what` ("transfer" | "signing"), made at first
// use with a report that logs a line every few seconds while it runs.
inline std::shared_ptr<zone::Progress> watch(std::shared_ptr<zone::Progress>& slot, const std::string& zone,
                                             const char* what) {
    if (slot) return slot;
    slot = std::make_shared<zone::Progress>();
    const bool signing = std::string_view(what) == "signing";
    slot->report = [zone, signing](const zone::ProgressView& v) {
        if (signing) {
            spdlog::info("zone {}: signing: {} of {} signatures ({:.0f}%), {:.0f}/s, about {} s left", zone, v.done,
                         v.total, v.total ? 100.0 * static_cast<double>(v.done) / static_cast<double>(v.total) : 0.0,
                         v.rate, v.eta_s < 0 ? 0 : v.eta_s);
        } else {
            spdlog::info("zone {}: transfer: {} records, {:.1f} MB so far, {:.0f} records/s, {:.0f} s", zone, v.done,
                         static_cast<double>(v.bytes) / 1e6, v.rate, v.seconds);
        }
    };
    return slot;
}

inline std::string describe_keys(const modes::Lifecycle& lc) {
    std::string out;
    for (const auto& k : lc.keys()) {
        if (!out.empty()) out += ", ";
        out += (k.key.role == modes::KeyRole::Ksk ? "KSK " : "ZSK ") + std::to_string(k.key.tag) + " " +
               modes::to_string(k.state);
    }
    return out.empty() ? "none" : out;
}

inline modes::LivePolicy live_policy(const config::Signing& sc) {
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

inline std::vector<xfr::PrimaryAddress> addresses(const std::vector<config::Endpoint>& endpoints) {
    std::vector<xfr::PrimaryAddress> out;
    for (const auto& e : endpoints) out.push_back({e.host, e.port});
    return out;
}

inline bool signs_here(config::Mode m) { return m == config::Mode::Live || m == config::Mode::MultiSigner; }

// Bounds of the differences kept for outgoing IXFR (RFC 1995 §4), in memory
// and when rebuilt from the stored journal at load: a client further behind
// gets the zone (AXFR-style), which is then no larger than the history.
inline constexpr std::size_t kIxfrHistorySteps = 64;
inline constexpr std::size_t kIxfrHistoryBytes = 32u << 20;  // uncompressed wire size of the records

inline bool same_rdata(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) { return a == b; }

inline bool same_signing(const std::optional<config::Signing>& a, const std::optional<config::Signing>& b) {
    if (a.has_value() != b.has_value()) return false;
    if (!a) return true;
    return a->enabled == b->enabled && a->algorithm == b->algorithm && a->denial == b->denial &&
           a->nsec3_iterations == b->nsec3_iterations && a->nsec3_salt == b->nsec3_salt &&
           a->nsec3_opt_out == b->nsec3_opt_out && a->signature_validity == b->signature_validity &&
           a->signature_refresh == b->signature_refresh && a->peer_publish_delay == b->peer_publish_delay &&
           a->standby_ksk == b->standby_ksk;
}

// Runs `work` on a worker, then `done` on the control thread; the zone's
// next steps wait for it (in_sequence), other zones do not.
template <typename T>
void ZoneManager::offload(Zone& z, std::function<Result<T>()> work, std::function<void(Zone&, Result<T>)> done,
                          bool disk) {
    z.working = true;
    // The zone is held until its result is back, even if a reload removes it.
    std::shared_ptr<Zone> held = z.shared_from_this();
    asio::post(disk ? disk_ : workers_, [this, held, work = std::move(work), done = std::move(done)]() mutable {
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

}  // namespace satellite::daemon
