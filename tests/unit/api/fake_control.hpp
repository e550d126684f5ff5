// A Control for API tests: two zones, scripted DNSSEC and peer-keys replies,
// every call recorded.
#pragma once

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "api/control.hpp"

namespace satellite::api::testing {

class FakeControl : public Control {
public:
    struct DnssecCall {
        std::string zone;
        DnssecOp op;
        DnssecRequest request;
    };
    struct PeerKeysCall {
        std::string zone;
        PeerKeyOp op;
        PeerKeysRequest request;
    };

    FakeControl() {
        ZoneInfo a;
        a.name = "example.com.";
        a.kind = "secondary";
        a.mode = "live";
        a.serial = 2024010101;
        a.serving = true;
        a.source = "192.0.2.1:53";
        a.last_success = 1776938400;  // 2026-04-23T10:00:00Z
        a.next_refresh = 1776942000;  // 2026-04-23T11:00:00Z
        a.expires_at = 1778148000;    // 2026-05-07T10:00:00Z
        a.dnssec_status = "active";
        a.phase = "ok";
        a.stored_serial = 2024010101;
        a.last_check = 1776938400;
        a.last_transfer = 1776931200;  // 2026-04-23T08:00:00Z
        a.transfers_ok = 3;
        a.primaries = {"192.0.2.1:53", "192.0.2.2:53"};
        a.records = 1234;
        a.signature_expiry = 1777888800;   // 2026-05-04T10:00:00Z
        a.signature_rrset = "www.example.com. A";
        a.effective_expiry = 1777885200;   // 2026-05-04T09:00:00Z
        ZoneInfo b;
        b.name = "local.test.";
        b.kind = "file";
        b.mode = "presigned";
        b.source = "/etc/satellite/local.test.zone";
        b.last_failure = 1776938400;
        b.last_error = "line 3: bad TTL";
        b.phase = "expired";
        b.not_ready = "not served: the zone did not load";
        zone_list = {a, b};

        reply.enabled = true;
        reply.status = "active";
        reply.modified_on = 1776938400;  // 2026-04-23T10:00:00Z
        reply.algorithm = 13;
        reply.ksk = {key(12345, "KSK")};
        reply.zsk = {key(54321, "ZSK")};
        reply.ds_records = {DsInfo{12345, 13, 2, "A1B2C3"}};

        // Ours: a KSK and a ZSK; the peer's: a ZSK added by API and one seen at the primary.
        peer_reply.zone = "example.com.";
        peer_reply.algorithm = 13;
        peer_reply.keys = {peer_key(12345, 257, "OURKSK"), peer_key(54321, 256, "OURZSK")};
        peer_reply.peer_keys = {peer_key(4242, 256, "PEERZSK", "api", 1776938400),
                                peer_key(4343, 256, "PEERZSK2", "primary", 1776942000)};
    }

    static PeerKeyInfo peer_key(std::uint16_t tag, std::uint16_t flags, const std::string& public_key,
                                const std::string& source = "", std::int64_t added_at = 0) {
        PeerKeyInfo k;
        k.dnskey = "example.com. 3600 IN DNSKEY " + std::to_string(flags) + " 3 13 " + public_key;
        k.key_tag = tag;
        k.key_type = flags == 257 ? "KSK" : "ZSK";
        k.flags = flags;
        k.protocol = 3;
        k.algorithm = 13;
        k.public_key = public_key;
        k.source = source;
        k.added_at = added_at;
        return k;
    }

    static KeyInfo key(std::uint16_t tag, const std::string& type) {
        KeyInfo k;
        k.key_tag = tag;
        k.algorithm = 13;
        k.public_key = "base64" + std::to_string(tag);
        k.key_type = type;
        k.created_at = 1776938400;
        k.expires_at = type == "ZSK" ? 1779530400 : 0;  // 2026-05-23T10:00:00Z
        k.active = true;
        k.state = "active";
        k.next_transition = type == "ZSK" ? 1779530400 : 0;
        return k;
    }

    std::vector<ZoneInfo> zones() override {
        std::lock_guard lock(mu_);
        return zone_list;
    }

    std::optional<ZoneInfo> zone(const std::string& name) override {
        std::lock_guard lock(mu_);
        return find(name);
    }

    bool refresh(const std::string& name, bool full) override {
        std::lock_guard lock(mu_);
        auto z = find(name);
        if (!z || z->kind != "secondary") return false;
        refreshed.push_back(full ? "full " + z->name : z->name);
        return true;
    }

    DnssecReply dnssec(const std::string& zone, DnssecOp op, const DnssecRequest& req) override {
        std::lock_guard lock(mu_);
        dnssec_calls.push_back({zone, op, req});
        return reply;
    }

    PeerKeysReply peer_keys(const std::string& zone, PeerKeyOp op, const PeerKeysRequest& req) override {
        std::lock_guard lock(mu_);
        peer_calls.push_back({zone, op, req});
        return peer_reply;
    }

    std::string metrics() override {
        if (throw_on_metrics) throw std::runtime_error("metrics exploded");
        return "# TYPE satellite_zones gauge\nsatellite_zones 2\n";
    }

    // Recorded calls; read them after the HTTP answer has arrived.
    std::vector<DnssecCall> calls() {
        std::lock_guard lock(mu_);
        return dnssec_calls;
    }
    std::vector<PeerKeysCall> peer_key_calls() {
        std::lock_guard lock(mu_);
        return peer_calls;
    }
    std::vector<std::string> refreshes() {
        std::lock_guard lock(mu_);
        return refreshed;
    }

    // Scripted state; set before the requests that use it.
    std::vector<ZoneInfo> zone_list;
    DnssecReply reply;
    PeerKeysReply peer_reply;
    bool throw_on_metrics = false;

private:
    std::optional<ZoneInfo> find(const std::string& name) const {
        for (const auto& z : zone_list) {
            if (z.name == name || z.name == name + ".") return z;
        }
        return std::nullopt;
    }

    std::mutex mu_;
    std::vector<DnssecCall> dnssec_calls;
    std::vector<PeerKeysCall> peer_calls;
    std::vector<std::string> refreshed;
};

}  // namespace satellite::api::testing
