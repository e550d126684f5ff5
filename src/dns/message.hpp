// Query parsing: a view over an incoming message that the answerer needs —
// header, the single question, and the EDNS OPT record (RFC 6891).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "dns/name.hpp"

namespace satellite::dns {

inline constexpr std::size_t kHeaderLen = 12;

struct Query {
    std::uint16_t id = 0;
    std::uint16_t flags = 0;  // as received
    std::uint8_t opcode = 0;
    std::uint16_t qdcount = 0;
    // The question name as received (uncompressed; it is the first name).
    const std::uint8_t* qname = nullptr;
    std::size_t qname_len = 0;
    std::uint8_t qname_lc[kMaxNameLen];  // lower-cased copy for lookups
    std::uint16_t qtype = 0;
    std::uint16_t qclass = 0;
    std::size_t question_end = 0;  // offset after the question
    // EDNS
    bool has_edns = false;
    std::uint16_t edns_payload = 0;
    std::uint8_t edns_version = 0;
    bool edns_do = false;
    // Position and size of a TSIG record if present (for later use).
    std::size_t tsig_offset = 0;
};

enum class ParseStatus {
    Ok,
    Drop,     // not worth an answer (too short, a response)
    FormErr,  // header readable, rest malformed
    NotImp,   // unknown opcode
};

// RFC 7314 §2: the EXPIRE option code, and the OPT record a secondary puts
// in its SOA queries and transfer requests (root owner, UDP payload 1232,
// `flags` as the OPT TTL's low 16 bits, one EXPIRE option of length 0).
inline constexpr std::uint16_t kEdnsExpire = 9;
inline constexpr std::size_t kExpireOptLen = 11 + 4;
void append_expire_opt(std::vector<std::uint8_t>& msg, std::uint16_t flags);

// RFC 7314 §3: the EXPIRE value (seconds) in a response's OPT record, or
// nullopt when the response has no OPT, no EXPIRE option, or one whose length
// is not 4 (or is malformed anywhere on the way to its OPT record).
std::optional<std::uint32_t> response_expire(std::span<const std::uint8_t> msg);

// Parses `msg`. On FormErr/NotImp, `q.id/flags/opcode` are valid and, when
// `q.question_end` != 0, the question too.
ParseStatus parse_query(std::span<const std::uint8_t> msg, Query& q);

}  // namespace satellite::dns
