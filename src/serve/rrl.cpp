// Response rate limiting (see rrl.hpp).
#include "serve/rrl.hpp"

#include <netinet/in.h>

#include <cstring>
#include <random>

namespace satellite::serve {

namespace {

std::array<std::uint8_t, 16> address_of(const sockaddr* sa) {
    std::array<std::uint8_t, 16> a{};
    if (sa && sa->sa_family == AF_INET) {
        a[10] = a[11] = 0xff;
        std::memcpy(a.data() + 12, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
    } else if (sa && sa->sa_family == AF_INET6) {
        std::memcpy(a.data(), &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
    }
    return a;
}

bool is_v4(const std::array<std::uint8_t, 16>& a) {
    static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(a.data(), mapped, 12) == 0;
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64 finaliser
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

}  // namespace

RateLimiter::RateLimiter(const RrlOptions& options, std::size_t slots)
    : options_(options), table_(options.rate > 0 ? slots : 0), seed_(std::random_device{}()) {}

bool RateLimiter::exempt(const std::array<std::uint8_t, 16>& addr) const {
    for (const auto& [net, bits] : options_.exempt) {
        unsigned full = bits / 8, rest = bits % 8;
        if (std::memcmp(addr.data(), net.data(), full) != 0) continue;
        if (rest && ((addr[full] ^ net[full]) & static_cast<std::uint8_t>(0xff << (8 - rest)))) continue;
        return true;
    }
    return false;
}

RrlAction RateLimiter::check(const sockaddr* client, RrlKind kind, std::uint64_t now_ms) {
    if (options_.rate == 0) return RrlAction::Send;
    auto addr = address_of(client);
    if (exempt(addr)) return RrlAction::Send;
    // The prefix: IPv4 /24, IPv6 /56.
    if (is_v4(addr)) {
        addr[15] = 0;
    } else {
        std::memset(addr.data() + 7, 0, 9);
    }
    std::uint64_t a, b;
    std::memcpy(&a, addr.data(), 8);
    std::memcpy(&b, addr.data() + 8, 8);
    std::uint64_t key = mix(a ^ seed_) ^ mix(b + static_cast<std::uint64_t>(kind) + 1);
    if (key == 0) key = 1;
    Bucket& bk = table_[key % table_.size()];
    const std::int64_t burst = std::int64_t(options_.rate) * 1000;
    if (bk.key != key) {  // new (or replaces a colliding one)
        bk = Bucket{key, burst, now_ms, 0};
    } else if (now_ms > bk.last_ms) {
        bk.tokens_milli = std::min<std::int64_t>(
            burst, bk.tokens_milli + std::int64_t(now_ms - bk.last_ms) * options_.rate);
        bk.last_ms = now_ms;
    }
    if (bk.tokens_milli >= 1000) {
        bk.tokens_milli -= 1000;
        return RrlAction::Send;
    }
    ++bk.limited;
    if (options_.slip > 0 && bk.limited % options_.slip == 0) return RrlAction::Slip;
    return RrlAction::Drop;
}

RrlKind RateLimiter::kind_of(std::span<const std::uint8_t> r) {
    if (r.size() < 12) return RrlKind::Error;
    const unsigned rcode = r[3] & 0x0f;
    if (rcode == 3) return RrlKind::Nxdomain;
    if (rcode != 0) return RrlKind::Error;
    const bool aa = (r[2] & 0x04) != 0;
    const unsigned an = (unsigned(r[6]) << 8) | r[7];
    if (!aa && an == 0) return RrlKind::Referral;
    return RrlKind::Answer;
}

std::size_t RateLimiter::truncate(std::span<std::uint8_t> r, std::size_t len) {
    if (len < 12 || len > r.size()) return 0;
    std::size_t pos = 12;
    const unsigned qd = (unsigned(r[4]) << 8) | r[5];
    if (qd == 1) {
        while (pos < len && r[pos] != 0) {
            if ((r[pos] & 0xc0) != 0) return 0;  // the question is never compressed
            pos += 1 + r[pos];
        }
        pos += 1 + 4;
        if (pos > len) return 0;
    } else if (qd != 0) {
        return 0;
    }
    r[2] |= 0x02;  // TC
    for (int i = 6; i < 12; ++i) r[i] = 0;  // no answer, authority or additional records
    return pos;
}

}  // namespace satellite::serve
