// The zones' events on a manual clock, through the real ZoneManager: a
// secondary zone served from state_dir, its refresh failing against a
// closed port on loopback, its retries, and its expiry. Time moves only
// when the test moves it; the io_context runs until what is due has run.
#include "daemon/zones.hpp"
#include "daemon/zone.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>

#include "config/config.hpp"
#include "dns/zonefile.hpp"
#include "util/clock.hpp"
#include "zone/consumed_catalog.hpp"
#include "zone/store.hpp"

namespace satellite::daemon {
namespace {

constexpr std::int64_t kT0 = 1'800'000'000;

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/zones_test.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

// A loopback port nobody listens on: connections are refused at once.
std::uint16_t closed_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

class ZonesOnManualClock : public ::testing::Test {
protected:
    void SetUp() override {
        origin = *dns::Name::from_text("sec.test.");
        // SOA refresh 60, retry 30, expire 600; stored as checked at kT0.
        const std::string zone_file = dir.path + "/sec.zone";
        std::ofstream(zone_file) << "$ORIGIN sec.test.\n$TTL 300\n"
                                    "@ SOA ns1 hostmaster 5 60 30 600 300\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n";
        auto records = dns::read_zone_file(zone_file, origin);
        ASSERT_TRUE(records) << records.error().message;
        zone::StoredZone sz{5, kT0, kT0, "127.0.0.1:53", std::move(*records)};
        ASSERT_TRUE(zone::save_zone(dir.path + "/state", origin, sz));
        if (!journal.empty()) {
            ASSERT_TRUE(zone::append_journal(dir.path + "/state", origin, journal));
        }
        const std::string conf = dir.path + "/satellite.toml";
        std::ofstream(conf) << "[server]\nlisten = [\"127.0.0.1:53535\"]\nstate_dir = \"" << dir.path
                            << "/state\"\n[[zone]]\nname = \"sec.test.\"\nprimaries = [\"127.0.0.1:" << closed_port()
                            << "\"]\n";
        auto cfg = config::load(conf);
        ASSERT_TRUE(cfg) << cfg.error().message;
        zones = std::make_unique<ZoneManager>(io, catalog, nullptr, &clock);
        zones->configure(*cfg);
        run_until([&] { return !zones->loading(); });
    }
    void TearDown() override {
        if (zones) zones->shutdown();
    }

    // Runs the control loop until `done` (bounded: 5 s of real time).
    bool run_until(const std::function<bool()>& done) {
        const auto stop = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!done()) {
            if (std::chrono::steady_clock::now() > stop) return false;
            io.restart();
            io.run_for(std::chrono::milliseconds(10));
        }
        return true;
    }
    void advance_to(std::int64_t t) {
        clock.advance(t - clock.now_unix());
        zones->clock_moved();
    }
    const std::shared_ptr<const zone::Snapshot>* served() {
        const zone::ServedZone* z = catalog.get()->exact(origin);
        return z ? z->served() : nullptr;
    }
    zone::ZoneState state() { return *zones->zone_state("sec.test."); }

    // Differences stored after the copy (serial 5), written before the load.
    std::vector<zone::ZoneDelta> journal;
    TempDir dir;
    dns::Name origin;
    ManualClock clock{kT0 + 10};
    boost::asio::io_context io;
    Published<zone::Catalog> catalog{std::make_unique<zone::Catalog>(std::vector<zone::ServedZone>{})};
    std::unique_ptr<ZoneManager> zones;
};

TEST_F(ZonesOnManualClock, TheStoredCopyIsServedAtOnceAndNothingRunsBeforeItsTime) {
    ASSERT_NE(served(), nullptr);
    EXPECT_EQ((*served())->serial(), 5u);
    EXPECT_EQ(state().phase, zone::Phase::Ok);
    EXPECT_EQ(state().served, 5u);
    // The refresh is due at kT0 + 60: a while of the control loop runs nothing.
    io.restart();
    io.run_for(std::chrono::milliseconds(100));
    EXPECT_EQ(state().failures, 0u);
    EXPECT_EQ(state().last_attempt, 0);
    auto info = zones->api_zones();
    ASSERT_EQ(info.size(), 1u);
    EXPECT_EQ(info[0].phase, "ok");
    EXPECT_EQ(info[0].stored_serial, 5u);
    EXPECT_EQ(info[0].records, 4u);
    EXPECT_EQ(info[0].not_ready, "");
}

// sec.test. from `from` to `to`: the SOAs, and `added` (zone file lines).
zone::ZoneDelta sec_delta(std::uint32_t from, std::uint32_t to, const std::string& added) {
    auto origin = *dns::Name::from_text("sec.test.");
    auto soa = [](std::uint32_t serial) {
        return "sec.test. 300 IN SOA ns1.sec.test. hostmaster.sec.test. " + std::to_string(serial) + " 60 30 600 300\n";
    };
    zone::ZoneDelta d;
    d.from = from;
    d.to = to;
    d.removed = *dns::parse_records(soa(from), origin);
    d.added = *dns::parse_records(soa(to) + added, origin);
    return d;
}

class ZonesWithJournal : public ZonesOnManualClock {
protected:
    void SetUp() override {
        journal.push_back(sec_delta(5, 6, "a.sec.test. 300 IN A 192.0.2.6\n"));
        journal.push_back(sec_delta(6, 7, "b.sec.test. 300 IN A 192.0.2.7\n"));
        ZonesOnManualClock::SetUp();
    }
    std::shared_ptr<const zone::IxfrHistory> history() {
        const zone::ServedZone* z = catalog.get()->exact(origin);
        const auto* h = z && z->slot ? z->slot->history.load(std::memory_order_acquire) : nullptr;
        return h ? *h : nullptr;
    }
};

// After a restart, outgoing IXFR is answered from the stored journal's
// differences: a secondary at serial 5 or 6 gets the change, not the zone.
TEST_F(ZonesWithJournal, TheStoredJournalIsTheOutgoingIxfrHistoryAfterALoad) {
    ASSERT_NE(served(), nullptr);
    EXPECT_EQ((*served())->serial(), 7u);
    auto h = history();
    ASSERT_NE(h, nullptr);
    ASSERT_EQ(h->deltas.size(), 2u);
    EXPECT_EQ(h->from(5, 7), 0);
    EXPECT_EQ(h->from(6, 7), 1);
    EXPECT_EQ(h->from(4, 7), -1);  // older than the journal: AXFR-style
    EXPECT_EQ(h->deltas[1].added.size(), 2u);
}

class ZonesWithALongJournal : public ZonesWithJournal {
protected:
    void SetUp() override {
        for (std::uint32_t s = 5; s < 5 + kIxfrHistorySteps + 10; ++s) journal.push_back(sec_delta(s, s + 1, ""));
        ZonesOnManualClock::SetUp();
    }
};

TEST_F(ZonesWithALongJournal, TheHistoryFromTheJournalKeepsTheNewestStepsWithinTheBound) {
    ASSERT_NE(served(), nullptr);
    const std::uint32_t last = 5 + kIxfrHistorySteps + 10;
    EXPECT_EQ((*served())->serial(), last);
    auto h = history();
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->deltas.size(), kIxfrHistorySteps);
    EXPECT_EQ(h->deltas.back().to, last);
    EXPECT_EQ(h->from(last - kIxfrHistorySteps, last), 0);
    EXPECT_EQ(h->from(last - kIxfrHistorySteps - 1, last), -1);
}

TEST_F(ZonesOnManualClock, RefreshFailsThenRetriesAfterSoaRetryThenTheZoneExpires) {
    advance_to(kT0 + 60);  // SOA refresh after the stored check
    ASSERT_TRUE(run_until([&] { return state().failures == 1; }));
    zone::ZoneState s = state();
    EXPECT_EQ(s.phase, zone::Phase::Refreshing);
    EXPECT_EQ(s.last_error_at, kT0 + 60);
    EXPECT_NE(s.last_error.find("SOA query failed"), std::string::npos) << s.last_error;
    EXPECT_NE(served(), nullptr);  // still served
    // The retry comes after SOA retry (30 s, spread by up to 3 s), not before.
    advance_to(kT0 + 60 + 26);
    io.restart();
    io.run_for(std::chrono::milliseconds(100));
    EXPECT_EQ(state().failures, 1u);
    advance_to(kT0 + 60 + 34);
    ASSERT_TRUE(run_until([&] { return state().failures == 2; }));
    EXPECT_NE(served(), nullptr);
    // SOA expire (600 s after the last good check at kT0): SERVFAIL from then on.
    advance_to(kT0 + 599);
    run_until([&] { return state().failures >= 3; });
    EXPECT_NE(served(), nullptr);
    EXPECT_NE(state().phase, zone::Phase::Expired);
    // Past three quarters of SOA expire with no answer: served, but /readyz
    // says it is about to expire.
    auto info = zones->api_zones();
    ASSERT_EQ(info.size(), 1u);
    EXPECT_EQ(info[0].phase, "refreshing");
    EXPECT_NE(info[0].not_ready.find("expires in 1 s (SOA expire)"), std::string::npos) << info[0].not_ready;
    advance_to(kT0 + 601);
    ASSERT_TRUE(run_until([&] { return state().phase == zone::Phase::Expired; }));
    EXPECT_EQ(served(), nullptr);
    info = zones->api_zones();
    EXPECT_EQ(info[0].phase, "expired");
    EXPECT_EQ(info[0].records, 0u);
    EXPECT_NE(info[0].not_ready.find("expired"), std::string::npos) << info[0].not_ready;
    // The state on disk says so too, for a restart (written on the disk pool: waited for).
    auto on_disk_expired = [&] {
        auto s = zone::load_zone_state(dir.path + "/state", origin);
        return s && s->has_value() && (*s)->phase == zone::Phase::Expired;
    };
    run_until(on_disk_expired);
    auto stored = zone::load_zone_state(dir.path + "/state", origin);
    ASSERT_TRUE(stored && stored->has_value());
    EXPECT_EQ((*stored)->phase, zone::Phase::Expired);
    EXPECT_GE((*stored)->failures, 3u);
}

TEST_F(ZonesOnManualClock, NotifiesCloseTogetherMakeOneCheck) {
    for (int i = 0; i < 5; ++i) zones->notify(origin, 6, "127.0.0.1");
    ASSERT_TRUE(run_until([&] { return state().failures >= 1; }));
    io.restart();
    io.run_for(std::chrono::milliseconds(200));
    EXPECT_EQ(state().failures, 1u);  // five NOTIFYs, one failed check
    EXPECT_EQ(state().notified, 6u);
    // A NOTIFY of a serial we serve starts nothing.
    zones->notify(origin, 5, "127.0.0.1");
    io.restart();
    io.run_for(std::chrono::milliseconds(200));
    EXPECT_EQ(state().failures, 1u);
}

// Issue 15: a signed zone stops being served once its earliest signature is
// within signature_safety_margin of expiring (a file zone here: no SOA
// expire clock), with EDE 7 for the SERVFAIL and the effective expiry for
// EDNS EXPIRE in its slot.
// A [[catalog]] removed by a reload: its member stops being served and its
// files stay member_grace; the block back within it serves the member from
// state_dir again (no transfer: the primary is a closed port); a reload
// after the grace deletes the member's files and the catalog's member list.
TEST(ZonesConsumedCatalog, ARemovedCatalogBlockKeepsItsMembersForTheGraceAndTakesThemBack) {
    TempDir dir;
    ManualClock clock{kT0 + 10};
    boost::asio::io_context io;
    Published<zone::Catalog> catalog{std::make_unique<zone::Catalog>(std::vector<zone::ServedZone>{})};
    const std::string state = dir.path + "/state";
    const auto member = *dns::Name::from_text("m.test.");
    const auto cat = *dns::Name::from_text("cat.test.");
    auto records = dns::parse_records("m.test. 300 IN SOA ns1.m.test. h.m.test. 5 60 30 600 300\n"
                                      "m.test. 300 IN NS ns1.m.test.\nns1.m.test. 300 IN A 192.0.2.1\n",
                                      member);
    ASSERT_TRUE(records);
    ASSERT_TRUE(zone::save_zone(state, member, zone::StoredZone{5, kT0, kT0, "127.0.0.1:53", std::move(*records)}));
    zone::ConsumerState cs;
    cs.members = zone::MemberList{1, {zone::CatalogEntry{member, "m1", "", std::nullopt}}};
    ASSERT_TRUE(zone::save_consumer_state(state, cat, cs));

    const std::string server = "[server]\nlisten = [\"127.0.0.1:53535\"]\nstate_dir = \"" + state + "\"\n";
    const std::string with = dir.path + "/with.toml", without = dir.path + "/without.toml";
    std::ofstream(with) << server << "[[catalog]]\nname = \"cat.test.\"\nprimaries = [\"127.0.0.1:" << closed_port()
                        << "\"]\nmember_grace = \"1h\"\n";
    std::ofstream(without) << server;
    auto cfg_with = config::load(with);
    ASSERT_TRUE(cfg_with) << cfg_with.error().message;
    auto cfg_without = config::load(without);
    ASSERT_TRUE(cfg_without) << cfg_without.error().message;

    ZoneManager zones(io, catalog, nullptr, &clock);
    auto settle = [&] {
        const auto stop = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (zones.loading() && std::chrono::steady_clock::now() < stop) {
            io.restart();
            io.run_for(std::chrono::milliseconds(10));
        }
        io.restart();
        io.run_for(std::chrono::milliseconds(20));
    };
    auto served_serial = [&]() -> std::int64_t {
        const zone::ServedZone* z = catalog.get()->exact(member);
        return z && z->served() ? static_cast<std::int64_t>((*z->served())->serial()) : -1;
    };
    zones.configure(*cfg_with);
    settle();
    ASSERT_EQ(served_serial(), 5);

    zones.configure(*cfg_without);  // the block removed
    settle();
    EXPECT_EQ(served_serial(), -1);
    EXPECT_TRUE(std::filesystem::exists(zone::stored_zone_path(state, member)));
    auto kept = zone::load_consumer_state(state, cat);
    ASSERT_TRUE(kept);
    ASSERT_EQ(kept->removed.size(), 1u);
    EXPECT_TRUE(kept->removed[0].zone.equals(member));
    EXPECT_EQ(kept->removed[0].purge_at, kT0 + 10 + 3600);

    zones.configure(*cfg_with);  // back within the grace: served from state_dir
    settle();
    EXPECT_EQ(served_serial(), 5);
    EXPECT_EQ(zones.zone_state("m.test.")->transfers_ok, 0u);
    kept = zone::load_consumer_state(state, cat);
    ASSERT_TRUE(kept);
    EXPECT_TRUE(kept->removed.empty());

    zones.configure(*cfg_without);
    settle();
    clock.advance(3601);
    zones.configure(*cfg_without);  // a reload after the grace purges
    settle();
    EXPECT_FALSE(std::filesystem::exists(zone::stored_zone_path(state, member)));
    EXPECT_FALSE(std::filesystem::exists(zone::consumer_state_path(state, cat)));
    zones.shutdown();
}

TEST(ZonesSignatureExpiry, ASignedFileZoneExpiresAtItsEarliestSignatureLessTheMargin) {
    TempDir dir;
    const dns::Name origin = *dns::Name::from_text("signed.test.");
    const std::string zone_file = dir.path + "/signed.zone";
    // www's A expires first, at kT0 + 1000 (2027-01-15T08:16:40Z).
    std::ofstream(zone_file) << "$ORIGIN signed.test.\n$TTL 300\n"
                                "@ SOA ns1 hostmaster 1 60 30 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n"
                                "www A 192.0.2.2\n"
                                "www RRSIG A 13 3 300 20270115081640 20270101000000 1234 signed.test. AAAA\n"
                                "ns1 RRSIG A 13 3 300 20270301000000 20270101000000 1234 signed.test. AAAA\n";
    const std::string conf = dir.path + "/satellite.toml";
    std::ofstream(conf) << "[server]\nlisten = [\"127.0.0.1:53535\"]\nstate_dir = \"" << dir.path
                        << "/state\"\n[[zone]]\nname = \"signed.test.\"\nfile = \"" << zone_file
                        << "\"\npresigned_verify = \"off\"\nsignature_safety_margin = \"100s\"\n";
    auto cfg = config::load(conf);
    ASSERT_TRUE(cfg) << cfg.error().message;
    ManualClock clock{kT0 + 10};
    boost::asio::io_context io;
    Published<zone::Catalog> catalog{std::make_unique<zone::Catalog>(std::vector<zone::ServedZone>{})};
    ZoneManager zones(io, catalog, nullptr, &clock);
    auto run_until = [&](const std::function<bool()>& done) {
        const auto stop = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!done()) {
            if (std::chrono::steady_clock::now() > stop) return false;
            io.restart();
            io.run_for(std::chrono::milliseconds(10));
        }
        return true;
    };
    auto slot = [&]() { return catalog.get()->exact(origin); };
    auto advance_to = [&](std::int64_t t) {
        clock.advance(t - clock.now_unix());
        zones.clock_moved();
    };
    zones.configure(*cfg);
    ASSERT_TRUE(run_until([&] { return !zones.loading() && slot() && slot()->served(); }));
    zone::ZoneState s = *zones.zone_state("signed.test.");
    EXPECT_EQ(s.signature_expiry, kT0 + 1000);
    EXPECT_EQ(s.signature_rrset, "www.signed.test. A");
    EXPECT_EQ(s.effective_expiry, kT0 + 900);
    EXPECT_EQ(slot()->slot->expire_at.load(), kT0 + 900);
    // Served up to the limit, not after it.
    advance_to(kT0 + 899);
    io.restart();
    io.run_for(std::chrono::milliseconds(100));
    EXPECT_NE(slot()->served(), nullptr);
    advance_to(kT0 + 902);
    ASSERT_TRUE(run_until([&] { return slot()->served() == nullptr; }));
    s = *zones.zone_state("signed.test.");
    EXPECT_EQ(s.phase, zone::Phase::Expired);
    EXPECT_TRUE(s.expired_by_signatures);
    EXPECT_EQ(slot()->slot->unserved_ede.load(), zone::kEdeSignatureExpired);
    zones.shutdown();
}

}  // namespace
}  // namespace satellite::daemon
