#include "daemon/zones.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>

#include "dns/zonefile.hpp"

namespace satellite::daemon {

namespace {

std::int64_t file_mtime(const std::string& path) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return -1;
    return std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace

std::vector<zone::ServedZone> ZoneSet::load(const config::Config& cfg) {
    std::vector<zone::ServedZone> out;
    std::map<std::string, Loaded> next;
    for (const auto& zc : cfg.zones) {
        auto origin = dns::Name::from_text(zc.name);
        if (!origin) {  // the config validated it; cannot happen
            spdlog::error("zone {}: {}", zc.name, origin.error().message);
            continue;
        }
        std::string key = origin->lowered().to_string();
        Loaded entry;
        if (auto it = loaded_.find(key); it != loaded_.end()) entry = it->second;
        if (!zc.file.empty()) {
            std::int64_t mtime = file_mtime(zc.file);
            if (!entry.snapshot || entry.file != zc.file || entry.mtime != mtime) {
                auto t0 = std::chrono::steady_clock::now();
                auto records = dns::read_zone_file(zc.file, *origin);
                Result<std::shared_ptr<const zone::Snapshot>> snap =
                    records ? zone::build_snapshot(*origin, *records)
                            : Result<std::shared_ptr<const zone::Snapshot>>(records.error());
                if (snap) {
                    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - t0)
                                  .count();
                    spdlog::info("zone {} loaded from {}: serial {}, {} records in {} ms", zc.name,
                                 zc.file, (*snap)->serial(), (*snap)->record_count(), ms);
                    entry.snapshot = *snap;
                    entry.file = zc.file;
                    entry.mtime = mtime;
                } else if (entry.snapshot) {
                    spdlog::error("zone {}: {}; still serving serial {}", zc.name,
                                  snap.error().message, entry.snapshot->serial());
                } else {
                    spdlog::error("zone {}: {}; answering SERVFAIL until it loads", zc.name,
                                  snap.error().message);
                }
            }
        } else if (!entry.snapshot) {
            spdlog::warn("zone {}: transfers from primaries are not implemented in this build; "
                         "answering SERVFAIL",
                         zc.name);
        }
        out.push_back(zone::ServedZone{*origin, entry.snapshot});
        next[key] = entry;
    }
    loaded_ = std::move(next);
    return out;
}

}  // namespace satellite::daemon
