// Drives an XfrProducer over a TCP socket: produce a message, write it
// (async), arm the write timeout, repeat. Refusals are logged at a bounded
// rate so a scanner cannot fill the log.
#include "serve/xfr_send.hpp"

#include <boost/asio.hpp>
#include <chrono>
#include <ctime>
#include <memory>
#include <spdlog/spdlog.h>
#include <vector>

#include "dns/message.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"
#include "serve/notify.hpp"
#include "serve/xfr_out.hpp"

namespace satellite::serve {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// At most kLogBurst refusal lines per kLogWindow seconds, server-wide.
constexpr int kLogBurst = 10;
constexpr std::int64_t kLogWindow = 10;
std::atomic<std::int64_t> log_window{0};
std::atomic<int> log_count{0};
std::atomic<std::uint64_t> log_suppressed{0};

bool may_log(std::int64_t now) {
    std::int64_t w = now / kLogWindow;
    std::int64_t seen = log_window.load(std::memory_order_relaxed);
    if (seen != w && log_window.compare_exchange_strong(seen, w)) {
        log_count.store(0, std::memory_order_relaxed);
        if (auto n = log_suppressed.exchange(0)) spdlog::warn("{} more transfer refusals not logged", n);
    }
    if (log_count.fetch_add(1, std::memory_order_relaxed) < kLogBurst) return true;
    log_suppressed.fetch_add(1, std::memory_order_relaxed);
    return false;
}

std::optional<dns::Address16> peer_address(const sockaddr* peer) {
    return peer ? parse_address(address_text(peer)) : std::nullopt;
}

class Sender : public std::enable_shared_from_this<Sender> {
public:
    Sender(tcp::socket& sock, XfrOutLimits& limits, std::function<void(bool)> done, std::string peer)
        : sock_(sock), limits_(limits), done_(std::move(done)), timer_(sock.get_executor()), peer_(std::move(peer)) {}
    ~Sender() {
        if (counted_) limits_.running.fetch_sub(1, std::memory_order_relaxed);
    }

    // A one-message reply (a refusal).
    void reply(std::vector<std::uint8_t> msg) {
        frame(std::move(msg));
        write(true);
    }

    void transfer(std::unique_ptr<XfrProducer> p, std::string zone, bool ixfr) {
        producer_ = std::move(p);
        zone_ = std::move(zone);
        ixfr_ = ixfr;
        counted_ = true;
        limits_.started.fetch_add(1, std::memory_order_relaxed);
        spdlog::info("zone {}: {} to {} started, serial {}{}", zone_, ixfr_ ? "IXFR" : "AXFR", peer_,
                     producer_->serial(),
                     !ixfr_                     ? ""
                     : producer_->incremental() ? " (incremental, from the stored differences)"
                     : producer_->single()      ? " (up to date: our SOA)"
                                                : " (full reply)");
        step();
    }

private:
    void frame(std::vector<std::uint8_t> msg) {
        buf_.resize(2 + msg.size());
        buf_[0] = static_cast<std::uint8_t>(msg.size() >> 8);
        buf_[1] = static_cast<std::uint8_t>(msg.size());
        std::copy(msg.begin(), msg.end(), buf_.begin() + 2);
    }

    void step() {
        if (!producer_->next(msg_, std::time(nullptr))) {
            if (producer_->failed()) {
                spdlog::warn("zone {}: transfer to {} failed: a record does not fit a message", zone_, peer_);
                return finish(false);
            }
            limits_.completed.fetch_add(1, std::memory_order_relaxed);
            spdlog::info("zone {}: {} to {} done, serial {}, {} records in {} messages", zone_,
                         ixfr_ ? "IXFR" : "AXFR", peer_, producer_->serial(), producer_->records(),
                         producer_->messages());
            return finish(true);
        }
        frame(std::move(msg_));
        msg_ = {};
        write(false);
    }

    void write(bool last) {
        timer_.expires_after(std::chrono::milliseconds(limits_.write_timeout_ms));
        timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec) return;
            self->timed_out_ = true;
            boost::system::error_code ignored;
            self->sock_.close(ignored);
        });
        asio::async_write(sock_, asio::buffer(buf_),
                          [self = shared_from_this(), last](boost::system::error_code ec, std::size_t) {
                              self->timer_.cancel();
                              if (ec) {
                                  if (self->producer_) {
                                      self->limits_.dropped.fetch_add(1, std::memory_order_relaxed);
                                      spdlog::warn("zone {}: transfer to {} dropped: {}", self->zone_, self->peer_,
                                                   self->timed_out_ ? "the client stopped reading"
                                                                    : ec.message());
                                  }
                                  return self->finish(false);
                              }
                              if (last) return self->finish(true);
                              self->step();
                          });
    }

    void finish(bool ok) {
        if (!ok) {
            boost::system::error_code ignored;
            sock_.close(ignored);
        }
        auto done = std::move(done_);
        producer_.reset();  // the version goes before the session resumes
        if (done) done(ok);
    }

    tcp::socket& sock_;
    XfrOutLimits& limits_;
    std::function<void(bool)> done_;
    asio::steady_timer timer_;
    std::string peer_;
    std::unique_ptr<XfrProducer> producer_;
    std::string zone_;
    bool ixfr_ = false;
    bool counted_ = false;
    bool timed_out_ = false;
    std::vector<std::uint8_t> msg_;
    std::vector<std::uint8_t> buf_;
};

}  // namespace

void send_transfer(tcp::socket& sock, const zone::Catalog& catalog, std::span<const std::uint8_t> request,
                   const sockaddr* peer, XfrOutLimits& limits, std::function<void(bool)> done) {
    const std::int64_t now = std::time(nullptr);
    std::string who = address_text(peer);
    auto sender = std::make_shared<Sender>(sock, limits, std::move(done), who);
    auto addr = peer_address(peer);
    if (!addr) return sender->reply(xfr_refusal(request, dns::rcode::REFUSED));
    // Workers check the limit without a lock: it may be passed by one per worker at worst.
    unsigned running = limits.running.load(std::memory_order_relaxed);
    XfrOutStart start = start_xfr_out(catalog, request, *addr, now);
    if (!start.producer) {
        limits.refused.fetch_add(1, std::memory_order_relaxed);
        if (may_log(now)) {
            spdlog::warn("{} of {} from {} refused: {}", start.ixfr ? "IXFR" : "AXFR",
                         start.zone.empty() ? "?" : start.zone, who, start.refusal);
        }
        return sender->reply(std::move(start.reply));
    }
    if (start.producer->single()) {  // a probe or a current IXFR client: our SOA, no transfer
        std::vector<std::uint8_t> msg;
        if (!start.producer->next(msg, now)) msg = xfr_refusal(request, dns::rcode::SERVFAIL);
        return sender->reply(std::move(msg));
    }
    if (running >= limits.max_transfers) {
        limits.refused.fetch_add(1, std::memory_order_relaxed);
        if (may_log(now)) {
            spdlog::warn("{} of {} from {} refused: {} transfers already running", start.ixfr ? "IXFR" : "AXFR",
                         start.zone, who, running);
        }
        return sender->reply(xfr_refusal(request, dns::rcode::REFUSED));
    }
    limits.running.fetch_add(1, std::memory_order_relaxed);
    sender->transfer(std::move(start.producer), std::move(start.zone), start.ixfr);
}

std::size_t answer_signed_probe(const zone::Catalog& catalog, std::span<const std::uint8_t> query,
                                const sockaddr* peer, std::span<std::uint8_t> out) {
    // Every UDP query passes here: decide without allocating that it is no
    // signed SOA/IXFR (no additional record, or not one of those types).
    if (query.size() < dns::kHeaderLen || dns::load16(query.data() + 10) == 0) return 0;
    if (!is_transfer_request(query)) return 0;
    auto addr = peer_address(peer);
    if (!addr) return 0;
    return answer_signed_probe(catalog, query, *addr, std::time(nullptr), out);
}

}  // namespace satellite::serve
