// The thin network side of a transfer: connect to one primary over TCP,
// send the request, feed each length-framed message to a TransferClient,
// all under one deadline, and (when `idle` is set) closed when the primary
// sends nothing for `idle` (checked per message part: a length prefix or a
// message body). Calls `done` exactly once; whatever the client throws
// (std::bad_alloc from a hostile stream) ends the attempt, not the daemon.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "util/result.hpp"
#include "xfr/query.hpp"
#include "xfr/transfer.hpp"

namespace satellite::xfr {

struct PrimaryAddress {
    std::string host;
    std::uint16_t port = 53;
    std::string to_string() const;
};

using TransferDone = std::function<void(Status)>;

void run_transfer(boost::asio::io_context& io, const PrimaryAddress& primary,
                  std::shared_ptr<TransferClient> client, std::chrono::milliseconds timeout,
                  TransferDone done, std::chrono::milliseconds idle = std::chrono::milliseconds(0));

// One question to `server` over TCP (QueryClient); `done` exactly once.
void run_query(boost::asio::io_context& io, const PrimaryAddress& server, std::shared_ptr<QueryClient> client,
               std::chrono::milliseconds timeout, TransferDone done);

// The same question to several servers at once; `done` once, after the last
// has answered or failed.
struct Answers {
    std::vector<std::vector<std::vector<std::uint8_t>>> rdatas;  // per server, empty when it failed
    std::vector<std::string> problems;                            // "server: why", per failed server
    std::uint32_t ttl = 0;                                        // the largest TTL any gave
    std::vector<dns::ResponseRecords> responses;                   // per server, whole (for validation)
    std::vector<bool> answered;                                   // per server: false when it failed
};
void ask_all(boost::asio::io_context& io, const std::vector<PrimaryAddress>& servers, const dns::Name& qname,
             std::uint16_t qtype, std::chrono::milliseconds timeout, std::function<void(Answers)> done);

}  // namespace satellite::xfr
