// DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018): the
// COOKIE option of a query found and judged, the server cookie for the
// response made, and the few responses cookies decide on their own
// (FORMERR for a malformed option, BADCOOKIE, the empty-question query for
// a cookie). A server cookie is SipHash-2-4 (OpenSSL's EVP_MAC "SIPHASH")
// over the client cookie, version, reserved bytes, timestamp and client
// address, keyed with a secret an anycast fleet shares, so any member
// validates what another issued. One CookieEngine per worker thread: its MAC
// context is made once and re-keyed per use, so the query path allocates
// nothing and locks nothing; the secrets are an immutable object the
// workers read through the catalog's publication (Server::set_cookies).
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "util/result.hpp"

struct evp_mac_ctx_st;

namespace satellite::serve {

inline constexpr std::uint16_t kRcodeBadCookie = 23;  // RFC 7873 §8
inline constexpr std::uint16_t kOptionCookie = 10;    // RFC 7873 §4

using CookieSecret = std::array<std::uint8_t, 16>;  // RFC 9018 §4.4: a 128-bit SipHash key

// What the workers read, immutable once published.
struct CookieSecrets {
    CookieSecret current{};                // issues and validates
    std::optional<CookieSecret> previous;  // validates only (a rollover in progress, RFC 7873 §7.1)
};

// 32 hex digits → a secret (config values are checked before they get here).
Result<CookieSecret> parse_cookie_secret(std::string_view hex);
// A secret from OpenSSL's random generator.
CookieSecret random_cookie_secret();

// RFC 7873 §5.2: the five cases of a query's COOKIE option.
enum class CookieStatus : std::uint8_t {
    None,        // §5.2.1 no OPT or no COOKIE option (or cookies are off)
    Malformed,   // §5.2.2 a length other than 8 or 16..40: FORMERR
    ClientOnly,  // §5.2.3 only a client cookie
    Invalid,     // §5.2.4 a server cookie we did not make, or out of its time window: as ClientOnly
    Valid,       // §5.2.5 a server cookie we (or the fleet) made for this client, in time
};

// One query's cookie, as found and judged, and the option for its response.
struct CookieCheck {
    CookieStatus status = CookieStatus::None;
    // RFC 7873 §5.4: QDCOUNT 0 with a COOKIE option, asking for a server cookie.
    bool empty_question = false;
    std::size_t question_end = 0;  // offset after the question in the query (12 without one)
    bool edns_do = false;
    // The response's COOKIE option (code, length, client cookie, our server
    // cookie); empty unless status is ClientOnly, Invalid or Valid.
    std::array<std::uint8_t, 4 + 8 + 16> option{};
    std::uint8_t option_len = 0;
    std::span<const std::uint8_t> response_option() const { return {option.data(), option_len}; }
    bool has_client_cookie() const {
        return status == CookieStatus::ClientOnly || status == CookieStatus::Invalid || status == CookieStatus::Valid;
    }
};

class CookieEngine {
public:
    CookieEngine();
    ~CookieEngine();
    CookieEngine(const CookieEngine&) = delete;
    CookieEngine& operator=(const CookieEngine&) = delete;

    // False when OpenSSL offers no SIPHASH (then every check is None).
    bool usable() const { return ctx_ != nullptr; }

    // SipHash-2-4 of `data` under `key` (64 bits, as 8 octets).
    bool siphash(const CookieSecret& key, std::span<const std::uint8_t> data, std::uint8_t out[8]);

    // RFC 9018 §4.4: the 16-octet server cookie — Version 1, Reserved
    // (`reserved`, zero in what we issue), Timestamp, and the hash over
    // client cookie | version | reserved | timestamp | client address (4
    // octets IPv4, 16 IPv6).
    bool server_cookie(const CookieSecret& key, const std::uint8_t client_cookie[8],
                       const std::uint8_t reserved[3], std::uint32_t timestamp,
                       std::span<const std::uint8_t> client_address, std::uint8_t out[16]);

    // Finds the first COOKIE option of `query` (RFC 7873 §5.2: others are
    // ignored), judges it for `client` at `now` (unix seconds) and fills the
    // response's option: the received cookie again while it is under half an
    // hour old and made with the current secret, else a fresh one
    // (RFC 9018 §4.3). A query whose OPT is malformed is None: answer()
    // refuses it with FORMERR as it is.
    CookieCheck check(std::span<const std::uint8_t> query, const sockaddr* client, std::uint32_t now,
                      const CookieSecrets& secrets);

private:
    evp_mac_ctx_st* ctx_ = nullptr;
};

// A response with no records: the query's header (QR set, `rcode`'s low
// bits), its question when it has one, and an OPT (payload `udp_payload`,
// `rcode`'s extended bits, DO copied) carrying check.response_option().
// For FORMERR (§5.2.2), BADCOOKIE, and the answer to §5.4's query for a
// cookie. Returns the length, 0 when `out` is too small.
std::size_t cookie_response(std::span<const std::uint8_t> query, const CookieCheck& check, std::uint16_t rcode,
                            std::uint16_t udp_payload, std::span<std::uint8_t> out);

}  // namespace satellite::serve
