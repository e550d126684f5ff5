// The REST API's HTTP/1.1 server (Boost.Beast) on its own thread and
// io_context, listening on [api] listen. Requests are bounded in size,
// time and number of connections; all API rules live in router.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "api/control.hpp"
#include "config/config.hpp"
#include "util/result.hpp"

namespace satellite::api {

class ServerImpl;

struct ServerLimits {
    std::size_t max_body = 64 * 1024;    // larger bodies get 413
    std::size_t max_header = 8 * 1024;   // larger headers get 431
    unsigned max_connections = 64;       // more get 503 and are closed
    unsigned max_connections_per_client = 8;  // from one IP address; more get 503 and are closed
    // To receive one whole request (header and body: a deadline from its
    // first byte, not re-armed as bytes trickle in), and to wait idle between
    // keep-alive requests.
    std::chrono::milliseconds read_timeout{30'000};
};

class Server {
public:
    // `config` and `control` are used from the server's thread after start();
    // `control` must outlive the server. Tokens are copied.
    Server(const config::Api& config, Control& control, ServerLimits limits = {});
    ~Server();  // stop()
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds [api] listen and starts the thread; a clear error when the
    // address cannot be bound or none is configured. Call once.
    Status start();
    // Closes the listener and every connection, then joins the thread.
    // Do not call it from a thread a Control call may be waiting on.
    void stop();

    // A reload (SIGHUP): these tokens replace the running ones for every
    // request read from now on (a removed token gets 401 at once).
    void set_tokens(const std::vector<config::ApiToken>& tokens);

    // The port bound by start() (useful with port 0); 0 before.
    std::uint16_t bound_port() const;

private:
    std::unique_ptr<ServerImpl> impl_;
};

}  // namespace satellite::api
