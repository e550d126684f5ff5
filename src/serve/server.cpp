// Listeners. Each UDP socket has a thread of its own that blocks in
// recvmmsg (MSG_WAITFORONE) and answers what it got with one sendmmsg: two
// system calls per wake-up, no reactor, no allocation. TCP sessions run on
// the worker's Boost.Asio reactor: they read length-framed, possibly pipelined queries and answer
// them in order, under RFC 7766 §6.2.3 limits: a deadline per connection,
// a cap per client address and a global cap (idle clients evicted first).
#include "serve/server.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>
#include <list>
#include <stdexcept>
#include <thread>
#include <boost/asio.hpp>
#include <cstring>
#include <spdlog/spdlog.h>

#include "dns/types.hpp"
#include "serve/online.hpp"
#include "serve/tcp_limits.hpp"
#include "serve/xfr_out.hpp"
#include "serve/xfr_send.hpp"

namespace satellite::serve {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

constexpr unsigned kBatch = 64;
constexpr std::size_t kRecvSize = 4096;
constexpr std::size_t kTcpFrame = 65535 + 2;
constexpr std::size_t kDnsHeader = 12;
constexpr std::size_t kTcpInitialBuffer = 4096;  // grows to kTcpFrame for a longer frame
constexpr unsigned kTcpFramesPerRead = 32;       // bounded work per read, then write / yield
constexpr std::size_t kTcpFlushBytes = 64 * 1024;
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
constexpr auto kNotifyReportPeriod = std::chrono::milliseconds(1100);

template <class Socket>
Status reuse_port(Socket& s) {
    int one = 1;
    if (::setsockopt(s.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        return make_error(std::string("SO_REUSEPORT: ") + std::strerror(errno));
    }
    return {};
}

// SO_REUSEPORT would let us share a port silently with another process of
// the same user (a second satellited started by mistake would take half the
// queries). So first bind once without it: an address anyone holds is an error.
Status ensure_unused(const ListenAddress& la) {
    if (la.port == 0) return {};
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(la.host, ec);
    if (ec) return make_error("listen address '" + la.host + "': " + ec.message());
    for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
        int fd = ::socket(addr.is_v6() ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
        if (fd < 0) return make_error(std::string("socket: ") + std::strerror(errno));
        int one = 1;
        if (type == SOCK_STREAM) {  // TIME_WAIT leftovers of a restart are fine
            ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        }
        if (addr.is_v6()) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        const udp::endpoint ep(addr, la.port);  // only its sockaddr is used
        int rc = ::bind(fd, ep.data(), static_cast<socklen_t>(ep.size()));
        int err = errno;
        ::close(fd);
        if (rc != 0) {
            std::string where = (addr.is_v6() ? "[" + la.host + "]" : la.host) + ":" + std::to_string(la.port);
            return make_error("cannot listen on " + where + (type == SOCK_DGRAM ? " (udp)" : " (tcp)") + ": " +
                              std::strerror(err) +
                              (err == EADDRINUSE ? " (is another satellited or DNS server running?)" : ""));
        }
    }
    return {};
}

// "::1" and "0::1" are one address.
bool same_address(const ListenAddress& a, const ListenAddress& b) {
    if (a.port != b.port) return false;
    boost::system::error_code ea, eb;
    const auto x = asio::ip::make_address(a.host, ea);
    const auto y = asio::ip::make_address(b.host, eb);
    return ea || eb ? a.host == b.host : x == y;
}

bool contains(const std::vector<ListenAddress>& list, const ListenAddress& la) {
    return std::any_of(list.begin(), list.end(), [&](const ListenAddress& x) { return same_address(x, la); });
}

}  // namespace

// What one thread needs to answer queries, its own so that threads share
// nothing on the query path: a reader slot in the published catalog,
// counters, answer options, the online signer and its budget, the cookie
// check and a rate limiter.
class Responder {
public:
    Responder(const ServerOptions& o, Published<zone::Catalog>& c, QueryCounters& counters,
              const std::atomic<const CookieSecrets*>& cookies)
        : catalog_(c), counters_(counters), counts_(counters.add_worker()), cookie_secrets_(cookies), rrl_(o.rrl) {
        answer_options_.udp_max_payload = o.udp_max_payload < 512 ? 512 : o.udp_max_payload;
        answer_options_.nsid = o.nsid;  // views of the Server's options, which outlive the workers
        answer_options_.identity = o.identity;
        answer_options_.version = o.version;
        // RFC 9824 online signatures: this thread's signer and cache, and
        // the time they are made at (set as each batch of work starts).
        answer_options_.online = &online_;
        online_.set_budget(o.online_signing_budget);
        answer_options_.now = static_cast<std::uint32_t>(std::time(nullptr));
    }
    // After its thread has ended (joined): the reader slot and the
    // counters go back for a thread a reload starts.
    ~Responder() {
        if (attached_) catalog_.remove_reader(reader_);
        counters_.release_worker(counts_);
    }
    Responder(const Responder&) = delete;
    Responder& operator=(const Responder&) = delete;

    // Before the first batch (on any thread): a reader slot in the
    // catalog, offline until a batch of work starts. False when every slot
    // the catalog tracks is taken.
    bool attach() {
        if (attached_) return true;
        const auto id = catalog_.try_add_reader();
        if (!id) return false;
        reader_ = *id;
        attached_ = true;
        catalog_.offline(reader_);
        return true;
    }

    // One batch of work that reads the catalog: the thread is online for
    // its duration and offline between batches, so an idle thread never
    // wakes up to report quiescence (no timer) and never holds up reclamation.
    class Reading {
    public:
        explicit Reading(Responder& r) : r_(r) {
            r_.catalog_.online(r_.reader_);
            r_.answer_options_.now = static_cast<std::uint32_t>(std::time(nullptr));
        }
        ~Reading() { r_.catalog_.offline(r_.reader_); }
        Reading(const Reading&) = delete;
        Reading& operator=(const Reading&) = delete;

    private:
        Responder& r_;
    };

    // Valid while a Reading lasts.
    const zone::Catalog* catalog() const { return catalog_.get(); }
    const CookieSecrets* cookie_secrets() const { return cookie_secrets_.load(std::memory_order_acquire); }
    QueryCounters::Worker& counts() { return counts_; }
    RateLimiter& rrl() { return rrl_; }
    std::uint16_t udp_max_payload() const { return answer_options_.udp_max_payload; }

    // An ordinary query (not NOTIFY, not a signed probe) answered, with DNS
    // cookies when they are on (`secrets`): a malformed COOKIE option is
    // FORMERR (RFC 7873 §5.2.2), a query for a cookie alone (§5.4) gets
    // NOERROR or, with a server cookie that is not valid, BADCOOKIE; every
    // other answer carries our cookie. `cookie` says what the query's was.
    std::size_t answer_query(const zone::Catalog& cat, std::span<const std::uint8_t> query, const sockaddr* peer,
                             Transport transport, std::span<std::uint8_t> out, const CookieSecrets* secrets,
                             CookieCheck& cookie) {
        if (secrets) {
            cookie = cookie_engine_.check(query, peer, answer_options_.now, *secrets);
            static_assert(static_cast<unsigned>(CookieStatus::Valid) + 1 == QueryCounters::Worker::kCookieCells);
            counts_.cookie(static_cast<unsigned>(cookie.status));
        }
        if (cookie.status == CookieStatus::Malformed || (cookie.empty_question && cookie.status != CookieStatus::None)) {
            const std::uint16_t rcode = cookie.status == CookieStatus::Malformed ? dns::rcode::FORMERR
                                        : cookie.status == CookieStatus::Invalid ? kRcodeBadCookie
                                                                                 : dns::rcode::NOERROR;
            const std::size_t rl = cookie_response(query, cookie, rcode, answer_options_.udp_max_payload, out);
            if (rl != 0) count(AnswerInfo{nullptr, rcode}, transport);
            return rl;
        }
        answer_options_.edns_option = cookie.response_option();
        online_.apply_budget(false);  // declined() below is this query's alone
        AnswerInfo info;
        const std::size_t rl = answer(cat, query, transport, answer_options_, out, &info);
        answer_options_.edns_option = {};
        if (rl != 0) count(info, transport);
        if (online_.declined()) counts_.signing_truncated();
        return rl;
    }

private:
    // A query answered: by its zone's stats slot (valid while the catalog
    // the zone came from is, i.e. until the current batch of work ends).
    void count(const AnswerInfo& info, Transport transport) {
        counts_.answered(info.zone ? info.zone->stats_slot : 0, info.rcode, transport);
    }

    Published<zone::Catalog>& catalog_;
    QueryCounters& counters_;
    QueryCounters::Worker& counts_;  // this thread's alone
    const std::atomic<const CookieSecrets*>& cookie_secrets_;  // read once per batch of work
    CookieEngine cookie_engine_;
    AnswerOptions answer_options_;
    OnlineSigner online_;
    RateLimiter rrl_;  // this thread's own: no lock on the query path
    unsigned reader_ = 0;
    bool attached_ = false;
};

class Worker {
    class UdpLoop;

public:
    Worker(const ServerOptions& o, Published<zone::Catalog>& c, std::atomic<unsigned>& conns,
           ClientConnectionLimits& limits, QueryCounters& counters,
           const std::atomic<const CookieSecrets*>& cookies)
        : options_(o), catalog_(c), tcp_connections_(conns), client_limits_(limits), counters_(counters),
          cookie_secrets_(cookies), tcp_(o, c, counters, cookies), counts_(tcp_.counts()), io_(1),
          notify_report_timer_(io_) {
        tcp_reply_.resize(65535);
    }
    // After stop(), or before run() was ever called.
    ~Worker() { stop_udp(udp_); }

    // One listen address's sockets on this worker: UDP (with the loop that
    // will serve it) and TCP.
    struct Listener {
        ListenAddress address;  // as configured (port 0 stays 0)
        std::unique_ptr<UdpLoop> datagram;
        std::shared_ptr<tcp::acceptor> acceptor;  // held weakly by its accept handlers
    };

    // Opens UDP then TCP on addr:port, for this worker but not yet served
    // (any thread may call it); port() says the port bound.
    Result<Listener> open(const ListenAddress& la, std::uint16_t port) {
        boost::system::error_code ec;
        auto addr = asio::ip::make_address(la.host, ec);
        if (ec) return make_error("listen address '" + la.host + "': " + ec.message());
        std::string where = (addr.is_v6() ? "[" + la.host + "]" : la.host) + ":";
        auto fail = [&](const char* what) {
            return make_error(std::string("cannot listen on ") + where + std::to_string(port) +
                              " (" + what + "): " + ec.message());
        };
        // Blocking: its UdpLoop waits in recvmmsg, not in the reactor.
        udp::socket u(io_);
        u.open(addr.is_v6() ? udp::v6() : udp::v4(), ec);
        if (ec) return fail("udp");
        if (addr.is_v6()) u.set_option(asio::ip::v6_only(true), ec);
        u.set_option(asio::socket_base::reuse_address(true), ec);
        if (auto s = reuse_port(u); !s) return s.error();
        u.bind(udp::endpoint(addr, port), ec);
        if (ec) return fail("udp");
        port = u.local_endpoint().port();
        int rcvbuf = 4 << 20;
        ::setsockopt(u.native_handle(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);

        auto a = std::make_shared<tcp::acceptor>(io_);
        a->open(addr.is_v6() ? tcp::v6() : tcp::v4(), ec);
        if (ec) return fail("tcp");
        if (addr.is_v6()) a->set_option(asio::ip::v6_only(true), ec);
        a->set_option(asio::socket_base::reuse_address(true), ec);
        if (auto s = reuse_port(*a); !s) return s.error();
        a->bind(tcp::endpoint(addr, port), ec);
        if (ec) return fail("tcp");
        a->listen(asio::socket_base::max_listen_connections, ec);
        if (ec) return fail("tcp listen");
        // Out of the reactor (which watches every socket it opens): the
        // UdpLoop's thread alone waits on it.
        const int fd = u.release(ec);
        if (ec) return fail("udp");
        return Listener{la, std::make_unique<UdpLoop>(*this, fd, la), std::move(a)};
    }

    static std::uint16_t port(const Listener& l) {
        boost::system::error_code ec;
        return l.acceptor->local_endpoint(ec).port();
    }

    // A reader slot for a listener's UDP thread; false when the catalog
    // has none left (then nothing was taken).
    static bool attach(Listener& l) { return l.datagram->attach(); }

    // Before run() (Server::start): the listeners it starts with, and a
    // reader slot for its TCP thread; false when the catalog has none left.
    void add(Listener l) {
        udp_.push_back(std::move(l.datagram));
        acceptors_.push_back({std::move(l.address), std::move(l.acceptor)});
    }
    bool attach() { return tcp_.attach(); }

    // The worker's thread runs TCP (and the NOTIFY report timer) in its
    // reactor; each UDP socket has a thread of its own (UdpLoop), started
    // here and stopped by stop() or a rebind(), not by the reactor.
    void run() {
        for (auto& a : acceptors_) accept(a.acceptor);
        io_.run();
    }

    // Server::start, on its thread, once every slot is taken.
    void start_udp() {
        for (auto& u : udp_) u->start();
    }

    // SIGHUP with a changed `listen`, on the thread that called start()
    // (which alone touches udp_): `added` (attached) start serving, then
    // the UDP threads of `gone` are stopped and joined and, on this
    // worker's reactor thread, its acceptors closed (open TCP connections
    // finish as they would). Every other socket is left as it is, so no
    // query to an unchanged address is lost.
    void rebind(std::vector<Listener> added, const std::vector<ListenAddress>& gone) {
        auto acceptors = std::make_shared<std::vector<TcpListener>>();
        for (auto& l : added) {
            l.datagram->start();
            udp_.push_back(std::move(l.datagram));
            acceptors->push_back({std::move(l.address), std::move(l.acceptor)});
        }
        auto is_gone = [gone](const ListenAddress& la) { return contains(gone, la); };
        std::vector<std::unique_ptr<UdpLoop>> kept, stopping;
        for (auto& u : udp_) (is_gone(u->address()) ? stopping : kept).push_back(std::move(u));
        udp_ = std::move(kept);
        stop_udp(stopping);  // their sockets close, their slots and counters go back
        asio::post(io_, [this, acceptors, is_gone] {
            boost::system::error_code ec;
            std::vector<TcpListener> kept_tcp;
            for (auto& a : acceptors_) {
                if (is_gone(a.address)) {
                    // An accept that completed before the close may still be
                    // queued: its handler holds the acceptor weakly and finds it gone.
                    a.acceptor->close(ec);
                } else {
                    kept_tcp.push_back(std::move(a));
                }
            }
            acceptors_ = std::move(kept_tcp);
            for (auto& a : *acceptors) {
                acceptors_.push_back(std::move(a));
                accept(acceptors_.back().acceptor);
            }
        });
    }

    // From the thread that called start(): the UDP threads are stopped and
    // joined here, the reactor (TCP) stops on its own thread.
    void stop() {
        stop_udp(udp_);
        asio::post(io_, [this] {
            boost::system::error_code ec;
            for (auto& a : acceptors_) a.acceptor->close(ec);
            notify_report_timer_.cancel();
            io_.stop();
        });
    }

private:
    using Reading = Responder::Reading;

    // One UDP socket's receive loop, on a thread of its own: a blocking
    // recvmmsg (MSG_WAITFORONE) wakes with the first datagram and takes
    // whatever else is queued, then one sendmmsg sends the answers. No
    // reactor, no timer: two system calls per wake-up, none while idle
    // (the thread is offline while it waits).
    class UdpLoop {
    public:
        UdpLoop(Worker& w, int fd, ListenAddress address)
            : w_(w), fd_(fd), address_(std::move(address)),
              q_(w.options_, w.catalog_, w.counters_, w.cookie_secrets_) {
            out_size_ = q_.udp_max_payload();
            send_buf_.resize(std::size_t(kBatch) * out_size_);
            for (unsigned i = 0; i < kBatch; ++i) {
                recv_iov_[i] = {recv_buf_[i].data(), kRecvSize};
                recv_hdr_[i].msg_hdr = {};
                recv_hdr_[i].msg_hdr.msg_name = &addrs_[i];
                recv_hdr_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
                recv_hdr_[i].msg_hdr.msg_iov = &recv_iov_[i];
                recv_hdr_[i].msg_hdr.msg_iovlen = 1;
            }
        }
        // After join() (or with no thread started).
        ~UdpLoop() {
            if (thread_.joinable()) {
                stop();
                thread_.join();
            }
            ::close(fd_);
        }
        UdpLoop(const UdpLoop&) = delete;
        UdpLoop& operator=(const UdpLoop&) = delete;

        bool attach() { return q_.attach(); }
        const ListenAddress& address() const { return address_; }

        // Once attached; from the thread that called Server::start().
        void start() {
            thread_ = std::thread([this] { run(); });
        }
        void join() {
            if (thread_.joinable()) thread_.join();
        }

        void run() {
            while (!stopping_.load(std::memory_order_acquire)) {
                int n = ::recvmmsg(fd_, recv_hdr_.data(), kBatch, MSG_WAITFORONE, nullptr);
                if (n <= 0) continue;  // EINTR; or woken by stop()
                if (stopping_.load(std::memory_order_acquire)) return;
                answer_batch(static_cast<unsigned>(n));
            }
        }

        // Wakes run() out of recvmmsg: a shut-down socket returns at once
        // (Linux wakes UDP receivers on shutdown, ENOTCONN notwithstanding).
        void stop() {
            stopping_.store(true, std::memory_order_release);
            ::shutdown(fd_, SHUT_RDWR);
        }

    private:
        void answer_batch(unsigned n) {
            RateLimiter& rrl = q_.rrl();
            QueryCounters::Worker& counts = q_.counts();
            unsigned out = 0;
            {
                Reading reading(q_);
                const zone::Catalog* cat = q_.catalog();
                const CookieSecrets* secrets = q_.cookie_secrets();
                const std::uint64_t now_ms =
                    rrl.enabled() ? static_cast<std::uint64_t>(
                                        std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::steady_clock::now().time_since_epoch())
                                            .count())
                                  : 0;
                for (unsigned i = 0; i < n; ++i) {
                    std::uint8_t* sb = send_buf_.data() + std::size_t(i) * out_size_;
                    std::span<const std::uint8_t> query{recv_buf_[i].data(), recv_hdr_[i].msg_len};
                    std::size_t rl;
                    const auto* peer = reinterpret_cast<const sockaddr*>(&addrs_[i]);
                    CookieCheck cookie;
                    if (is_notify(query)) {
                        rl = answer_notify(*cat, query, peer, std::time(nullptr), w_.options_.notify_sink,
                                           {sb, out_size_});
                        w_.report_notify_refusals_soon();
                    } else if ((rl = answer_signed_probe(*cat, query, peer, {sb, out_size_})) != 0) {
                        // A secondary's TSIG-signed SOA/IXFR probe (serve/xfr_send.hpp).
                    } else {
                        rl = q_.answer_query(*cat, query, peer, Transport::Udp, {sb, out_size_}, secrets, cookie);
                    }
                    if (rl == 0) {
                        counts.dropped();
                        continue;
                    }
                    // NOTIFY answers are not limited: small (no amplification),
                    // and a primary's NOTIFY must get its answer. Nor is a client
                    // with a valid server cookie: its address is not spoofed.
                    if (rrl.enabled() && !is_notify(query) && cookie.status != CookieStatus::Valid) {
                        const auto action = rrl.check(peer, RateLimiter::kind_of({sb, rl}), now_ms);
                        if (action == RrlAction::Drop) {
                            counts.rrl_dropped();
                            continue;
                        }
                        if (action == RrlAction::Slip) {
                            counts.rrl_slipped();
                            // RFC 7873 §5.2.3 (2): a client that sent a cookie
                            // learns ours from a BADCOOKIE, as small as TC, and
                            // retries over UDP unlimited; others get TC.
                            rl = cookie.has_client_cookie()
                                     ? cookie_response(query, cookie, kRcodeBadCookie, q_.udp_max_payload(),
                                                       {sb, out_size_})
                                     : RateLimiter::truncate({sb, out_size_}, rl);
                            if (rl == 0) continue;
                        }
                    }
                    send_iov_[out] = {sb, rl};
                    send_hdr_[out].msg_hdr = {};
                    send_hdr_[out].msg_hdr.msg_name = &addrs_[i];
                    send_hdr_[out].msg_hdr.msg_namelen = recv_hdr_[i].msg_hdr.msg_namelen;
                    send_hdr_[out].msg_hdr.msg_iov = &send_iov_[out];
                    send_hdr_[out].msg_hdr.msg_iovlen = 1;
                    ++out;
                }
            }
            unsigned sent = 0;
            while (sent < out) {
                // Never waits: a full socket buffer drops the rest, as UDP does.
                int m = ::sendmmsg(fd_, send_hdr_.data() + sent, out - sent, MSG_DONTWAIT);
                if (m <= 0) {
                    if (m < 0 && errno == EINTR) continue;
                    break;
                }
                sent += static_cast<unsigned>(m);
            }
            // recvmmsg wrote the peers' address lengths: the next batch may
            // receive a longer one (IPv4-mapped, IPv6) into the same slot.
            for (unsigned i = 0; i < n; ++i) recv_hdr_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        }

        Worker& w_;
        const int fd_;  // blocking, for recvmmsg; sendmmsg passes MSG_DONTWAIT
        const ListenAddress address_;  // as configured: what a reload removes
        Responder q_;
        std::atomic<bool> stopping_{false};
        std::size_t out_size_ = 0;
        std::array<std::array<std::uint8_t, kRecvSize>, kBatch> recv_buf_{};
        std::array<iovec, kBatch> recv_iov_{};
        std::array<mmsghdr, kBatch> recv_hdr_{};
        std::array<sockaddr_storage, kBatch> addrs_{};
        std::vector<std::uint8_t> send_buf_;
        std::array<iovec, kBatch> send_iov_{};
        std::array<mmsghdr, kBatch> send_hdr_{};
        std::thread thread_;  // last: started once everything else is set
    };

    // One listen address's TCP acceptor, on the reactor.
    struct TcpListener {
        ListenAddress address;
        std::shared_ptr<tcp::acceptor> acceptor;  // held weakly by its accept handlers
    };

    // Stops every loop first (shutdown wakes each at once), then joins and
    // frees them: their sockets close, reader slots and counters go back.
    static void stop_udp(std::vector<std::unique_ptr<UdpLoop>>& loops) {
        for (auto& u : loops) u->stop();
        for (auto& u : loops) u->join();
        loops.clear();
    }

    // One TCP client (RFC 7766 §6.2.3). A single deadline closes it: armed
    // `tcp_idle_timeout_ms` ahead at accept and after each complete message
    // (never re-armed per byte, so a client trickling bytes cannot hold it),
    // and re-armed for the same span while a reply is being written (a
    // client that does not read its replies cannot hold it either). A frame
    // shorter than a DNS header closes the connection. One read answers at
    // most kTcpFramesPerRead frames into at most kTcpFlushBytes of output.
    class TcpSession : public std::enable_shared_from_this<TcpSession> {
    public:
        TcpSession(Worker& w, tcp::socket s, ClientConnectionLimits::Key client, const tcp::endpoint& peer)
            : w_(w), sock_(std::move(s)), deadline_(w.io_), client_(client), peer_(peer) {
            in_.resize(kTcpInitialBuffer);
            out_.reserve(kTcpInitialBuffer);
        }
        ~TcpSession() {
            w_.sessions_.erase(pos_);
            w_.client_limits_.release(client_);
            w_.tcp_connections_.fetch_sub(1, std::memory_order_relaxed);
        }

        void start() {
            pos_ = w_.sessions_.insert(w_.sessions_.end(), this);
            last_message_ = std::chrono::steady_clock::now();
            arm_deadline();
            read_more();
        }

        // Eviction near the global cap prefers connections not writing,
        // longest without a complete message.
        bool evictable() const { return !writing_ && !closed_; }
        std::chrono::steady_clock::time_point last_message() const { return last_message_; }

        void close() {
            if (closed_) return;
            closed_ = true;
            boost::system::error_code ignored;
            sock_.close(ignored);
            deadline_.cancel();
        }

    private:
        void arm_deadline() {
            deadline_.expires_after(std::chrono::milliseconds(w_.options_.tcp_idle_timeout_ms));
            deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
                if (!ec) self->close();
            });
        }

        void read_more() {
            if (closed_) return;
            if (in_len_ == in_.size()) {
                // Only a frame longer than the buffer gets here (complete
                // frames are answered first): grow once to the largest frame.
                if (in_.size() >= kTcpFrame) {
                    close();
                    return;
                }
                in_.resize(kTcpFrame);
            }
            sock_.async_read_some(asio::buffer(in_.data() + in_len_, in_.size() - in_len_),
                                  [self = shared_from_this()](boost::system::error_code ec,
                                                              std::size_t n) {
                                      if (ec || self->closed_) {
                                          self->close();
                                          return;
                                      }
                                      self->in_len_ += n;
                                      self->process();
                                  });
        }

        // Answers the complete frames in the buffer (pipelining, RFC 7766
        // §6.2.1), a bounded number per call.
        void process() {
            if (closed_) return;
            std::size_t pos = 0;
            unsigned frames = 0;
            bool stopped_early = false;
            Reading reading(w_.tcp_);
            const zone::Catalog* cat = w_.tcp_.catalog();
            const CookieSecrets* secrets = w_.tcp_.cookie_secrets();
            while (in_len_ - pos >= 2) {
                std::size_t len = (std::size_t(in_[pos]) << 8) | in_[pos + 1];
                if (len < kDnsHeader) {  // zero-length or runt frame: not DNS
                    w_.counts_.dropped();
                    close();
                    return;
                }
                if (in_len_ - pos < 2 + len) break;
                if (is_transfer_request({in_.data() + pos + 2, len})) {
                    if (!out_.empty()) break;  // earlier answers go out first
                    last_message_ = std::chrono::steady_clock::now();
                    return transfer_out(pos, len);
                }
                if (frames == kTcpFramesPerRead || out_.size() >= kTcpFlushBytes) {
                    stopped_early = true;
                    break;
                }
                ++frames;
                std::span<const std::uint8_t> query{in_.data() + pos + 2, len};
                std::span<std::uint8_t> reply{w_.tcp_reply_.data(), w_.tcp_reply_.size()};
                std::size_t rl;
                if (is_notify(query)) {  // Knot sends NOTIFY over TCP
                    boost::system::error_code ec;
                    auto peer = sock_.remote_endpoint(ec);
                    rl = answer_notify(*cat, query, ec ? nullptr : peer.data(), std::time(nullptr),
                                       w_.options_.notify_sink, reply);
                    w_.report_notify_refusals_later();
                } else {
                    // RFC 7873 §5.2.3: over TCP a query without a valid
                    // server cookie is answered as it is (with our cookie).
                    CookieCheck cookie;
                    rl = w_.tcp_.answer_query(*cat, query, peer_.data(), Transport::Tcp, reply, secrets, cookie);
                }
                if (rl == 0) {
                    w_.counts_.dropped();
                } else {
                    out_.push_back(static_cast<std::uint8_t>(rl >> 8));
                    out_.push_back(static_cast<std::uint8_t>(rl));
                    out_.insert(out_.end(), reply.data(), reply.data() + rl);
                }
                pos += 2 + len;
            }
            if (pos > 0) {
                std::memmove(in_.data(), in_.data() + pos, in_len_ - pos);
                in_len_ -= pos;
            }
            if (frames > 0) last_message_ = std::chrono::steady_clock::now();
            if (!out_.empty()) {
                writing_ = true;
                arm_deadline();  // the write deadline: the client must read its replies
                asio::async_write(sock_, asio::buffer(out_),
                                  [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                                      self->writing_ = false;
                                      if (ec || self->closed_) {
                                          self->close();
                                          return;
                                      }
                                      self->out_.clear();
                                      self->arm_deadline();  // idle again after a complete exchange
                                      self->process();       // frames left over, else read
                                  });
                return;
            }
            if (frames > 0) arm_deadline();
            if (stopped_early) {
                // Every answer was dropped: yield to other clients, then go on.
                asio::post(w_.io_, [self = shared_from_this()] { self->process(); });
                return;
            }
            read_more();
        }

        // AXFR/IXFR (serve/xfr_send.hpp): the transfer owns the socket's
        // writes until it ends, under its own write timeout (the session's
        // deadline is off meanwhile, and it is not evicted); then later
        // pipelined queries are read on.
        void transfer_out(std::size_t pos, std::size_t len) {
            std::vector<std::uint8_t> request(in_.data() + pos + 2, in_.data() + pos + 2 + len);
            std::size_t used = pos + 2 + len;
            std::memmove(in_.data(), in_.data() + used, in_len_ - used);
            in_len_ -= used;
            boost::system::error_code ec;
            auto peer = sock_.remote_endpoint(ec);
            writing_ = true;
            deadline_.cancel();
            send_transfer(sock_, *w_.catalog_.get(), request, ec ? nullptr : peer.data(), *w_.options_.xfr_out,
                          [self = shared_from_this()](bool ok) {
                              self->writing_ = false;
                              if (!ok || self->closed_) {
                                  self->close();
                                  return;
                              }
                              self->arm_deadline();
                              self->process();  // frames left over, else read
                          });
        }

        Worker& w_;
        tcp::socket sock_;
        asio::steady_timer deadline_;
        ClientConnectionLimits::Key client_;
        tcp::endpoint peer_;
        std::list<TcpSession*>::iterator pos_;
        std::chrono::steady_clock::time_point last_message_;
        std::vector<std::uint8_t> in_;
        std::size_t in_len_ = 0;
        std::vector<std::uint8_t> out_;
        bool writing_ = false;
        bool closed_ = false;
    };

    // Near the global cap a new client takes the place of the connection
    // (of this worker) that has gone longest without a complete message and
    // is not being written to: idle and trickling clients go first.
    bool evict_one() {
        TcpSession* victim = nullptr;
        for (TcpSession* s : sessions_) {
            if (s->evictable() && (victim == nullptr || s->last_message() < victim->last_message())) {
                victim = s;
            }
        }
        if (victim == nullptr) return false;
        victim->close();
        return true;
    }

    // A reload may close and drop an acceptor between an accept completing
    // and its handler running: the handler holds it weakly.
    void accept(const std::shared_ptr<tcp::acceptor>& ap) {
        ap->async_accept([this, weak = std::weak_ptr<tcp::acceptor>(ap)](boost::system::error_code ec, tcp::socket s) {
            if (ec == asio::error::operation_aborted) return;
            auto held = weak.lock();  // gone: its address was removed by a reload
            if (!held || !held->is_open()) return;
            if (ec) {
                // EMFILE, ENFILE, ENOBUFS...: the pending connection stays in
                // the backlog, so accepting again at once would spin.
                auto now = std::chrono::steady_clock::now();
                if (now - last_accept_warning_ > std::chrono::seconds(10)) {
                    last_accept_warning_ = now;
                    spdlog::warn("tcp accept failed: {} (pausing accepts for {} ms)", ec.message(),
                                 kAcceptBackoff.count());
                }
                auto timer = std::make_shared<asio::steady_timer>(io_, kAcceptBackoff);
                timer->async_wait([this, held, timer](boost::system::error_code wec) {
                    if (wec || !held->is_open()) return;
                    accept(held);
                });
                return;
            }
            admit(std::move(s));
            accept(held);
        });
    }

    void admit(tcp::socket s) {
        boost::system::error_code ec;
        auto peer = s.remote_endpoint(ec);
        if (ec) return;  // already gone
        const auto client = ClientConnectionLimits::key_of(peer.data());
        if (!client_limits_.try_acquire(client)) {
            counts_.tcp_refused();
            s.close(ec);
            return;
        }
        unsigned n = tcp_connections_.fetch_add(1, std::memory_order_relaxed);
        if (n >= options_.tcp_max_connections && !evict_one()) {
            tcp_connections_.fetch_sub(1, std::memory_order_relaxed);
            client_limits_.release(client);
            counts_.tcp_refused();
            s.close(ec);
            return;
        }
        counts_.tcp_connection();
        s.set_option(tcp::no_delay(true), ec);
        std::make_shared<TcpSession>(*this, std::move(s), client, peer)->start();
    }

    // Refused NOTIFYs: one summary line a second at most, from a timer that
    // runs only while refusals wait to be reported (never per packet, and
    // no wake-ups when none come).
    // From a UdpLoop's thread: the timer is the reactor's, so arm it there.
    void report_notify_refusals_soon() {
        if (!NotifyRefusals::instance().pending() || notify_report_posted_.exchange(true)) return;
        asio::post(io_, [this] {
            notify_report_posted_.store(false);
            report_notify_refusals_later();
        });
    }

    void report_notify_refusals_later() {
        if (notify_report_armed_ || !NotifyRefusals::instance().pending()) return;
        notify_report_armed_ = true;
        notify_report_timer_.expires_after(kNotifyReportPeriod);
        notify_report_timer_.async_wait([this](boost::system::error_code ec) {
            notify_report_armed_ = false;
            if (ec) return;
            NotifyRefusals::instance().report(static_cast<std::int64_t>(std::time(nullptr)));
            report_notify_refusals_later();
        });
    }

    const ServerOptions& options_;
    Published<zone::Catalog>& catalog_;
    std::atomic<unsigned>& tcp_connections_;
    ClientConnectionLimits& client_limits_;
    QueryCounters& counters_;
    const std::atomic<const CookieSecrets*>& cookie_secrets_;
    Responder tcp_;  // answers TCP queries on this worker's thread
    QueryCounters::Worker& counts_;  // tcp_'s; each UdpLoop has its own
    // This worker's open TCP connections. Declared before io_: sessions
    // still held by handlers leave this list when io_ is destroyed.
    std::list<TcpSession*> sessions_;
    asio::io_context io_;
    asio::steady_timer notify_report_timer_;
    bool notify_report_armed_ = false;
    std::atomic<bool> notify_report_posted_{false};
    // Touched only by the thread that called Server::start (start, rebind, stop).
    std::vector<std::unique_ptr<UdpLoop>> udp_;  // after io_: their sockets close first
    std::vector<TcpListener> acceptors_;  // touched only on this worker's thread once it runs
    std::vector<std::uint8_t> tcp_reply_;  // one TCP answer is built here, then framed into the session's output
    std::chrono::steady_clock::time_point last_accept_warning_{};
};

namespace {

// One listener per worker on `la` (SO_REUSEPORT: the kernel spreads the
// queries over them), each on the port the first one got; errors name the address.
Result<std::vector<Worker::Listener>> open_everywhere(std::vector<std::unique_ptr<Worker>>& workers,
                                                      const ListenAddress& la) {
    if (auto s = ensure_unused(la); !s) return s.error();
    std::vector<Worker::Listener> out;
    std::uint16_t port = la.port;
    for (auto& w : workers) {
        auto opened = w->open(la, port);
        // Port 0: the UDP port the kernel picked may be taken for TCP.
        for (int again = 0; !opened && port == 0 && again < 20; ++again) opened = w->open(la, 0);
        if (!opened) return opened.error();
        port = Worker::port(*opened);  // port 0: later workers join the port the first got
        out.push_back(std::move(*opened));
    }
    return out;
}

// Reader slots in the published catalog: one per query thread (each
// worker's TCP thread, one UDP thread per worker and address).
Status enough_readers(unsigned free, std::size_t workers, std::size_t threads_each, const std::string& what) {
    const std::size_t need = workers * threads_each;
    if (need <= free) return {};
    return make_error(what + " needs " + std::to_string(need) + " more query threads (" + std::to_string(workers) +
                      " workers x " + std::to_string(threads_each) + "), but the catalog tracks only " +
                      std::to_string(free) + " more readers");
}

}  // namespace

Server::Server(ServerOptions options, Published<zone::Catalog>& catalog)
    : options_(std::move(options)), catalog_(catalog),
      client_limits_(std::make_unique<ClientConnectionLimits>(options_.tcp_max_connections_per_client)),
      counters_(options_.counters ? options_.counters : std::make_shared<QueryCounters>()) {
    if (!options_.xfr_out) options_.xfr_out = std::make_shared<XfrOutLimits>();
    if (options_.cookies) cookies_.store(new CookieSecrets(*options_.cookies));
}

Server::~Server() {
    stop();
    delete cookies_.load();
}

void Server::set_cookies(std::optional<CookieSecrets> secrets) {
    const CookieSecrets* next = secrets ? new CookieSecrets(*secrets) : nullptr;
    const CookieSecrets* old = cookies_.exchange(next, std::memory_order_acq_rel);
    if (old) catalog_.retire(std::shared_ptr<const void>(old, [](const void* p) {
        delete static_cast<const CookieSecrets*>(p);
    }));
}

unsigned Server::workers_for(unsigned threads) {
    return threads == 0 ? std::clamp(std::thread::hardware_concurrency(), 1u, 256u) : threads;
}

unsigned Server::reader_slots_for(unsigned workers, std::size_t addresses) {
    return static_cast<unsigned>(std::size_t(workers) * (1 + 2 * addresses));
}

Status Server::start() {
    // 256: config refuses more. Each worker reads the published catalog
    // from its own thread (TCP) and one thread per listen address (UDP).
    // Their reader slots are taken here, and refused when too few are left.
    const unsigned n = workers_for(options_.threads);
    if (n > 256) return make_error("threads = " + std::to_string(n) + ": at most 256 workers");
    if (auto s = enough_readers(catalog_.free_readers(), n, 1 + options_.listen.size(),
                                "threads = " + std::to_string(n) + " with " + std::to_string(options_.listen.size()) +
                                    " listen addresses");
        !s) {
        return s.error();
    }
    for (unsigned i = 0; i < n; ++i) {
        workers_.push_back(
            std::make_unique<Worker>(options_, catalog_, tcp_connections_, *client_limits_, *counters_, cookies_));
    }
    // Checked above; the catalog could still have given slots to other readers since.
    const std::string no_readers = "threads = " + std::to_string(n) + " with " +
                                   std::to_string(options_.listen.size()) +
                                   " listen addresses: more query threads than the catalog tracks readers";
    for (auto& w : workers_) {
        if (!w->attach()) {
            workers_.clear();
            return make_error(no_readers);
        }
    }
    for (const auto& la : options_.listen) {
        auto opened = open_everywhere(workers_, la);
        if (!opened) {
            workers_.clear();
            bound_ports_.clear();
            return opened.error();
        }
        bound_ports_.push_back(Worker::port(opened->front()));
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            if (!Worker::attach((*opened)[i])) {
                workers_.clear();  // gives back the slots taken so far
                bound_ports_.clear();
                return make_error(no_readers);
            }
            workers_[i]->add(std::move((*opened)[i]));
        }
    }
    for (auto& w : workers_) w->start_udp();
    for (auto& w : workers_) threads_.emplace_back([&w] { w->run(); });
    return {};
}

Status Server::rebind(const std::vector<ListenAddress>& next) {
    if (workers_.empty()) return make_error("the listeners are not running");
    std::vector<ListenAddress> gone;
    for (const auto& la : options_.listen) {
        if (!contains(next, la)) gone.push_back(la);
    }
    std::size_t new_addresses = 0;
    for (const auto& la : next) new_addresses += contains(options_.listen, la) ? 0 : 1;
    // The new UDP threads start before the removed ones stop: their reader
    // slots must be free now.
    if (auto s = enough_readers(catalog_.free_readers(), workers_.size(), new_addresses,
                                std::to_string(new_addresses) + " new listen address(es) on " +
                                    std::to_string(workers_.size()) + " workers");
        !s) {
        return make_error(s.error().message + " (a restart applies it)");
    }
    // Every new address is opened on every worker (its UDP threads with a
    // reader slot each) before anything changes: one that cannot be bound
    // leaves all sockets as they were.
    std::vector<std::vector<Worker::Listener>> added(workers_.size());
    std::vector<std::uint16_t> ports;
    for (const auto& la : next) {
        const auto was = std::find_if(options_.listen.begin(), options_.listen.end(),
                                      [&](const ListenAddress& x) { return same_address(x, la); });
        if (was != options_.listen.end()) {
            ports.push_back(bound_ports_[static_cast<std::size_t>(was - options_.listen.begin())]);
            continue;
        }
        auto opened = open_everywhere(workers_, la);
        if (!opened) return opened.error();  // the ones opened so far close, never served
        for (auto& l : *opened) {
            if (!Worker::attach(l)) {
                return make_error("listen address " + la.host + " port " + std::to_string(la.port) +
                                  ": the catalog tracks no more readers for its UDP threads (a restart applies it)");
            }
        }
        ports.push_back(Worker::port(opened->front()));
        for (std::size_t i = 0; i < workers_.size(); ++i) added[i].push_back(std::move((*opened)[i]));
    }
    for (std::size_t i = 0; i < workers_.size(); ++i) workers_[i]->rebind(std::move(added[i]), gone);
    options_.listen = next;
    bound_ports_ = std::move(ports);
    return {};
}

void Server::stop() {
    for (auto& w : workers_) w->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    workers_.clear();
}

}  // namespace satellite::serve
