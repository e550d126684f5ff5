#include "daemon/api_control.hpp"

#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <memory>

namespace satellite::daemon {

namespace {

// Runs `f` on the control thread and waits for its result; nothing when
// the daemon stops first (the control thread then never runs it).
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
    while (result.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
        if (stopping) return std::nullopt;
    }
    return result.get();
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
    return reply ? *reply : stopping_reply<api::DnssecReply>();
}

api::PeerKeysReply ApiControl::peer_keys(const std::string& zone, api::PeerKeyOp op,
                                         const api::PeerKeysRequest& req) {
    auto reply = on_control(io_, stopping_, [this, zone, op, req] { return zones_.api_peer_keys(zone, op, req); });
    return reply ? *reply : stopping_reply<api::PeerKeysReply>();
}

std::string ApiControl::metrics() {
    return on_control(io_, stopping_, [this] { return zones_.api_metrics(); }).value_or(std::string());
}

}  // namespace satellite::daemon
