// Fuzz target for the files read back at start-up from state_dir, which a
// crash, a full disk or another hand may have damaged: the stored zone
// copy, the IXFR journal, the zone state and the DNSSEC lifecycle state.
// The first byte picks the file, the rest is its content. Every loader
// must return a value or an error (a damaged journal tail is cut off),
// never crash; a stored copy that loads must build or be refused.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "dns/name.hpp"
#include "modes/keys.hpp"
#include "modes/lifecycle.hpp"
#include "zone/snapshot.hpp"
#include "zone/store.hpp"
#include "zone/zone_state.hpp"

namespace {

using namespace satellite;

const dns::Name& origin() {
    static const dns::Name o = *dns::Name::from_text("example.com.");
    return o;
}

const std::string& state_dir() {
    static const std::string dir = [] {
        char tmpl[] = "/tmp/fuzz-store-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) std::abort();
        return std::string(tmpl);
    }();
    return dir;
}

void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) std::abort();
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::string& dir = state_dir();
    const std::string zone_path = zone::stored_zone_path(dir, origin());
    const std::string stem = zone_path.substr(0, zone_path.size() - 4);  // "<dir>/zones/<zone>."
    static const bool made = std::filesystem::create_directories(std::filesystem::path(zone_path).parent_path());
    (void)made;
    switch (data[0] % 4) {
        case 0: {
            write_file(zone_path, data + 1, size - 1);
            auto z = zone::load_zone(dir, origin());
            if (z && *z) (void)zone::build_snapshot(origin(), (*z)->records);
            ::unlink(zone_path.c_str());
            break;
        }
        case 1: {
            write_file(stem + "journal", data + 1, size - 1);
            (void)zone::load_journal(dir, origin());
            zone::remove_journal(dir, origin());
            break;
        }
        case 2: {
            write_file(stem + "state", data + 1, size - 1);
            (void)zone::load_zone_state(dir, origin());
            ::unlink((stem + "state").c_str());
            break;
        }
        default: {
            auto keys = modes::prepare_key_directory(dir, origin());
            if (!keys) std::abort();
            const std::string path = *keys + "/state";
            write_file(path, data + 1, size - 1);
            (void)modes::Lifecycle::load(dir, origin());
            ::unlink(path.c_str());
            break;
        }
    }
    return 0;
}

#ifdef SATELLITE_FUZZ_REPLAY
#include "fuzz/replay_main.hpp"
#endif
