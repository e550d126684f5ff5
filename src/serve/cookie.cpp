// DNS cookies, RFC 7873 with RFC 9018 server cookies (see cookie.hpp).
#include "serve/cookie.hpp"

#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "dns/message.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace satellite::serve {

namespace {

using dns::load16;
using dns::load32;
using dns::store16;
using dns::store32;

// RFC 9018 §4.3: a cookie is accepted from an hour in the past to five
// minutes into the future (clock skew across the fleet), and re-issued
// once it is half an hour old.
constexpr std::int32_t kMaxAge = 3600;
constexpr std::int32_t kMaxAhead = 300;
constexpr std::int32_t kReissueAge = 1800;

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The client address as RFC 9018 §4.4 hashes it: 4 octets for IPv4, 16 for IPv6.
std::span<const std::uint8_t> address_octets(const sockaddr* sa) {
    if (sa == nullptr) return {};
    if (sa->sa_family == AF_INET) {
        return {reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr), 4};
    }
    if (sa->sa_family == AF_INET6) {
        return {reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr), 16};
    }
    return {};
}

// Where the query's first COOKIE option is: its data and length (or found
// = false). Also the question's end and the DO bit. Any malformation of
// the message (which answer() turns into FORMERR) reads as "no cookie".
struct Located {
    bool found = false;
    bool ok = false;
    const std::uint8_t* data = nullptr;
    std::size_t len = 0;
    std::size_t question_end = 0;
    std::uint16_t qdcount = 0;
    bool edns_do = false;
};

Located locate(std::span<const std::uint8_t> msg) {
    Located l;
    if (msg.size() < dns::kHeaderLen) return l;
    const std::uint8_t* h = msg.data();
    const std::uint16_t flags = load16(h + 2);
    if ((flags & dns::flag::QR) || ((flags >> 11) & 0xf) != dns::opcode::QUERY) return l;
    l.qdcount = load16(h + 4);
    const unsigned an = load16(h + 6), ns = load16(h + 8), ar = load16(h + 10);
    if (l.qdcount > 1) return l;
    std::size_t pos = dns::kHeaderLen;
    if (l.qdcount == 1) {
        pos = dns::skip_name(msg, pos);
        if (pos == 0 || pos + 4 > msg.size()) return l;
        pos += 4;
    }
    l.question_end = pos;
    const unsigned total = an + ns + ar;
    for (unsigned i = 0; i < total; ++i) {
        const std::size_t start = pos;
        const std::size_t after = dns::skip_name(msg, pos);
        if (after == 0 || after + 10 > msg.size()) return l;
        const std::uint16_t type = load16(h + after);
        const std::size_t next = after + 10 + load16(h + after + 8);
        if (next > msg.size()) return l;
        if (type == dns::type::OPT) {
            // RFC 6891 §6.1.1: one OPT, in the additional section, owner root.
            if (i < an + ns || h[start] != 0 || l.ok) return Located{};
            l.ok = true;
            l.edns_do = (load16(h + after + 6) & dns::kEdnsDo) != 0;
            for (std::size_t o = after + 10; o < next;) {
                if (o + 4 > next) return Located{};
                const std::uint16_t code = load16(h + o), olen = load16(h + o + 2);
                if (o + 4 + olen > next) return Located{};
                if (code == kOptionCookie && !l.found) {  // RFC 7873 §5.2: only the first counts
                    l.found = true;
                    l.data = h + o + 4;
                    l.len = olen;
                }
                o += 4 + olen;
            }
        }
        pos = next;
    }
    if (!l.ok) return Located{};
    return l;
}

}  // namespace

Result<CookieSecret> parse_cookie_secret(std::string_view hex) {
    CookieSecret s{};
    if (hex.size() != 2 * s.size()) return make_error("a cookie secret is 32 hex digits");
    for (std::size_t i = 0; i < s.size(); ++i) {
        const int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return make_error("a cookie secret is 32 hex digits");
        s[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return s;
}

CookieSecret random_cookie_secret() {
    CookieSecret s{};
    if (RAND_bytes(s.data(), static_cast<int>(s.size())) != 1) {
        throw std::runtime_error("OpenSSL RAND_bytes failed: no random cookie secret");
    }
    return s;
}

CookieEngine::CookieEngine() {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "SIPHASH", nullptr);
    if (mac == nullptr) return;
    ctx_ = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);  // the context holds its own reference
    if (ctx_ == nullptr) return;
    // SipHash-2-4 (the default rounds) with a 64-bit output; later inits
    // only change the key, which keeps these parameters.
    std::size_t size = 8;
    const CookieSecret zero{};
    OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size), OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(ctx_, zero.data(), zero.size(), params) != 1) {
        EVP_MAC_CTX_free(ctx_);
        ctx_ = nullptr;
    }
}

CookieEngine::~CookieEngine() { EVP_MAC_CTX_free(ctx_); }

bool CookieEngine::siphash(const CookieSecret& key, std::span<const std::uint8_t> data, std::uint8_t out[8]) {
    if (ctx_ == nullptr) return false;
    std::size_t len = 0;
    return EVP_MAC_init(ctx_, key.data(), key.size(), nullptr) == 1 &&
           EVP_MAC_update(ctx_, data.data(), data.size()) == 1 && EVP_MAC_final(ctx_, out, &len, 8) == 1 &&
           len == 8;
}

bool CookieEngine::server_cookie(const CookieSecret& key, const std::uint8_t client_cookie[8],
                                 const std::uint8_t reserved[3], std::uint32_t timestamp,
                                 std::span<const std::uint8_t> client_address, std::uint8_t out[16]) {
    if (client_address.size() != 4 && client_address.size() != 16) return false;
    out[0] = 1;  // Version
    std::memcpy(out + 1, reserved, 3);
    store32(out + 4, timestamp);
    std::uint8_t input[8 + 8 + 16];
    std::memcpy(input, client_cookie, 8);
    std::memcpy(input + 8, out, 8);
    std::memcpy(input + 16, client_address.data(), client_address.size());
    return siphash(key, {input, 16 + client_address.size()}, out + 8);
}

CookieCheck CookieEngine::check(std::span<const std::uint8_t> query, const sockaddr* client, std::uint32_t now,
                                const CookieSecrets& secrets) {
    CookieCheck c;
    const auto address = address_octets(client);
    if (ctx_ == nullptr || address.empty()) return c;
    const Located l = locate(query);
    if (!l.found) return c;
    c.question_end = l.question_end;
    c.edns_do = l.edns_do;
    c.empty_question = l.qdcount == 0;
    // RFC 7873 §5.2.2: valid lengths are 8 and 16 to 40.
    if (l.len < 8 || (l.len > 8 && l.len < 16) || l.len > 40) {
        c.status = CookieStatus::Malformed;
        return c;
    }
    const std::uint8_t* client_cookie = l.data;
    // A server cookie is Invalid unless it proves to be ours: RFC 9018 §4
    // ones are 16 octets, version 1.
    c.status = l.len == 8 ? CookieStatus::ClientOnly : CookieStatus::Invalid;
    bool reuse = false;
    if (l.len == 8 + 16 && l.data[8] == 1) {
        const std::uint8_t* sc = l.data + 8;
        const std::uint32_t stamp = load32(sc + 4);
        // RFC 1982 serial arithmetic on the 32-bit timestamp (RFC 9018 §4.3).
        const auto age = static_cast<std::int32_t>(now - stamp);
        if (age <= kMaxAge && age >= -kMaxAhead) {
            std::uint8_t expect[16];
            for (const CookieSecret* key : {&secrets.current, secrets.previous ? &*secrets.previous : nullptr}) {
                if (key == nullptr) continue;
                if (server_cookie(*key, client_cookie, sc + 1, stamp, address, expect) &&
                    CRYPTO_memcmp(expect + 8, sc + 8, 8) == 0) {
                    c.status = CookieStatus::Valid;
                    const bool zero_reserved = sc[1] == 0 && sc[2] == 0 && sc[3] == 0;
                    reuse = key == &secrets.current && zero_reserved && age >= 0 && age < kReissueAge;
                    break;
                }
            }
        }
    }
    std::uint8_t* o = c.option.data();
    store16(o, kOptionCookie);
    store16(o + 2, 8 + 16);
    std::memcpy(o + 4, client_cookie, 8);
    if (reuse) {
        std::memcpy(o + 12, l.data + 8, 16);  // RFC 7873 §5.2.5 (a): the complete option again
    } else {
        static constexpr std::uint8_t kZero[3] = {0, 0, 0};
        if (!server_cookie(secrets.current, client_cookie, kZero, now, address, o + 12)) {
            c.status = CookieStatus::None;  // cannot happen with a usable context
            return c;
        }
    }
    c.option_len = static_cast<std::uint8_t>(c.option.size());
    return c;
}

std::size_t cookie_response(std::span<const std::uint8_t> query, const CookieCheck& check, std::uint16_t rcode,
                            std::uint16_t udp_payload, std::span<std::uint8_t> out) {
    const std::size_t qlen = check.question_end > dns::kHeaderLen ? check.question_end - dns::kHeaderLen : 0;
    const std::size_t need = dns::kHeaderLen + qlen + 11 + check.option_len;
    if (query.size() < dns::kHeaderLen || check.question_end > query.size() || out.size() < need) return 0;
    std::uint8_t* p = out.data();
    const std::uint16_t qflags = load16(query.data() + 2);
    std::memcpy(p, query.data(), 2);  // ID
    store16(p + 2, static_cast<std::uint16_t>(dns::flag::QR | (qflags & (0xf << 11)) |
                                              (qflags & (dns::flag::RD | dns::flag::CD)) | (rcode & 0xf)));
    store16(p + 4, qlen ? 1 : 0);
    store16(p + 6, 0);
    store16(p + 8, 0);
    store16(p + 10, 1);
    std::memcpy(p + dns::kHeaderLen, query.data() + dns::kHeaderLen, qlen);
    std::uint8_t* opt = p + dns::kHeaderLen + qlen;
    opt[0] = 0;  // root owner
    store16(opt + 1, dns::type::OPT);
    store16(opt + 3, udp_payload < 512 ? 512 : udp_payload);
    opt[5] = static_cast<std::uint8_t>(rcode >> 4);  // RFC 6891 §6.1.3: the extended RCODE
    opt[6] = 0;                                      // version
    store16(opt + 7, check.edns_do ? dns::kEdnsDo : 0);
    store16(opt + 9, check.option_len);
    std::memcpy(opt + 11, check.option.data(), check.option_len);
    return need;
}

}  // namespace satellite::serve
