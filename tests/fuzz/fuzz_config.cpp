// Fuzz target for the config parser: any text must give a Config or an
// error that names file:line:col (DESIGN.md §1), never a crash or an
// exception. A config that parses is parsed again and must agree on its
// zone count (the parser keeps no state between calls).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const std::string path = "/nonexistent-fuzz-dir/satellite.toml";
    try {
        auto cfg = satellite::config::parse(text, path);
        if (cfg) {
            auto again = satellite::config::parse(text, path);
            if (!again || again->zones.size() != cfg->zones.size()) std::abort();
        } else if (cfg.error().message.rfind(path, 0) != 0) {
            std::fprintf(stderr, "fuzz_config: error without the file name: %s\n", cfg.error().message.c_str());
            std::abort();
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz_config: exception: %s\n", e.what());
        std::abort();
    }
    return 0;
}

#ifdef SATELLITE_FUZZ_REPLAY
#include "fuzz/replay_main.hpp"
#endif
