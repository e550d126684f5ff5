// REST API over a real socket: every route against a fake Control, auth and
// permissions, error statuses, seed 003 body shapes, and the server's limits.
#include "api/router.hpp"
#include "api/server.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "fake_control.hpp"

namespace satellite::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using asio::ip::tcp;
using testing::FakeControl;

const std::vector<std::string> kPermissions = {"zone:read",     "zone:refresh",   "dnssec:read",
                                               "dnssec:enable", "dnssec:disable", "dnssec:rotate",
                                               "dnssec:peer-keys"};

// Tokens: "ops" has everything, "only:<p>" just p, "but:<p>" all but p.
config::Api api_config() {
    config::Api c;
    c.listen = config::Endpoint{"127.0.0.1", 0};
    c.tokens.push_back({"ops", "secret-ops", kPermissions});
    for (const auto& p : kPermissions) {
        c.tokens.push_back({"only:" + p, "secret-only-" + p, {p}});
        std::vector<std::string> others;
        for (const auto& q : kPermissions) {
            if (q != p) others.push_back(q);
        }
        c.tokens.push_back({"but:" + p, "secret-but-" + p, others});
    }
    return c;
}

using Response = http::response<http::string_body>;

// One HTTP/1.1 connection to the server under test.
class Client {
public:
    explicit Client(std::uint16_t port) : socket_(io_) {
        socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    }

    Response request(http::verb method, const std::string& target, const std::string& token = "",
                     const std::string& body = "", bool keep_alive = true) {
        http::request<http::string_body> req(method, target, 11);
        req.set(http::field::host, "127.0.0.1");
        if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
        if (!body.empty()) {
            req.set(http::field::content_type, "application/json");
            req.body() = body;
        }
        req.keep_alive(keep_alive);
        req.prepare_payload();
        http::write(socket_, req);
        return read();
    }

    void write_raw(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }

    Response read() {
        Response res;
        http::read(socket_, buffer_, res);
        return res;
    }

    // True when the server has closed the connection (EOF or reset on read).
    bool closed_by_server() {
        beast::error_code ec;
        char c;
        std::size_t n = socket_.read_some(asio::buffer(&c, 1), ec);
        return n == 0 && ec;
    }

private:
    asio::io_context io_;
    tcp::socket socket_;
    beast::flat_buffer buffer_;
};

json::value parse(const std::string& body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    EXPECT_FALSE(ec) << "not JSON: " << body;
    return v;
}

std::vector<std::string> keys_of(const json::value& v) {
    std::vector<std::string> out;
    if (!v.is_object()) return out;
    for (const auto& kv : v.as_object()) out.emplace_back(kv.key());
    return out;
}

std::string error_of(const Response& r) {
    json::value v = parse(r.body());
    if (!v.is_object() || !v.as_object().contains("error")) return "<no error field: " + r.body() + ">";
    return std::string(v.at("error").as_string());
}

const std::vector<std::string> kKeyFields = {"key_tag",    "algorithm", "public_key", "key_type",       "created_at",
                                             "expires_at", "active",    "state",      "next_transition",
                                             "standby"};
const std::vector<std::string> kDsFields = {"key_tag", "algorithm", "digest_type", "digest"};

// Polls `ok` for up to 5 s (a closed connection is seen by the server a little later).
template <class F>
bool testing_wait_ok(F ok) {
    for (int i = 0; i < 100; ++i) {
        if (ok()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

class ApiTest : public ::testing::Test {
protected:
    void SetUp() override { start(); }
    void TearDown() override {
        if (server_) server_->stop();
    }

    void start(ServerLimits limits = {}) {
        if (server_) server_->stop();
        server_ = std::make_unique<Server>(config_, control_, limits);
        auto s = server_->start();
        ASSERT_TRUE(s.ok()) << s.error().message;
        ASSERT_NE(server_->bound_port(), 0);
    }

    Response get(const std::string& target, const std::string& token = "secret-ops") {
        return Client(server_->bound_port()).request(http::verb::get, target, token);
    }
    Response post(const std::string& target, const std::string& body = "", const std::string& token = "secret-ops") {
        return Client(server_->bound_port()).request(http::verb::post, target, token, body);
    }
    Response del(const std::string& target, const std::string& body = "", const std::string& token = "secret-ops") {
        return Client(server_->bound_port()).request(http::verb::delete_, target, token, body);
    }

    config::Api config_ = api_config();
    FakeControl control_;
    std::unique_ptr<Server> server_;
};

// ---- routes and bodies ----

TEST_F(ApiTest, HealthzNeedsNoToken) {
    Response r = get("/healthz", "");
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r[http::field::content_type], "application/json");
    EXPECT_EQ(r.body(), R"({"status":"ok"})");
}

TEST_F(ApiTest, ReadyzListsTheZonesThatAreNotReadyWithoutAToken) {
    Response r = get("/readyz", "");
    EXPECT_EQ(r.result_int(), 503);
    EXPECT_EQ(r.body(), R"({"status":"not ready","zones":2,"not_ready":[{"zone":"local.test.",)"
                        R"("reason":"not served: the zone did not load"}]})");
    control_.zone_list.pop_back();
    r = get("/readyz", "");
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), R"({"status":"ready","zones":1,"not_ready":[]})");
}

TEST_F(ApiTest, ZoneBodyCarriesTheZoneState) {
    Response r = get("/api/v1/zones/example.com");
    ASSERT_EQ(r.result_int(), 200);
    json::value v = json::parse(r.body());
    EXPECT_EQ(v.at("phase").as_string(), "ok");
    EXPECT_EQ(v.at("stored_serial").as_int64(), 2024010101);
    EXPECT_TRUE(v.at("notified_serial").is_null());
    EXPECT_EQ(v.at("last_transfer").as_string(), "2026-04-23T08:00:00Z");
    EXPECT_EQ(v.at("transfers_ok").as_int64(), 3);
    EXPECT_EQ(v.at("records").as_int64(), 1234);
    EXPECT_EQ(json::serialize(v.at("primaries")), R"(["192.0.2.1:53","192.0.2.2:53"])");
    EXPECT_TRUE(v.at("ready").as_bool());
    EXPECT_TRUE(v.at("not_ready").is_null());
}

TEST_F(ApiTest, MetricsArePrometheusText) {
    Response r = get("/metrics");
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r[http::field::content_type], "text/plain; version=0.0.4");
    EXPECT_EQ(r.body(), control_.metrics());
    EXPECT_EQ(get("/metrics", "").result_int(), 401);
    EXPECT_EQ(get("/metrics", "secret-only-dnssec:read").result_int(), 403);
}

TEST_F(ApiTest, ZoneListHasEveryFieldWithTimesAsRfc3339OrNull) {
    Response r = get("/api/v1/zones");
    ASSERT_EQ(r.result_int(), 200);
    EXPECT_EQ(r[http::field::content_type], "application/json");
    json::value v = parse(r.body());
    ASSERT_TRUE(v.is_array());
    ASSERT_EQ(v.as_array().size(), 2u);
    const json::value& a = v.as_array()[0];
    EXPECT_EQ(keys_of(a), (std::vector<std::string>{"name", "kind", "mode", "serial", "serving", "source",
                                                    "last_success", "last_failure", "last_error", "next_refresh",
                                                    "expires_at", "dnssec_status", "phase", "stored_serial",
                                                    "notified_serial", "last_check", "last_transfer", "last_attempt",
                                                    "failures", "transfers_ok", "transfers_failed", "primaries",
                                                    "records", "ready", "not_ready", "signature_expiry",
                                                    "signature_expiry_rrset", "effective_expiry",
                                                    "multi_signer", "parent_ds", "last_transfer_kind",
                                                    "transfer_progress", "signing_progress"}));
    EXPECT_TRUE(a.at("multi_signer").is_null());  // not a multi-signer zone with peers
    EXPECT_TRUE(a.at("parent_ds").is_null());     // no parent_ds_check
    EXPECT_EQ(a.at("name"), "example.com.");
    EXPECT_EQ(a.at("kind"), "secondary");
    EXPECT_EQ(a.at("mode"), "live");
    EXPECT_EQ(a.at("serial"), 2024010101);
    EXPECT_EQ(a.at("serving"), true);
    EXPECT_EQ(a.at("source"), "192.0.2.1:53");
    EXPECT_EQ(a.at("last_success"), "2026-04-23T10:00:00Z");
    EXPECT_TRUE(a.at("last_failure").is_null());
    EXPECT_TRUE(a.at("last_error").is_null());
    EXPECT_EQ(a.at("next_refresh"), "2026-04-23T11:00:00Z");
    EXPECT_EQ(a.at("expires_at"), "2026-05-07T10:00:00Z");
    EXPECT_EQ(a.at("dnssec_status"), "active");
    EXPECT_EQ(a.at("signature_expiry"), "2026-05-04T10:00:00Z");
    EXPECT_EQ(a.at("signature_expiry_rrset"), "www.example.com. A");
    EXPECT_EQ(a.at("effective_expiry"), "2026-05-04T09:00:00Z");
    const json::value& b = v.as_array()[1];
    EXPECT_TRUE(b.at("signature_expiry").is_null());
    EXPECT_TRUE(b.at("signature_expiry_rrset").is_null());
    EXPECT_TRUE(b.at("effective_expiry").is_null());
    EXPECT_TRUE(b.at("serial").is_null());
    EXPECT_TRUE(b.at("last_success").is_null());
    EXPECT_EQ(b.at("last_failure"), "2026-04-23T10:00:00Z");
    EXPECT_EQ(b.at("last_error"), "line 3: bad TTL");
    EXPECT_TRUE(b.at("dnssec_status").is_null());
}

// RFC 8901 §8 probe: each provider, whether it answered, agrees, and why not.
TEST_F(ApiTest, ZoneBodyShowsTheMultiSignerProviders) {
    auto& z = control_.zone_list[0];
    z.mode = "multi-signer";
    z.has_providers = true;
    z.providers_checked_at = 1776938400;  // 2026-04-23T10:00:00Z
    z.providers = {{"192.0.2.7:53", true, true, "", {}},
                   {"192.0.2.8:53", true, false, "", {"lacks our ZSK 4711 in its DNSKEY RRset"}},
                   {"192.0.2.9:53", false, false, "connect: Connection refused", {}}};
    Response r = get("/api/v1/zones/example.com");
    ASSERT_EQ(r.result_int(), 200);
    json::value v = parse(r.body());
    const json::value& m = v.at("multi_signer");
    EXPECT_EQ(m.at("checked_at"), "2026-04-23T10:00:00Z");
    EXPECT_EQ(m.at("consistent"), false);
    ASSERT_EQ(m.at("providers").as_array().size(), 3u);
    const json::value& bad = m.at("providers").as_array()[1];
    EXPECT_EQ(bad.at("server"), "192.0.2.8:53");
    EXPECT_EQ(bad.at("consistent"), false);
    EXPECT_EQ(json::serialize(bad.at("problems")), R"(["lacks our ZSK 4711 in its DNSKEY RRset"])");
    EXPECT_EQ(m.at("providers").as_array()[2].at("error"), "connect: Connection refused");
    EXPECT_TRUE(m.at("providers").as_array()[0].at("error").is_null());
    z.providers.resize(1);
    EXPECT_EQ(parse(get("/api/v1/zones/example.com").body()).at("multi_signer").at("consistent"), true);
}

// Issue 18: the DS check's answer per parent server (parent_ds_check).
TEST_F(ApiTest, ZoneBodyShowsEachParentServersDs) {
    auto& z = control_.zone_list[0];
    z.has_parent_check = true;
    z.parent_checked_at = 1776938400;  // 2026-04-23T10:00:00Z
    z.parent_servers = {{"192.0.2.1:53", true, {1111}, ""}, {"192.0.2.2:53", false, {}, "connect: Connection refused"}};
    json::value v = parse(get("/api/v1/zones/example.com").body());
    const json::value& p = v.at("parent_ds");
    EXPECT_EQ(p.at("checked_at"), "2026-04-23T10:00:00Z");
    ASSERT_EQ(p.at("servers").as_array().size(), 2u);
    EXPECT_EQ(json::serialize(p.at("servers").as_array()[0]),
              R"({"server":"192.0.2.1:53","answered":true,"our_ds_key_tags":[1111],"error":null})");
    EXPECT_EQ(p.at("servers").as_array()[1].at("error"), "connect: Connection refused");
}

TEST_F(ApiTest, ZoneShowWithOrWithoutFinalDot) {
    for (const char* target : {"/api/v1/zones/example.com", "/api/v1/zones/example.com.",
                               "/api/v1/zones/example%2Ecom", "/api/v1/zones/example.com/"}) {
        Response r = get(target);
        ASSERT_EQ(r.result_int(), 200) << target;
        EXPECT_EQ(parse(r.body()).at("name"), "example.com.") << target;
    }
    Response r = get("/api/v1/zones/nowhere.example");
    EXPECT_EQ(r.result_int(), 404);
    EXPECT_EQ(error_of(r), "unknown zone nowhere.example");
    EXPECT_EQ(get("/api/v1/zones/bad%zzname").result_int(), 400);
}

TEST_F(ApiTest, RefreshQueuesOnlySecondaryZones) {
    Response r = post("/api/v1/zones/example.com/refresh");
    EXPECT_EQ(r.result_int(), 202);
    EXPECT_EQ(r.body(), R"({"zone":"example.com.","action":"refresh","message":"refresh queued"})");
    EXPECT_EQ(control_.refreshes(), std::vector<std::string>{"example.com."});

    EXPECT_EQ(post("/api/v1/zones/nowhere.example/refresh").result_int(), 404);
    Response file = post("/api/v1/zones/local.test/refresh");
    EXPECT_EQ(file.result_int(), 409);
    EXPECT_NE(error_of(file).find("nothing to refresh"), std::string::npos);
    EXPECT_EQ(control_.refreshes().size(), 1u);
}

TEST_F(ApiTest, RetransferAsksForAFullTransfer) {
    Response r = post("/api/v1/zones/example.com/retransfer");
    EXPECT_EQ(r.result_int(), 202);
    EXPECT_EQ(r.body(), R"({"zone":"example.com.","action":"retransfer","message":"full transfer (AXFR) queued"})");
    EXPECT_EQ(control_.refreshes(), std::vector<std::string>{"full example.com."});
    EXPECT_EQ(post("/api/v1/zones/nowhere.example/retransfer").result_int(), 404);
    EXPECT_EQ(post("/api/v1/zones/local.test/retransfer").result_int(), 409);
    EXPECT_EQ(get("/api/v1/zones/example.com/retransfer").result_int(), 405);
    EXPECT_EQ(control_.refreshes().size(), 1u);
}

TEST_F(ApiTest, DnssecGetAndSyncShowTheStateAsSeed003) {
    for (bool sync : {false, true}) {
        Response r = sync ? post("/api/v1/domains/example.com/dnssec/sync") : get("/api/v1/domains/example.com/dnssec");
        ASSERT_EQ(r.result_int(), 200) << r.body();
        json::value v = parse(r.body());
        EXPECT_EQ(keys_of(v), (std::vector<std::string>{"enabled", "status", "modified_on", "algorithm", "ksk", "zsk",
                                                        "ds_records"}));
        EXPECT_EQ(v.at("enabled"), true);
        EXPECT_EQ(v.at("status"), "active");
        EXPECT_EQ(v.at("modified_on"), "2026-04-23T10:00:00Z");
        EXPECT_EQ(v.at("algorithm"), 13);
        const json::value& ksk = v.at("ksk").as_array().at(0);
        EXPECT_EQ(keys_of(ksk), kKeyFields);
        EXPECT_EQ(ksk.at("key_tag"), 12345);
        EXPECT_EQ(ksk.at("algorithm"), 13);
        EXPECT_EQ(ksk.at("public_key"), "base6412345");
        EXPECT_EQ(ksk.at("key_type"), "KSK");
        EXPECT_EQ(ksk.at("created_at"), "2026-04-23T10:00:00Z");
        EXPECT_TRUE(ksk.at("expires_at").is_null());
        EXPECT_EQ(ksk.at("active"), true);
        EXPECT_EQ(ksk.at("state"), "active");
        EXPECT_TRUE(ksk.at("next_transition").is_null());
        const json::value& zsk = v.at("zsk").as_array().at(0);
        EXPECT_EQ(zsk.at("key_type"), "ZSK");
        EXPECT_EQ(zsk.at("expires_at"), "2026-05-23T10:00:00Z");
        EXPECT_EQ(zsk.at("next_transition"), "2026-05-23T10:00:00Z");
        const json::value& ds = v.at("ds_records").as_array().at(0);
        EXPECT_EQ(keys_of(ds), kDsFields);
        EXPECT_EQ(ds.at("digest"), "A1B2C3");
    }
    auto calls = control_.calls();
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0].zone, "example.com.");
    EXPECT_EQ(calls[0].op, DnssecOp::Get);
    EXPECT_EQ(calls[1].op, DnssecOp::Sync);
}

TEST_F(ApiTest, EnableBodyAndAnswer) {
    control_.reply.status = "pending_ds";
    control_.reply.message = "DNSSEC enabled";
    control_.reply.new_ksk = FakeControl::key(111, "KSK");
    control_.reply.new_zsk = FakeControl::key(222, "ZSK");

    Response r = post("/api/v1/domains/example.com/dnssec/enable");
    ASSERT_EQ(r.result_int(), 200) << r.body();
    json::value v = parse(r.body());
    EXPECT_EQ(keys_of(v), (std::vector<std::string>{"domain_id", "action", "message", "ksk", "zsk", "ds_records"}));
    EXPECT_EQ(v.at("domain_id"), "example.com");
    EXPECT_EQ(v.at("action"), "enable");
    EXPECT_EQ(v.at("message"), "DNSSEC enabled");
    EXPECT_EQ(v.at("ksk").at("key_tag"), 111);
    EXPECT_EQ(keys_of(v.at("zsk")), kKeyFields);
    EXPECT_EQ(v.at("zsk").at("key_tag"), 222);
    EXPECT_EQ(v.at("ds_records").as_array().size(), 1u);

    EXPECT_EQ(post("/api/v1/domains/example.com/dnssec/enable", R"({"algorithm": 15})").result_int(), 200);
    EXPECT_EQ(post("/api/v1/domains/example.com/dnssec/enable", "{}").result_int(), 200);
    auto calls = control_.calls();
    ASSERT_EQ(calls.size(), 3u);
    EXPECT_EQ(calls[0].op, DnssecOp::Enable);
    EXPECT_FALSE(calls[0].request.algorithm.has_value());
    EXPECT_EQ(calls[1].request.algorithm, 15);
    EXPECT_FALSE(calls[2].request.algorithm.has_value());
}

TEST_F(ApiTest, EnableRefusesBadBodiesWithoutCallingControl) {
    for (const char* body : {"{not json", R"({"algorithm": "13"})", R"({"algorithm": 13.5})", R"({"algorithm": 1e3})",
                             R"({"algorithm": null})", R"({"algorithm": -1})", R"({"algorithm": 256})",
                             R"({"algorithm": 99999999999999999999})", "[13]", "13"}) {
        Response r = post("/api/v1/domains/example.com/dnssec/enable", body);
        EXPECT_EQ(r.result_int(), 400) << body;
        EXPECT_FALSE(error_of(r).empty()) << body;
    }
    EXPECT_TRUE(control_.calls().empty());
}

TEST_F(ApiTest, DisableAndConfirmDsRemoved) {
    Response r = post("/api/v1/domains/example.com/dnssec/disable");
    ASSERT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), R"({"domain_id":"example.com","action":"disable","message":"DNSSEC disabled"})");
    control_.reply.message = "DS removal confirmed; zone unsigned";
    r = post("/api/v1/domains/example.com/dnssec/confirm-ds-removed");
    ASSERT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(),
              R"({"domain_id":"example.com","action":"confirm-ds-removed",)"
              R"("message":"DS removal confirmed; zone unsigned"})");
    auto calls = control_.calls();
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0].op, DnssecOp::Disable);
    EXPECT_EQ(calls[1].op, DnssecOp::ConfirmDsRemoved);
}

TEST_F(ApiTest, RotateZskAndKsk) {
    control_.reply.old_key = FakeControl::key(54321, "ZSK");
    control_.reply.new_key = FakeControl::key(54322, "ZSK");
    control_.reply.message = "ZSK rollover started";
    Response r = post("/api/v1/domains/example.com/dnssec/rotate-zsk");
    ASSERT_EQ(r.result_int(), 200);
    json::value v = parse(r.body());
    EXPECT_EQ(keys_of(v), (std::vector<std::string>{"domain_id", "action", "message", "old_key", "new_key"}));
    EXPECT_EQ(v.at("action"), "rotate-zsk");
    EXPECT_EQ(v.at("old_key").at("key_tag"), 54321);
    EXPECT_EQ(v.at("new_key").at("key_tag"), 54322);

    // rotate-ksk lists only the new KSK's DS: the one to publish (seed 003).
    control_.reply.old_key = FakeControl::key(12345, "KSK");
    control_.reply.new_key = FakeControl::key(23456, "KSK");
    control_.reply.ds_records = {DsInfo{12345, 13, 2, "AA"}, DsInfo{23456, 13, 2, "BB"}};
    control_.reply.publish_after = 1776938400;  // 2026-04-23T10:00:00Z
    r = post("/api/v1/domains/example.com/dnssec/rotate-ksk");
    ASSERT_EQ(r.result_int(), 200);
    v = parse(r.body());
    EXPECT_EQ(keys_of(v), (std::vector<std::string>{"domain_id", "action", "old_key", "new_key", "ds_records",
                                                    "publish_after"}));
    // Issue 15: from when the parent may serve the new DS.
    EXPECT_EQ(v.at("publish_after"), "2026-04-23T10:00:00Z");
    EXPECT_EQ(v.at("action"), "rotate-ksk");
    EXPECT_EQ(v.at("old_key").at("key_tag"), 12345);
    EXPECT_EQ(v.at("new_key").at("key_tag"), 23456);
    ASSERT_EQ(v.at("ds_records").as_array().size(), 1u);
    EXPECT_EQ(v.at("ds_records").as_array()[0].at("key_tag"), 23456);
    EXPECT_EQ(v.at("ds_records").as_array()[0].at("digest"), "BB");

    auto calls = control_.calls();
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0].op, DnssecOp::RotateZsk);
    EXPECT_EQ(calls[1].op, DnssecOp::RotateKsk);
}

TEST_F(ApiTest, ConfirmDsPublishedPassesTheRecords) {
    Response r = post("/api/v1/domains/example.com./dnssec/confirm-ds-published",
                      R"({"ds_records":[{"key_tag":12345,"algorithm":13,"digest_type":2,"digest":"a1b2 c3d4"}]})");
    ASSERT_EQ(r.result_int(), 200) << r.body();
    EXPECT_EQ(r.body(),
              R"({"domain_id":"example.com.","action":"confirm-ds-published","message":"DS publication confirmed"})");
    auto calls = control_.calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].zone, "example.com.");
    EXPECT_EQ(calls[0].op, DnssecOp::ConfirmDsPublished);
    ASSERT_EQ(calls[0].request.ds_records.size(), 1u);
    const DsInfo& d = calls[0].request.ds_records[0];
    EXPECT_EQ(d.key_tag, 12345);
    EXPECT_EQ(d.algorithm, 13);
    EXPECT_EQ(d.digest_type, 2);
    EXPECT_EQ(d.digest, "A1B2C3D4");
}

TEST_F(ApiTest, ConfirmDsPublishedRefusesMalformedRecords) {
    const std::string target = "/api/v1/domains/example.com/dnssec/confirm-ds-published";
    for (const char* body : {
             "", "{", "[]", "{}", R"({"ds_records": {}})", R"({"ds_records": []})", R"({"ds_records": [1]})",
             R"({"ds_records":[{"algorithm":13,"digest_type":2,"digest":"AB"}]})",
             R"({"ds_records":[{"key_tag":"1","algorithm":13,"digest_type":2,"digest":"AB"}]})",
             R"({"ds_records":[{"key_tag":65536,"algorithm":13,"digest_type":2,"digest":"AB"}]})",
             R"({"ds_records":[{"key_tag":1,"algorithm":13.0,"digest_type":2,"digest":"AB"}]})",
             R"({"ds_records":[{"key_tag":1,"algorithm":13,"digest_type":2}]})",
             R"({"ds_records":[{"key_tag":1,"algorithm":13,"digest_type":2,"digest":12}]})",
             R"({"ds_records":[{"key_tag":1,"algorithm":13,"digest_type":2,"digest":"XYZ0"}]})",
             R"({"ds_records":[{"key_tag":1,"algorithm":13,"digest_type":2,"digest":"ABC"}]})",
             R"({"ds_records":[{"key_tag":1,"algorithm":13,"digest_type":2,"digest":""}]})"}) {
        Response r = post(target, body);
        EXPECT_EQ(r.result_int(), 400) << body;
        EXPECT_FALSE(error_of(r).empty()) << body;
    }
    EXPECT_TRUE(control_.calls().empty());
}

TEST_F(ApiTest, ControlErrorsPassThroughAsErrorBodies) {
    for (int status : {400, 404, 409}) {
        control_.reply.http_status = status;
        control_.reply.message = "status " + std::to_string(status) + " from the control";
        Response r = post("/api/v1/domains/example.com/dnssec/enable");
        EXPECT_EQ(r.result_int(), status);
        EXPECT_EQ(r.body(), R"({"error":"status )" + std::to_string(status) + R"( from the control"})");
    }
    control_.reply.http_status = 0;  // not an HTTP status: a bug in the control
    EXPECT_EQ(get("/api/v1/domains/example.com/dnssec").result_int(), 500);
}

TEST_F(ApiTest, ControlThatThrowsGives500AndTheServerLivesOn) {
    control_.throw_on_metrics = true;
    Response r = get("/metrics");
    EXPECT_EQ(r.result_int(), 500);
    EXPECT_EQ(error_of(r), "internal error; see the server log");
    EXPECT_EQ(get("/healthz", "").result_int(), 200);
}


// ---- multi-signer key exchange: .../dnssec/peer-keys ----

const std::string kPeerKeys = "/api/v1/domains/example.com/dnssec/peer-keys";
const std::vector<std::string> kPeerKeyFields = {"dnskey",    "key_tag",   "key_type",  "flags",
                                                 "protocol",  "algorithm", "public_key"};
const std::vector<std::string> kImportedKeyFields = {"dnskey",    "key_tag",    "key_type", "flags",   "protocol",
                                                     "algorithm", "public_key", "source",   "added_at"};

TEST_F(ApiTest, PeerKeysGetShowsOurKeysAndThePeers) {
    Response r = get(kPeerKeys);
    ASSERT_EQ(r.result_int(), 200) << r.body();
    EXPECT_EQ(r[http::field::content_type], "application/json");
    json::value v = parse(r.body());
    EXPECT_EQ(keys_of(v), (std::vector<std::string>{"zone", "algorithm", "keys", "peer_keys"}));
    EXPECT_EQ(v.at("zone"), "example.com.");
    EXPECT_EQ(v.at("algorithm"), 13);
    ASSERT_EQ(v.at("keys").as_array().size(), 2u);
    const json::value& ksk = v.at("keys").as_array()[0];
    EXPECT_EQ(keys_of(ksk), kPeerKeyFields);
    EXPECT_EQ(ksk.at("dnskey"), "example.com. 3600 IN DNSKEY 257 3 13 OURKSK");
    EXPECT_EQ(ksk.at("key_tag"), 12345);
    EXPECT_EQ(ksk.at("key_type"), "KSK");
    EXPECT_EQ(ksk.at("flags"), 257);
    EXPECT_EQ(ksk.at("protocol"), 3);
    EXPECT_EQ(ksk.at("algorithm"), 13);
    EXPECT_EQ(ksk.at("public_key"), "OURKSK");
    EXPECT_EQ(v.at("keys").as_array()[1].at("key_type"), "ZSK");
    ASSERT_EQ(v.at("peer_keys").as_array().size(), 2u);
    const json::value& peer = v.at("peer_keys").as_array()[0];
    EXPECT_EQ(keys_of(peer), kImportedKeyFields);
    EXPECT_EQ(peer.at("dnskey"), "example.com. 3600 IN DNSKEY 256 3 13 PEERZSK");
    EXPECT_EQ(peer.at("key_tag"), 4242);
    EXPECT_EQ(peer.at("source"), "api");
    EXPECT_EQ(peer.at("added_at"), "2026-04-23T10:00:00Z");
    EXPECT_EQ(v.at("peer_keys").as_array()[1].at("source"), "primary");
    EXPECT_EQ(v.at("peer_keys").as_array()[1].at("added_at"), "2026-04-23T11:00:00Z");

    EXPECT_EQ(get(kPeerKeys + "/").result_int(), 200);
    auto calls = control_.peer_key_calls();
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0].zone, "example.com.");
    EXPECT_EQ(calls[0].op, PeerKeyOp::Get);
    EXPECT_TRUE(calls[0].request.dnskeys.empty());
    EXPECT_FALSE(calls[0].request.key_tag.has_value());
    EXPECT_TRUE(control_.calls().empty());
}

TEST_F(ApiTest, PeerKeysGetWithNoKeysHasEmptyLists) {
    control_.peer_reply.keys.clear();
    control_.peer_reply.peer_keys.clear();
    Response r = get("/api/v1/domains/example.com./dnssec/peer-keys");
    ASSERT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), R"({"zone":"example.com.","algorithm":13,"keys":[],"peer_keys":[]})");
    EXPECT_EQ(control_.peer_key_calls().at(0).zone, "example.com.");
}

// The contract of DESIGN.md §5: GET on provider A, POST the same bytes to provider B.
TEST_F(ApiTest, PeerKeysGetBodyPostedAsItIsImportsOnlyTheKeys) {
    Response got = get(kPeerKeys);
    ASSERT_EQ(got.result_int(), 200);
    control_.peer_reply.added = 2;
    Response r = post(kPeerKeys, got.body());
    ASSERT_EQ(r.result_int(), 200) << r.body();
    json::value v = parse(r.body());
    EXPECT_EQ(keys_of(v), (std::vector<std::string>{"zone", "algorithm", "keys", "peer_keys", "added", "message"}));
    EXPECT_EQ(v.at("added"), 2);
    EXPECT_EQ(v.at("message"), "2 peer keys added");
    EXPECT_EQ(keys_of(v.at("peer_keys").as_array().at(0)), kImportedKeyFields);
    auto calls = control_.peer_key_calls();
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[1].zone, "example.com.");
    EXPECT_EQ(calls[1].op, PeerKeyOp::Add);
    EXPECT_EQ(calls[1].request.dnskeys, (std::vector<std::string>{"example.com. 3600 IN DNSKEY 257 3 13 OURKSK",
                                                                  "example.com. 3600 IN DNSKEY 256 3 13 OURZSK"}));
    EXPECT_FALSE(calls[1].request.key_tag.has_value());

    control_.peer_reply.added = 1;
    control_.peer_reply.message = "1 peer key added to example.com.";
    v = parse(post(kPeerKeys, got.body()).body());
    EXPECT_EQ(v.at("message"), "1 peer key added to example.com.");
}

TEST_F(ApiTest, PeerKeysPostAcceptsStringsObjectsAndBareFields) {
    Response r = post("/api/v1/domains/example.com./dnssec/peer-keys",
                      R"({"keys": [" example.com. 3600 IN DNSKEY 256 3 13 AAAA\n",)"
                      R"( {"dnskey": "example.com. 300 IN DNSKEY 256 3 13 BBBB", "flags": 257, "extra": [1]},)"
                      R"( {"flags": 257, "protocol": 3, "algorithm": 13, "public_key": "CC CC", "key_tag": 7}],)"
                      R"( "zone": "other.example.", "algorithm": 8, "peer_keys": ["ignored"], "future": {}})");
    ASSERT_EQ(r.result_int(), 200) << r.body();
    r = post(kPeerKeys, R"({"dnskey": "example.com. 3600 IN DNSKEY 256 3 13 DDDD"})");
    ASSERT_EQ(r.result_int(), 200) << r.body();
    EXPECT_EQ(parse(r.body()).at("message"), "0 peer keys added");
    auto calls = control_.peer_key_calls();
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0].zone, "example.com.");
    EXPECT_EQ(calls[0].request.dnskeys, (std::vector<std::string>{"example.com. 3600 IN DNSKEY 256 3 13 AAAA",
                                                                  "example.com. 300 IN DNSKEY 256 3 13 BBBB",
                                                                  "example.com. 3600 IN DNSKEY 257 3 13 CC CC"}));
    EXPECT_EQ(calls[1].op, PeerKeyOp::Add);
    EXPECT_EQ(calls[1].request.dnskeys, std::vector<std::string>{"example.com. 3600 IN DNSKEY 256 3 13 DDDD"});
}

TEST_F(ApiTest, PeerKeysBodiesWithWrongTypesAre400AndNameTheElement) {
    struct Case {
        std::string body;
        std::string error;  // a part of the message
    };
    const std::string k = R"("example.com. 3600 IN DNSKEY 256 3 13 AAAA")";
    for (const auto& c : std::vector<Case>{
             {"", "not valid JSON"},
             {"{not json", "not valid JSON"},
             {"[" + k + "]", "must be a JSON object"},
             {"{}", "needs \"keys\""},
             {R"({"peer_keys": [)" + k + "]}", "needs \"keys\""},
             {R"({"keys": null})", "\"keys\" must be a list"},
             {R"({"keys": )" + k + "}", "\"keys\" must be a list"},
             {R"({"keys": []})", "\"keys\" is empty"},
             {R"({"keys": [1]})", "keys[0] must be a DNSKEY record"},
             {R"({"keys": [)" + k + R"(, null]})", "keys[1] must be a DNSKEY record"},
             {R"({"keys": [)" + k + R"(, [)" + k + "]]}", "keys[1] must be a DNSKEY record"},
             {R"({"keys": [)" + k + R"(, "  "]})", "keys[1] is an empty string"},
             {R"({"keys": [{"dnskey": 256}]})", "keys[0]: \"dnskey\" must be a string"},
             {R"({"keys": [{"dnskey": ""}]})", "keys[0]: \"dnskey\" is empty"},
             {R"({"keys": [{}]})", "keys[0]: \"flags\" is missing"},
             {R"({"keys": [{"flags": "256", "protocol": 3, "algorithm": 13, "public_key": "AA"}]})",
              "keys[0]: \"flags\" must be an integer"},
             {R"({"keys": [{"flags": 70000, "protocol": 3, "algorithm": 13, "public_key": "AA"}]})",
              "keys[0]: \"flags\" must be from 0 to 65535"},
             {R"({"keys": [{"flags": 256, "protocol": 3.0, "algorithm": 13, "public_key": "AA"}]})",
              "keys[0]: \"protocol\" must be an integer"},
             {R"({"keys": [{"flags": 256, "protocol": 3, "algorithm": 256, "public_key": "AA"}]})",
              "keys[0]: \"algorithm\" must be from 0 to 255"},
             {R"({"keys": [{"flags": 256, "protocol": 3, "algorithm": 13}]})",
              "keys[0]: \"public_key\" must be a base64 string"},
             {R"({"keys": [{"flags": 256, "protocol": 3, "algorithm": 13, "public_key": 5}]})",
              "keys[0]: \"public_key\" must be a base64 string"},
             {R"({"keys": [{"flags": 256, "protocol": 3, "algorithm": 13, "public_key": ""}]})",
              "keys[0]: \"public_key\" is empty"},
             {R"({"dnskey": 5})", "\"dnskey\" must be a DNSKEY record (a string)"},
             {R"({"dnskey": {"dnskey": )" + k + "}}", "\"dnskey\" must be a DNSKEY record (a string)"},
             {R"({"dnskey": ""})", "is an empty string"},
             {R"({"dnskey": )" + k + R"(, "keys": [)" + k + "]}", "either \"keys\" or \"dnskey\""},
         }) {
        Response r = post(kPeerKeys, c.body);
        EXPECT_EQ(r.result_int(), 400) << c.body;
        EXPECT_NE(error_of(r).find(c.error), std::string::npos) << c.body << " -> " << error_of(r);
        if (c.body.empty()) continue;  // DELETE without a body has its own message
        Response d = del(kPeerKeys, c.body);
        EXPECT_EQ(d.result_int(), 400) << "DELETE " << c.body;
        EXPECT_EQ(error_of(d), error_of(r)) << c.body;
    }
    EXPECT_TRUE(control_.peer_key_calls().empty());
}

TEST_F(ApiTest, PeerKeysDeleteByKeyTagOrByRecord) {
    control_.peer_reply.removed = 1;
    Response r = del(kPeerKeys + "/4242");
    ASSERT_EQ(r.result_int(), 200) << r.body();
    json::value v = parse(r.body());
    EXPECT_EQ(keys_of(v), (std::vector<std::string>{"zone", "algorithm", "keys", "peer_keys", "removed", "message"}));
    EXPECT_EQ(v.at("removed"), 1);
    EXPECT_EQ(v.at("message"), "1 peer key removed");
    EXPECT_EQ(v.at("zone"), "example.com.");
    EXPECT_EQ(v.at("peer_keys").as_array().size(), 2u);

    EXPECT_EQ(del(kPeerKeys + "/0").result_int(), 200);
    EXPECT_EQ(del(kPeerKeys + "/65535", R"({"ignored": true})").result_int(), 200);
    EXPECT_EQ(del(kPeerKeys, R"({"dnskey": "example.com. 3600 IN DNSKEY 256 3 13 PEERZSK"})").result_int(), 200);
    // A GET body removes exactly its "keys" too (e.g. a provider leaving the group).
    EXPECT_EQ(del(kPeerKeys, get(kPeerKeys).body()).result_int(), 200);

    auto calls = control_.peer_key_calls();
    ASSERT_EQ(calls.size(), 6u);
    EXPECT_EQ(calls[0].zone, "example.com.");
    EXPECT_EQ(calls[0].op, PeerKeyOp::Remove);
    EXPECT_EQ(calls[0].request.key_tag, 4242);
    EXPECT_TRUE(calls[0].request.dnskeys.empty());
    EXPECT_EQ(calls[1].request.key_tag, 0);
    EXPECT_EQ(calls[2].request.key_tag, 65535);
    EXPECT_TRUE(calls[2].request.dnskeys.empty());
    EXPECT_EQ(calls[3].op, PeerKeyOp::Remove);
    EXPECT_FALSE(calls[3].request.key_tag.has_value());
    EXPECT_EQ(calls[3].request.dnskeys, std::vector<std::string>{"example.com. 3600 IN DNSKEY 256 3 13 PEERZSK"});
    EXPECT_EQ(calls[4].op, PeerKeyOp::Get);
    EXPECT_EQ(calls[5].op, PeerKeyOp::Remove);
    EXPECT_EQ(calls[5].request.dnskeys.size(), 2u);
    EXPECT_EQ(calls[5].request.dnskeys.at(0), "example.com. 3600 IN DNSKEY 257 3 13 OURKSK");
}

TEST_F(ApiTest, PeerKeysDeleteRefusesBadKeyTagsAndAMissingBody) {
    for (const char* tag : {"70000", "65536", "abc", "-1", "+1", "12a", "0x10", "1.5", "%20", "99999999999999999999"}) {
        Response r = del(kPeerKeys + "/" + tag);
        EXPECT_EQ(r.result_int(), 400) << tag;
        EXPECT_NE(error_of(r).find("must be a decimal number from 0 to 65535"), std::string::npos) << tag;
    }
    EXPECT_EQ(error_of(del(kPeerKeys + "/%FF%0A1")), "key tag '??1' must be a decimal number from 0 to 65535");
    EXPECT_EQ(error_of(del(kPeerKeys + "/" + std::string(30, '7'))),
              "key tag '777777777777777777777777...' must be a decimal number from 0 to 65535");
    Response r = del(kPeerKeys, "");
    EXPECT_EQ(r.result_int(), 400);
    EXPECT_NE(error_of(r).find("needs the records to remove"), std::string::npos) << error_of(r);
    EXPECT_EQ(del(kPeerKeys, " \r\n").result_int(), 400);
    EXPECT_TRUE(control_.peer_key_calls().empty());
}

TEST_F(ApiTest, PeerKeysAuthComesBeforeTheBody) {
    // No token: 401 even for a bad key tag or body; a token without the permission: 403.
    Response none = del(kPeerKeys + "/abc", "", "");
    EXPECT_EQ(none.result_int(), 401);
    EXPECT_EQ(none[http::field::www_authenticate], R"(Bearer realm="satellite")");
    EXPECT_EQ(post(kPeerKeys, "{bad", "").result_int(), 401);
    EXPECT_EQ(get(kPeerKeys, "").result_int(), 401);

    Response reader = post(kPeerKeys, "{bad", "secret-only-dnssec:read");
    EXPECT_EQ(reader.result_int(), 403);
    EXPECT_EQ(error_of(reader), "token 'only:dnssec:read' lacks the permission 'dnssec:peer-keys'");
    EXPECT_EQ(del(kPeerKeys + "/abc", "", "secret-only-dnssec:read").result_int(), 403);
    EXPECT_EQ(del(kPeerKeys + "/4242", "", "secret-but-dnssec:peer-keys").result_int(), 403);
    Response peer = get(kPeerKeys, "secret-only-dnssec:peer-keys");
    EXPECT_EQ(peer.result_int(), 403);
    EXPECT_EQ(error_of(peer), "token 'only:dnssec:peer-keys' lacks the permission 'dnssec:read'");
    // Other permissions do not stand in for dnssec:peer-keys; dnssec:rotate no longer does.
    EXPECT_EQ(post(kPeerKeys, R"({"dnskey":"x"})", "secret-but-dnssec:peer-keys").result_int(), 403);
    EXPECT_EQ(post(kPeerKeys, R"({"dnskey":"x"})", "secret-only-dnssec:rotate").result_int(), 403);
    // Path before method before token: PUT without a token is 405, an unknown path 404.
    EXPECT_EQ(Client(server_->bound_port()).request(http::verb::put, kPeerKeys, "").result_int(), 405);
    EXPECT_EQ(get(kPeerKeys + "/1/2", "").result_int(), 404);
    EXPECT_TRUE(control_.peer_key_calls().empty());

    EXPECT_EQ(get(kPeerKeys, "secret-only-dnssec:read").result_int(), 200);
    EXPECT_EQ(del(kPeerKeys + "/4242", "", "secret-only-dnssec:peer-keys").result_int(), 200);
    EXPECT_EQ(control_.peer_key_calls().size(), 2u);
}

TEST_F(ApiTest, PeerKeysControlErrorsPassThroughAsErrorBodies) {
    const std::string body = R"({"keys": ["example.com. 3600 IN DNSKEY 256 3 8 AAAA"]})";
    for (int status : {400, 404, 409, 500, 503}) {
        control_.peer_reply.http_status = status;
        control_.peer_reply.message = "status " + std::to_string(status) + " from the control";
        const std::string expected = R"({"error":"status )" + std::to_string(status) + R"( from the control"})";
        for (Response r : {get(kPeerKeys), post(kPeerKeys, body), del(kPeerKeys + "/4242"), del(kPeerKeys, body)}) {
            EXPECT_EQ(r.result_int(), status) << r.body();
            EXPECT_EQ(r.body(), expected);
        }
    }
    control_.peer_reply.http_status = 404;
    control_.peer_reply.message.clear();
    EXPECT_EQ(error_of(get(kPeerKeys)), "request refused");
    control_.peer_reply.http_status = 302;  // not a status the control may give
    Response r = post(kPeerKeys, body);
    EXPECT_EQ(r.result_int(), 500);
    EXPECT_EQ(error_of(r), "internal error; see the server log");
    EXPECT_EQ(control_.peer_key_calls().size(), 22u);
}

// ---- auth ----

struct RouteCase {
    http::verb method;
    std::string target;
    std::string body;
    std::string permission;
};

const std::vector<RouteCase> kRoutes = {
    {http::verb::get, "/metrics", "", "zone:read"},
    {http::verb::get, "/api/v1/zones", "", "zone:read"},
    {http::verb::get, "/api/v1/zones/example.com", "", "zone:read"},
    {http::verb::post, "/api/v1/zones/example.com/refresh", "", "zone:refresh"},
    {http::verb::post, "/api/v1/zones/example.com/retransfer", "", "zone:refresh"},
    {http::verb::get, "/api/v1/domains/example.com/dnssec", "", "dnssec:read"},
    {http::verb::post, "/api/v1/domains/example.com/dnssec/enable", R"({"algorithm":13})", "dnssec:enable"},
    {http::verb::post, "/api/v1/domains/example.com/dnssec/disable", "", "dnssec:disable"},
    {http::verb::post, "/api/v1/domains/example.com/dnssec/rotate-zsk", "", "dnssec:rotate"},
    {http::verb::post, "/api/v1/domains/example.com/dnssec/rotate-ksk", "", "dnssec:rotate"},
    {http::verb::post, "/api/v1/domains/example.com/dnssec/confirm-ds-published",
     R"({"ds_records":[{"key_tag":12345,"algorithm":13,"digest_type":2,"digest":"A1B2C3"}]})", "dnssec:enable"},
    {http::verb::post, "/api/v1/domains/example.com/dnssec/confirm-ds-removed", "", "dnssec:disable"},
    {http::verb::post, "/api/v1/domains/example.com/dnssec/sync", "", "dnssec:enable"},
    {http::verb::get, "/api/v1/domains/example.com/dnssec/peer-keys", "", "dnssec:read"},
    {http::verb::post, "/api/v1/domains/example.com/dnssec/peer-keys",
     R"({"keys":["example.com. 3600 IN DNSKEY 256 3 13 AAAA"]})", "dnssec:peer-keys"},
    {http::verb::delete_, "/api/v1/domains/example.com/dnssec/peer-keys",
     R"({"dnskey":"example.com. 3600 IN DNSKEY 256 3 13 AAAA"})", "dnssec:peer-keys"},
    {http::verb::delete_, "/api/v1/domains/example.com/dnssec/peer-keys/4242", "", "dnssec:peer-keys"},
};

TEST_F(ApiTest, EveryRouteNeedsItsPermissionAndNothingElse) {
    for (const auto& rc : kRoutes) {
        Client c(server_->bound_port());
        Response none = c.request(rc.method, rc.target, "", rc.body);
        EXPECT_EQ(none.result_int(), 401) << rc.target;
        EXPECT_EQ(none[http::field::www_authenticate], R"(Bearer realm="satellite")") << rc.target;
        Response wrong = c.request(rc.method, rc.target, "not-a-secret", rc.body);
        EXPECT_EQ(wrong.result_int(), 401) << rc.target;
        EXPECT_EQ(error_of(wrong), "unknown token");
        EXPECT_NE(wrong[http::field::www_authenticate].find("invalid_token"), std::string::npos);
        Response lacking = c.request(rc.method, rc.target, "secret-but-" + rc.permission, rc.body);
        EXPECT_EQ(lacking.result_int(), 403) << rc.target;
        EXPECT_EQ(error_of(lacking), "token 'but:" + rc.permission + "' lacks the permission '" + rc.permission + "'");
        Response enough = c.request(rc.method, rc.target, "secret-only-" + rc.permission, rc.body);
        EXPECT_LT(enough.result_int(), 300) << rc.target << ": " << enough.body();
    }
}

TEST_F(ApiTest, ReloadedTokensApplyToTheNextRequest) {
    EXPECT_EQ(get("/api/v1/zones", "secret-ops").result_int(), 200);
    std::vector<config::ApiToken> kept;
    for (const auto& t : config_.tokens) {
        if (t.name != "ops") kept.push_back(t);
    }
    kept.push_back({"new", "secret-new", {"zone:read"}});
    server_->set_tokens(kept);
    EXPECT_EQ(get("/api/v1/zones", "secret-ops").result_int(), 401);  // revoked by the reload
    EXPECT_EQ(get("/api/v1/zones", "secret-new").result_int(), 200);
    EXPECT_EQ(get("/api/v1/zones", "secret-only-zone:read").result_int(), 200);
}

TEST_F(ApiTest, RepeatedFailedAuthenticationGets429) {
    int first_429 = 0;
    for (int i = 1; i <= 40 && first_429 == 0; ++i) {
        if (get("/api/v1/zones", "guess-" + std::to_string(i)).result_int() == 429) first_429 = i;
    }
    EXPECT_EQ(first_429, 31);  // 30 failures a minute, then refused without looking at the token
    Response r = get("/api/v1/zones", "secret-ops");
    EXPECT_EQ(r.result_int(), 429);
    EXPECT_FALSE(r[http::field::retry_after].empty());
}

TEST_F(ApiTest, ConnectionsPerClientAreCapped) {
    std::vector<std::unique_ptr<Client>> held;
    for (int i = 0; i < 8; ++i) held.push_back(std::make_unique<Client>(server_->bound_port()));
    EXPECT_EQ(held[0]->request(http::verb::get, "/api/v1/zones", "secret-ops").result_int(), 200);
    Client ninth(server_->bound_port());  // from the same address
    Response busy = ninth.read();
    EXPECT_EQ(busy.result_int(), 503);
    EXPECT_TRUE(ninth.closed_by_server());
    held.clear();
    EXPECT_TRUE(testing_wait_ok([&] { return get("/api/v1/zones").result_int() == 200; }));
}

TEST_F(ApiTest, BearerSchemeIsCaseInsensitiveAndOthersAreRefused) {
    Client c(server_->bound_port());
    auto with_auth = [&](const std::string& value) {
        c.write_raw("GET /api/v1/zones HTTP/1.1\r\nHost: x\r\nAuthorization: " + value + "\r\n\r\n");
        return c.read().result_int();
    };
    EXPECT_EQ(with_auth("bearer secret-ops"), 200);
    EXPECT_EQ(with_auth("BEARER   secret-ops  "), 200);
    EXPECT_EQ(with_auth("Basic b3BzOnNlY3JldC1vcHM="), 401);
    EXPECT_EQ(with_auth("Bearer"), 401);
    EXPECT_EQ(with_auth("Bearer secret-op"), 401);
    EXPECT_EQ(with_auth("Bearer secret-opsx"), 401);
    EXPECT_EQ(with_auth("secret-ops"), 401);
}

TEST(ApiLog, RequestsAreLoggedAtDebugWithoutSecrets) {
    std::ostringstream log;
    auto previous = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("api-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
    {
        FakeControl control;
        Server server(api_config(), control);
        ASSERT_TRUE(server.start().ok());
        Client c(server.bound_port());
        EXPECT_EQ(c.request(http::verb::get, "/api/v1/zones", "secret-ops").result_int(), 200);
        EXPECT_EQ(c.request(http::verb::get, "/api/v1/zones", "wrong-secret-xyz").result_int(), 401);
        server.stop();
    }
    spdlog::set_default_logger(previous);
    const std::string text = log.str();
    EXPECT_NE(text.find("GET /api/v1/zones -> 200 (token ops)"), std::string::npos) << text;
    EXPECT_NE(text.find("GET /api/v1/zones -> 401 (token -)"), std::string::npos) << text;
    EXPECT_EQ(text.find("secret-ops"), std::string::npos) << text;
    EXPECT_EQ(text.find("wrong-secret-xyz"), std::string::npos) << text;
}

// ---- paths and methods ----

// ---- the status page (GET /, /zones/{zone}) and its login ----

// A raw request with optional Cookie and form body; the Set-Cookie of the answer.
Response page_request(std::uint16_t port, http::verb method, const std::string& target, const std::string& cookie,
                      const std::string& form = "", const std::string& bearer = "") {
    http::request<http::string_body> req(method, target, 11);
    req.set(http::field::host, "127.0.0.1");
    if (!cookie.empty()) req.set(http::field::cookie, cookie);
    if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
    if (!form.empty()) {
        req.set(http::field::content_type, "application/x-www-form-urlencoded");
        req.body() = form;
    }
    req.keep_alive(false);
    req.prepare_payload();
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http::write(socket, req);
    beast::flat_buffer buffer;
    Response res;
    http::read(socket, buffer, res);
    return res;
}

// "satellite_session=<id>" from a Set-Cookie value.
std::string session_of(const Response& r) {
    std::string c(r[http::field::set_cookie]);
    return c.substr(0, c.find(';'));
}

TEST_F(ApiTest, StatusPageNeedsABearerTokenOrALoginAndIsHtml) {
    const auto port = server_->bound_port();
    Response anon = page_request(port, http::verb::get, "/", "");
    EXPECT_EQ(anon.result_int(), 401);
    EXPECT_EQ(anon[http::field::content_type], "text/html; charset=utf-8");
    EXPECT_NE(anon.body().find("action=\"/login\""), std::string::npos);
    EXPECT_EQ(anon.body().find("example.com"), std::string::npos);  // no zone before a login

    Response bearer = page_request(port, http::verb::get, "/", "", "", "secret-only-zone:read");
    EXPECT_EQ(bearer.result_int(), 200);
    EXPECT_NE(bearer.body().find("<tr data-zone=\"example.com.\""), std::string::npos);
    EXPECT_NE(std::string(bearer["Content-Security-Policy"]).find("default-src 'none'"), std::string::npos);
    EXPECT_EQ(bearer.body().find("<script"), std::string::npos);
    EXPECT_EQ(page_request(port, http::verb::get, "/", "", "", "nope").result_int(), 401);
    EXPECT_EQ(page_request(port, http::verb::get, "/", "", "", "secret-but-zone:read").result_int(), 403);

    // The zone page: the fake's DNSSEC state, its DS and a lane per key.
    Response z = page_request(port, http::verb::get, "/zones/example.com", "", "", "secret-only-zone:read");
    EXPECT_EQ(z.result_int(), 200);
    EXPECT_NE(z.body().find("example.com. IN DS 12345 13 2 A1B2C3"), std::string::npos);
    EXPECT_NE(z.body().find("data-key-tag=\"12345\" data-key-type=\"KSK\" data-state-now=\"active\""),
              std::string::npos);
    EXPECT_NE(z.body().find("data-key-tag=\"54321\" data-key-type=\"ZSK\" data-state-now=\"active\""),
              std::string::npos);
    EXPECT_EQ(page_request(port, http::verb::get, "/zones/nowhere.test", "", "", "secret-ops").result_int(), 404);
    // A presigned zone's page asks nothing of DNSSEC.
    const auto calls = control_.calls().size();
    EXPECT_EQ(page_request(port, http::verb::get, "/zones/local.test", "", "", "secret-ops").result_int(), 200);
    EXPECT_EQ(control_.calls().size(), calls);
    // The JSON API is unchanged beside it.
    EXPECT_EQ(get("/api/v1/zones/example.com")[http::field::content_type], "application/json");
}

TEST_F(ApiTest, LoginSetsAStrictHttpOnlyCookieThatLogoutAndReloadsEnd) {
    const auto port = server_->bound_port();
    EXPECT_EQ(page_request(port, http::verb::get, "/login", "").result_int(), 200);
    Response bad = page_request(port, http::verb::post, "/login", "", "token=wrong");
    EXPECT_EQ(bad.result_int(), 401);
    EXPECT_TRUE(std::string(bad[http::field::set_cookie]).empty());
    Response weak = page_request(port, http::verb::post, "/login", "", "token=secret-but-zone%3Aread");
    EXPECT_EQ(weak.result_int(), 403);
    EXPECT_TRUE(std::string(weak[http::field::set_cookie]).empty());

    Response ok = page_request(port, http::verb::post, "/login", "", "token=secret-only-zone%3Aread");
    EXPECT_EQ(ok.result_int(), 303);
    EXPECT_EQ(ok[http::field::location], "/");
    const std::string set_cookie(ok[http::field::set_cookie]);
    EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos);
    EXPECT_EQ(set_cookie.find("secret"), std::string::npos);  // a session id, not the token
    const std::string cookie = session_of(ok);
    ASSERT_EQ(cookie.size(), std::string("satellite_session=").size() + 64) << cookie;

    Response page = page_request(port, http::verb::get, "/", "other=1; " + cookie);
    EXPECT_EQ(page.result_int(), 200);
    EXPECT_EQ(page.body().find("secret-only"), std::string::npos);
    // The cookie is for the pages only: the JSON API still wants the bearer token.
    EXPECT_EQ(page_request(port, http::verb::get, "/api/v1/zones", cookie).result_int(), 401);
    EXPECT_EQ(page_request(port, http::verb::get, "/", "satellite_session=" + std::string(64, 'a')).result_int(), 401);

    // Logout ends the session; so does a reload that drops the token.
    EXPECT_EQ(page_request(port, http::verb::post, "/logout", cookie).result_int(), 303);
    EXPECT_EQ(page_request(port, http::verb::get, "/", cookie).result_int(), 401);
    const std::string again = session_of(page_request(port, http::verb::post, "/login", "", "token=secret-ops"));
    EXPECT_EQ(page_request(port, http::verb::get, "/", again).result_int(), 200);
    config::Api reloaded = config_;
    reloaded.tokens.erase(reloaded.tokens.begin());  // "ops"
    server_->set_tokens(reloaded.tokens);
    EXPECT_TRUE(testing_wait_ok([&] { return page_request(port, http::verb::get, "/", again).result_int() == 401; }));
}

TEST_F(ApiTest, UnknownPathsAre404Json) {
    for (const char* target : {"/api", "/api/v1", "/api/v2/zones", "/api/v1/zonez", "/api/v1/zones/a/b/c",
                               "/api/v1/zones//refresh", "/api/v1/domains/example.com",
                               "/api/v1/domains/example.com/dnssec/bogus", "/api/v1/domains//dnssec",
                               "/api/v1/domains/example.com/dnssec/peer-keys/1/x",
                               "/api/v1/domains/example.com/dnssec/bogus/1", "/healthz/x"}) {
        Response r = get(target);
        EXPECT_EQ(r.result_int(), 404) << target;
        EXPECT_EQ(r[http::field::content_type], "application/json") << target;
        EXPECT_NE(error_of(r).find("no such endpoint"), std::string::npos) << target;
    }
}

TEST_F(ApiTest, WrongMethodIs405WithAllow) {
    struct Case {
        http::verb method;
        std::string target;
        std::string allow;
    };
    for (const auto& c : std::vector<Case>{{http::verb::post, "/healthz", "GET"},
                                          {http::verb::delete_, "/api/v1/zones", "GET"},
                                          {http::verb::put, "/api/v1/zones/example.com", "GET"},
                                          {http::verb::get, "/api/v1/zones/example.com/refresh", "POST"},
                                          {http::verb::post, "/api/v1/domains/example.com/dnssec", "GET"},
                                          {http::verb::get, "/api/v1/domains/example.com/dnssec/enable", "POST"},
                                          {http::verb::put, "/api/v1/domains/example.com/dnssec/peer-keys",
                                           "GET, POST, DELETE"},
                                          {http::verb::patch, "/api/v1/domains/example.com/dnssec/peer-keys",
                                           "GET, POST, DELETE"},
                                          {http::verb::get, "/api/v1/domains/example.com/dnssec/peer-keys/4242",
                                           "DELETE"},
                                          {http::verb::post, "/api/v1/domains/example.com/dnssec/peer-keys/4242",
                                           "DELETE"}}) {
        Response r = Client(server_->bound_port()).request(c.method, c.target, "secret-ops");
        EXPECT_EQ(r.result_int(), 405) << c.target;
        EXPECT_EQ(r[http::field::allow], c.allow) << c.target;
    }
    Response r = Client(server_->bound_port())
                     .request(http::verb::put, "/api/v1/domains/example.com/dnssec/peer-keys", "secret-ops");
    EXPECT_EQ(error_of(r), "use GET, POST or DELETE for /api/v1/domains/example.com/dnssec/peer-keys");
    EXPECT_TRUE(control_.calls().empty());
    EXPECT_TRUE(control_.peer_key_calls().empty());
}

// ---- the server's limits ----

TEST_F(ApiTest, KeepAliveServesSeveralRequestsOnOneConnection) {
    Client c(server_->bound_port());
    Response a = c.request(http::verb::get, "/api/v1/zones", "secret-ops");
    EXPECT_EQ(a.result_int(), 200);
    EXPECT_TRUE(a.keep_alive());
    Response b = c.request(http::verb::post, "/api/v1/zones/example.com/refresh", "secret-ops");
    EXPECT_EQ(b.result_int(), 202);
    // Two pipelined requests in one write, answered in order.
    c.write_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/zones/local.test HTTP/1.1\r\nHost: x\r\n"
                "Authorization: Bearer secret-ops\r\n\r\n");
    EXPECT_EQ(c.read().body(), R"({"status":"ok"})");
    EXPECT_EQ(parse(c.read().body()).at("name"), "local.test.");
    // Connection: close is honoured.
    Response last = c.request(http::verb::get, "/healthz", "", "", false);
    EXPECT_FALSE(last.keep_alive());
    EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ApiTest, Http10ClosesAfterTheAnswer) {
    Client c(server_->bound_port());
    c.write_raw("GET /healthz HTTP/1.0\r\n\r\n");
    Response r = c.read();
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.version(), 10);
    EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ApiTest, OversizeBodyIs413) {
    {  // announced by Content-Length: refused before the body is sent
        Client c(server_->bound_port());
        c.write_raw("POST /api/v1/domains/example.com/dnssec/enable HTTP/1.1\r\nHost: x\r\n"
                    "Authorization: Bearer secret-ops\r\nContent-Length: 70000\r\n\r\n");
        Response r = c.read();
        EXPECT_EQ(r.result_int(), 413);
        EXPECT_NE(error_of(r).find("larger than 65536 bytes"), std::string::npos);
        EXPECT_FALSE(r.keep_alive());
    }
    {  // sent in full: the answer still arrives intact
        Client c(server_->bound_port());
        std::string body = R"({"algorithm": 13, "pad": ")" + std::string(100'000, 'x') + "\"}";
        c.write_raw("POST /api/v1/domains/example.com/dnssec/enable HTTP/1.1\r\nHost: x\r\n"
                    "Authorization: Bearer secret-ops\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body);
        EXPECT_EQ(c.read().result_int(), 413);
        EXPECT_TRUE(c.closed_by_server());
    }
    {  // chunked: counted as it arrives
        Client c(server_->bound_port());
        std::string chunk(40'000, ' ');
        char size[16];
        std::snprintf(size, sizeof size, "%zx", chunk.size());
        c.write_raw("POST /api/v1/domains/example.com/dnssec/enable HTTP/1.1\r\nHost: x\r\n"
                    "Authorization: Bearer secret-ops\r\nTransfer-Encoding: chunked\r\n\r\n" +
                    std::string(size) + "\r\n" + chunk + "\r\n" + size + "\r\n" + chunk + "\r\n0\r\n\r\n");
        EXPECT_EQ(c.read().result_int(), 413);
    }
    EXPECT_TRUE(control_.calls().empty());
    {  // a big header
        Client c(server_->bound_port());
        c.write_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(10'000, 'a') + "\r\n\r\n");
        EXPECT_EQ(c.read().result_int(), 431);
    }
}

TEST_F(ApiTest, MalformedRequestsGet400AndTheServerLivesOn) {
    for (const std::string& raw :
         {std::string("GARBAGE\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
          std::string("GET /healthz HTTP/1.1\r\nBad Header Line\r\n\r\n"),
          std::string("POST /healthz HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
          std::string("\x00\x01\x02\xff\r\n\r\n", 8), std::string("GET http://example.com/healthz HTTP/1.1\r\n\r\n")}) {
        Client c(server_->bound_port());
        c.write_raw(raw);
        Response r = c.read();
        EXPECT_EQ(r.result_int(), 400) << raw;
        EXPECT_FALSE(error_of(r).empty());
    }
    EXPECT_EQ(get("/healthz", "").result_int(), 200);
}

TEST_F(ApiTest, ConnectionLimitAnswers503) {
    ServerLimits limits;
    limits.max_connections = 2;
    start(limits);
    auto a = std::make_unique<Client>(server_->bound_port());
    Client b(server_->bound_port());
    EXPECT_EQ(a->request(http::verb::get, "/healthz").result_int(), 200);
    EXPECT_EQ(b.request(http::verb::get, "/healthz").result_int(), 200);
    Client c(server_->bound_port());
    Response busy = c.read();
    EXPECT_EQ(busy.result_int(), 503);
    EXPECT_NE(error_of(busy).find("too many connections"), std::string::npos);
    EXPECT_TRUE(c.closed_by_server());
    // A slot frees when a client leaves.
    a->request(http::verb::get, "/healthz", "", "", false);
    EXPECT_TRUE(a->closed_by_server());
    a.reset();
    Client d(server_->bound_port());
    EXPECT_EQ(d.request(http::verb::get, "/healthz").result_int(), 200);
}

TEST_F(ApiTest, SlowOrIdleClientsAreClosedAfterTheReadTimeout) {
    ServerLimits limits;
    limits.read_timeout = std::chrono::milliseconds(100);
    start(limits);
    Client idle(server_->bound_port());
    EXPECT_TRUE(idle.closed_by_server());
    Client slow(server_->bound_port());
    slow.write_raw("GET /healthz HTTP/1.1\r\nHost:");
    EXPECT_TRUE(slow.closed_by_server());
    Client kept(server_->bound_port());  // idle after one answer
    EXPECT_EQ(kept.request(http::verb::get, "/healthz").result_int(), 200);
    EXPECT_TRUE(kept.closed_by_server());
}

TEST_F(ApiTest, StopClosesOpenConnections) {
    Client idle(server_->bound_port());
    Client used(server_->bound_port());
    EXPECT_EQ(used.request(http::verb::get, "/healthz").result_int(), 200);
    server_->stop();
    EXPECT_TRUE(idle.closed_by_server());
    EXPECT_TRUE(used.closed_by_server());
    server_->stop();  // twice is fine
}

TEST_F(ApiTest, BusyPortIsAClearError) {
    config::Api other = config_;
    other.listen->port = server_->bound_port();
    Server second(other, control_);
    auto s = second.start();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("cannot listen on 127.0.0.1:" + std::to_string(server_->bound_port()) +
                                     " for the REST API"),
              std::string::npos)
        << s.error().message;
    EXPECT_NE(s.error().message.find("in use"), std::string::npos) << s.error().message;
}

// fuzz_api: a raw byte in the target reached a JSON reply; RFC 9112 §3.2
// targets are printable ASCII, anything else is 400 before routing.
TEST(ApiRouter, ATargetThatIsNotPrintableAsciiIs400) {
    FakeControl control;
    Router router(api_config(), control);
    for (std::string_view target : {std::string_view("/\x8f" "api/v1/zones"), std::string_view("/api/v1/zones/e\xe1.com"),
                                    std::string_view("/api/v1/zones x")}) {
        HttpRequest req{"GET", target, "Bearer secret-ops", "", "192.0.2.1", ""};
        const HttpResponse r = router.handle(req);
        EXPECT_EQ(r.status, 400u) << target;
        EXPECT_NE(r.body.find("printable ASCII"), std::string::npos) << r.body;
    }
    HttpRequest ok{"GET", "/api/v1/zones", "Bearer secret-ops", "", "192.0.2.1", ""};
    EXPECT_EQ(router.handle(ok).status, 200u);
}

TEST(ApiServer, StartNeedsAListenAddress) {
    FakeControl control;
    config::Api none;
    Server s(none, control);
    auto st = s.start();
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().message, "no [api] listen address is configured");
    config::Api bad;
    bad.listen = config::Endpoint{"not-an-address", 8053};
    Server s2(bad, control);
    EXPECT_FALSE(s2.start().ok());
}

TEST(ApiServer, ListensOnIpv6Loopback) {
    FakeControl control;
    config::Api c = api_config();
    c.listen = config::Endpoint{"::1", 0};
    Server s(c, control);
    auto st = s.start();
    if (!st.ok()) GTEST_SKIP() << "no IPv6 loopback: " << st.error().message;
    asio::io_context io;
    tcp::socket sock(io);
    sock.connect(tcp::endpoint(asio::ip::make_address("::1"), s.bound_port()));
    asio::write(sock, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")));
    beast::flat_buffer buf;
    Response r;
    http::read(sock, buf, r);
    EXPECT_EQ(r.result_int(), 200);
}

}  // namespace
}  // namespace satellite::api
