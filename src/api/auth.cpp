// Bearer-token check: SHA-256 both sides, CRYPTO_memcmp, visit every token.
#include "api/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>

namespace satellite::api {

namespace {

std::array<unsigned char, 32> sha256(std::string_view text) {
    std::array<unsigned char, 32> out{};
    unsigned int len = 0;
    // SHA-256 of a buffer in memory cannot fail short of a broken OpenSSL.
    if (EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
        len != out.size()) {
        std::abort();
    }
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

}  // namespace

bool Tokens::Token::allows(std::string_view permission) const {
    return std::find(permissions.begin(), permissions.end(), permission) != permissions.end();
}

Tokens::Tokens(const std::vector<config::ApiToken>& tokens) {
    for (const auto& t : tokens) {
        tokens_.push_back(Token{t.name, t.permissions, sha256(t.secret)});
    }
}

const Tokens::Token* Tokens::find(std::string_view secret) const {
    if (secret.empty()) return nullptr;
    const auto digest = sha256(secret);
    const Token* found = nullptr;
    for (const auto& t : tokens_) {
        if (CRYPTO_memcmp(t.digest.data(), digest.data(), digest.size()) == 0) found = &t;
    }
    return found;
}

std::string_view bearer_secret(std::string_view authorization) {
    auto trim = [](std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
        return s;
    };
    authorization = trim(authorization);
    constexpr std::string_view scheme = "bearer";
    if (authorization.size() <= scheme.size() || !iequals(authorization.substr(0, scheme.size()), scheme) ||
        (authorization[scheme.size()] != ' ' && authorization[scheme.size()] != '\t')) {
        return {};
    }
    return trim(authorization.substr(scheme.size()));
}

unsigned AuthThrottle::retry_after(std::string_view address, Clock::time_point now) const {
    auto it = by_address_.find(std::string(address));
    if (it == by_address_.end() || it->second.failures < max_failures_) return 0;
    const auto end = it->second.start + kWindow;
    if (now >= end) return 0;
    return static_cast<unsigned>(std::chrono::ceil<std::chrono::seconds>(end - now).count());
}

void AuthThrottle::failed(std::string_view address, Clock::time_point now) {
    if (by_address_.size() >= kMaxAddresses) {
        std::erase_if(by_address_, [&](const auto& e) { return now - e.second.start >= kWindow; });
        if (by_address_.size() >= kMaxAddresses) by_address_.clear();  // a flood of addresses: start over
    }
    Window& w = by_address_[std::string(address)];
    if (w.failures == 0 || now - w.start >= kWindow) {
        w.start = now;
        w.failures = 0;
    }
    ++w.failures;
}

}  // namespace satellite::api
