// Bearer-token check for the REST API: secrets compared in constant time
// over their SHA-256 digests, so neither content nor length leaks by timing.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace satellite::api {

class Tokens {
public:
    struct Token {
        std::string name;
        std::vector<std::string> permissions;
        std::array<unsigned char, 32> digest{};  // SHA-256 of the secret
        bool allows(std::string_view permission) const;
    };

    explicit Tokens(const std::vector<config::ApiToken>& tokens);

    // The token whose secret is `secret`, or nullptr. Looks at every token
    // whatever matches, so the time taken does not say which one did.
    const Token* find(std::string_view secret) const;

private:
    std::vector<Token> tokens_;
};

// Failed authentications per client address, in one-minute windows: after
// `max_failures` (default 30) in a window, requests from that address get 429 until the
// window ends, without their token being looked at (guessing is slowed, the
// API thread never sleeps). Used on the API thread only.
class AuthThrottle {
public:
    using Clock = std::chrono::steady_clock;
    explicit AuthThrottle(unsigned max_failures = 30) : max_failures_(max_failures) {}
    static constexpr auto kWindow = std::chrono::seconds(60);
    static constexpr std::size_t kMaxAddresses = 10'000;  // then the oldest windows are forgotten

    // Seconds until `address` may try again; 0 when it may now.
    unsigned retry_after(std::string_view address, Clock::time_point now) const;
    void failed(std::string_view address, Clock::time_point now);

private:
    struct Window {
        Clock::time_point start;
        unsigned failures = 0;
    };
    unsigned max_failures_;
    std::unordered_map<std::string, Window> by_address_;
};

// The credentials of an `Authorization: Bearer <secret>` header value
// (RFC 6750 §2.1; the scheme is case-insensitive), or "" when it is not one.
std::string_view bearer_secret(std::string_view authorization);

}  // namespace satellite::api
