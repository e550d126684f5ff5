#include "daemon/api_control.hpp"

#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <memory>

namespace satellite::daemon {

namespace {

// How long an API call waits for the control thread before it answers 503.
// The control thread runs no heavy work (that is on the zone workers), so
// this is only reached when something is wrong.
constexpr auto kControlDeadline = std::chrono::seconds(5);
// How long a DNSSEC change waits for the zone to serve what it changed.
constexpr auto kServedDeadline = std::chrono::seconds(30);

// Runs `f` on the control thread and waits for its result; nothing when
// the daemon stops first (the control thread then never runs it); throws
// api::ControlBusy past the deadline (the call may still run later).
template <typename F>
auto on_control(boost::asio::io_context& io, const std::atomic<bool>& stopping, F f)
    -> std::optional<decltype(f())> {
    auto done = std::make_shared<std::promise<decltype(f())>>();
    auto result = done->get_future();
    boost::asio::post(io, [done, f] {
        try {
            done->set_value(f());
        } catch (...) {
            done->set_exception(std::current_exception());
        }
    });
    const auto deadline = std::chrono::steady_clock::now() + kControlDeadline;
    while (result.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
        if (stopping) return std::nullopt;
        if (std::chrono::steady_clock::now() > deadline) throw api::ControlBusy{};
    }
    return result.get();
}

// Waits (bounded) until `zone` serves what a change asked for: its re-sign
// runs on a worker after the reply was made.
void wait_served(boost::asio::io_context& io, const std::atomic<bool>& stopping, ZoneManager& zones,
                 const std::string& zone) {
    auto served = std::make_shared<std::promise<void>>();
    auto f = served->get_future();
    boost::asio::post(io, [&zones, zone, served] { zones.when_idle(zone, [served] { served->set_value(); }); });
    const auto deadline = std::chrono::steady_clock::now() + kServedDeadline;
    while (f.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
        if (stopping || std::chrono::steady_clock::now() > deadline) return;
    }
}

// A reply that says the daemon stopped before the call could run.
template <typename Reply>
Reply stopping_reply() {
    Reply r;
    r.http_status = 503;
    r.message = "satellited is stopping";
    return r;
}

std::string canonical(std::string name) {
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name.empty() || name.back() != '.') name += '.';
    return name;
}

}  // namespace

std::vector<api::ZoneInfo> ApiControl::zones() {
    return on_control(io_, stopping_, [this] { return zones_.api_zones(); }).value_or(std::vector<api::ZoneInfo>{});
}

std::optional<api::ZoneInfo> ApiControl::zone(const std::string& name) {
    const std::string want = canonical(name);
    for (auto& z : zones()) {
        if (canonical(z.name) == want) return z;
    }
    return std::nullopt;
}

bool ApiControl::refresh(const std::string& name, bool full) {
    auto z = zone(name);
    if (!z || z->kind != "secondary") return false;
    // On the control thread: a reload may be replacing the zone table.
    return on_control(io_, stopping_, [this, n = z->name, full] { return zones_.refresh_now(n, full); }).value_or(false);
}

api::DnssecReply ApiControl::dnssec(const std::string& zone, api::DnssecOp op, const api::DnssecRequest& req) {
    auto reply = on_control(io_, stopping_, [this, zone, op, req] { return zones_.api_dnssec(zone, op, req); });
    if (!reply) return stopping_reply<api::DnssecReply>();
    if (op != api::DnssecOp::Get && reply->http_status < 300) wait_served(io_, stopping_, zones_, zone);
    return *reply;
}

api::PeerKeysReply ApiControl::peer_keys(const std::string& zone, api::PeerKeyOp op,
                                         const api::PeerKeysRequest& req) {
    auto reply = on_control(io_, stopping_, [this, zone, op, req] { return zones_.api_peer_keys(zone, op, req); });
    if (!reply) return stopping_reply<api::PeerKeysReply>();
    if (op != api::PeerKeyOp::Get && reply->http_status < 300) wait_served(io_, stopping_, zones_, zone);
    return *reply;
}

std::string ApiControl::metrics() {
    return on_control(io_, stopping_, [this] { return zones_.api_metrics(); }).value_or(std::string());
}

}  // namespace satellite::daemon
