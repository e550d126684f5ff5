// The API's Control interface over the ZoneManager: each call runs on the
// control thread (where every zone change happens) and the API thread waits
// for its answer.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>

#include "api/control.hpp"
#include "daemon/zones.hpp"

namespace satellite::daemon {

class ApiControl final : public api::Control {
public:
    ApiControl(boost::asio::io_context& control, ZoneManager& zones) : io_(control), zones_(zones) {}
    std::vector<api::ZoneInfo> zones() override;
    std::optional<api::ZoneInfo> zone(const std::string& name) override;
    bool refresh(const std::string& name, bool full) override;
    api::DnssecReply dnssec(const std::string& zone, api::DnssecOp op, const api::DnssecRequest& req) override;
    api::PeerKeysReply peer_keys(const std::string& zone, api::PeerKeyOp op, const api::PeerKeysRequest& req) override;
    std::string metrics() override;
    // Calls waiting for the control thread give up (it no longer runs).
    void stop() { stopping_ = true; }

private:
    std::atomic<bool> stopping_{false};
    boost::asio::io_context& io_;
    ZoneManager& zones_;
};

}  // namespace satellite::daemon
