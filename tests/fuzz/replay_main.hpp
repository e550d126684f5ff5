// main() for the corpus-replay build of a fuzz target: runs every file of
// the corpus directories given (default: SATELLITE_FUZZ_CORPUS) through
// LLVMFuzzerTestOneInput. Fails if there is nothing to replay.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
    std::vector<std::filesystem::path> dirs;
    for (int i = 1; i < argc; ++i) dirs.emplace_back(argv[i]);
#ifdef SATELLITE_FUZZ_CORPUS
    if (dirs.empty()) dirs.emplace_back(SATELLITE_FUZZ_CORPUS);
#endif
    std::vector<std::filesystem::path> files;
    for (const auto& dir : dirs) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(dir, ec)) {
            files.push_back(dir);
            continue;
        }
        for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
            if (e.is_regular_file()) files.push_back(e.path());
        }
        if (ec) {
            std::fprintf(stderr, "replay: %s: %s\n", dir.c_str(), ec.message().c_str());
            return 2;
        }
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) {
        std::fprintf(stderr, "replay: no corpus files\n");
        return 2;
    }
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                        std::istreambuf_iterator<char>());
        LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    }
    std::printf("replay: %zu inputs ok\n", files.size());
    return 0;
}
