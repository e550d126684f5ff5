// NOTIFY intake (RFC 1996): checks the sender against the zone's
// notify_allow list and TSIG key (both published in the catalog), answers,
// and hands the news to the zone's event sequence through a NotifySink.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "zone/catalog.hpp"

namespace satellite::serve {

class NotifySink {
public:
    virtual ~NotifySink() = default;
    // Called on a worker thread: must only enqueue.
    virtual void notify(const dns::Name& zone, std::optional<std::uint32_t> serial,
                        const std::string& from) = 0;
};

inline bool is_notify(std::span<const std::uint8_t> msg) {
    return msg.size() >= 4 && ((msg[2] >> 3) & 0xf) == 4 && !(msg[2] & 0x80);
}

// Answers a NOTIFY message from `peer`. Returns the response length.
std::size_t answer_notify(const zone::Catalog& catalog, std::span<const std::uint8_t> msg,
                          const sockaddr* peer, std::int64_t now, NotifySink* sink,
                          std::span<std::uint8_t> out);

// "192.0.2.1" / "2001:db8::1" → the 16-octet form used in notify_allow.
std::optional<std::array<std::uint8_t, 16>> parse_address(const std::string& text);
std::string address_text(const sockaddr* peer);

}  // namespace satellite::serve
