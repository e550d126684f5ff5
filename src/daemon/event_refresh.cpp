// The refresh, notify and expire events: the SOA query and transfers that xfr::RefreshPolicy decides, the install through the mode pipeline, the stored copy.
#include "daemon/zone.hpp"

#include <malloc.h>

namespace satellite::daemon {

void ZoneManager::schedule_refresh(Zone& z, std::int64_t delay_s) {
    z.next_refresh = now_unix() + delay_s;
    schedule(z, ZoneEvent::Refresh, delay_s);
}

// RFC 1034 §4.3.5: with no confirmation from a primary for SOA expire, the
// zone is no longer served (SERVFAIL) until one comes. Issue 15: nor once
// its earliest signature is within signature_safety_margin of expiring (any
// signed zone, file zones too), until a fresher version comes. The expire
// event is armed for the earlier of the two: the effective expiry.
void ZoneManager::arm_expire(Zone& z) {
    if (!z.snapshot) return;
    constexpr std::int64_t kNever = INT64_MAX;
    const std::int64_t soa_at = z.secondary ? soa_deadline(z) : kNever;
    const std::int64_t sig_at = modes::signature_limit(z.signatures, z.cfg.signature_safety_margin);
    z.expires_at = sig_at != 0 && sig_at < soa_at ? sig_at : soa_at;
    z.state.signature_expiry = z.signatures.expiration;
    z.state.signature_rrset = z.signatures.rrset;
    z.state.effective_expiry = z.expires_at == kNever ? 0 : z.expires_at;
    z.slot->expire_at.store(z.state.effective_expiry, std::memory_order_relaxed);  // RFC 7314 answers
    if (z.expires_at == kNever) {
        events_.cancel(z.id, ZoneEvent::Expire);
        return;
    }
    const std::int64_t now = now_unix();
    if (z.expired() && z.state.expired_by_signatures && now <= z.expires_at) {
        // Expired by its signatures, now re-signed (a live zone's re-sign).
        z.state.phase = zone::Phase::Ok;
        z.state.expired_by_signatures = false;
        spdlog::info("zone {}: serving again: its earliest signature (over {}) now expires at {}", z.cfg.name,
                     z.signatures.rrset, modes::utc_time(z.signatures.expiration));
        publish(z);
    }
    // The last check is known to the second: expire once that second has
    // passed too, never before (short test timers would lose up to 1 s).
    events_.schedule(z.id, ZoneEvent::Expire, z.expires_at + 1);
    loop_.changed();
}

// RFC 1034 §4.3.5: the SOA expire clock runs from the last successful
// check; RFC 7314 §4: for what the primary's EXPIRE said then, when less.
std::int64_t ZoneManager::soa_deadline(const Zone& z) const {
    if (!z.snapshot) return 0;
    return z.state.last_check + std::min(z.snapshot->expire(), z.state.primary_expire.value_or(UINT32_MAX));
}

// A check succeeded (`previous_deadline`: when the clock would have run out
// before it; 0 after a transfer): the EXPIRE its primary answered with, if
// any, sets how long the clock now runs (modes::expire_clock).
void ZoneManager::take_primary_expire(Zone& z, const std::string& primary, std::int64_t previous_deadline) {
    if (!z.snapshot) return;
    const auto option = z.refresh ? z.refresh->expire : std::nullopt;
    const std::int64_t now = now_unix();
    const auto run = modes::expire_clock(option, previous_deadline == 0, previous_deadline, now, z.snapshot->expire());
    if (run && run != z.state.primary_expire) {
        spdlog::info("zone {}: {} answered EDNS EXPIRE {} s (SOA expire {} s): the zone expires at {} unless a "
                     "check succeeds before",
                     z.cfg.name, primary, *option, z.snapshot->expire(), modes::utc_time(now + *run));
    }
    z.state.primary_expire = run;
}

// The signatures of the served version are within the margin (or past).
bool ZoneManager::signatures_inside_margin(const Zone& z) const {
    const std::int64_t sig_at = modes::signature_limit(z.signatures, z.cfg.signature_safety_margin);
    return sig_at != 0 && now_unix() > sig_at;
}

// When to ask the primaries next after a successful check: the SOA refresh
// timer, but no later than the moment the signatures reach their margin
// (a re-signed serial may be waiting), and every SOA retry while the zone
// is expired by its signatures.
std::int64_t ZoneManager::next_check_delay(Zone& z) {
    std::int64_t delay = xfr::refresh_delay(z.snapshot->refresh(), rng_);
    const std::int64_t sig_at = modes::signature_limit(z.signatures, z.cfg.signature_safety_margin);
    if (sig_at == 0) return delay;
    const std::int64_t now = now_unix();
    if (now > sig_at) return std::min<std::int64_t>(delay, std::max<std::uint32_t>(1, z.snapshot->retry()));
    return std::min(delay, sig_at - now + 1);  // ≥ 1: once the limit has passed (no busy loop in its second)
}

void ZoneManager::expire(Zone& z) {
    if (z.expired() || !z.snapshot || now_unix() <= z.expires_at) return;
    z.state.phase = zone::Phase::Expired;
    z.state.expired_by_signatures = signatures_inside_margin(z);
    if (z.state.expired_by_signatures) {
        spdlog::error("zone {} expired: its earliest signature (the RRSIG over {}) expires at {}, within the "
                      "signature_safety_margin ({}); answering SERVFAIL (Extended DNS Error 7, Signature Expired) "
                      "until a freshly signed version arrives",
                      z.cfg.name, z.signatures.rrset, modes::utc_time(z.signatures.expiration),
                      modes::describe_duration(z.cfg.signature_safety_margin));
    } else {
        spdlog::error("zone {} expired: no successful check with a primary for {} s (SOA expire); "
                      "answering SERVFAIL until a transfer succeeds",
                      z.cfg.name, z.snapshot->expire());
    }
    save_state(z);
    publish(z);
    // A re-signed serial may be waiting at the primary: ask now.
    if (z.state.expired_by_signatures && z.secondary) schedule(z, ZoneEvent::Refresh, 0, true);
}
// The state file is written on the disk pool, one write per zone at a time
// (a state changed meanwhile is written when it ends), fsynced only when a
// field a restart needs changed (zone/zone_state.hpp durable_fields). Callers
// save a `stored` serial only once that copy is durable (after_store).
void ZoneManager::save_state(Zone& z) {
    if (!z.secondary) return;
    if (z.state_saving) {
        z.state_dirty = true;
        return;
    }
    write_state(z);
}

void ZoneManager::write_state(Zone& z) {
    z.state_saving = true;
    z.state_dirty = false;
    const std::uint64_t fields = zone::durable_fields(z.state);
    const bool durable = fields != z.state_synced;
    asio::post(disk_, [this, held = z.shared_from_this(), dir = state_dir_, state = z.state, fields, durable] {
        Status s = zone::save_zone_state(dir, held->origin, state, durable);
        asio::post(io_, [this, held, s = std::move(s), fields, durable] {
            Zone& z = *held;
            z.state_saving = false;
            if (!s) {
                spdlog::error("zone {}: cannot save its state: {}", z.cfg.name, s.error().message);
            } else if (durable) {
                z.state_synced = fields;
            }
            if (z.state_dirty && !stopping_) write_state(z);
        });
    });
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

void ZoneManager::start_refresh(const std::shared_ptr<Zone>& z, const char* why,
                                std::shared_ptr<const std::string> slot) {
    if (!z->secondary || z->removed || stopping_) return;
    if (z->refresh) {
        z->again = true;  // coalesce: one more check after the running one
        return;
    }
    const std::string first_primary = z->primaries.empty() ? std::string() : z->primaries.front().to_string();
    if (!slot) slot = slots_.take(first_primary);
    if (!slot) {
        if (!z->queued) {
            z->queued = true;
            slots_.wait(first_primary, z);
        }
        return;
    }
    spdlog::debug("zone {}: checking primaries ({})", z->cfg.name, why);
    std::vector<std::string> names;
    for (const auto& p : z->primaries) names.push_back(p.to_string());
    std::optional<std::uint32_t> served;
    if (z->snapshot) served = z->snapshot->serial();
    z->refresh.reset(new RefreshRun{xfr::RefreshPolicy(z->cfg.name, std::move(names), served, z->force_axfr),
                                    z->primaries, z->tsig, z->xfr_generation,
                                    std::chrono::steady_clock::now(), std::move(slot), std::nullopt});
    z->force_axfr = false;
    refresh_step(z, z->refresh->policy.start());
}

// A refresh's answer came back: the zone's own, unless a reload removed the
// zone or changed its primaries or key meanwhile (then it is dropped).
std::shared_ptr<ZoneManager::Zone> ZoneManager::still_wanted(const std::weak_ptr<Zone>& wz, std::uint64_t generation) {
    auto z = wz.lock();
    if (!z) return nullptr;  // its refresh (and slot) went with it
    if (!z->removed && !stopping_ && z->refresh && z->xfr_generation == generation) return z;
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
            client->ask_expire();
            xfr::run_query(io_, run.primaries[p], client, timeout, [this, wz, gen, p, client](Status s) {
                auto zp = still_wanted(wz, gen);
                if (!zp) return;
                auto& policy = zp->refresh->policy;
                zp->refresh->expire = client->expire();
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
            const std::int64_t deadline = soa_deadline(*z);
            z->state.succeeded(now_unix());
            take_primary_expire(*z, run.primaries[step.primary].to_string(), std::max<std::int64_t>(deadline, 1));
            probe_providers(*z);  // RFC 8901 §8: each check asks the other providers too
            spdlog::debug("zone {}: serial {} is current at {}", z->cfg.name, z->snapshot->serial(),
                          run.primaries[step.primary].to_string());
            if (signatures_inside_margin(*z)) {
                // Confirmed, yet its signatures are too close to expiry: a
                // check restarts the SOA expire clock, not the signatures'.
                z->state.phase = zone::Phase::Expired;
                z->state.expired_by_signatures = true;
                spdlog::warn("zone {}: serial {} is current at {}, but its earliest signature (over {}) expires "
                             "at {}, within the signature_safety_margin: still SERVFAIL until the primary "
                             "re-signs with a new serial",
                             z->cfg.name, z->snapshot->serial(), run.primaries[step.primary].to_string(),
                             z->signatures.rrset, modes::utc_time(z->signatures.expiration));
                save_state(*z);
                publish(*z);
                break;
            }
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
    schedule_refresh(*z, next_check_delay(*z));
    finish_refresh(*z);
}

void ZoneManager::transfer(const std::shared_ptr<Zone>& z, std::size_t primary, xfr::TransferKind kind) {
    RefreshRun& run = *z->refresh;
    xfr::TransferLimits limits;
    limits.max_records = z->cfg.max_zone_records;
    limits.max_bytes = z->cfg.max_zone_bytes;
    auto client = std::make_shared<xfr::TransferClient>(z->origin, kind, z->snapshot ? z->snapshot->serial() : 0,
                                                        run.tsig.get(), limits);
    client->set_progress(watch(z->transfer_progress, z->cfg.name, "transfer"));
    std::weak_ptr<Zone> wz = z;
    const std::uint64_t gen = run.generation;
    // Two deadlines: the whole attempt, and the primary going silent.
    const auto idle = std::chrono::seconds(std::min(z->cfg.transfer_idle_timeout, z->cfg.transfer_timeout));
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
                          if (client->expire()) zp->refresh->expire = client->expire();
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
                              take_primary_expire(*zp, zp->refresh->primaries[primary].to_string(), 0);
                              probe_providers(*zp);
                              zp->refresh.reset();
                              arm_expire(*zp);
                              schedule_refresh(*zp, next_check_delay(*zp));
                              finish_refresh(*zp);
                          });
                      },
                      idle);
}

namespace {

// A transfer's data built into a version (on a worker); for an IXFR, also
// the whole record set it led to (the stored copy when the journal is compacted).
struct Transferred {
    modes::BuiltVersion built;
    bool incremental = false;
};

}  // namespace

// The transfer's data through the mode pipeline to the served version (on a
// worker), then to disk (on a worker, after it is served). `done` says
// whether it was served; a refusal leaves the served version as it was.
void ZoneManager::install_transfer(Zone& z, std::size_t primary_index, std::shared_ptr<xfr::TransferClient> client,
                                   bool backwards, std::function<void(Status)> done) {
    const std::uint64_t gen = z.refresh ? z.refresh->generation : 0;
    in_sequence(z, [this, &z, primary_index, client, backwards, done, gen] {
        if (z.removed || !z.refresh || z.xfr_generation != gen) return done(make_error("dropped"));
        const std::string primary = z.refresh->primaries[primary_index].to_string();
        const bool full = client->outcome() == xfr::TransferClient::Outcome::Full;
        // A hostile primary's data may exhaust memory here: the attempt
        // fails (logged with zone and primary by `done`), the zone serves on.
        std::optional<Result<modes::BuildInput>> built_in;
        try {
            if (full) {
                import_primary_keys(z, client->full(), nullptr);
            } else {
                import_primary_keys(z, dns::RecordList{}, &client->deltas());  // the deltas say it all
            }
            built_in.emplace(build_input(z));
        } catch (const std::exception& e) {
            return done(make_error(std::string("internal error: ") + e.what()));
        }
        auto& in = *built_in;
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
                // Only the change is applied: the names it touches are new,
                // the rest is shared with the version served now.
                auto b = modes::apply_version(in, client->deltas());
                if (!b) return make_error("zone data refused after IXFR: " + b.error().message);
                t.built = std::move(*b);
                t.incremental = true;
                return t;
            },
            [this, primary, client, backwards, done, full](Zone& z, Result<Transferred> t) {
                if (!t) return done(t.error());
                std::optional<std::uint32_t> old;
                if (z.snapshot) old = z.snapshot->serial();
                // A zone signed here changed incrementally: its one signed
                // difference continues the history and the stored copy.
                std::shared_ptr<const zone::IxfrHistory> prior;
                if (const auto* h = z.slot->history.load(std::memory_order_acquire); h && *h) prior = *h;
                const auto previous = z.snapshot;
                after_build(z, t->built, !full);
                install(z, t->built.snapshot, primary);
                if (t->built.signed_diff) {
                    remember_history(z, &*t->built.signed_diff, std::move(prior));
                } else {
                    remember_history(z, full ? nullptr : &client->deltas());  // for outgoing IXFR
                }
                if (signs_here(z.cfg.mode) && t->incremental && z.slot->history.load(std::memory_order_acquire)) {
                    store_signed_step(z, previous);
                }
                if (backwards && old) {
                    spdlog::warn("zone {}: went backwards from serial {} to {} (retransfer from {})", z.cfg.name,
                                 *old, z.snapshot->serial(), primary);
                }
                const std::int64_t now = now_unix();
                ++z.state.transfers_ok;
                z.last_transfer_kind = full ? "AXFR" : "IXFR";
                z.state.succeeded(now);
                store_transfer(z, primary, std::move(client), t->incremental);
                done({});
            });
    });
}

// The stored copy follows the served version: a whole zone is rewritten; a
// small change is a small write (appended to the journal), and the whole
// copy is rewritten once the journal has grown.
void ZoneManager::store_transfer(Zone& z, const std::string& primary, std::shared_ptr<xfr::TransferClient> client,
                                 bool incremental) {
    if (signs_here(z.cfg.mode)) return schedule(z, ZoneEvent::Flush, 0, true);
    const std::uint32_t serial = z.snapshot->serial();
    const std::uint64_t limit = std::max<std::uint64_t>(1 << 20, z.snapshot->record_count() * 16);
    offload<std::uint32_t>(
        z,
        [dir = state_dir_, origin = z.origin, primary, client, incremental, snap = z.snapshot, serial, limit,
         now = now_unix()]() mutable -> Result<std::uint32_t> {
            if (incremental && zone::journal_size(dir, origin) < limit) {
                if (zone::append_journal(dir, origin, client->deltas())) return serial;
            }
            // A whole copy: the transfer's records, or (the journal has
            // grown) the version served, read here on the worker.
            zone::StoredZone sz{serial, now, now, primary, incremental ? snap->to_records() : std::move(client->full())};
            if (auto s = zone::save_zone(dir, origin, sz); !s) return s.error();
            zone::remove_journal(dir, origin);
            return serial;
        },
        [this](Zone& z, Result<std::uint32_t> stored) { after_store(z, stored); }, true);
}

// A zone signed here, changed by one signed difference from `previous`:
// when the stored copy (with its journal) is `previous`, the difference is
// appended to the journal; otherwise the whole version is written.
void ZoneManager::store_signed_step(Zone& z, const std::shared_ptr<const zone::Snapshot>& previous) {
    const auto* h = z.slot->history.load(std::memory_order_acquire);
    if (!previous || z.stored_version.lock() != previous || !h || !*h || (*h)->deltas.empty() ||
        (*h)->deltas.back().to != z.snapshot->serial()) {
        return schedule(z, ZoneEvent::Flush, 0, true);
    }
    const std::uint64_t limit = std::max<std::uint64_t>(1 << 20, z.snapshot->record_count() * 16);
    z.stored_version = z.snapshot;
    offload<std::uint32_t>(
        z,
        [dir = state_dir_, origin = z.origin, history = *h, snap = z.snapshot, source = z.source, limit,
         last_check = z.state.last_check, last_transfer = z.state.last_transfer]() -> Result<std::uint32_t> {
            const std::vector<zone::ZoneDelta> step{history->deltas.back()};
            if (zone::journal_size(dir, origin) < limit && zone::append_journal(dir, origin, step)) return snap->serial();
            // The journal has grown (or cannot be written): a whole copy.
            zone::StoredZone sz{snap->serial(), last_check, last_transfer, source, snap->to_records(), true};
            if (auto s = zone::save_zone(dir, origin, sz); !s) return s.error();
            zone::remove_journal(dir, origin);
            return sz.serial;
        },
        [this](Zone& z, Result<std::uint32_t> stored) {
            if (!stored) z.stored_version.reset();
            after_store(z, stored);
        },
        true);
}

// A zone signed here keeps what it serves: the signed version is the stored
// copy, so a restart serves the same signatures at once and re-signs only
// what is due (the previous version's fresh signatures are kept).
void ZoneManager::store_served(Zone& z) {
    in_sequence(z, [this, &z] {
        if (z.secondary && z.snapshot && !z.removed) write_served(z);
    });
}

void ZoneManager::write_served(Zone& z) {
    if (z.stored_version.lock() == z.snapshot) return;  // already on disk
    z.stored_version = z.snapshot;
    offload<std::uint32_t>(
        z,
        [dir = state_dir_, origin = z.origin, snap = z.snapshot, source = z.source,
         last_check = z.state.last_check, last_transfer = z.state.last_transfer]() -> Result<std::uint32_t> {
            zone::StoredZone sz{snap->serial(), last_check, last_transfer, source, snap->to_records(), true};
            if (auto s = zone::save_zone(dir, origin, sz); !s) return s.error();
            zone::remove_journal(dir, origin);
            return sz.serial;
        },
        [this](Zone& z, Result<std::uint32_t> stored) { after_store(z, stored); });
}

// A stored copy was written (its serial), or could not be.
void ZoneManager::after_store(Zone& z, const Result<std::uint32_t>& stored) {
    if (!stored) {
        spdlog::error("zone {}: cannot save to {}: {}", z.cfg.name, state_dir_, stored.error().message);
    } else {
        z.state.stored = *stored;
    }
    save_state(z);
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
    z.state.expired_by_signatures = false;
    z.state.last_check = z.state.last_transfer = now;
    z.source = primary;
    publish(z);
    dump(z);
    arm_resign(z);
    trim_soon();
    spdlog::info("zone {}: serving serial {} from {} ({} records){} in {} ms", z.cfg.name,
                 z.snapshot->serial(), primary, z.snapshot->record_count(),
                 old ? ", was " + std::to_string(*old) : std::string(), ms);
}

// Worker and disk threads allocate a version's pages and their builds'
// scratch in their own arenas; freed scratch would stay resident there,
// spread between the version's live pages, so memory would grow with every
// change. One trim after a run of versions gives it back.
void ZoneManager::trim_soon() {
    if (trim_armed_) return;
    trim_armed_ = true;
    trim_timer_.expires_after(std::chrono::milliseconds(200));
    trim_timer_.async_wait([this](boost::system::error_code ec) {
        trim_armed_ = false;
        if (!ec) ::malloc_trim(0);
    });
}

// Called once z.refresh is reset (its slot given back).
void ZoneManager::finish_refresh(Zone& z) {
    if (z.again && !z.removed) {
        z.again = false;
        asio::post(io_, [this, key = z.key()] {
            auto it = zones_.find(key);
            if (it != zones_.end()) start_refresh(it->second, "NOTIFY during transfer");
        });
    }
    while (auto next = slots_.next()) {
        auto zp = next->first.lock();
        if (!zp || zp->removed) continue;  // the slot goes back with the lease
        zp->queued = false;
        start_refresh(zp, "queued", std::move(next->second));
    }
}

}  // namespace satellite::daemon
