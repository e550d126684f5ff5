// UDP and TCP listeners. One worker per `threads`, each with its own
// SO_REUSEPORT sockets on every listen address: its thread runs an
// io_context for TCP, and each of its UDP sockets has a receive thread of
// its own; every such thread has its own query counters and reader slot, so
// threads share nothing on the query path. Readers are online in the
// published catalog only while a batch of work runs (util/published.hpp).
// A reload may add and remove listen addresses (rebind); the threads of an
// added address take reader slots, those of a removed one give theirs back.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "serve/answer.hpp"
#include "serve/cookie.hpp"
#include "serve/notify.hpp"
#include "serve/query_counters.hpp"
#include "serve/rrl.hpp"
#include "serve/xfr_send.hpp"
#include "util/published.hpp"
#include "util/result.hpp"
#include "zone/catalog.hpp"

namespace satellite::serve {

struct ListenAddress {
    std::string host;  // "127.0.0.1", "::1"
    std::uint16_t port;
};

struct ServerOptions {
    std::vector<ListenAddress> listen;
    unsigned threads = 1;
    // RFC 7766 §6.2.3. The global cap; near it the connection longest
    // without a complete message is closed for a new one.
    unsigned tcp_max_connections = 1024;
    // One client (IPv4 address, IPv6 /64) holds at most this many.
    unsigned tcp_max_connections_per_client = 16;
    // A connection is closed when no complete message arrives within this
    // after the last one (or the accept), or a reply is not read within it.
    unsigned tcp_idle_timeout_ms = 10'000;
    std::uint16_t udp_max_payload = 1232;
    // Compact denial's online signatures a second per worker for UDP
    // queries (serve/online.hpp); past it answers go out truncated. 0 = no limit.
    unsigned online_signing_budget = 5000;
    std::string nsid, identity, version;  // [server] nsid / identity / version ("" = off)
    RrlOptions rrl;  // response rate limiting over UDP ([server.rrl]); rate 0 = off
    // DNS cookies (serve/cookie.hpp); nullopt = off. A UDP client with a
    // valid server cookie is not rate limited; a limited one with a client
    // cookie gets BADCOOKIE (and our cookie) where others get TC.
    std::optional<CookieSecrets> cookies;
    NotifySink* notify_sink = nullptr;  // receives accepted NOTIFYs
    // Where the workers count queries. Zones are told apart when the
    // catalogs take their stats slots in it (the ZoneManager passes them to each catalog).
    // nullptr: the server's own.
    std::shared_ptr<QueryCounters> counters;
    // Outgoing AXFR/IXFR over TCP (serve/xfr_send.hpp); nullptr: the server's own.
    std::shared_ptr<XfrOutLimits> xfr_out;
};

class Worker;
class ClientConnectionLimits;

class Server {
public:
    Server(ServerOptions options, Published<zone::Catalog>& catalog);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds every socket (errors name the address), takes a reader slot in
    // the catalog for every query thread (an error when too few are free)
    // and starts the workers.
    Status start();
    // Stops accepting, closes sockets, joins the workers.
    void stop();
    // SIGHUP: new cookie secrets (nullopt: cookies off), published to the
    // workers with one pointer swap; the old ones are freed through the
    // catalog's reclamation once no worker can hold them.
    void set_cookies(std::optional<CookieSecrets> secrets);

    // SIGHUP with a changed `listen`: binds the new addresses on every
    // worker and starts their UDP threads, then stops and joins the removed
    // ones' and closes their sockets; the others' sockets are left open.
    // An address that cannot be bound, or too few free reader slots in the
    // catalog for the new threads, is an error naming it, and then nothing
    // has changed. Called from the thread that called start().
    Status rebind(const std::vector<ListenAddress>& next);

    // Workers for `threads` (0: one per CPU, at most 256).
    static unsigned workers_for(unsigned threads);
    // Reader slots a published catalog should track for `workers` on
    // `addresses` listen addresses: a TCP thread per worker, a UDP thread
    // per worker and address, and room for a reload to bring in as many
    // addresses again before the removed ones' threads give theirs back.
    static unsigned reader_slots_for(unsigned workers, std::size_t addresses);

    // Ports actually bound, in `listen` order (useful with port 0).
    std::vector<std::uint16_t> bound_ports() const { return bound_ports_; }
    const QueryCounters& counters() const { return *counters_; }
    const XfrOutLimits& xfr_out() const { return *options_.xfr_out; }

private:
    ServerOptions options_;
    Published<zone::Catalog>& catalog_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::thread> threads_;
    std::vector<std::uint16_t> bound_ports_;
    std::atomic<unsigned> tcp_connections_{0};
    std::atomic<const CookieSecrets*> cookies_{nullptr};
    std::unique_ptr<ClientConnectionLimits> client_limits_;
    std::shared_ptr<QueryCounters> counters_;
};

}  // namespace satellite::serve
