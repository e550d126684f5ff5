// Query parsing: a view over an incoming message that the answerer needs —
// header, the single question, and the EDNS OPT record (RFC 6891).
#pragma once

#include <cstdint>
#include <span>

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

// Parses `msg`. On FormErr/NotImp, `q.id/flags/opcode` are valid and, when
// `q.question_end` != 0, the question too.
ParseStatus parse_query(std::span<const std::uint8_t> msg, Query& q);

}  // namespace satellite::dns
