// Bearer-token check for the REST API: secrets compared in constant time
// over their SHA-256 digests, so neither content nor length leaks by timing.
#pragma once

#include <array>
#include <string>
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

// The credentials of an `Authorization: Bearer <secret>` header value
// (RFC 6750 §2.1; the scheme is case-insensitive), or "" when it is not one.
std::string_view bearer_secret(std::string_view authorization);

}  // namespace satellite::api
