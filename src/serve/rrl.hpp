// Response rate limiting (in the style of BIND/NSD/Knot RRL): UDP responses
// are counted per client prefix (IPv4 /24, IPv6 /56) and response kind in a
// token bucket of `rate` responses a second (burst: one second's worth).
// Past it a response is dropped, except every `slip`-th, which goes out
// truncated (TC, no records) so a real client retries over TCP while a
// spoofed victim gets no amplification. One limiter per worker thread: a
// fixed table, no lock and no allocation on the query path; a collision
// replaces the older entry (forgets, never limits a stranger).
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace satellite::serve {

struct RrlOptions {
    unsigned rate = 0;  // responses a second per prefix and kind; 0 = off
    unsigned slip = 2;  // every slip-th limited response goes out truncated; 0 = none, 1 = all
    // Clients never limited: 16-octet addresses (IPv4-mapped) and prefix lengths in that form.
    std::vector<std::pair<std::array<std::uint8_t, 16>, unsigned>> exempt;
};

enum class RrlKind : std::uint8_t { Answer, Nxdomain, Referral, Error };
enum class RrlAction : std::uint8_t { Send, Drop, Slip };

class RateLimiter {
public:
    explicit RateLimiter(const RrlOptions& options, std::size_t slots = 1 << 16);

    bool enabled() const { return options_.rate > 0; }
    // What to do with one response of `kind` to `client` at `now_ms` (a
    // monotonic clock in milliseconds).
    RrlAction check(const sockaddr* client, RrlKind kind, std::uint64_t now_ms);

    // The kind of a response already written (header flags and counts).
    static RrlKind kind_of(std::span<const std::uint8_t> response);
    // Rewrites `response` (len bytes) as its truncated form: header with TC,
    // the question, nothing else. Returns the new length (0 when it cannot).
    static std::size_t truncate(std::span<std::uint8_t> response, std::size_t len);

private:
    struct Bucket {
        std::uint64_t key = 0;  // 0 = free
        std::int64_t tokens_milli = 0;
        std::uint64_t last_ms = 0;
        std::uint32_t limited = 0;
    };
    bool exempt(const std::array<std::uint8_t, 16>& addr) const;

    RrlOptions options_;
    std::vector<Bucket> table_;
    std::uint64_t seed_;
};

}  // namespace satellite::serve
