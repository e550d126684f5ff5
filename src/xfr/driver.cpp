// Asio TCP exchange for one transfer attempt.
#include "xfr/driver.hpp"

#include <boost/asio.hpp>
#include <ctime>
#include <random>

namespace satellite::xfr {

namespace asio = boost::asio;
using asio::ip::tcp;

std::string PrimaryAddress::to_string() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
           std::to_string(port);
}

namespace {

// One TCP conversation: `Client` writes the request and consumes each
// length-framed message until it says Done (TransferClient, QueryClient).
template <typename Client>
class Exchange : public std::enable_shared_from_this<Exchange<Client>> {
    using std::enable_shared_from_this<Exchange<Client>>::shared_from_this;

public:
    Exchange(asio::io_context& io, std::shared_ptr<Client> c, TransferDone d)
        : sock_(io), timer_(io), idle_timer_(io), client_(std::move(c)), done_(std::move(d)) {}

    void start(const PrimaryAddress& p, std::chrono::milliseconds timeout,
               std::chrono::milliseconds idle = std::chrono::milliseconds(0)) {
        idle_ = idle;
        boost::system::error_code ec;
        auto addr = asio::ip::make_address(p.host, ec);
        if (ec) return finish(make_error("bad primary address " + p.host));
        timer_.expires_after(timeout);
        timer_.async_wait([self = shared_from_this()](boost::system::error_code e) {
            if (!e) self->finish(make_error("timed out"));
        });
        static thread_local std::mt19937 rng(std::random_device{}());
        auto id = static_cast<std::uint16_t>(rng());
        std::vector<std::uint8_t> q = client_->request(id, std::time(nullptr));
        out_.resize(2 + q.size());
        out_[0] = static_cast<std::uint8_t>(q.size() >> 8);
        out_[1] = static_cast<std::uint8_t>(q.size());
        std::copy(q.begin(), q.end(), out_.begin() + 2);
        arm_idle();
        sock_.async_connect(tcp::endpoint(addr, p.port),
                            [self = shared_from_this()](boost::system::error_code e) {
                                if (e) return self->finish(make_error("connect: " + e.message()));
                                self->send();
                            });
    }

private:
    // The progress deadline: re-armed whenever part of a message arrives.
    void arm_idle() {
        if (idle_.count() <= 0 || finished_) return;
        idle_timer_.expires_after(idle_);
        idle_timer_.async_wait([self = shared_from_this()](boost::system::error_code e) {
            if (!e) {
                self->finish(make_error("timed out: nothing from the primary for " +
                                        std::to_string(self->idle_.count() / 1000) + " s"));
            }
        });
    }
    void send() {
        asio::async_write(sock_, asio::buffer(out_),
                          [self = shared_from_this()](boost::system::error_code e, std::size_t) {
                              if (e) return self->finish(make_error("send: " + e.message()));
                              self->read_length();
                          });
    }
    void read_length() {
        asio::async_read(sock_, asio::buffer(len_, 2),
                         [self = shared_from_this()](boost::system::error_code e, std::size_t) {
                             if (e) {
                                 return self->finish(make_error(
                                     e == asio::error::eof ? "connection closed mid-transfer"
                                                           : "read: " + e.message()));
                             }
                             self->arm_idle();
                             self->read_message(std::size_t(self->len_[0]) << 8 | self->len_[1]);
                         });
    }
    void read_message(std::size_t n) {
        if (n < 12) return finish(make_error("short message"));
        in_.resize(n);
        asio::async_read(sock_, asio::buffer(in_),
                         [self = shared_from_this()](boost::system::error_code e, std::size_t) {
                             if (e) return self->finish(make_error("connection closed mid-message"));
                             self->arm_idle();
                             Result<typename Client::Step> step = make_error("");
                             try {
                                 step = self->client_->consume(self->in_, std::time(nullptr));
                             } catch (const std::bad_alloc&) {
                                 return self->finish(make_error("out of memory while reading the transfer"));
                             } catch (const std::exception& ex) {
                                 return self->finish(make_error(std::string("internal error: ") + ex.what()));
                             }
                             if (!step) return self->finish(step.error());
                             if (*step == Client::Step::Done) return self->finish({});
                             self->read_length();
                         });
    }
    void finish(Status s) {
        if (finished_) return;
        finished_ = true;
        boost::system::error_code ec;
        timer_.cancel();
        idle_timer_.cancel();
        sock_.close(ec);
        auto d = std::move(done_);
        d(std::move(s));
    }

    tcp::socket sock_;
    asio::steady_timer timer_;
    asio::steady_timer idle_timer_;
    std::chrono::milliseconds idle_{0};
    std::shared_ptr<Client> client_;
    TransferDone done_;
    std::vector<std::uint8_t> out_;
    std::uint8_t len_[2] = {0, 0};
    std::vector<std::uint8_t> in_;
    bool finished_ = false;
};

}  // namespace

void run_transfer(asio::io_context& io, const PrimaryAddress& primary,
                  std::shared_ptr<TransferClient> client, std::chrono::milliseconds timeout,
                  TransferDone done, std::chrono::milliseconds idle) {
    std::make_shared<Exchange<TransferClient>>(io, std::move(client), std::move(done))
        ->start(primary, timeout, idle);
}

void ask_all(asio::io_context& io, const std::vector<PrimaryAddress>& servers, const dns::Name& qname,
             std::uint16_t qtype, std::chrono::milliseconds timeout, std::function<void(Answers)> done) {
    struct Round {
        std::size_t left = 0;
        Answers answers;
        std::function<void(Answers)> done;
    };
    auto round = std::make_shared<Round>();
    round->left = servers.size();
    round->answers.rdatas.resize(servers.size());
    round->answers.responses.resize(servers.size());
    round->answers.answered.resize(servers.size(), false);
    round->done = std::move(done);
    if (servers.empty()) return round->done(std::move(round->answers));
    for (std::size_t i = 0; i < servers.size(); ++i) {
        auto client = std::make_shared<QueryClient>(qname, qtype);
        run_query(io, servers[i], client, timeout, [round, client, i, server = servers[i]](Status st) {
            if (st) {
                round->answers.rdatas[i] = client->rdatas();
                round->answers.responses[i] = client->records();
                round->answers.answered[i] = true;
                round->answers.ttl = std::max(round->answers.ttl, client->ttl());
            } else {
                round->answers.problems.push_back(server.to_string() + ": " + st.error().message);
            }
            if (--round->left == 0) round->done(std::move(round->answers));
        });
    }
}

void run_query(asio::io_context& io, const PrimaryAddress& server, std::shared_ptr<QueryClient> client,
               std::chrono::milliseconds timeout, TransferDone done) {
    std::make_shared<Exchange<QueryClient>>(io, std::move(client), std::move(done))->start(server, timeout);
}

}  // namespace satellite::xfr
