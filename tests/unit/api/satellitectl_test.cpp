// satellitectl against a real API server (fake Control behind it): each
// command's request and output, exit codes 0/1/2/3, and the built binary.
#include "ctl.hpp"

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "api/json.hpp"
#include "api/server.hpp"
#include "fake_control.hpp"

namespace satellite::ctl {
namespace {

using api::DnssecOp;
using api::DsInfo;
using api::PeerKeyOp;
using api::testing::FakeControl;
namespace json = boost::json;

struct Outcome {
    int code;
    std::string out;
    std::string err;
};

// A local port nobody listens on (bound, then released).
std::uint16_t closed_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

class CtlTest : public ::testing::Test {
protected:
    void SetUp() override {
        config_.listen = config::Endpoint{"127.0.0.1", 0};
        config_.tokens.push_back({"ops", "secret-ops",
                                  {"zone:read", "zone:refresh", "dnssec:read", "dnssec:enable", "dnssec:disable",
                                   "dnssec:rotate", "dnssec:peer-keys"}});
        config_.tokens.push_back({"reader", "secret-reader", {"zone:read"}});
        server_ = std::make_unique<api::Server>(config_, control_);
        auto s = server_->start();
        ASSERT_TRUE(s.ok()) << s.error().message;
        url_ = "http://127.0.0.1:" + std::to_string(server_->bound_port());
    }

    Outcome ctl(std::vector<std::string> args, Env env = {}) {
        if (env.server.empty()) env.server = url_;
        if (env.token.empty()) env.token = "secret-ops";
        std::ostringstream out, err;
        int code = run(args, env, out, err);
        return {code, out.str(), err.str()};
    }

    // With `input` as standard input.
    Outcome ctl_in(std::vector<std::string> args, const std::string& input) {
        std::istringstream in(input);
        std::ostringstream out, err;
        int code = run(args, Env{url_, "secret-ops"}, out, err, in);
        return {code, out.str(), err.str()};
    }

    // A file in the test's temporary directory holding `text`.
    std::string write_file(const std::string& name, const std::string& text) {
        const std::string path = ::testing::TempDir() + "satellitectl_" +
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + name;
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }

    config::Api config_;
    FakeControl control_;
    std::unique_ptr<api::Server> server_;
    std::string url_;
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_F(CtlTest, ZoneListIsATable) {
    Outcome o = ctl({"zone", "list"});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_TRUE(o.out.starts_with("NAME          KIND       MODE       PHASE    SERIAL      SERVING  LAST TRANSFER"))
        << o.out;
    // LAST TRANSFER is when the served version arrived, not the last SOA check (10:00).
    EXPECT_TRUE(contains(o.out, "example.com.  secondary  live       ok       2024010101  yes      2026-04-23T08:00:00Z"))
        << o.out;
    EXPECT_TRUE(contains(o.out, "local.test.   file       presigned  expired  -           no")) << o.out;
    EXPECT_TRUE(contains(o.out, "line 3: bad TTL")) << o.out;
    EXPECT_EQ(o.err, "");
}

TEST_F(CtlTest, JsonPrintsTheBodyAsItIs) {
    Outcome o = ctl({"--json", "zone", "list"});
    ASSERT_EQ(o.code, kExitOk);
    boost::system::error_code ec;
    json::value v = json::parse(o.out, ec);
    ASSERT_FALSE(ec) << o.out;
    EXPECT_EQ(v.as_array().size(), 2u);
    o = ctl({"zone", "show", "nowhere.example", "--json"});
    EXPECT_EQ(o.code, kExitApiError);
    EXPECT_EQ(o.out, "{\"error\":\"unknown zone nowhere.example\"}\n");
}

TEST_F(CtlTest, ZoneShowAndUnknownZone) {
    Outcome o = ctl({"zone", "show", "example.com"});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_TRUE(contains(o.out, "zone               example.com.\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "serial             2024010101\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "stored serial      2024010101\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "phase              ok\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "records            1234\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "primaries          192.0.2.1:53, 192.0.2.2:53\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "last transfer      2026-04-23T08:00:00Z\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "transfers ok       3\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "next refresh       2026-04-23T11:00:00Z\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "last failure       -\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "ready              yes\n")) << o.out;
    // Issue 15: the earliest signature expiration, its RRset, the effective expiry.
    EXPECT_TRUE(contains(o.out, "signature expiry   2026-05-04T10:00:00Z\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "signature RRset    www.example.com. A\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "effective expiry   2026-05-04T09:00:00Z\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "transfer           -\n")) << o.out;  // none since the start
    o = ctl({"zone", "show", "nowhere.example"});
    EXPECT_EQ(o.code, kExitApiError);
    EXPECT_EQ(o.err, "satellitectl: HTTP 404: unknown zone nowhere.example\n");
}

// RFC 8901 §8: each provider of a multi-signer zone, one line each.
TEST_F(CtlTest, ZoneShowListsTheMultiSignerProviders) {
    auto& z = control_.zone_list[0];
    z.has_providers = true;
    z.providers_checked_at = 1776938400;
    z.providers = {{"192.0.2.7:53", true, true, "", {}},
                   {"192.0.2.8:53", true, false, "", {"lacks our ZSK 4711 in its DNSKEY RRset", "CDS differs"}},
                   {"192.0.2.9:53", false, false, "timed out", {}}};
    Outcome o = ctl({"zone", "show", "example.com"});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_TRUE(contains(o.out, "provider           192.0.2.7:53: consistent\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "provider           192.0.2.8:53: DISAGREES: lacks our ZSK 4711 in its DNSKEY RRset; "
                                "CDS differs\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "provider           192.0.2.9:53: no answer (timed out)\n")) << o.out;
}

TEST_F(CtlTest, ZoneShowPrintsARunningTransferAndSigningPass) {
    control_.zone_list[0].last_transfer_kind = "AXFR";
    control_.zone_list[0].transfer_progress = api::ProgressInfo{true, 120000, 0, 8'100'000, 3.0, 40000, 2'700'000, -1};
    control_.zone_list[0].signing_progress = api::ProgressInfo{false, 10000, 10000, 0, 5.0, 2000, 0, -1};
    Outcome o = ctl({"zone", "show", "example.com"});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_TRUE(contains(o.out, "transfer kind      AXFR\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "transfer           running: 120000 records, 8.1 MB, 40000 records/s, 3.0 s\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "signing            done: 10000 of 10000 signatures (100%), 2000/s, 5.0 s\n")) << o.out;
    o = ctl({"zone", "show", "example.com", "--json"});
    EXPECT_TRUE(contains(o.out, "\"transfer_progress\":{\"running\":true,\"seconds\":3E0,\"records\":120000")) << o.out;
}

TEST_F(CtlTest, StatusPrintsReadinessAndExits1WhenAZoneIsNotReady) {
    Outcome o = ctl({"status"});
    EXPECT_EQ(o.code, kExitApiError);
    EXPECT_TRUE(contains(o.out, "not ready: 1 of 2 zones\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "local.test.  not served: the zone did not load")) << o.out;
    control_.zone_list.pop_back();
    o = ctl({"status"});
    EXPECT_EQ(o.code, kExitOk) << o.err;
    EXPECT_EQ(o.out, "ready: 1 zones served, none expired or expiring\n");
    EXPECT_EQ(ctl({"status", "extra"}).code, kExitUsage);
}

TEST_F(CtlTest, RefreshQueuesARefreshAndRetransferAFullTransfer) {
    Outcome o = ctl({"zone", "refresh", "example.com."});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_EQ(o.out, "example.com.: refresh queued\n");
    o = ctl({"zone", "retransfer", "example.com"});
    EXPECT_EQ(o.code, kExitOk);
    EXPECT_EQ(o.out, "example.com.: full transfer (AXFR) queued\n");
    EXPECT_EQ(control_.refreshes(), (std::vector<std::string>{"example.com.", "full example.com."}));
    o = ctl({"zone", "refresh", "local.test"});
    EXPECT_EQ(o.code, kExitApiError);
    EXPECT_TRUE(contains(o.err, "HTTP 409")) << o.err;
}

TEST_F(CtlTest, TokensFromOptionOrEnvironment) {
    Outcome o = ctl({"zone", "list"}, Env{url_, "nope"});
    EXPECT_EQ(o.code, kExitApiError);
    EXPECT_EQ(o.err, "satellitectl: HTTP 401: unknown token\n");
    o = ctl({"--token", "secret-ops", "zone", "list"}, Env{url_, "nope"});
    EXPECT_EQ(o.code, kExitOk) << o.err;
    o = ctl({"--token=secret-reader", "zone", "refresh", "example.com"});
    EXPECT_EQ(o.code, kExitApiError);
    EXPECT_EQ(o.err, "satellitectl: HTTP 403: token 'reader' lacks the permission 'zone:refresh'\n");
    // No token at all: say how to give one.
    std::ostringstream out, err;
    EXPECT_EQ(run({"--server", url_, "zone", "list"}, Env{}, out, err), kExitApiError);
    EXPECT_TRUE(contains(err.str(), "missing bearer token")) << err.str();
    EXPECT_TRUE(contains(err.str(), "--token or SATELLITE_TOKEN")) << err.str();
}

TEST_F(CtlTest, TokenFromAFileStaysOutOfTheProcessList) {
    const std::string file = write_file("token", "secret-ops\n");
    Outcome o = ctl({"--token-file", file, "zone", "list"}, Env{url_, "nope"});
    EXPECT_EQ(o.code, kExitOk) << o.err;
    o = ctl({"--token-file=" + write_file("reader", "secret-reader \r\n"), "zone", "refresh", "example.com"});
    EXPECT_EQ(o.err, "satellitectl: HTTP 403: token 'reader' lacks the permission 'zone:refresh'\n");
    o = ctl({"--token-file", file + ".missing", "zone", "list"});
    EXPECT_EQ(o.code, kExitUsage);
    EXPECT_TRUE(contains(o.err, "cannot read it")) << o.err;
    o = ctl({"--token-file", write_file("empty", "\n"), "zone", "list"});
    EXPECT_EQ(o.code, kExitUsage);
    EXPECT_TRUE(contains(o.err, "the first line is empty")) << o.err;
}

TEST_F(CtlTest, DnssecStatusShowsKeysAndDs) {
    Outcome o = ctl({"dnssec", "status", "example.com."});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_TRUE(contains(o.out, "status       active\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "modified on  2026-04-23T10:00:00Z\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "algorithm    13 (ECDSAP256SHA256)\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "TYPE  TAG    ALG  STATE   ACTIVE  CREATED               EXPIRES")) << o.out;
    EXPECT_TRUE(contains(o.out, "KSK   12345  13   active  yes     2026-04-23T10:00:00Z  -")) << o.out;
    EXPECT_TRUE(contains(o.out, "ZSK   54321  13   active  yes     2026-04-23T10:00:00Z  2026-05-23T10:00:00Z"))
        << o.out;
    EXPECT_TRUE(contains(o.out, "example.com. IN DS 12345 13 2 A1B2C3\n")) << o.out;
    auto calls = control_.calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].zone, "example.com.");
    EXPECT_EQ(calls[0].op, DnssecOp::Get);
}

// A standby KSK (DS at the parent, DNSKEY not yet published) is marked as
// such, in the table and in --json.
TEST_F(CtlTest, DnssecStatusMarksAStandbyKsk) {
    api::KeyInfo standby = FakeControl::key(777, "KSK");
    standby.active = false;
    standby.state = "ds_ready";
    standby.standby = true;
    control_.reply.ksk.push_back(standby);
    Outcome o = ctl({"dnssec", "status", "example.com."});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_TRUE(contains(o.out, "KSK   777    13   ds_ready (standby)  no ")) << o.out;
    EXPECT_TRUE(contains(o.out, "KSK   12345  13   active              yes ")) << o.out;
    Outcome j = ctl({"--json", "dnssec", "status", "example.com."});
    ASSERT_EQ(j.code, kExitOk) << j.err;
    EXPECT_TRUE(contains(j.out, R"("state":"ds_ready","next_transition":null,"standby":true)")) << j.out;
}

TEST_F(CtlTest, DnssecEnableWithAlgorithm) {
    control_.reply.message = "DNSSEC enabled";
    control_.reply.new_ksk = FakeControl::key(111, "KSK");
    control_.reply.new_zsk = FakeControl::key(222, "ZSK");
    Outcome o = ctl({"dnssec", "enable", "example.com", "--algorithm", "15"});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_TRUE(contains(o.out, "example.com.: DNSSEC enabled\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "KSK: KSK 111 (algorithm 13, active)\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "example.com. IN DS 12345 13 2 A1B2C3\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "satellitectl dnssec confirm-ds example.com")) << o.out;
    EXPECT_EQ(ctl({"dnssec", "enable", "example.com"}).code, kExitOk);
    auto calls = control_.calls();
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0].op, DnssecOp::Enable);
    EXPECT_EQ(calls[0].request.algorithm, 15);
    EXPECT_FALSE(calls[1].request.algorithm.has_value());
}

TEST_F(CtlTest, DnssecErrorsExit1WithTheMessage) {
    control_.reply.http_status = 409;
    control_.reply.message = "DNSSEC is already enabled on example.com.";
    Outcome o = ctl({"dnssec", "enable", "example.com"});
    EXPECT_EQ(o.code, kExitApiError);
    EXPECT_EQ(o.err, "satellitectl: HTTP 409: DNSSEC is already enabled on example.com.\n");
    EXPECT_EQ(o.out, "");
}

TEST_F(CtlTest, ConfirmDsWithRecordsGiven) {
    Outcome o = ctl({"dnssec", "confirm-ds", "example.com", "--ds", "12345 13 2 a1b2c3",
                     "--ds=example.com. 3600 IN DS 23456 13 2 ABCD EF01"});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_EQ(o.out, "example.com.: DS publication confirmed (2 DS records)\n");
    auto calls = control_.calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].op, DnssecOp::ConfirmDsPublished);
    ASSERT_EQ(calls[0].request.ds_records.size(), 2u);
    EXPECT_EQ(calls[0].request.ds_records[0].key_tag, 12345);
    EXPECT_EQ(calls[0].request.ds_records[0].digest, "A1B2C3");
    EXPECT_EQ(calls[0].request.ds_records[1].key_tag, 23456);
    EXPECT_EQ(calls[0].request.ds_records[1].digest, "ABCDEF01");
}

TEST_F(CtlTest, ConfirmDsWithoutRecordsIsAUsageErrorAndSendsNothing) {
    // Sending the server's own DS list back would confirm nothing.
    control_.reply.ds_records = {DsInfo{12345, 13, 2, "AA"}};
    Outcome o = ctl({"dnssec", "confirm-ds", "example.com"});
    EXPECT_EQ(o.code, kExitUsage);
    EXPECT_TRUE(contains(o.err, "needs the DS records the parent now publishes")) << o.err;
    EXPECT_TRUE(control_.calls().empty());
}

TEST_F(CtlTest, OtherDnssecCommands) {
    control_.reply.old_key = FakeControl::key(12345, "KSK");
    control_.reply.new_key = FakeControl::key(23456, "KSK");
    control_.reply.ds_records = {DsInfo{12345, 13, 2, "AA"}, DsInfo{23456, 13, 2, "BB"}};
    Outcome o = ctl({"dnssec", "rotate-ksk", "example.com"});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_TRUE(contains(o.out, "old key: KSK 12345")) << o.out;
    EXPECT_TRUE(contains(o.out, "new key: KSK 23456")) << o.out;
    EXPECT_TRUE(contains(o.out, "example.com. IN DS 23456 13 2 BB\n")) << o.out;
    EXPECT_FALSE(contains(o.out, "IN DS 12345")) << o.out;
    o = ctl({"dnssec", "rotate-zsk", "example.com"});
    EXPECT_EQ(o.code, kExitOk);
    EXPECT_TRUE(contains(o.out, "example.com.: ZSK rollover started\n")) << o.out;
    o = ctl({"dnssec", "disable", "example.com"});
    EXPECT_EQ(o.code, kExitOk);
    EXPECT_TRUE(contains(o.out, "confirm-ds-removed example.com")) << o.out;
    EXPECT_EQ(ctl({"dnssec", "confirm-ds-removed", "example.com"}).out, "example.com.: DS removal confirmed\n");
    EXPECT_EQ(ctl({"dnssec", "sync", "example.com"}).code, kExitOk);
    std::vector<DnssecOp> ops;
    for (const auto& c : control_.calls()) ops.push_back(c.op);
    EXPECT_EQ(ops, (std::vector<DnssecOp>{DnssecOp::RotateKsk, DnssecOp::RotateZsk, DnssecOp::Disable,
                                          DnssecOp::ConfirmDsRemoved, DnssecOp::Sync}));
}

TEST_F(CtlTest, UsageErrorsExit2AndTouchNothing) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {},
             {"zone"},
             {"zone", "show"},
             {"zone", "list", "extra"},
             {"zone", "frob", "x"},
             {"bogus"},
             {"dnssec", "enable"},
             {"dnssec", "peer-keys", "example.com"},
             {"dnssec", "enable", "example.com", "--algorithm", "x"},
             {"dnssec", "enable", "example.com", "--algorithm"},
             {"zone", "list", "--algorithm", "13"},
             {"dnssec", "confirm-ds", "example.com", "--ds", "1 2"},
             {"dnssec", "confirm-ds", "example.com", "--ds", "a b c d"},
             {"dnssec", "status", "example.com", "--ds", "1 2 3 AA"},
             {"dnssec", "confirm-ds", "example.com", "--from-parent"},
             {"dnssec", "confirm-ds", "example.com", "--from-parent", "--parent", "ns1.example:53"},
             {"dnssec", "confirm-ds", "example.com", "--from-parent", "--parent", "127.0.0.1:0"},
             {"dnssec", "confirm-ds", "example.com", "--from-parent", "--parent", "127.0.0.1", "--ds", "1 13 2 AA"},
             {"dnssec", "confirm-ds", "example.com", "--parent", "127.0.0.1"},
             {"dnssec", "status", "example.com", "--from-parent"},
             {"--frobnicate", "zone", "list"},
             {"--server", "ftp://127.0.0.1:8053", "zone", "list"},
             {"--server", "http://127.0.0.1:99999", "zone", "list"},
             {"--server", "http://::1:8053", "zone", "list"},
             {"dnssec", "peer-keys"},
             {"dnssec", "peer-keys", "list"},
             {"dnssec", "peer-keys", "list", "example.com", "extra"},
             {"dnssec", "peer-keys", "export"},
             {"dnssec", "peer-keys", "frob", "example.com"},
             {"dnssec", "peer-keys", "add", "example.com"},
             {"dnssec", "peer-keys", "add", "example.com", "a", "b"},
             {"dnssec", "peer-keys", "remove", "example.com"},
             {"dnssec", "peer-keys", "remove", "example.com", "70000"},
             {"dnssec", "peer-keys", "list", "example.com", "--algorithm", "13"},
         }) {
        Outcome o = ctl(args);
        std::string joined;
        for (const auto& a : args) joined += a + " ";
        EXPECT_EQ(o.code, kExitUsage) << joined;
        EXPECT_TRUE(o.err.starts_with("satellitectl: ")) << joined << ": " << o.err;
    }
    EXPECT_TRUE(control_.calls().empty());
    EXPECT_TRUE(control_.peer_key_calls().empty());
    Outcome help = ctl({"--help"});
    EXPECT_EQ(help.code, kExitOk);
    EXPECT_TRUE(help.out.starts_with("usage: satellitectl")) << help.out;
    EXPECT_TRUE(contains(help.out, "zone retransfer NAME           transfer the whole zone again by AXFR")) << help.out;
    EXPECT_TRUE(contains(help.out, "  dnssec peer-keys list NAME     multi-signer:")) << help.out;
    EXPECT_TRUE(contains(help.out, "  dnssec peer-keys export NAME   print the JSON")) << help.out;
    EXPECT_TRUE(contains(help.out, "  dnssec peer-keys add NAME FILE|-\n")) << help.out;
    EXPECT_TRUE(contains(help.out, "  dnssec peer-keys remove NAME KEYTAG|FILE|-\n")) << help.out;
}

// ---- dnssec peer-keys (multi-signer key exchange) ----

TEST_F(CtlTest, PeerKeysListShowsRecordsWithTagTypeAndSource) {
    Outcome o = ctl({"dnssec", "peer-keys", "list", "example.com."});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_EQ(o.out,
              "zone       example.com.\n"
              "algorithm  13 (ECDSAP256SHA256)\n"
              "\n"
              "Our keys (give them to the other providers: satellitectl dnssec peer-keys export example.com):\n"
              "example.com. 3600 IN DNSKEY 257 3 13 OURKSK  ; KSK, key tag 12345\n"
              "example.com. 3600 IN DNSKEY 256 3 13 OURZSK  ; ZSK, key tag 54321\n"
              "\n"
              "Peer keys (the other providers' keys we publish):\n"
              "example.com. 3600 IN DNSKEY 256 3 13 PEERZSK  ; ZSK, key tag 4242, source api, added "
              "2026-04-23T10:00:00Z\n"
              "example.com. 3600 IN DNSKEY 256 3 13 PEERZSK2  ; ZSK, key tag 4343, source primary, added "
              "2026-04-23T11:00:00Z\n");
    EXPECT_EQ(o.err, "");
    auto calls = control_.peer_key_calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].zone, "example.com.");
    EXPECT_EQ(calls[0].op, PeerKeyOp::Get);

    control_.peer_reply.peer_keys.clear();
    o = ctl({"dnssec", "peer-keys", "list", "example.com"});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_TRUE(o.out.ends_with("Peer keys (the other providers' keys we publish):\nnone\n")) << o.out;
}

TEST_F(CtlTest, PeerKeysListJsonAndExportPrintTheRawBody) {
    const std::string body = json::serialize(api::peer_keys_json(control_.peer_reply, PeerKeyOp::Get)) + "\n";
    Outcome o = ctl({"dnssec", "peer-keys", "list", "example.com", "--json"});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_EQ(o.out, body);
    o = ctl({"dnssec", "peer-keys", "export", "example.com"});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_EQ(o.out, body);
    EXPECT_EQ(ctl({"--json", "dnssec", "peer-keys", "export", "example.com"}).out, body);
    EXPECT_EQ(control_.peer_key_calls().size(), 3u);
}

// DESIGN.md §5: `export` on provider A, `add` of that output on provider B.
TEST_F(CtlTest, PeerKeysExportOfOneProviderIsAddOfTheOther) {
    FakeControl other;
    other.peer_reply.added = 2;
    api::Server b(config_, other);
    ASSERT_TRUE(b.start().ok());
    const std::string url_b = "http://127.0.0.1:" + std::to_string(b.bound_port());

    Outcome exported = ctl({"dnssec", "peer-keys", "export", "example.com"});
    ASSERT_EQ(exported.code, kExitOk) << exported.err;
    const std::string file = write_file("a.json", exported.out);
    Outcome o = ctl({"dnssec", "peer-keys", "add", "example.com", file}, Env{url_b, "secret-ops"});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_TRUE(o.out.starts_with("example.com.: 2 peer keys added\n\nPeer keys (the other providers' keys we "
                                  "publish):\nexample.com. 3600 IN DNSKEY 256 3 13 PEERZSK  ; ZSK, key tag 4242"))
        << o.out;
    auto calls = other.peer_key_calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].zone, "example.com.");
    EXPECT_EQ(calls[0].op, PeerKeyOp::Add);
    // A's own keys only; A's peers (B among them) are not imported back.
    EXPECT_EQ(calls[0].request.dnskeys, (std::vector<std::string>{"example.com. 3600 IN DNSKEY 257 3 13 OURKSK",
                                                                  "example.com. 3600 IN DNSKEY 256 3 13 OURZSK"}));
    b.stop();
}

TEST_F(CtlTest, PeerKeysAddFromPresentationLines) {
    const std::string file = write_file("keys.txt",
                                        "; This is a zone-signing key, keyid 4242, for example.com.\n"
                                        "; Created: 20260423100000 (Thu Apr 23 10:00:00 2026)\n"
                                        "\n"
                                        "example.com. IN DNSKEY 256 3 13 AAAA BBBB ; as BIND writes it\n"
                                        "   \t\n"
                                        "example.com.\t3600\tIN\tDNSKEY\t257 3 13 (\n"
                                        "        CCCC\n"
                                        "        DDDD ) ; KSK; key id = 4343\n"
                                        "example.com. 3600 in dnskey 256 3 13 EEEE\r\n");
    control_.peer_reply.message = "3 peer keys added to example.com.";
    Outcome o = ctl({"dnssec", "peer-keys", "add", "example.com", file});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_TRUE(o.out.starts_with("example.com.: 3 peer keys added to example.com.\n")) << o.out;
    auto calls = control_.peer_key_calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].op, PeerKeyOp::Add);
    EXPECT_EQ(calls[0].request.dnskeys, (std::vector<std::string>{"example.com. IN DNSKEY 256 3 13 AAAA BBBB",
                                                                  "example.com. 3600 IN DNSKEY 257 3 13 CCCC DDDD",
                                                                  "example.com. 3600 in dnskey 256 3 13 EEEE"}));
}

TEST_F(CtlTest, PeerKeysAddFromStandardInput) {
    Outcome o = ctl_in({"dnssec", "peer-keys", "add", "example.com", "-"},
                       "example.com. 3600 IN DNSKEY 256 3 13 AAAA\n");
    ASSERT_EQ(o.code, kExitOk) << o.err;
    o = ctl_in({"--json", "dnssec", "peer-keys", "add", "example.com", "-"},
               R"(["example.com. 3600 IN DNSKEY 256 3 13 BBBB"])");
    ASSERT_EQ(o.code, kExitOk) << o.err;
    boost::system::error_code ec;
    json::value v = json::parse(o.out, ec);
    ASSERT_FALSE(ec) << o.out;
    EXPECT_EQ(v.at("message"), "0 peer keys added");
    auto calls = control_.peer_key_calls();
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0].request.dnskeys, std::vector<std::string>{"example.com. 3600 IN DNSKEY 256 3 13 AAAA"});
    EXPECT_EQ(calls[1].request.dnskeys, std::vector<std::string>{"example.com. 3600 IN DNSKEY 256 3 13 BBBB"});
}

TEST_F(CtlTest, PeerKeysAddRefusesUnusableInputAndSendsNothing) {
    struct Case {
        std::string text;
        std::string error;
    };
    for (const auto& c : std::vector<Case>{
             {"", "is empty"},
             {"; only a comment\n\n", "has no DNSKEY records"},
             {"{\"keys\": [", "is not valid JSON"},
             {"example.com. 3600 IN DNSKEY 256 3 13 AAAA\nexample.com. 3600 IN SOA a. b. 1 2 3 4 5\n",
              "line 2: not a DNSKEY record: example.com. 3600 IN SOA a. b. 1 2 3 4 5"},
             {"example.com. 3600 IN CDNSKEY 256 3 13 AAAA\n", "line 1: not a DNSKEY record"},
             {"example.com. 3600 IN DNSKEY 256 3 13 (\n AAAA\n", "line 1: '(' is never closed"},
             {"example.com. 3600 IN DNSKEY 256 3 13 AAAA )\n", "line 1: ')' without '('"},
         }) {
        const std::string file = write_file("bad", c.text);
        Outcome o = ctl({"dnssec", "peer-keys", "add", "example.com", file});
        EXPECT_EQ(o.code, kExitUsage) << c.text;
        EXPECT_TRUE(o.err.starts_with("satellitectl: " + file)) << o.err;
        EXPECT_TRUE(contains(o.err, c.error)) << c.text << " -> " << o.err;
    }
    Outcome o = ctl({"dnssec", "peer-keys", "add", "example.com", "/nonexistent/keys.txt"});
    EXPECT_EQ(o.code, kExitUsage);
    EXPECT_EQ(o.err, "satellitectl: cannot read /nonexistent/keys.txt: No such file or directory\n");
    o = ctl_in({"dnssec", "peer-keys", "add", "example.com", "-"}, "\n");
    EXPECT_EQ(o.code, kExitUsage);
    EXPECT_EQ(o.err, "satellitectl: standard input is empty; give DNSKEY records or an export\n");
    EXPECT_TRUE(control_.peer_key_calls().empty());
}

TEST_F(CtlTest, PeerKeysRemoveByKeyTagOrByRecords) {
    control_.peer_reply.removed = 1;
    Outcome o = ctl({"dnssec", "peer-keys", "remove", "example.com", "4242"});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_TRUE(o.out.starts_with("example.com.: 1 peer key removed\n\nPeer keys")) << o.out;
    const std::string file = write_file("gone.txt", "example.com. 3600 IN DNSKEY 256 3 13 PEERZSK2\n");
    o = ctl({"dnssec", "peer-keys", "remove", "example.com", file});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    o = ctl({"dnssec", "peer-keys", "remove", "example.com", "0"});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    auto calls = control_.peer_key_calls();
    ASSERT_EQ(calls.size(), 3u);
    EXPECT_EQ(calls[0].op, PeerKeyOp::Remove);
    EXPECT_EQ(calls[0].request.key_tag, 4242);
    EXPECT_TRUE(calls[0].request.dnskeys.empty());
    EXPECT_EQ(calls[1].op, PeerKeyOp::Remove);
    EXPECT_FALSE(calls[1].request.key_tag.has_value());
    EXPECT_EQ(calls[1].request.dnskeys, std::vector<std::string>{"example.com. 3600 IN DNSKEY 256 3 13 PEERZSK2"});
    EXPECT_EQ(calls[2].request.key_tag, 0);
}

TEST_F(CtlTest, PeerKeysApiErrorsExit1WithTheMessage) {
    const std::string file = write_file("k.txt", "example.com. 3600 IN DNSKEY 256 3 8 AAAA\n");
    for (int status : {400, 404, 409}) {
        control_.peer_reply.http_status = status;
        control_.peer_reply.message = "refused with " + std::to_string(status);
        const std::string expected = "satellitectl: HTTP " + std::to_string(status) + ": refused with " +
                                     std::to_string(status) + "\n";
        for (const auto& args : std::vector<std::vector<std::string>>{
                 {"dnssec", "peer-keys", "list", "example.com"},
                 {"dnssec", "peer-keys", "export", "example.com"},
                 {"dnssec", "peer-keys", "add", "example.com", file},
                 {"dnssec", "peer-keys", "remove", "example.com", "4242"}}) {
            Outcome o = ctl(args);
            EXPECT_EQ(o.code, kExitApiError) << args[2] << " " << status;
            EXPECT_EQ(o.err, expected) << args[2];
            EXPECT_EQ(o.out, "") << args[2];
        }
    }
    EXPECT_EQ(control_.peer_key_calls().size(), 12u);
    // The route's own 403: a token without dnssec:peer-keys.
    Outcome o = ctl({"--token", "secret-reader", "dnssec", "peer-keys", "remove", "example.com", "1"});
    EXPECT_EQ(o.code, kExitApiError);
    EXPECT_EQ(o.err, "satellitectl: HTTP 403: token 'reader' lacks the permission 'dnssec:peer-keys'\n");
    o = ctl({"dnssec", "peer-keys", "list", "example.com"},
            Env{"http://127.0.0.1:" + std::to_string(closed_port()), "secret-ops"});
    EXPECT_EQ(o.code, kExitNoServer);
}

TEST_F(CtlTest, NoServerExits3) {
    Outcome o = ctl({"zone", "list"}, Env{"http://127.0.0.1:" + std::to_string(closed_port()), "secret-ops"});
    EXPECT_EQ(o.code, kExitNoServer);
    EXPECT_TRUE(o.err.starts_with("satellitectl: cannot connect to http://127.0.0.1:")) << o.err;
    EXPECT_TRUE(contains(o.err, "refused")) << o.err;
}

TEST(CtlUrl, ServerUrls) {
    auto u = parse_server_url("http://127.0.0.1:8053");
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(u->host, "127.0.0.1");
    EXPECT_EQ(u->port, "8053");
    EXPECT_EQ(u->prefix, "");
    u = parse_server_url("localhost");
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(u->host, "localhost");
    EXPECT_EQ(u->port, "8053");
    u = parse_server_url("http://[::1]:9000/satellite/");
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, "9000");
    EXPECT_EQ(u->prefix, "/satellite");
    EXPECT_FALSE(parse_server_url("http://").ok());
    EXPECT_FALSE(parse_server_url("ftp://x").ok());
    EXPECT_FALSE(parse_server_url("http://x:0").ok());
    EXPECT_FALSE(parse_server_url("http://[::1").ok());
}

TEST(CtlParent, ParentServers) {
    auto p = parse_parent("192.0.2.1");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->host, "192.0.2.1");
    EXPECT_EQ(p->port, 53);
    p = parse_parent("127.0.0.1:5300");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->port, 5300);
    p = parse_parent("[2001:db8::1]:5353");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->host, "2001:db8::1");
    EXPECT_EQ(p->port, 5353);
    p = parse_parent("2001:db8::1");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->host, "2001:db8::1");
    EXPECT_EQ(p->port, 53);
    EXPECT_FALSE(parse_parent("ns1.example").ok());
    EXPECT_FALSE(parse_parent("127.0.0.1:x").ok());
    EXPECT_FALSE(parse_parent("[::1").ok());
    EXPECT_FALSE(parse_parent("").ok());
}

TEST(CtlParent, AServerThatDoesNotAnswerIsNamed) {
    // A port where nothing listens (picked by the kernel, then closed): refused at once.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor holder(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const auto port = holder.local_endpoint().port();
    holder.close();
    auto answers = ask_parents("example.com.", {ParentServer{"127.0.0.1", port}});
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_FALSE(answers[0].answered);
    EXPECT_EQ(answers[0].server, "127.0.0.1:" + std::to_string(port));
    EXPECT_FALSE(answers[0].error.empty());
}

// The built binary, with its defaults taken from the environment.
Outcome binary(const std::string& env_and_args) {
    std::string command = env_and_args + " 2>&1";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    Outcome o{-1, "", ""};
    if (!pipe) return o;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe.get())) o.out.append(buf, n);
    int status = pclose(pipe.release());
    o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return o;
}

TEST_F(CtlTest, TheBinaryTakesItsDefaultsFromTheEnvironment) {
    const std::string exe = SATELLITECTL_PATH;
    Outcome o = binary("SATELLITE_API=" + url_ + " SATELLITE_TOKEN=secret-ops " + exe + " zone list");
    EXPECT_EQ(o.code, kExitOk) << o.out;
    EXPECT_TRUE(contains(o.out, "example.com.  secondary")) << o.out;
    o = binary("SATELLITE_API=" + url_ + " SATELLITE_TOKEN=secret-ops " + exe + " --token wrong zone list");
    EXPECT_EQ(o.code, kExitApiError) << o.out;
    o = binary("SATELLITE_API=http://127.0.0.1:" + std::to_string(closed_port()) + " " + exe + " zone list");
    EXPECT_EQ(o.code, kExitNoServer) << o.out;
    o = binary(exe + " frobnicate");
    EXPECT_EQ(o.code, kExitUsage) << o.out;
    o = binary("printf 'example.com. 3600 IN DNSKEY 256 3 13 AAAA ; peer B\\n' | SATELLITE_API=" + url_ +
               " SATELLITE_TOKEN=secret-ops " + exe + " dnssec peer-keys add example.com -");
    EXPECT_EQ(o.code, kExitOk) << o.out;
    auto calls = control_.peer_key_calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].request.dnskeys, std::vector<std::string>{"example.com. 3600 IN DNSKEY 256 3 13 AAAA"});
}

}  // namespace
}  // namespace satellite::ctl

namespace satellite::ctl {
namespace {

// A self-signed P-256 certificate for `san` (e.g. "IP:127.0.0.1") and its
// key, made by the openssl command; paths in the test's temporary directory.
struct TlsFiles {
    std::string cert, key;
};
std::optional<TlsFiles> make_certificate(const std::string& tag, const std::string& san) {
    const std::string base = ::testing::TempDir() + "satellitectl_tls_" + tag;
    TlsFiles f{base + ".crt", base + ".key"};
    const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=" +
                            tag + " -addext subjectAltName=" + san + " -keyout " + f.key + " -out " + f.cert +
                            " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return std::nullopt;
    return f;
}

// [api] tls_cert/tls_key: the API speaks HTTPS, satellitectl speaks it to
// https:// URLs, checking the certificate (--ca-file) and the host name;
// plain HTTP to the TLS port gets no answer.
TEST(CtlTls, HttpsWithAVerifiedCertificate) {
    auto good = make_certificate("api", "IP:127.0.0.1");
    auto other = make_certificate("other", "IP:127.0.0.1");
    auto wrong_name = make_certificate("wrongname", "DNS:api.example");
    if (!good || !other || !wrong_name) GTEST_SKIP() << "the openssl command is not available";

    FakeControl control;
    config::Api config;
    config.listen = config::Endpoint{"127.0.0.1", 0};
    config.tokens.push_back({"ops", "secret-ops", {"zone:read"}});
    config.tls_cert = good->cert;
    config.tls_key = good->key;
    api::Server server(config, control);
    auto s = server.start();
    ASSERT_TRUE(s.ok()) << s.error().message;
    const std::string port = std::to_string(server.bound_port());
    auto call = [&](const std::vector<std::string>& args) {
        std::ostringstream out, err;
        const int code = run(args, Env{"https://127.0.0.1:" + port, "secret-ops"}, out, err);
        return Outcome{code, out.str(), err.str()};
    };

    auto ok = call({"--ca-file", good->cert, "zone", "list"});
    EXPECT_EQ(ok.code, 0) << ok.err;
    EXPECT_TRUE(contains(ok.out, "example.com")) << ok.out;

    auto untrusted = call({"--ca-file", other->cert, "zone", "list"});
    EXPECT_EQ(untrusted.code, 3);
    EXPECT_TRUE(contains(untrusted.err, "TLS handshake with https://127.0.0.1:" + port)) << untrusted.err;
    auto system_cas = call({"zone", "list"});  // a self-signed certificate is in no system store
    EXPECT_EQ(system_cas.code, 3) << system_cas.out;

    // The certificate must name the host it is reached at.
    config::Api misnamed = config;
    misnamed.tls_cert = wrong_name->cert;
    misnamed.tls_key = wrong_name->key;
    api::Server server2(misnamed, control);
    ASSERT_TRUE(server2.start().ok());
    std::ostringstream out, err;
    EXPECT_EQ(run({"--ca-file", wrong_name->cert, "zone", "list"},
                  Env{"https://127.0.0.1:" + std::to_string(server2.bound_port()), "secret-ops"}, out, err),
              3)
        << out.str();

    // Plain HTTP to the HTTPS port: no answer (exit 3), and the server keeps serving.
    std::ostringstream out2, err2;
    EXPECT_EQ(run({"zone", "list"}, Env{"http://127.0.0.1:" + port, "secret-ops"}, out2, err2), 3);
    EXPECT_EQ(call({"--ca-file", good->cert, "zone", "list"}).code, 0);
}

TEST(CtlTls, AKeyThatDoesNotMatchTheCertificateIsAStartError) {
    auto a = make_certificate("a", "IP:127.0.0.1");
    auto b = make_certificate("b", "IP:127.0.0.1");
    if (!a || !b) GTEST_SKIP() << "the openssl command is not available";
    FakeControl control;
    config::Api config;
    config.listen = config::Endpoint{"127.0.0.1", 0};
    config.tls_cert = a->cert;
    config.tls_key = b->key;
    api::Server server(config, control);
    auto s = server.start();
    ASSERT_FALSE(s.ok());
    // OpenSSL says "key values mismatch" while loading; our own check after it says "does not match".
    EXPECT_TRUE(contains(s.error().message, "[api] tls_key " + b->key) &&
                (contains(s.error().message, "mismatch") || contains(s.error().message, "does not match")))
        << s.error().message;
    config.tls_key = "/nonexistent/api.key";
    api::Server server2(config, control);
    auto s2 = server2.start();
    ASSERT_FALSE(s2.ok());
    EXPECT_TRUE(contains(s2.error().message, "[api] tls_key /nonexistent/api.key")) << s2.error().message;
}

}  // namespace
}  // namespace satellite::ctl
