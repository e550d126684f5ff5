// Per-client TCP connection counts (see tcp_limits.hpp).
#include "serve/tcp_limits.hpp"

#include <netinet/in.h>

#include <cstring>

namespace satellite::serve {

ClientConnectionLimits::Key ClientConnectionLimits::key_of(const sockaddr* sa) {
    Key k{};
    if (sa == nullptr) return k;
    if (sa->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        k[10] = 0xff;
        k[11] = 0xff;
        std::memcpy(k.data() + 12, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        std::memcpy(k.data(), &in6->sin6_addr, 16);
        static const std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(k.data(), kMapped, 12) != 0) {
            std::memset(k.data() + 8, 0, 8);  // one IPv6 client is a /64
        }
    }
    return k;
}

std::size_t ClientConnectionLimits::KeyHash::operator()(const Key& k) const noexcept {
    std::uint64_t a, b;
    std::memcpy(&a, k.data(), 8);
    std::memcpy(&b, k.data() + 8, 8);
    return std::hash<std::uint64_t>{}(a * 0x9e3779b97f4a7c15ULL ^ b);
}

bool ClientConnectionLimits::try_acquire(const Key& key) {
    std::lock_guard lock(mu_);
    auto& n = held_[key];
    if (n >= per_client_) {
        if (n == 0) held_.erase(key);
        return false;
    }
    ++n;
    return true;
}

void ClientConnectionLimits::release(const Key& key) {
    std::lock_guard lock(mu_);
    auto it = held_.find(key);
    if (it == held_.end()) return;
    if (--it->second == 0) held_.erase(it);
}

unsigned ClientConnectionLimits::held(const Key& key) const {
    std::lock_guard lock(mu_);
    auto it = held_.find(key);
    return it == held_.end() ? 0 : it->second;
}

}  // namespace satellite::serve
