// Bearer-token check: SHA-256 both sides, CRYPTO_memcmp, visit every token.
#include "api/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

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

const Tokens::Token* Tokens::find_digest(const std::array<unsigned char, 32>& digest) const {
    const Token* found = nullptr;
    for (const auto& t : tokens_) {
        if (CRYPTO_memcmp(t.digest.data(), digest.data(), digest.size()) == 0) found = &t;
    }
    return found;
}

std::string Sessions::open(const std::array<unsigned char, 32>& token_digest, Clock::time_point now) {
    // Expired sessions go first; at the limit, the one closest to its end.
    std::erase_if(by_id_, [&](const auto& kv) { return kv.second.expires <= now; });
    if (by_id_.size() >= kMax) {
        auto oldest = std::min_element(by_id_.begin(), by_id_.end(), [](const auto& a, const auto& b) {
            return a.second.expires < b.second.expires;
        });
        by_id_.erase(oldest);
    }
    std::array<unsigned char, 32> random{};
    // Without randomness there is no safe session id: a bug or a broken system.
    if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) std::abort();
    static const char* hex = "0123456789abcdef";
    std::string id;
    for (unsigned char b : random) {
        id.push_back(hex[b >> 4]);
        id.push_back(hex[b & 15]);
    }
    by_id_[id] = Session{token_digest, now + kLifetime};
    return id;
}

const Tokens::Token* Sessions::token(std::string_view id, const Tokens& tokens, Clock::time_point now) {
    if (id.empty()) return nullptr;
    auto it = by_id_.find(std::string(id));
    if (it == by_id_.end()) return nullptr;
    if (it->second.expires <= now) {
        by_id_.erase(it);
        return nullptr;
    }
    return tokens.find_digest(it->second.digest);
}

void Sessions::close(std::string_view id) { by_id_.erase(std::string(id)); }

std::string_view cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        const std::size_t semi = header.find(';');
        std::string_view pair = header.substr(0, semi);
        header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        const std::size_t eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    }
    return {};
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
