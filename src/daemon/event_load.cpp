// The load event: a zone file, or the copy kept in state_dir (with its journal), built on a worker.
#include "daemon/zone.hpp"

namespace satellite::daemon {

void ZoneManager::load_local_file(Zone& z) {
    in_sequence(z, [this, &z] {
        const std::int64_t mtime = file_mtime(z.cfg.file);
        if (z.snapshot && mtime == z.file_mtime && (z.source_is_file || z.source == z.cfg.file)) return;
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
                zz.source.clear();
                zz.source_is_file = true;
                zz.state.served = zz.snapshot->serial();
                zz.state.last_transfer = now_unix();
                zz.state.succeeded(zz.state.last_transfer);
                publish(zz);
                dump(zz);
                arm_resign(zz);
                arm_expire(zz);  // a signed file zone has its signatures' expiry
                probe_providers(zz);  // a multi-signer file zone: its check is the load
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
    bool ours = false;     // the stored copy was our own signed version
    // The journal's newest differences (kIxfrHistorySteps at most), ending
    // at the version built: outgoing IXFR's history after a restart.
    std::vector<zone::ZoneDelta> journal;
};

// The stored records (journal applied) through the mode pipeline.
Result<std::optional<FromDisk>> built_from(const modes::BuildInput& in, zone::StoredZone sz, FromDisk out) {
    auto built = modes::build_version(in, sz.records);
    if (!built) return make_error("stored copy is unusable (" + built.error().message + "); transferring afresh");
    out.built = std::move(*built);
    out.serial = sz.serial;
    out.last_check = sz.last_check;
    out.last_transfer = sz.last_transfer;
    out.source = sz.source;
    out.resigned = !sz.signed_by_us || out.built.made > 0;
    out.ours = sz.signed_by_us;
    return std::optional<FromDisk>(std::move(out));
}

// The journal's differences after the stored copy, when they continue it.
void apply_journal(const std::string& dir, const dns::Name& origin, zone::StoredZone& sz, FromDisk& out) {
    if (auto j = zone::load_journal(dir, origin); !j) {
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
                const std::size_t keep = std::min(j->deltas.size(), kIxfrHistorySteps);
                out.journal.assign(std::make_move_iterator(j->deltas.end() - static_cast<std::ptrdiff_t>(keep)),
                                   std::make_move_iterator(j->deltas.end()));
            } else {
                out.lines.emplace_back(spdlog::level::warn,
                                       "journal does not apply (" + applied.error().message + "); ignoring it");
            }
        } else if (!j->deltas.empty()) {
            out.lines.emplace_back(spdlog::level::warn, "journal does not continue the stored serial " +
                                                            std::to_string(sz.serial) + "; ignoring it");
        }
    }
}

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
        // Our own signed version (and the signed differences since): its
        // signatures are the previous version's, kept while fresh. A zone
        // no longer signed here takes the primary's.
        if (in.kind == modes::BuildInput::Kind::Presigned) {
            return make_error("stored copy was signed here, and the zone is now presigned; transferring afresh");
        }
        apply_journal(dir, in.origin, sz, out);
        auto previous = zone::build_snapshot(in.origin, sz.records);
        if (!previous) return make_error("stored copy is unusable (" + previous.error().message + "); transferring afresh");
        modes::BuildInput with_previous = in;
        with_previous.previous = *previous;
        return built_from(with_previous, std::move(sz), std::move(out));
    }
    apply_journal(dir, in.origin, sz, out);
    return built_from(in, std::move(sz), std::move(out));
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
                after_build(z, d.built, d.ours);
                const std::int64_t now = now_unix();
                z.snapshot = d.built.snapshot;
                dump(z);
                arm_resign(z);
                z.source = d.source;
                z.state.served = z.state.stored = z.snapshot->serial();
                z.state.phase = zone::Phase::Ok;
                z.state.expired_by_signatures = false;
                z.state.last_transfer = std::max(z.state.last_transfer, d.last_transfer);
                z.state.last_check = std::max(d.last_check, z.state.last_check);
                spdlog::info("zone {}: serving serial {} from {} ({} records, received {} s ago)", z.cfg.name,
                             z.snapshot->serial(), state_dir_, z.snapshot->record_count(),
                             now - z.state.last_transfer);
                // IXFR out survives a restart; set first, so no IXFR sees the version without it.
                remember_history(z, d.journal.empty() ? nullptr : &d.journal);
                publish(z);
                arm_expire(z);
                schedule_refresh(z, std::max<std::int64_t>(0, z.state.last_check + z.snapshot->refresh() - now));
                if (signs_here(z.cfg.mode) && d.resigned) {
                    schedule(z, ZoneEvent::Flush, 0, true);
                } else if (signs_here(z.cfg.mode)) {
                    z.stored_version = z.snapshot;  // the stored copy and its journal hold it as it is
                    // Its journal is our signed differences: IXFR out from them.
                    if (!d.journal.empty()) remember_history(z, &d.journal, std::make_shared<const zone::IxfrHistory>());
                }
            });
    });
}

}  // namespace satellite::daemon
