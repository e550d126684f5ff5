// The Asio side of outgoing transfers: one XfrProducer's messages written
// to a TCP socket one at a time (each write waits for the previous one, so
// a big zone never holds the worker), with a server-wide limit on
// transfers running and a write timeout that drops a client that stops
// reading — the socket closes and the version it held is released.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <span>

#include "zone/catalog.hpp"

namespace satellite::serve {

struct XfrOutLimits {
    unsigned max_transfers = 16;        // running at once, server-wide
    unsigned write_timeout_ms = 10'000;  // one message not taken this long: drop the client
    std::atomic<unsigned> running{0};
    std::atomic<std::uint64_t> started{0}, completed{0}, refused{0}, dropped{0};
};

// Answers the transfer request `request` received on `sock` from `peer`.
// Calls `done(true)` once the reply is written and the connection may be
// used again, `done(false)` when it failed (the socket is closed then).
// `sock` must stay alive until `done` is called (done owns its session).
void send_transfer(boost::asio::ip::tcp::socket& sock, const zone::Catalog& catalog,
                   std::span<const std::uint8_t> request, const sockaddr* peer, XfrOutLimits& limits,
                   std::function<void(bool)> done);

// The UDP side: a TSIG-signed SOA query or IXFR from `peer`, answered
// with our SOA signed (serve/xfr_out.hpp); 0 when `query` is not one.
std::size_t answer_signed_probe(const zone::Catalog& catalog, std::span<const std::uint8_t> query,
                                const sockaddr* peer, std::span<std::uint8_t> out);

}  // namespace satellite::serve
