#include "daemon/zones.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <random>

#include "dns/zonefile.hpp"
#include "modes/keys.hpp"
#include "modes/live.hpp"
#include "modes/modes.hpp"
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

const char* kind_name(xfr::TransferKind k) { return k == xfr::TransferKind::Axfr ? "AXFR" : "IXFR"; }

// RFC 1035 retry, spread by ±10% so many zones do not retry in lockstep.
std::int64_t jittered(std::int64_t seconds) {
    static thread_local std::mt19937 rng(std::random_device{}());
    if (seconds < 10) return seconds;
    std::uniform_int_distribution<std::int64_t> d(-seconds / 10, seconds / 10);
    return seconds + d(rng);
}

std::string timers_path(const std::string& dir, const dns::Name& origin) {
    return zone::stored_zone_path(dir, origin) + ".checked";
}

// The time of the last successful SOA check, kept beside the zone copy so a
// restart does not expire a zone that was checked recently.
void save_last_check(const std::string& dir, const dns::Name& origin, std::int64_t t) {
    std::string path = timers_path(dir, origin);
    std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        f << t << "\n";
        if (!f) return;
    }
    std::rename(tmp.c_str(), path.c_str());
}

std::int64_t load_last_check(const std::string& dir, const dns::Name& origin) {
    std::ifstream f(timers_path(dir, origin));
    std::int64_t t = 0;
    f >> t;
    return f ? t : 0;
}

}  // namespace

struct ZoneManager::Zone {
    explicit Zone(asio::io_context& io) : refresh_timer(io), expire_timer(io), resign_timer(io) {}
    config::Zone cfg;
    dns::Name origin;
    bool secondary = false;
    std::shared_ptr<const dns::TsigKey> tsig;
    std::vector<std::array<std::uint8_t, 16>> notify_allow;
    std::vector<xfr::PrimaryAddress> primaries;
    std::shared_ptr<const zone::Snapshot> snapshot;
    bool expired = false;
    std::int64_t file_mtime = -1;
    asio::steady_timer refresh_timer;
    asio::steady_timer expire_timer;
    // Live signing: the zone's keys (read or made on first use) and the
    // timer that keeps signatures fresh.
    asio::steady_timer resign_timer;
    std::optional<modes::ZoneKeys> keys;
    std::int64_t next_resign = 0;
    bool busy = false, again = false, removed = false, queued = false;
    std::int64_t last_check = 0, last_transfer = 0, last_failure = 0;
    std::int64_t next_refresh = 0, expires_at = 0;
    std::string last_error, source;
    unsigned failures = 0;
    std::chrono::steady_clock::time_point started;
};

namespace {

bool signing_enabled(const config::Zone& cfg) {
    return cfg.mode == config::Mode::Live && cfg.signing && cfg.signing->enabled;
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

bool same_signing(const std::optional<config::Signing>& a, const std::optional<config::Signing>& b) {
    if (a.has_value() != b.has_value()) return false;
    if (!a) return true;
    return a->enabled == b->enabled && a->algorithm == b->algorithm && a->denial == b->denial &&
           a->nsec3_iterations == b->nsec3_iterations && a->nsec3_salt == b->nsec3_salt &&
           a->nsec3_opt_out == b->nsec3_opt_out && a->signature_validity == b->signature_validity &&
           a->signature_refresh == b->signature_refresh;
}

}  // namespace

// The mode pipeline, then the snapshot: what every source of zone data goes
// through before it may be published (DESIGN.md §3).
Result<std::shared_ptr<const zone::Snapshot>> ZoneManager::prepare(Zone& z, const dns::RecordList& records,
                                                                  bool ours) {
    const config::Zone& cfg = z.cfg;
    if (cfg.mode == config::Mode::Live) {
        if (!signing_enabled(cfg)) {
            // DNSSEC state "disabled": the primary's data, served unsigned.
            return modes::strip_signer_records(z.origin, records);
        }
        const std::int64_t now = now_unix();
        if (!z.keys) {
            auto keys = modes::load_or_create_keys(state_dir_, z.origin,
                                                   static_cast<std::uint8_t>(cfg.signing->algorithm), now);
            if (!keys) return make_error("DNSSEC keys: " + keys.error().message);
            spdlog::info("zone {}: signing with KSK {} and ZSK {} (algorithm {}) from {}", cfg.name,
                         keys->ksk().tag, keys->zsk().tag, cfg.signing->algorithm,
                         modes::key_directory(state_dir_, z.origin));
            z.keys = std::move(*keys);
        }
        auto t0 = std::chrono::steady_clock::now();
        auto signed_zone = modes::sign_zone(z.origin, records, *z.keys, live_policy(*cfg.signing),
                                            z.snapshot.get(), now);
        if (!signed_zone) return signed_zone.error();
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
        spdlog::info("zone {}: signed serial {} ({} signatures made, {} kept) in {} ms{}", cfg.name,
                     signed_zone->snapshot->serial(), signed_zone->made, signed_zone->kept, ms,
                     signed_zone->dropped && !ours ? "; dropped " + std::to_string(signed_zone->dropped) +
                                                " DNSSEC records from the primary"
                                          : std::string());
        z.next_resign = signed_zone->next_resign;
        return signed_zone->snapshot;
    }
    modes::PresignedPolicy policy;
    policy.allow_nsec3 = cfg.allow_nsec3;
    policy.expiry_warning_s = cfg.expiry_warning;
    policy.verify = cfg.presigned_verify == "off"    ? modes::Verify::Off
                    : cfg.presigned_verify == "full" ? modes::Verify::Full
                                                     : modes::Verify::Keys;
    auto report = modes::check_presigned(z.origin, records, policy, now_unix());
    if (!report) return report.error();
    if (!report->warning.empty()) spdlog::warn("zone {}: {}", cfg.name, report->warning);
    return zone::build_snapshot(z.origin, records);
}

// Signature upkeep: re-sign what is due, keep the rest, publish.
void ZoneManager::arm_resign(Zone& z) {
    z.resign_timer.cancel();
    if (!signing_enabled(z.cfg) || !z.snapshot || z.next_resign == 0) return;
    const std::int64_t delay = std::max<std::int64_t>(1, z.next_resign - now_unix());
    z.resign_timer.expires_after(std::chrono::seconds(delay));
    std::string key = z.origin.lowered().to_string();
    z.resign_timer.async_wait([this, key](boost::system::error_code ec) {
        if (ec || stopping_) return;
        auto it = zones_.find(key);
        if (it == zones_.end() || it->second->removed) return;
        resign(*it->second, "signature refresh");
    });
}

void ZoneManager::resign(Zone& z, const char* why) {
    if (!z.snapshot) return;
    spdlog::debug("zone {}: re-signing ({})", z.cfg.name, why);
    auto snap = prepare(z, z.snapshot->to_records(), true);
    if (!snap) {
        z.last_failure = now_unix();
        z.last_error = std::string(why) + ": " + snap.error().message;
        spdlog::error("zone {}: {} failed: {}; still serving serial {}, retrying in 60 s", z.cfg.name, why,
                      snap.error().message, z.snapshot->serial());
        z.next_resign = now_unix() + 60;
        arm_resign(z);
        return;
    }
    z.snapshot = *snap;
    publish();
    dump(z);
    arm_resign(z);
}

// Test hook: SATELLITE_DUMP_DIR=<dir> writes each published live-signed
// zone to <dir>/<zone>.zone, for ldns-verify-zone.
void ZoneManager::dump(const Zone& z) const {
    const char* dir = std::getenv("SATELLITE_DUMP_DIR");
    if (!dir || !*dir || !z.snapshot || z.cfg.mode != config::Mode::Live) return;
    std::string name = z.origin.lowered().to_string();
    if (name.size() > 1) name.pop_back();
    if (auto s = dns::write_zone_file(std::string(dir) + "/" + name + ".zone", z.snapshot->to_records()); !s) {
        spdlog::warn("zone {}: dump failed: {}", z.cfg.name, s.error().message);
    }
}

ZoneManager::ZoneManager(asio::io_context& control, Published<zone::Catalog>& catalog)
    : io_(control), catalog_(catalog) {}

ZoneManager::~ZoneManager() { shutdown(); }

void ZoneManager::shutdown() {
    stopping_ = true;
    for (auto& [k, z] : zones_) {
        z->refresh_timer.cancel();
        z->expire_timer.cancel();
        z->resign_timer.cancel();
    }
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
            z = std::make_shared<Zone>(io_);
            z->origin = origin;
            z->secondary = secondary;
        }
        const bool fresh = z->cfg.name.empty();
        const bool resign_now = !fresh && z->snapshot &&
                                (z->cfg.mode != zc.mode || !same_signing(z->cfg.signing, zc.signing));
        if (!fresh && (z->cfg.mode != zc.mode || !z->cfg.signing || !zc.signing ||
                       z->cfg.signing->algorithm != zc.signing->algorithm)) {
            z->keys.reset();  // read again (and checked against the algorithm) on next use
        }
        z->cfg = zc;
        z->tsig = nullptr;
        if (!zc.tsig_key.empty()) {
            z->tsig = keys_[dns::Name::from_text(zc.tsig_key)->lowered().to_string()];
        }
        z->primaries.clear();
        for (const auto& p : zc.primaries) z->primaries.push_back({p.host, p.port});
        z->notify_allow.clear();
        for (const auto& a : zc.notify_allow) {
            if (auto b = serve::parse_address(a)) z->notify_allow.push_back(*b);
        }
        next[key] = z;
        if (!secondary) {
            load_local_file(*z);
        } else if (fresh) {
            load_from_disk(*z);
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
            z->refresh_timer.cancel();
            z->expire_timer.cancel();
            z->resign_timer.cancel();
            spdlog::info("zone {} removed", z->origin.to_string());
        }
    }
    zones_ = std::move(next);
    publish();
}

void ZoneManager::publish() {
    std::vector<zone::ServedZone> served;
    served.reserve(zones_.size());
    for (const auto& [k, z] : zones_) {
        zone::ServedZone s;
        s.origin = z->origin;
        s.snapshot = z->expired ? nullptr : z->snapshot;
        s.secondary = z->secondary;
        s.notify_allow = z->notify_allow;
        s.tsig = z->tsig;
        served.push_back(std::move(s));
    }
    catalog_.publish(std::make_unique<zone::Catalog>(std::move(served)));
}

void ZoneManager::load_local_file(Zone& z) {
    std::int64_t mtime = file_mtime(z.cfg.file);
    if (z.snapshot && mtime == z.file_mtime && z.source == z.cfg.file) return;
    auto t0 = std::chrono::steady_clock::now();
    auto records = dns::read_zone_file(z.cfg.file, z.origin);
    auto snap = records ? prepare(z, *records)
                        : Result<std::shared_ptr<const zone::Snapshot>>(records.error());
    if (!snap) {
        z.last_failure = now_unix();
        z.last_error = snap.error().message;
        if (z.snapshot) {
            spdlog::error("zone {}: {}; still serving serial {}", z.cfg.name, z.last_error,
                          z.snapshot->serial());
        } else {
            spdlog::error("zone {}: {}; answering SERVFAIL until it loads", z.cfg.name, z.last_error);
        }
        return;
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("zone {} loaded from {}: serial {}, {} records in {} ms", z.cfg.name, z.cfg.file,
                 (*snap)->serial(), (*snap)->record_count(), ms);
    z.snapshot = *snap;
    z.file_mtime = mtime;
    z.source = z.cfg.file;
    z.last_transfer = z.last_check = now_unix();
    dump(z);
    arm_resign(z);
}

void ZoneManager::load_from_disk(Zone& z) {
    auto stored = zone::load_zone(state_dir_, z.origin);
    std::int64_t now = now_unix();
    if (!stored) {
        spdlog::error("zone {}: {}; ignoring it and transferring afresh", z.cfg.name,
                      stored.error().message);
        std::string path = zone::stored_zone_path(state_dir_, z.origin);
        std::rename(path.c_str(), (path + ".damaged").c_str());
    } else if (stored->has_value()) {
        zone::StoredZone& sz = **stored;
        if (auto j = zone::load_journal(state_dir_, z.origin); !j) {
            spdlog::error("zone {}: {}; using the stored copy without it", z.cfg.name, j.error().message);
        } else {
            if (!j->warning.empty()) spdlog::warn("zone {}: {}", z.cfg.name, j->warning);
            std::uint32_t serial = sz.serial;
            bool chained = !j->deltas.empty();
            for (const auto& d : j->deltas) {
                chained &= d.from == serial;
                serial = d.to;
            }
            if (chained) {
                auto applied = zone::apply_deltas(sz.records, j->deltas);
                if (applied) {
                    spdlog::info("zone {}: journal brings the stored copy from serial {} to {}",
                                 z.cfg.name, sz.serial, serial);
                    sz.records = std::move(*applied);
                    sz.serial = serial;
                } else {
                    spdlog::warn("zone {}: journal does not apply ({}); ignoring it", z.cfg.name,
                                 applied.error().message);
                }
            } else if (!j->deltas.empty()) {
                spdlog::warn("zone {}: journal does not continue the stored serial {}; ignoring it",
                             z.cfg.name, sz.serial);
            }
        }
        auto snap = prepare(z, sz.records);
        if (!snap) {
            spdlog::error("zone {}: stored copy is unusable ({}); transferring afresh", z.cfg.name,
                          snap.error().message);
        } else {
            z.snapshot = *snap;
            dump(z);
            arm_resign(z);
            z.source = sz.source;
            z.last_transfer = sz.last_transfer;
            z.last_check = std::max(sz.last_check, load_last_check(state_dir_, z.origin));
            spdlog::info("zone {}: serving serial {} from {} ({} records, received {} s ago)",
                         z.cfg.name, z.snapshot->serial(), state_dir_, z.snapshot->record_count(),
                         now - z.last_transfer);
            arm_expire(z);
            schedule_refresh(z, std::max<std::int64_t>(0, z.last_check + z.snapshot->refresh() - now));
            return;
        }
    }
    schedule_refresh(z, 0);
}

void ZoneManager::schedule_refresh(Zone& z, std::int64_t delay_s) {
    z.next_refresh = now_unix() + delay_s;
    z.refresh_timer.expires_after(std::chrono::seconds(delay_s));
    // During configure() the zone is not in zones_ yet: find it when the timer fires.
    std::string key = z.origin.lowered().to_string();
    z.refresh_timer.async_wait([this, key](boost::system::error_code ec) {
        if (ec || stopping_) return;
        auto it = zones_.find(key);
        if (it == zones_.end() || it->second->removed) return;
        start_refresh(it->second, "refresh timer");
    });
}

void ZoneManager::arm_expire(Zone& z) {
    if (!z.snapshot) return;
    z.expires_at = z.last_check + z.snapshot->expire();
    std::int64_t left = z.expires_at - now_unix();
    std::string key = z.origin.lowered().to_string();
    auto on_expire = [this, key](boost::system::error_code ec) {
        if (ec || stopping_) return;
        auto it = zones_.find(key);
        if (it == zones_.end() || it->second->removed) return;
        Zone& zz = *it->second;
        if (zz.expired) return;
        zz.expired = true;
        spdlog::error("zone {} expired: no successful check with a primary for {} s (SOA expire); "
                      "answering SERVFAIL until a transfer succeeds",
                      zz.cfg.name, zz.snapshot->expire());
        publish();
    };
    if (left <= 0) {
        // Already past: expire now, but after configure() has placed the zone.
        asio::post(io_, [on_expire] { on_expire({}); });
        return;
    }
    z.expired = false;
    z.expire_timer.expires_after(std::chrono::seconds(left));
    z.expire_timer.async_wait(on_expire);
}

void ZoneManager::notify(const dns::Name& zone, std::optional<std::uint32_t> serial,
                         const std::string& from) {
    asio::post(io_, [this, key = zone.lowered().to_string(), serial, from] {
        auto it = zones_.find(key);
        if (it == zones_.end() || stopping_) return;
        auto& z = it->second;
        if (serial && z->snapshot && !xfr::serial_newer(*serial, z->snapshot->serial()) && !z->expired) {
            spdlog::info("zone {}: NOTIFY from {} with serial {}, which we have", z->cfg.name, from, *serial);
            return;
        }
        spdlog::info("zone {}: NOTIFY from {}{}", z->cfg.name, from,
                     serial ? " (serial " + std::to_string(*serial) + ")" : std::string());
        start_refresh(z, "NOTIFY");
    });
}

bool ZoneManager::refresh_now(const std::string& zone_name) {
    auto origin = dns::Name::from_text(zone_name);
    if (!origin) return false;
    std::string key = origin->lowered().to_string();
    if (zones_.find(key) == zones_.end()) return false;
    asio::post(io_, [this, key] {
        auto it = zones_.find(key);
        if (it != zones_.end() && it->second->secondary) start_refresh(it->second, "operator request");
    });
    return true;
}

void ZoneManager::start_refresh(const std::shared_ptr<Zone>& z, const char* why) {
    if (!z->secondary || z->removed || stopping_) return;
    if (z->busy) {
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
    z->busy = true;
    ++active_transfers_;
    z->started = std::chrono::steady_clock::now();
    spdlog::debug("zone {}: checking primaries ({})", z->cfg.name, why);
    attempt(z, 0, z->snapshot ? xfr::TransferKind::Ixfr : xfr::TransferKind::Axfr);
}

void ZoneManager::attempt(const std::shared_ptr<Zone>& z, std::size_t primary, xfr::TransferKind kind) {
    xfr::TransferLimits limits;
    limits.max_records = z->cfg.max_zone_records;
    auto client = std::make_shared<xfr::TransferClient>(
        z->origin, kind, z->snapshot ? z->snapshot->serial() : 0, z->tsig.get(), limits);
    std::weak_ptr<Zone> wz = z;
    const xfr::PrimaryAddress addr = z->primaries[primary];
    xfr::run_transfer(io_, addr, client, std::chrono::seconds(z->cfg.transfer_timeout),
                      [this, wz, primary, kind, client, addr](Status s) {
                          auto zp = wz.lock();
                          if (!zp || zp->removed || stopping_) {
                              if (zp) zp->busy = false;
                              --active_transfers_;
                              return;
                          }
                          if (!s) {
                              failed(zp, primary, kind, s.error().message);
                              return;
                          }
                          succeeded(*zp, addr.to_string(), *client, kind, primary);
                      });
}

void ZoneManager::succeeded(Zone& z, const std::string& primary, xfr::TransferClient& client,
                            xfr::TransferKind kind, std::size_t primary_index) {
    const std::int64_t now = now_unix();
    std::shared_ptr<Zone> self = zones_[z.origin.lowered().to_string()];
    auto reject = [&](const std::string& why) { failed(self, primary_index, kind, why); };
    switch (client.outcome()) {
        case xfr::TransferClient::Outcome::UpToDate:
            z.last_check = now;
            save_last_check(state_dir_, z.origin, now);
            if (z.expired) {
                z.expired = false;
                publish();
            }
            spdlog::debug("zone {}: serial {} is current at {}", z.cfg.name, z.snapshot->serial(), primary);
            break;
        case xfr::TransferClient::Outcome::Full: {
            auto snap = prepare(z, client.full());
            if (!snap) return reject("zone data refused: " + snap.error().message);
            install(z, *snap, primary);
            save_last_check(state_dir_, z.origin, now);
            zone::StoredZone sz{(*snap)->serial(), now, now, primary, std::move(client.full())};
            if (auto s = zone::save_zone(state_dir_, z.origin, sz); !s) {
                spdlog::error("zone {}: cannot save to {}: {}", z.cfg.name, state_dir_, s.error().message);
            } else {
                zone::remove_journal(state_dir_, z.origin);
            }
            break;
        }
        case xfr::TransferClient::Outcome::Incremental: {
            auto records = zone::apply_deltas(z.snapshot->to_records(), client.deltas());
            if (!records) return reject(records.error().message);
            // The records are our signed version plus the primary's changes.
            auto snap = prepare(z, *records, true);
            if (!snap) return reject("zone data refused after IXFR: " + snap.error().message);
            install(z, *snap, primary);
            save_last_check(state_dir_, z.origin, now);
            // A small change is a small write: append the differences to the
            // journal; rewrite the whole copy once the journal has grown.
            const std::uint64_t limit = std::max<std::uint64_t>(1 << 20, (*snap)->record_count() * 16);
            Status s = zone::journal_size(state_dir_, z.origin) < limit
                           ? zone::append_journal(state_dir_, z.origin, client.deltas())
                           : Status(make_error("compacting"));
            if (!s) {
                zone::StoredZone sz{(*snap)->serial(), now, now, primary, std::move(*records)};
                if (auto w = zone::save_zone(state_dir_, z.origin, sz); !w) {
                    spdlog::error("zone {}: cannot save to {}: {}", z.cfg.name, state_dir_, w.error().message);
                } else {
                    zone::remove_journal(state_dir_, z.origin);
                }
            }
            break;
        }
    }
    (void)kind;
    z.failures = 0;
    arm_expire(z);
    schedule_refresh(z, z.snapshot->refresh());
    finish_transfer(z);
}

void ZoneManager::install(Zone& z, std::shared_ptr<const zone::Snapshot> snap, const std::string& primary) {
    const std::int64_t now = now_unix();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - z.started).count();
    std::optional<std::uint32_t> old;
    if (z.snapshot) old = z.snapshot->serial();
    z.snapshot = std::move(snap);
    z.expired = false;
    z.source = primary;
    z.last_check = z.last_transfer = now;
    publish();
    dump(z);
    arm_resign(z);
    spdlog::info("zone {}: serving serial {} from {} ({} records){} in {} ms", z.cfg.name,
                 z.snapshot->serial(), primary, z.snapshot->record_count(),
                 old ? ", was " + std::to_string(*old) : std::string(), ms);
}

void ZoneManager::failed(const std::shared_ptr<Zone>& z, std::size_t primary,
                         xfr::TransferKind kind, const std::string& why) {
    const std::string addr = z->primaries[primary].to_string();
    spdlog::warn("zone {}: {} from {} failed: {}", z->cfg.name, kind_name(kind), addr, why);
    if (kind == xfr::TransferKind::Ixfr) {  // RFC 1995 §4: fall back to AXFR
        attempt(z, primary, xfr::TransferKind::Axfr);
        return;
    }
    if (primary + 1 < z->primaries.size()) {
        attempt(z, primary + 1, z->snapshot ? xfr::TransferKind::Ixfr : xfr::TransferKind::Axfr);
        return;
    }
    z->last_failure = now_unix();
    z->last_error = addr + ": " + why;
    ++z->failures;
    std::int64_t delay = z->snapshot ? z->snapshot->retry()
                                     : std::min<std::int64_t>(300, 5ll << std::min(z->failures, 6u));
    delay = jittered(delay);
    if (z->snapshot) {
        spdlog::error("zone {}: no primary answered usefully (last: {}); still serving serial {}, "
                      "retry in {} s{}",
                      z->cfg.name, z->last_error, z->snapshot->serial(), delay,
                      z->expired ? " (expired: SERVFAIL)" : "");
    } else {
        spdlog::error("zone {}: no primary answered usefully (last: {}); no data yet (SERVFAIL), "
                      "retry in {} s",
                      z->cfg.name, z->last_error, delay);
    }
    schedule_refresh(*z, delay);
    finish_transfer(*z);
}

void ZoneManager::finish_transfer(Zone& z) {
    z.busy = false;
    --active_transfers_;
    std::string key = z.origin.lowered().to_string();
    if (z.again) {
        z.again = false;
        asio::post(io_, [this, key] {
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

std::vector<ZoneStatus> ZoneManager::status() const {
    std::vector<ZoneStatus> out;
    for (const auto& [k, z] : zones_) {
        ZoneStatus s;
        s.name = z->cfg.name;
        s.kind = z->secondary ? "secondary" : "file";
        if (z->snapshot) s.serial = z->snapshot->serial();
        s.serving = z->snapshot && !z->expired;
        s.source = z->source;
        s.last_success = z->last_check;
        s.last_failure = z->last_failure;
        s.last_error = z->last_error;
        s.next_refresh = z->next_refresh;
        s.expires_at = z->expires_at;
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace satellite::daemon
