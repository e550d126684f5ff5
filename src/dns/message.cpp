// Query parsing with every length checked: anything malformed is FORMERR,
// never a crash.
#include "dns/message.hpp"

#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace satellite::dns {

void append_expire_opt(std::vector<std::uint8_t>& m, std::uint16_t flags) {
    const std::uint8_t opt[kExpireOptLen] = {0,  // root owner
                                             static_cast<std::uint8_t>(type::OPT >> 8),
                                             static_cast<std::uint8_t>(type::OPT),
                                             1232 >> 8, 1232 & 0xff,  // UDP payload (RFC 6891 §6.1.2)
                                             0, 0,                    // extended rcode, version 0
                                             static_cast<std::uint8_t>(flags >> 8), static_cast<std::uint8_t>(flags),
                                             0, 4,  // RDLEN: one option, no data
                                             0, kEdnsExpire, 0, 0};
    m.insert(m.end(), opt, opt + kExpireOptLen);
    if (m.size() >= kHeaderLen) store16(m.data() + 10, static_cast<std::uint16_t>(load16(m.data() + 10) + 1));
}

std::optional<std::uint32_t> response_expire(std::span<const std::uint8_t> msg) {
    if (msg.size() < kHeaderLen) return std::nullopt;
    const std::uint8_t* h = msg.data();
    const unsigned qd = load16(h + 4);
    const unsigned records = static_cast<unsigned>(load16(h + 6)) + load16(h + 8) + load16(h + 10);
    std::size_t pos = kHeaderLen;
    for (unsigned i = 0; i < qd; ++i) {
        pos = skip_name(msg, pos);
        if (pos == 0 || pos + 4 > msg.size()) return std::nullopt;
        pos += 4;
    }
    const unsigned answers_and_authority = static_cast<unsigned>(load16(h + 6)) + load16(h + 8);
    for (unsigned i = 0; i < records; ++i) {
        pos = skip_name(msg, pos);
        if (pos == 0 || pos + 10 > msg.size()) return std::nullopt;
        const std::uint16_t type = load16(h + pos);
        const std::size_t rdlen = load16(h + pos + 8);
        pos += 10;
        if (pos + rdlen > msg.size()) return std::nullopt;
        if (i >= answers_and_authority && type == type::OPT) {
            // RFC 6891 §6.1.2: options are {code, length, data} back to back.
            for (std::size_t o = pos; o + 4 <= pos + rdlen;) {
                const std::uint16_t code = load16(h + o), len = load16(h + o + 2);
                if (o + 4 + len > pos + rdlen) return std::nullopt;
                if (code == kEdnsExpire) {
                    if (len != 4) return std::nullopt;
                    return load32(h + o + 4);
                }
                o += 4 + len;
            }
            return std::nullopt;  // one OPT record per message (RFC 6891 §6.1.1)
        }
        pos += rdlen;
    }
    return std::nullopt;
}

ParseStatus parse_query(std::span<const std::uint8_t> msg, Query& q) {
    q.question_end = 0;
    q.has_edns = false;
    q.edns_do = false;
    q.tsig_offset = 0;
    if (msg.size() < kHeaderLen) return ParseStatus::Drop;
    const std::uint8_t* h = msg.data();
    q.id = load16(h);
    q.flags = load16(h + 2);
    if (q.flags & flag::QR) return ParseStatus::Drop;  // never answer a response
    q.opcode = static_cast<std::uint8_t>((q.flags >> 11) & 0xf);
    q.qdcount = load16(h + 4);
    std::uint16_t ancount = load16(h + 6), nscount = load16(h + 8), arcount = load16(h + 10);

    if (q.qdcount != 1) {
        return q.opcode == opcode::QUERY || q.opcode == opcode::NOTIFY ? ParseStatus::FormErr
                                                                        : ParseStatus::NotImp;
    }
    // The question name is the first name: it cannot be compressed.
    std::size_t pos = kHeaderLen;
    std::size_t len = wire_name::length(h + pos, msg.size() - pos);
    if (len == 0 || pos + len + 4 > msg.size()) {
        return q.opcode == opcode::QUERY || q.opcode == opcode::NOTIFY ? ParseStatus::FormErr
                                                                        : ParseStatus::NotImp;
    }
    q.qname = h + pos;
    q.qname_len = len;
    wire_name::lower_copy(q.qname, len, q.qname_lc);
    pos += len;
    q.qtype = load16(h + pos);
    q.qclass = load16(h + pos + 2);
    pos += 4;
    q.question_end = pos;

    if (q.opcode != opcode::QUERY && q.opcode != opcode::NOTIFY) return ParseStatus::NotImp;

    // Walk the remaining records to find OPT (and TSIG, which must be last).
    unsigned total = unsigned(ancount) + nscount + arcount;
    for (unsigned i = 0; i < total; ++i) {
        std::size_t rr_start = pos;
        std::size_t after = skip_name(msg, pos);
        if (after == 0 || after + 10 > msg.size()) return ParseStatus::FormErr;
        std::uint16_t type = load16(h + after);
        std::uint16_t rdlen = load16(h + after + 8);
        std::size_t next = after + 10 + rdlen;
        if (next > msg.size()) return ParseStatus::FormErr;
        bool in_additional = i >= unsigned(ancount) + nscount;
        if (type == type::OPT) {
            // RFC 6891 §6.1.1: one OPT, in the additional section, owner root.
            if (!in_additional || q.has_edns || h[rr_start] != 0) return ParseStatus::FormErr;
            q.has_edns = true;
            q.edns_payload = load16(h + after + 2);
            q.edns_version = h[after + 5];
            q.edns_do = (load16(h + after + 6) & kEdnsDo) != 0;
            // Options are not interpreted yet, but must be well-formed.
            std::size_t o = after + 10;
            while (o < next) {
                if (o + 4 > next) return ParseStatus::FormErr;
                std::uint16_t olen = load16(h + o + 2);
                o += 4 + olen;
                if (o > next) return ParseStatus::FormErr;
            }
        } else if (type == type::TSIG) {
            // RFC 8945 §5.1: TSIG must be the last record.
            if (!in_additional || i + 1 != total) return ParseStatus::FormErr;
            q.tsig_offset = rr_start;
        }
        pos = next;
    }
    return ParseStatus::Ok;
}

}  // namespace satellite::dns
