// Per-client TCP connection accounting (RFC 7766 §6.2.3: a server should
// limit the connections one client holds, so one address cannot take the
// slots every other client needs for truncated and large answers).
// A client is an IPv4 address or an IPv6 /64 (one customer's allocation).
// Used on accept and close only, never on the query path; the short lock
// is shared by every worker.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace satellite::serve {

class ClientConnectionLimits {
public:
    using Key = std::array<std::uint8_t, 16>;

    explicit ClientConnectionLimits(unsigned per_client) : per_client_(per_client) {}

    // The key a peer address counts under (IPv4-mapped IPv6 counts as IPv4).
    static Key key_of(const sockaddr* sa);

    // One more connection for `key`; false (nothing taken) at the cap.
    bool try_acquire(const Key& key);
    void release(const Key& key);
    unsigned held(const Key& key) const;

private:
    struct KeyHash {
        std::size_t operator()(const Key& k) const noexcept;
    };
    const unsigned per_client_;
    mutable std::mutex mu_;
    std::unordered_map<Key, unsigned, KeyHash> held_;
};

}  // namespace satellite::serve
