// TSIG (RFC 8945): signing requests and verifying signed responses,
// including multi-message transfer streams (§5.3.1). HMAC-SHA256/384/512
// only; truncated MACs are refused. Pure functions over byte buffers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "util/result.hpp"

namespace satellite::dns {

enum class TsigAlgorithm { HmacSha256, HmacSha384, HmacSha512 };

struct TsigKey {
    dns::Name name;  // lower-cased
    TsigAlgorithm algorithm = TsigAlgorithm::HmacSha256;
    std::vector<std::uint8_t> secret;
};

Result<TsigAlgorithm> tsig_algorithm_from_string(const std::string& text);
std::size_t tsig_mac_size(TsigAlgorithm a);

inline constexpr std::uint16_t kTsigFudge = 300;

// Appends a TSIG record to the message in `msg` (a complete DNS message) and
// bumps ARCOUNT. Returns the MAC (needed to verify the response).
std::vector<std::uint8_t> tsig_sign(std::vector<std::uint8_t>& msg, const TsigKey& key,
                                    std::int64_t now);

// Signs a response to a request whose MAC was `request_mac`.
void tsig_sign_response(std::vector<std::uint8_t>& msg, const TsigKey& key,
                        const std::vector<std::uint8_t>& request_mac, std::int64_t now);

// Verifies the responses to one signed request, message by message. RFC 8945
// §5.3.1: the first message must be signed; later ones may go unsigned for
// up to 99 messages, but the last message of the stream must be signed.
class TsigVerifier {
public:
    TsigVerifier(const TsigKey& key, std::vector<std::uint8_t> request_mac)
        : key_(key), prior_mac_(std::move(request_mac)) {}

    // `msg` is one received message. On success, returns the message length
    // without its TSIG record (the records to parse). ARCOUNT is not changed:
    // callers parse answer/authority only, or use `records_end`.
    Status verify(std::span<const std::uint8_t> msg, std::int64_t now);
    // True when the last verified message carried a valid TSIG.
    bool last_signed() const { return last_signed_; }

private:
    const TsigKey& key_;
    std::vector<std::uint8_t> prior_mac_;
    std::vector<std::uint8_t> unsigned_;  // messages since the last TSIG
    unsigned unsigned_count_ = 0;
    bool first_ = true;
    bool last_signed_ = false;
};

// Signs the messages of a response stream (an outgoing AXFR/IXFR) to a
// request whose MAC was `request_mac`, RFC 8945 §5.3.1: every message is
// signed, the first over the request MAC and all variables, each later one
// over the prior MAC, the message, and the time and fudge only.
class TsigStreamSigner {
public:
    TsigStreamSigner(TsigKey key, std::vector<std::uint8_t> request_mac)
        : key_(std::move(key)), prior_mac_(std::move(request_mac)) {}
    void sign(std::vector<std::uint8_t>& msg, std::int64_t now);

private:
    TsigKey key_;
    std::vector<std::uint8_t> prior_mac_;
    bool first_ = true;
};

// The key name (lower-cased) of a signed message's TSIG record.
Result<dns::Name> tsig_key_name(std::span<const std::uint8_t> msg);

// Appends to the response `msg` an unsigned TSIG record naming the
// request's key and algorithm with `error` (16 BADSIG, 17 BADKEY, 18
// BADTIME), as RFC 8945 §5.2 answers a request that fails verification.
Status tsig_append_error(std::vector<std::uint8_t>& msg, std::span<const std::uint8_t> request,
                         std::uint16_t error, std::int64_t now);

// Finds a TSIG record at the end of `msg`. Returns its offset (0 if none).
std::size_t tsig_find(std::span<const std::uint8_t> msg);

// Verifies a signed single request (e.g. a NOTIFY) with `key`. Returns the
// request MAC for signing the answer.
Result<std::vector<std::uint8_t>> tsig_verify_request(std::span<const std::uint8_t> msg,
                                                      const TsigKey& key, std::int64_t now);

}  // namespace satellite::dns
