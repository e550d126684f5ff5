// The json log format: one object per line, with `zone` and `primary`
// fields taken from the message; a second setup() (SIGHUP) switches format
// and level of the running logger.
#include "util/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace satellite {
namespace {

// Runs `fn` with stderr going to a file; returns what was written.
template <class Fn>
std::string capture_stderr(Fn fn) {
    std::string path = ::testing::TempDir() + "log_test_stderr.txt";
    std::fflush(stderr);
    int saved = ::dup(2);
    FILE* f = std::fopen(path.c_str(), "w");
    ::dup2(::fileno(f), 2);
    fn();
    spdlog::default_logger()->flush();
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    std::fclose(f);
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(JsonLog, ZoneAndPrimaryBecomeFields) {
    ASSERT_TRUE(log::setup("info", "json"));
    std::string out = capture_stderr([] {
        spdlog::warn("zone example.com.: SOA query to 192.0.2.1:53 failed: timeout");
        spdlog::info("zone v6.test.: AXFR from [2001:db8::1]:5300 (12 records)");
        spdlog::info("listening on 127.0.0.1 port 53 (udp, tcp)");
        spdlog::info("zone files.test. loaded from /etc/z: serial 3");
        spdlog::info("zone is not a name here");
        spdlog::info("a \"quoted\"\nline");
        spdlog::debug("below the level: not written");
    });
    std::istringstream lines(out);
    std::string l1, l2, l3, l3a, l3b, l4, l5;
    std::getline(lines, l1);
    std::getline(lines, l2);
    std::getline(lines, l3);
    std::getline(lines, l3a);
    std::getline(lines, l3b);
    std::getline(lines, l4);
    EXPECT_FALSE(std::getline(lines, l5)) << out;
    EXPECT_TRUE(l1.starts_with("{\"time\":\"")) << l1;
    EXPECT_NE(l1.find(R"("level":"warning","thread":)"), std::string::npos) << l1;
    EXPECT_TRUE(l1.ends_with(R"(,"zone":"example.com.","primary":"192.0.2.1:53",)"
                             R"("msg":"zone example.com.: SOA query to 192.0.2.1:53 failed: timeout"})"))
        << l1;
    EXPECT_NE(l2.find(R"("zone":"v6.test.","primary":"[2001:db8::1]:5300","msg":)"), std::string::npos) << l2;
    EXPECT_EQ(l3.find("\"zone\""), std::string::npos) << l3;
    EXPECT_EQ(l3.find("\"primary\""), std::string::npos) << l3;  // "127.0.0.1 port 53" is no ADDRESS:PORT
    EXPECT_NE(l3a.find(R"("zone":"files.test.","msg":)"), std::string::npos) << l3a;
    EXPECT_EQ(l3b.find("\"zone\""), std::string::npos) << l3b;
    EXPECT_NE(l4.find(R"("msg":"a \"quoted\"\nline"})"), std::string::npos) << l4;
}

TEST(JsonLog, SetupAgainSwitchesTheRunningLogger) {
    ASSERT_TRUE(log::setup("info", "json"));
    auto before = spdlog::default_logger();
    ASSERT_TRUE(log::setup("debug", "text"));
    EXPECT_EQ(spdlog::default_logger(), before);  // the same logger, changed in place
    std::string out = capture_stderr([] { spdlog::debug("zone a.test.: now visible"); });
    EXPECT_NE(out.find(" debug zone a.test.: now visible\n"), std::string::npos) << out;
    EXPECT_EQ(out.find('{'), std::string::npos) << out;
    EXPECT_FALSE(log::setup("loud", "text"));
    EXPECT_FALSE(log::setup("info", "xml"));
    ASSERT_TRUE(log::setup("info", "text"));
}

}  // namespace
}  // namespace satellite
