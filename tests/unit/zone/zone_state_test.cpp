#include "zone/zone_state.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "zone/store.hpp"

namespace {

using namespace satellite;
using zone::Phase;
using zone::ZoneState;

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/zone_state_test.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

dns::Name origin() { return *dns::Name::from_text("Example.Test."); }

TEST(ZoneState, SuccessClearsTheLastErrorAndFailures) {
    ZoneState s;
    s.served = 10;
    s.succeeded(100);
    EXPECT_EQ(s.phase, Phase::Ok);
    s.failed(200, "192.0.2.1:53: connection refused");
    s.failed(210, "192.0.2.1:53: timed out");
    EXPECT_EQ(s.failures, 2u);
    EXPECT_EQ(s.phase, Phase::Refreshing);
    EXPECT_EQ(s.last_error, "192.0.2.1:53: timed out");
    EXPECT_EQ(s.last_error_at, 210);
    s.succeeded(300);
    EXPECT_EQ(s.failures, 0u);
    EXPECT_TRUE(s.last_error.empty());
    EXPECT_EQ(s.last_error_at, 0);
    EXPECT_EQ(s.last_check, 300);
    EXPECT_EQ(s.phase, Phase::Ok);
}

TEST(ZoneState, NotifyKeepsTheNewestAnnouncedSerial) {
    ZoneState s;
    s.served = 100;
    s.phase = Phase::Ok;
    EXPECT_FALSE(s.notify(100));  // have it
    EXPECT_FALSE(s.notify(90));   // older
    EXPECT_FALSE(s.notified.has_value());
    EXPECT_TRUE(s.notify(105));
    EXPECT_TRUE(s.notify(103));   // still worth a look, but 105 stays the one announced
    EXPECT_EQ(s.notified, 105u);
    EXPECT_TRUE(s.notify(std::nullopt));  // no serial: always a look
    s.served = 105;
    s.succeeded(10);
    EXPECT_FALSE(s.notified.has_value());  // served now
}

TEST(ZoneState, AnExpiredZoneTakesANotifyOfItsOwnSerial) {
    ZoneState s;
    s.served = 100;
    s.phase = Phase::Expired;
    EXPECT_TRUE(s.notify(100));
}

TEST(ZoneState, SavedAndRestored) {
    TempDir d;
    ZoneState s;
    s.served = 2000;
    s.stored = 1999;
    s.notified = 2001;
    s.phase = Phase::Refreshing;
    s.last_check = 1'700'000'000;
    s.last_transfer = 1'699'999'000;
    s.last_attempt = 1'700'000'100;
    s.failures = 3;
    s.last_error = "127.0.0.1:53: AXFR failed:\nline two";
    s.last_error_at = 1'700'000'100;
    s.primary_expire = 4321;  // RFC 7314: the expire clock a restart keeps
    ASSERT_TRUE(zone::save_zone_state(d.path, origin(), s));
    EXPECT_FALSE(std::filesystem::exists(zone::zone_state_path(d.path, origin()) + ".tmp"));
    auto r = zone::load_zone_state(d.path, origin());
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(r->has_value());
    const ZoneState& t = **r;
    EXPECT_EQ(t.served, 2000u);
    EXPECT_EQ(t.stored, 1999u);
    EXPECT_EQ(t.notified, 2001u);
    EXPECT_EQ(t.phase, Phase::Refreshing);
    EXPECT_EQ(t.last_check, s.last_check);
    EXPECT_EQ(t.last_transfer, s.last_transfer);
    EXPECT_EQ(t.last_attempt, s.last_attempt);
    EXPECT_EQ(t.failures, 3u);
    EXPECT_EQ(t.last_error, "127.0.0.1:53: AXFR failed: line two");
    EXPECT_EQ(t.last_error_at, s.last_error_at);
    EXPECT_EQ(t.primary_expire, 4321u);
    s.primary_expire.reset();
    ASSERT_TRUE(zone::save_zone_state(d.path, origin(), s));
    EXPECT_EQ((*zone::load_zone_state(d.path, origin()))->primary_expire, std::nullopt);
}

TEST(ZoneState, NothingStoredIsNotAnError) {
    TempDir d;
    auto r = zone::load_zone_state(d.path, origin());
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->has_value());
}

TEST(ZoneState, ReadsTheOlderCheckedFileAndReplacesIt) {
    TempDir d;
    const std::string legacy = zone::stored_zone_path(d.path, origin()) + ".checked";
    std::filesystem::create_directories(std::filesystem::path(legacy).parent_path());
    std::ofstream(legacy) << 1234567 << "\n";
    auto r = zone::load_zone_state(d.path, origin());
    ASSERT_TRUE(r && r->has_value());
    EXPECT_EQ((*r)->last_check, 1234567);
    ASSERT_TRUE(zone::save_zone_state(d.path, origin(), **r));
    EXPECT_FALSE(std::filesystem::exists(legacy));
}

TEST(ZoneState, ADamagedFileIsAnErrorNamingIt) {
    TempDir d;
    const std::string path = zone::zone_state_path(d.path, origin());
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << "satellite-zone-state 1\nserved banana\n";
    auto r = zone::load_zone_state(d.path, origin());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(path + ":2"), std::string::npos) << r.error().message;
    std::ofstream(path) << "something else\n";
    EXPECT_FALSE(zone::load_zone_state(d.path, origin()));
}

}  // namespace
