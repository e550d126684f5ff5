// answer(): query bytes + published catalog → response bytes. A pure
// function (no I/O, no locks, no heap allocation), so it is unit-testable and
// fuzzable, and the listeners are thin.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "zone/catalog.hpp"

namespace satellite::serve {

enum class Transport { Udp, Tcp };

struct AnswerOptions {
    std::uint16_t udp_max_payload = 1232;  // largest UDP response we send
};

// Writes the response for `query` into `out` and returns its length, or 0
// when the query deserves no response (too short, or itself a response).
// `out` must hold 65535 bytes for TCP, udp_max_payload (≥ 512) for UDP.
std::size_t answer(const zone::Catalog& catalog, std::span<const std::uint8_t> query,
                   Transport transport, const AnswerOptions& options,
                   std::span<std::uint8_t> out);

}  // namespace satellite::serve
