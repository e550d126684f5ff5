// answer(): query bytes + published catalog → response bytes. A pure
// function (no I/O, no locks, no heap allocation), so it is unit-testable and
// fuzzable, and the listeners are thin. Compact-denial zones (RFC 9824) sign
// at query time through the caller's per-thread OnlineSigner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "zone/catalog.hpp"

namespace satellite::serve {

enum class Transport { Udp, Tcp };

class OnlineSigner;

struct AnswerOptions {
    std::uint16_t udp_max_payload = 1232;  // largest UDP response we send
    // Compact denial (RFC 9824): the current time (seconds since the epoch)
    // for online signatures' validity, and the calling thread's signer and
    // cache. Without a signer, DO=1 answers that need an online signature
    // are SERVFAIL.
    std::uint32_t now = 0;
    OnlineSigner* online = nullptr;
    // One EDNS option (code, length, data; at most kMaxExtraOption bytes)
    // for the response's OPT record when the query has EDNS: the DNS
    // COOKIE (serve/cookie.hpp). Room for it is kept however full the
    // response gets.
    std::span<const std::uint8_t> edns_option;
    // Off when empty: NSID (RFC 5001) for queries with an NSID option;
    // CHAOS TXT id.server./hostname.bind. and version.bind./version.server.
    // (RFC 4892). Views of strings that outlive every answer() call.
    std::string_view nsid, identity, version;
};
inline constexpr std::size_t kMaxExtraOption = 4 + 40;

// What a response was, for the query counters (serve/query_counters.hpp).
struct AnswerInfo {
    // The zone answered from (for DS at a child apex, the parent), or for a
    // query refused before the lookup the zone its name is in; nullptr when
    // no zone we serve matches or the question could not be read.
    const zone::ServedZone* zone = nullptr;
    std::uint16_t rcode = 0;  // with the EDNS extended bits (RFC 6891 §6.1.3)
};

// Writes the response for `query` into `out` and returns its length, or 0
// when the query deserves no response (too short, or itself a response).
// `out` must hold 65535 bytes for TCP, udp_max_payload (≥ 512) for UDP.
// With `info`, also says what the response was (left as is when 0).
std::size_t answer(const zone::Catalog& catalog, std::span<const std::uint8_t> query,
                   Transport transport, const AnswerOptions& options,
                   std::span<std::uint8_t> out, AnswerInfo* info = nullptr);

}  // namespace satellite::serve
