// Beast plumbing for the REST API: an accept loop with a connection limit,
// and one keep-alive session per connection (read a bounded request, answer
// it through the Router, repeat). Nothing a client sends can throw out of
// here: malformed or oversized requests get a 4xx and the connection closes.
#include "api/server.hpp"

#include <pthread.h>

#include <array>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_set>

#include <openssl/ssl.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include "api/router.hpp"

namespace satellite::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr std::size_t kBufferSlack = 16 * 1024;  // chunk framing, the start of a pipelined request
constexpr std::size_t kMaxDrain = 1 << 20;  // bytes read and dropped before closing after an error
constexpr auto kDrainTime = std::chrono::seconds(2);

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

// A request target fit for a log line: printable, bounded.
std::string printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 200)) out.push_back(c > 0x20 && c < 0x7f ? c : '?');
    if (s.size() > 200) out += "...";
    return out;
}

bool is_http_error(const beast::error_code& ec) {
    return ec.category() == http::make_error_code(http::error::bad_target).category();
}

}  // namespace

// What the server needs of a session, plain or TLS.
class SessionBase {
public:
    virtual ~SessionBase() = default;
    virtual void close() = 0;
};

class ServerImpl {
public:
    ServerImpl(const config::Api& config, Control& control, ServerLimits limits)
        : config_(config), router_(config, control), limits_(limits) {}

    Status start();
    void stop();
    void accept();

    config::Api config_;
    Router router_;
    ServerLimits limits_;
    // Touched only on the server's thread. Declared before io_ so that
    // sessions destroyed with io_ still find them.
    unsigned connections_ = 0;
    std::unordered_set<SessionBase*> sessions_;
    std::map<asio::ip::address, unsigned> per_client_;
    bool stopping_ = false;

    asio::io_context io_{1};
    tcp::acceptor acceptor_{io_};
    asio::steady_timer accept_retry_{io_};
    std::optional<asio::ssl::context> tls_;  // HTTPS ([api] tls_cert, tls_key)
    std::thread thread_;
    std::uint16_t port_ = 0;
};

// One connection: plain (beast::tcp_stream) or HTTPS (an ssl_stream over
// it, whose handshake runs under the same read deadline first).
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
public:
    static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

    Session(Stream stream, ServerImpl& server)
        : stream_(std::move(stream)), server_(server),
          buffer_(server.limits_.max_header + server.limits_.max_body + kBufferSlack) {
        ++server_.connections_;
        server_.sessions_.insert(this);
        beast::error_code ec;
        auto peer = socket().remote_endpoint(ec);
        if (!ec) {
            address_ = peer.address();
            address_text_ = address_.to_string();
            peer_ = address_text_ + ":" + std::to_string(peer.port());
        }
        ++server_.per_client_[address_];
    }
    ~Session() {
        --server_.connections_;
        server_.sessions_.erase(this);
        auto it = server_.per_client_.find(address_);
        if (it != server_.per_client_.end() && --it->second == 0) server_.per_client_.erase(it);
    }

    void start() {
        if constexpr (kTls) {
            transport().expires_after(server_.limits_.read_timeout);
            stream_.async_handshake(asio::ssl::stream_base::server,
                                    [self = this->shared_from_this()](beast::error_code ec) {
                                        if (ec) {
                                            spdlog::debug("api: {} TLS handshake failed: {}", self->peer_, ec.message());
                                            return;
                                        }
                                        self->read();
                                    });
        } else {
            read();
        }
    }

    void close() override {
        beast::error_code ec;
        socket().close(ec);
    }

private:
    beast::tcp_stream& transport() { return beast::get_lowest_layer(stream_); }
    tcp::socket& socket() { return transport().socket(); }

    void read() {
        parser_.emplace();
        parser_->body_limit(server_.limits_.max_body);
        parser_->header_limit(static_cast<std::uint32_t>(server_.limits_.max_header));
        transport().expires_after(server_.limits_.read_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&Session::on_read, this->shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec == http::error::end_of_stream) {  // the client closed between requests
            socket().shutdown(tcp::socket::shutdown_send, ec);
            return;
        }
        if (ec == http::error::partial_message) return;  // it left mid-request
        if (ec == http::error::body_limit) {
            return refuse(413, "request body larger than " + std::to_string(server_.limits_.max_body) + " bytes");
        }
        if (ec == http::error::header_limit) {
            return refuse(431, "request header larger than " + std::to_string(server_.limits_.max_header) + " bytes");
        }
        if (ec && is_http_error(ec)) return refuse(400, "malformed HTTP request: " + ec.message());
        if (ec) return;  // timeout (the stream closed itself), reset, or stop()

        const auto& req = parser_->get();
        HttpRequest request{sv(req.method_string()), sv(req.target()), sv(req[http::field::authorization]),
                            req.body(), address_text_, sv(req[http::field::cookie])};
        HttpResponse response = server_.router_.handle(request);
        spdlog::debug("api: {} {} {} -> {} (token {})", peer_, request.method, printable(request.target),
                      response.status, response.token_name.empty() ? "-" : response.token_name);
        write(std::move(response), req.version(), req.keep_alive());
    }

    // An answer to a request that could not be read; the connection ends after it.
    void refuse(unsigned status, const std::string& message) {
        spdlog::debug("api: {} refused with {}: {}", peer_, status, message);
        write(error_response(status, message), 11, false);
    }

    void write(HttpResponse r, unsigned version, bool keep_alive) {
        res_ = {};
        res_.version(version);
        res_.result(r.status);
        res_.set(http::field::server, "satellite");
        res_.set(http::field::content_type, r.content_type);
        for (const auto& [name, value] : r.headers) res_.set(name, value);
        res_.body() = std::move(r.body);
        res_.keep_alive(keep_alive);
        res_.prepare_payload();
        transport().expires_after(server_.limits_.read_timeout);
        http::async_write(stream_, res_,
                          beast::bind_front_handler(&Session::on_write, this->shared_from_this(), keep_alive));
    }

    void on_write(bool keep_alive, beast::error_code ec, std::size_t) {
        if (ec) return;
        if (keep_alive) return read();
        // Half-close, then read what the client still sends (e.g. the rest of
        // an oversized body) so that closing does not reset the connection
        // and destroy the answer before the client has read it.
        // (Over TLS the rest is read as raw bytes: nothing of it is used.)
        socket().shutdown(tcp::socket::shutdown_send, ec);
        transport().expires_after(kDrainTime);
        drain();
    }

    void drain() {
        auto self = this->shared_from_this();
        transport().async_read_some(asio::buffer(discard_), [self](beast::error_code ec, std::size_t n) {
            self->drained_ += n;
            if (!ec && self->drained_ < kMaxDrain) self->drain();
        });
    }

    Stream stream_;
    ServerImpl& server_;
    std::string peer_ = "?";
    asio::ip::address address_;
    std::string address_text_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> res_;
    std::array<char, 2048> discard_{};
    std::size_t drained_ = 0;
};

void ServerImpl::accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
        if (stopping_ || ec == asio::error::operation_aborted) return;
        if (ec) {  // e.g. out of file descriptors: wait a little rather than spin
            spdlog::warn("api: accept failed: {}", ec.message());
            accept_retry_.expires_after(std::chrono::milliseconds(100));
            accept_retry_.async_wait([this](beast::error_code e) {
                if (!e && !stopping_) accept();
            });
            return;
        }
        beast::error_code pe;
        const auto peer = socket.remote_endpoint(pe);
        const auto held = pe ? per_client_.end() : per_client_.find(peer.address());
        const bool client_full = held != per_client_.end() && held->second >= limits_.max_connections_per_client;
        if (connections_ >= limits_.max_connections || client_full) {
            // Best effort, never blocking: tell the client why, then close.
            static const std::string body = R"({"error":"too many connections; try again later"})";
            static const std::string busy = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                            "Content-Length: " + std::to_string(body.size()) +
                                            "\r\nConnection: close\r\n\r\n" + body;
            spdlog::debug("api: {} connections open; refusing another", connections_);
            beast::error_code e;
            socket.non_blocking(true, e);
            socket.send(asio::buffer(busy), 0, e);
            socket.shutdown(tcp::socket::shutdown_both, e);
            socket.close(e);
        } else if (tls_) {
            using TlsStream = beast::ssl_stream<beast::tcp_stream>;
            std::make_shared<Session<TlsStream>>(TlsStream(beast::tcp_stream(std::move(socket)), *tls_), *this)
                ->start();
        } else {
            std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), *this)->start();
        }
        accept();
    });
}

Status ServerImpl::start() {
    if (thread_.joinable() || stopping_) return make_error("the REST API server was already started");
    if (!config_.listen) return make_error("no [api] listen address is configured");
    const config::Endpoint& where = *config_.listen;
    beast::error_code ec;
    auto addr = asio::ip::make_address(where.host, ec);
    if (ec) return make_error("api.listen address '" + where.host + "': " + ec.message());
    const tcp::endpoint ep(addr, where.port);
    if (config_.tls()) {
        // TLS 1.2 and later only, the certificate chain and key as PEM.
        tls_.emplace(asio::ssl::context::tls_server);
        tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                          asio::ssl::context::no_sslv3 | asio::ssl::context::single_dh_use);
        SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION);
        tls_->use_certificate_chain_file(config_.tls_cert, ec);
        if (ec) return make_error("[api] tls_cert " + config_.tls_cert + ": " + ec.message());
        tls_->use_private_key_file(config_.tls_key, asio::ssl::context::pem, ec);
        if (ec) return make_error("[api] tls_key " + config_.tls_key + ": " + ec.message());
        if (SSL_CTX_check_private_key(tls_->native_handle()) != 1) {
            return make_error("[api] tls_key " + config_.tls_key + " does not match tls_cert " + config_.tls_cert);
        }
    }
    auto fail = [&](const char* step) {
        beast::error_code ignored;
        acceptor_.close(ignored);
        std::string hint = ec == asio::error::address_in_use
                               ? " (is another satellited or another service using it? set [api] listen "
                                 "to a free address)"
                               : "";
        return make_error("cannot listen on " + where.to_string() + " for the REST API (" + step +
                          "): " + ec.message() + hint);
    };
    acceptor_.open(ep.protocol(), ec);
    if (ec) return fail("socket");
    if (addr.is_v6()) acceptor_.set_option(asio::ip::v6_only(true), ec);
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    acceptor_.bind(ep, ec);
    if (ec) return fail("bind");
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen");
    port_ = acceptor_.local_endpoint(ec).port();
    accept();
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "sat-api");
        for (;;) {
            try {
                io_.run();
                return;
            } catch (const std::exception& e) {  // a bug; keep serving the API
                spdlog::error("api: unexpected exception: {}", e.what());
            }
        }
    });
    const bool v6 = where.host.find(':') != std::string::npos;
    spdlog::debug("api: listening on {}{}{}:{} ({})", v6 ? "[" : "", where.host, v6 ? "]" : "", port_,
                  tls_ ? "https" : "http");
    return {};
}

void ServerImpl::stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
        stopping_ = true;
        beast::error_code ec;
        acceptor_.close(ec);
        accept_retry_.cancel();
        for (SessionBase* s : sessions_) s->close();
    });
    thread_.join();  // run() returns once every session has ended
}

Server::Server(const config::Api& config, Control& control, ServerLimits limits)
    : impl_(std::make_unique<ServerImpl>(config, control, limits)) {}

Server::~Server() { stop(); }

Status Server::start() { return impl_->start(); }

void Server::stop() { impl_->stop(); }

std::uint16_t Server::bound_port() const { return impl_->port_; }

void Server::set_tokens(const std::vector<config::ApiToken>& tokens) {
    // The router is the server thread's alone: the change is posted to it.
    asio::post(impl_->io_, [impl = impl_.get(), tokens] { impl->router_.set_tokens(tokens); });
}

}  // namespace satellite::api
