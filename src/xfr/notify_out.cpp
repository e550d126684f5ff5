// NOTIFY out: the retry policy and its UDP driver. A NOTIFY carries the
// zone's SOA question only (RFC 1996 §3.7 makes the answer SOA optional);
// an answer is matched by message ID and source address.
#include "xfr/notify_out.hpp"

#include <boost/asio.hpp>
#include <cstring>
#include <random>
#include <spdlog/spdlog.h>

#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace satellite::xfr {

namespace asio = boost::asio;
using asio::ip::udp;

void NotifyPolicy::version(const std::string& zone, const std::string& target, std::uint32_t serial, Ms now) {
    Entry& e = entries_[{zone, target}];
    counters_[{zone, target}];  // listed from the first version on
    if (e.active && e.serial == serial) return;
    e.serial = serial;
    e.tries = 0;
    // Coalesce: at most one NOTIFY per first_wait to a target.
    Ms earliest = e.last_sent < 0 ? now : e.last_sent + options_.first_wait;
    e.due = e.active ? std::max(std::min(e.due, earliest), now) : std::max(earliest, now);
    e.active = true;
}

std::vector<NotifyPolicy::Send> NotifyPolicy::due(Ms now) {
    std::vector<Send> out;
    for (auto& [k, e] : entries_) {
        if (!e.active || e.due > now) continue;
        if (e.tries >= options_.tries) {
            e.active = false;
            ++counters_[k].failed;
            continue;
        }
        ++e.tries;
        ++counters_[k].sent;
        e.last_sent = now;
        e.due = now + (options_.first_wait << (e.tries - 1));
        out.push_back({k.first, k.second, e.serial, e.tries});
    }
    return out;
}

void NotifyPolicy::answered(const std::string& zone, const std::string& target, bool ok) {
    auto it = entries_.find({zone, target});
    if (it == entries_.end() || !it->second.active) return;
    it->second.active = false;
    auto& c = counters_[{zone, target}];
    if (ok) {
        ++c.acknowledged;
    } else {
        ++c.failed;
    }
}

NotifyPolicy::Ms NotifyPolicy::next_due() const {
    Ms best = -1;
    for (const auto& [k, e] : entries_) {
        if (e.active && (best < 0 || e.due < best)) best = e.due;
    }
    return best;
}

bool NotifyPolicy::pending(const std::string& zone, const std::string& target) const {
    auto it = entries_.find({zone, target});
    return it != entries_.end() && it->second.active;
}

std::string NotifyTarget::to_string() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

namespace {

NotifyPolicy::Ms steady_ms(const Clock& c) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(c.now_steady().time_since_epoch()).count();
}

}  // namespace

NotifySender::NotifySender(asio::io_context& io, const Clock& clock, NotifyPolicy::Options options)
    : io_(io), clock_(clock), policy_(options), timer_(io),
      next_id_(static_cast<std::uint16_t>(std::random_device{}())), alive_(std::make_shared<bool>(true)) {}

NotifySender::~NotifySender() {
    *alive_ = false;
    boost::system::error_code ec;
    timer_.cancel();
    if (v4_) v4_->close(ec);
    if (v6_) v6_->close(ec);
}

void NotifySender::new_version(const dns::Name& zone, std::uint32_t serial, const std::vector<NotifyTarget>& targets) {
    const std::string z = zone.to_string();
    const auto now = steady_ms(clock_);
    for (const auto& t : targets) {
        const std::string key = t.to_string();
        targets_[{z, key}] = Pending{zone, t};
        policy_.version(z, key, serial, now);
    }
    pump();
}

udp::socket& NotifySender::socket_for(const asio::ip::address& a) {
    auto& s = a.is_v6() ? v6_ : v4_;
    if (!s) {
        s = std::make_unique<udp::socket>(io_);
        boost::system::error_code ec;
        s->open(a.is_v6() ? udp::v6() : udp::v4(), ec);
        if (!ec) s->bind(udp::endpoint(a.is_v6() ? udp::v6() : udp::v4(), 0), ec);
        if (ec) spdlog::warn("NOTIFY out: cannot open a UDP socket: {}", ec.message());
        receive(*s);
    }
    return *s;
}

void NotifySender::release() {
    held_ = false;
    pump();
}

void NotifySender::pump() {
    if (held_) return;
    for (const auto& s : policy_.due(steady_ms(clock_))) send(s);
    auto next = policy_.next_due();
    if (next < 0) return;
    timer_.expires_after(std::chrono::milliseconds(std::max<NotifyPolicy::Ms>(0, next - steady_ms(clock_))));
    timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
        if (ec || !*alive) return;
        pump();
    });
}

void NotifySender::send(const NotifyPolicy::Send& s) {
    auto it = targets_.find({s.zone, s.target});
    if (it == targets_.end()) return;
    const Pending& p = it->second;
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(p.target.host, ec);
    if (ec) return;
    std::uint16_t id = next_id_++;
    // Header: NOTIFY, AA (RFC 1996 §3.1), one question: zone SOA IN.
    std::vector<std::uint8_t> msg(12 + p.zone.size() + 4, 0);
    dns::store16(msg.data(), id);
    dns::store16(msg.data() + 2, static_cast<std::uint16_t>((dns::opcode::NOTIFY << 11) | dns::flag::AA));
    dns::store16(msg.data() + 4, 1);
    std::memcpy(msg.data() + 12, p.zone.data(), p.zone.size());
    dns::store16(msg.data() + 12 + p.zone.size(), dns::type::SOA);
    dns::store16(msg.data() + 14 + p.zone.size(), dns::rrclass::IN);
    Outstanding o{s.zone, s.target, {}};
    if (p.target.key) o.mac = dns::tsig_sign(msg, *p.target.key, clock_.now_unix());
    ids_[id] = std::move(o);
    if (ids_.size() > 4096) ids_.erase(ids_.begin());  // answers that never came
    spdlog::debug("zone {}: NOTIFY serial {} to {} (try {})", s.zone, s.serial, s.target, s.attempt);
    auto buf = std::make_shared<std::vector<std::uint8_t>>(std::move(msg));
    socket_for(addr).async_send_to(asio::buffer(*buf), udp::endpoint(addr, p.target.port),
                                   [buf](boost::system::error_code, std::size_t) {});
}

void NotifySender::receive(udp::socket& sock) {
    sock.async_receive_from(asio::buffer(buf_), from_, [this, &sock, alive = alive_](boost::system::error_code ec, std::size_t n) {
        if (!*alive || ec == asio::error::operation_aborted) return;
        // An ICMP unreachable comes back as connection_refused: keep
        // listening; any other error means the socket is gone.
        if (ec && ec != asio::error::connection_refused) return;
        if (!ec && n >= 12 && (buf_[2] & 0x80)) {
            auto it = ids_.find(dns::load16(buf_.data()));
            NotifyTarget from{from_.address().to_string(), from_.port(), nullptr};
            if (it != ids_.end() && it->second.target == from.to_string()) {
                unsigned rcode = buf_[3] & 0xf;
                if (rcode != dns::rcode::NOERROR) {
                    spdlog::warn("zone {}: NOTIFY to {} answered with rcode {}", it->second.zone, it->second.target, rcode);
                }
                policy_.answered(it->second.zone, it->second.target, rcode == dns::rcode::NOERROR);
                ids_.erase(it);
            }
        }
        receive(sock);
    });
}

std::string NotifySender::metrics_text() const {
    std::string out =
        "# HELP satellite_notify_out_total NOTIFY messages to downstream servers: sent (retries included), "
        "acknowledged and failed versions.\n# TYPE satellite_notify_out_total counter\n";
    for (const auto& [k, c] : policy_.counters()) {
        std::string l = "{zone=\"" + k.first + "\",target=\"" + k.second + "\",result=\"";
        out += "satellite_notify_out_total" + l + "sent\"} " + std::to_string(c.sent) + "\n";
        out += "satellite_notify_out_total" + l + "acknowledged\"} " + std::to_string(c.acknowledged) + "\n";
        out += "satellite_notify_out_total" + l + "failed\"} " + std::to_string(c.failed) + "\n";
    }
    return out;
}

}  // namespace satellite::xfr
