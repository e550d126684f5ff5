// The daemon's view of its configured zones: loads each one (a local zone
// file now; transfers arrive with src/xfr) and assembles the catalog that
// the serving side reads. A zone that fails to load keeps its last good
// snapshot; without one it answers SERVFAIL.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "zone/catalog.hpp"

namespace satellite::daemon {

class ZoneSet {
public:
    // Loads or reloads the zones in `cfg`; returns the serving catalog.
    std::vector<zone::ServedZone> load(const config::Config& cfg);

private:
    struct Loaded {
        std::string file;
        std::int64_t mtime = 0;
        std::shared_ptr<const zone::Snapshot> snapshot;
    };
    std::map<std::string, Loaded> loaded_;  // by lower-cased origin text
};

}  // namespace satellite::daemon
