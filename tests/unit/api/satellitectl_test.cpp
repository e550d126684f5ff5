// satellitectl against a real API server (fake Control behind it): each
// command's request and output, exit codes 0/1/2/3, and the built binary.
#include "ctl.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "api/server.hpp"
#include "fake_control.hpp"

namespace satellite::ctl {
namespace {

using api::DnssecOp;
using api::DsInfo;
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
                                   "dnssec:rotate"}});
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

    config::Api config_;
    FakeControl control_;
    std::unique_ptr<api::Server> server_;
    std::string url_;
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_F(CtlTest, ZoneListIsATable) {
    Outcome o = ctl({"zone", "list"});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_TRUE(o.out.starts_with("NAME          KIND       MODE       SERIAL      SERVING")) << o.out;
    EXPECT_TRUE(contains(o.out, "example.com.  secondary  live       2024010101  yes      2026-04-23T10:00:00Z"))
        << o.out;
    EXPECT_TRUE(contains(o.out, "local.test.   file       presigned  -           no")) << o.out;
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
    EXPECT_TRUE(contains(o.out, "zone          example.com.\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "serial        2024010101\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "next refresh  2026-04-23T11:00:00Z\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "last failure  -\n")) << o.out;
    o = ctl({"zone", "show", "nowhere.example"});
    EXPECT_EQ(o.code, kExitApiError);
    EXPECT_EQ(o.err, "satellitectl: HTTP 404: unknown zone nowhere.example\n");
}

TEST_F(CtlTest, RefreshAndRetransferQueueARefresh) {
    Outcome o = ctl({"zone", "refresh", "example.com."});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_EQ(o.out, "example.com.: refresh queued\n");
    EXPECT_EQ(ctl({"zone", "retransfer", "example.com"}).code, kExitOk);
    EXPECT_EQ(control_.refreshes(), (std::vector<std::string>{"example.com.", "example.com."}));
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

TEST_F(CtlTest, DnssecStatusShowsKeysAndDs) {
    Outcome o = ctl({"dnssec", "status", "example.com."});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    EXPECT_TRUE(contains(o.out, "status     active\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "algorithm  13 (ECDSAP256SHA256)\n")) << o.out;
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

TEST_F(CtlTest, ConfirmDsWithoutRecordsConfirmsTheServersDsSet) {
    control_.reply.ds_records = {DsInfo{12345, 13, 2, "AA"}, DsInfo{12345, 13, 4, "BB"}};
    Outcome o = ctl({"dnssec", "confirm-ds", "example.com"});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    auto calls = control_.calls();
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0].op, DnssecOp::Get);
    EXPECT_EQ(calls[1].op, DnssecOp::ConfirmDsPublished);
    ASSERT_EQ(calls[1].request.ds_records.size(), 2u);
    EXPECT_EQ(calls[1].request.ds_records[1].digest_type, 4);
    EXPECT_EQ(calls[1].request.ds_records[1].digest, "BB");

    control_.reply.ds_records.clear();
    control_.reply.status = "disabled";
    o = ctl({"dnssec", "confirm-ds", "example.com"});
    EXPECT_EQ(o.code, kExitApiError);
    EXPECT_EQ(o.err, "satellitectl: example.com has no DS records to confirm (status disabled)\n");
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
             {"--frobnicate", "zone", "list"},
             {"--server", "https://127.0.0.1:8053", "zone", "list"},
             {"--server", "http://127.0.0.1:99999", "zone", "list"},
             {"--server", "http://::1:8053", "zone", "list"},
         }) {
        Outcome o = ctl(args);
        std::string joined;
        for (const auto& a : args) joined += a + " ";
        EXPECT_EQ(o.code, kExitUsage) << joined;
        EXPECT_TRUE(o.err.starts_with("satellitectl: ")) << joined << ": " << o.err;
    }
    EXPECT_TRUE(control_.calls().empty());
    Outcome help = ctl({"--help"});
    EXPECT_EQ(help.code, kExitOk);
    EXPECT_TRUE(help.out.starts_with("usage: satellitectl")) << help.out;
    EXPECT_TRUE(contains(help.out, "zone retransfer NAME           for now the same as `zone refresh`")) << help.out;
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
}

}  // namespace
}  // namespace satellite::ctl
