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
    // The token whose secret has this SHA-256 digest (a login session's), or nullptr.
    const Token* find_digest(const std::array<unsigned char, 32>& digest) const;

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

// Login sessions of the status page: a random id (the HttpOnly cookie's
// value) → the digest of the token that logged in. A session ends after
// kLifetime, on logout, or as soon as its token is gone or has another
// secret (a reload), since each request looks the token up again. The id
// is never derived from the secret. Used on the API thread only.
class Sessions {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr auto kLifetime = std::chrono::hours(12);
    static constexpr std::size_t kMax = 10'000;  // then the oldest session is dropped

    // A new session for the token with this digest; its id (64 hex digits).
    std::string open(const std::array<unsigned char, 32>& token_digest, Clock::time_point now);
    // The token of a live session, or nullptr.
    const Tokens::Token* token(std::string_view id, const Tokens& tokens, Clock::time_point now);
    void close(std::string_view id);

private:
    struct Session {
        std::array<unsigned char, 32> digest{};
        Clock::time_point expires;
    };
    std::unordered_map<std::string, Session> by_id_;
};

// The value of cookie `name` in a Cookie header (RFC 6265 §5.4), or "".
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

// The credentials of an `Authorization: Bearer <secret>` header value
// (RFC 6750 §2.1; the scheme is case-insensitive), or "" when it is not one.
std::string_view bearer_secret(std::string_view authorization);

}  // namespace satellite::api
