// The DNSSEC lifecycle under a clock the test moves: a whole life (enable,
// DS confirmed, ZSK roll, KSK roll, disable), each timed move happening
// exactly when RFC 7583's waits are over, invalid calls refused with 409,
// wrong DS with 400, and a reload in the middle of each roll resuming it;
// a kill -9 at each point of a key change (key file made, state saved, key
// file deleted) leaving a zone that loads and signs with the right keys.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dns/dnssec.hpp"
#include "modes/lifecycle.hpp"

namespace satellite::modes {
namespace {

namespace fs = std::filesystem;

class LifecycleTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("satellite-lc-" + std::to_string(::getpid()) + "-" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        t_.dnskey_ttl = 300;
        t_.max_zone_ttl = 3600;
        t_.propagation_delay = 60;
        t_.parent_ds_ttl = 7200;
        t_.zsk_lifetime = 0;
    }
    void TearDown() override { fs::remove_all(dir_); }
    Lifecycle load() {
        auto lc = Lifecycle::load(dir_.string(), zone_);
        EXPECT_TRUE(lc.ok()) << lc.error().message;
        return std::move(*lc);
    }
    std::size_t count(const Lifecycle& lc, KeyRole role, KeyState st) {
        std::size_t n = 0;
        for (const auto& k : lc.keys()) n += k.key.role == role && k.state == st;
        return n;
    }
    std::size_t key_files() {
        std::size_t n = 0;
        for (const auto& e : fs::directory_iterator(key_directory(dir_.string(), zone_))) {
            n += e.path().extension() == ".key";
        }
        return n;
    }
    fs::path key_dir() const { return key_directory(dir_.string(), zone_); }
    std::string state_text() const {
        std::ifstream f(key_dir() / "state");
        std::stringstream ss;
        ss << f.rdbuf();
        return ss.str();
    }
    bool state_names(const std::string& path) const {
        return state_text().find(" " + fs::path(path).filename().string() + " ") != std::string::npos;
    }
    // A directory where the state's temp file goes: every save fails, as on
    // a full disk, after the lifecycle has made its change in memory.
    void block_saves() { fs::create_directory(key_dir() / "state.tmp"); }
    void unblock_saves() { fs::remove(key_dir() / "state.tmp"); }
    // Enabled, DS confirmed: one active KSK and ZSK.
    Lifecycle active() {
        Lifecycle lc = load();
        EXPECT_TRUE(lc.enable(13, now_).ok());
        EXPECT_TRUE(lc.confirm_ds_published(lc.ds_records(), now_, t_).ok());
        return lc;
    }
    // Starts a ZSK roll at `at` and moves it until the old ZSK retires;
    // returns the old ZSK's file.
    std::string roll_zsk_to_retire(Lifecycle& lc, std::int64_t at) {
        const std::string old = lc.signing_keys().zsk().path;
        EXPECT_TRUE(lc.rotate_zsk(at, t_).ok());
        EXPECT_TRUE(lc.advance(at + 360, t_));
        EXPECT_EQ(count(lc, KeyRole::Zsk, KeyState::Retire), 1u);
        return old;
    }
    dns::Name zone_ = *dns::Name::from_text("example.test.");
    fs::path dir_;
    LifecycleTiming t_;
    std::int64_t now_ = 1'800'000'000;
};

TEST_F(LifecycleTest, AWholeLifeUnderAControlledClock) {
    Lifecycle lc = load();
    EXPECT_EQ(lc.status(), DnssecStatus::Disabled);
    EXPECT_FALSE(lc.signs());
    EXPECT_EQ(lc.rotate_zsk(now_, t_).refused, modes::Refusal::Conflict);
    EXPECT_EQ(lc.confirm_ds_published({}, now_, t_).refused, modes::Refusal::Conflict);
    EXPECT_EQ(lc.enable(7, now_).refused, modes::Refusal::Invalid);

    ASSERT_TRUE(lc.enable(13, now_).ok());
    EXPECT_EQ(lc.status(), DnssecStatus::PendingDs);
    EXPECT_EQ(lc.enable(13, now_).refused, modes::Refusal::Conflict);
    EXPECT_EQ(lc.rotate_ksk(now_, t_).refused, modes::Refusal::Conflict);
    ASSERT_EQ(lc.ds_records().size(), 1u);
    auto ds = lc.ds_records();
    // A DS that is not ours: 400, nothing changes.
    auto wrong = ds;
    wrong[0].digest[0] ^= 1;
    EXPECT_EQ(lc.confirm_ds_published(wrong, now_, t_).refused, modes::Refusal::Invalid);
    EXPECT_EQ(lc.status(), DnssecStatus::PendingDs);
    ASSERT_TRUE(lc.confirm_ds_published(ds, now_, t_).ok());
    EXPECT_EQ(lc.status(), DnssecStatus::Active);
    EXPECT_EQ(count(lc, KeyRole::Ksk, KeyState::Active), 1u);

    // ZSK roll by pre-publication.
    const std::uint16_t old_zsk = lc.signing_keys().zsk().tag;
    ASSERT_TRUE(lc.rotate_zsk(now_, t_).ok());
    EXPECT_EQ(lc.status(), DnssecStatus::RotatingZsk);
    EXPECT_EQ(count(lc, KeyRole::Zsk, KeyState::Publish), 1u);
    EXPECT_EQ(lc.signing_keys().zsk().tag, old_zsk);  // the new one is published, not signing
    EXPECT_EQ(lc.next_event(t_), now_ + 300 + 60);
    EXPECT_FALSE(lc.advance(now_ + 359, t_));
    ASSERT_TRUE(lc.advance(now_ + 360, t_));
    EXPECT_NE(lc.signing_keys().zsk().tag, old_zsk);
    EXPECT_EQ(count(lc, KeyRole::Zsk, KeyState::Retire), 1u);
    EXPECT_EQ(lc.signing_keys().keys.size(), 3u);  // old ZSK still in DNSKEY
    EXPECT_EQ(lc.next_event(t_), now_ + 360 + 3600 + 60);
    EXPECT_EQ(lc.status(), DnssecStatus::RotatingZsk);
    ASSERT_TRUE(lc.advance(now_ + 360 + 3660, t_));
    EXPECT_EQ(lc.status(), DnssecStatus::Active);
    EXPECT_EQ(lc.signing_keys().keys.size(), 2u);
    EXPECT_EQ(key_files(), 2u);  // the dead ZSK's file is gone

    // KSK roll, double-KSK: the new DNSKEY first, its DS only once every
    // cache has it (DNSKEY TTL 300 + propagation 60).
    now_ += 10'000;
    const std::uint16_t old_ksk = lc.signing_keys().ksk().tag;
    ASSERT_TRUE(lc.rotate_ksk(now_, t_).ok());
    EXPECT_EQ(lc.status(), DnssecStatus::RotatingKsk);
    EXPECT_EQ(count(lc, KeyRole::Ksk, KeyState::Publish), 1u);
    EXPECT_EQ(lc.signing_keys().keys.size(), 3u);  // the new DNSKEY is published at once
    EXPECT_EQ(lc.ds_records().size(), 1u);         // CDS still names only the old KSK
    EXPECT_EQ(lc.ds_publish_after(), now_ + 360);
    {
        // Confirming the new DS before then: 409, naming the time.
        std::vector<DsRecord> early;
        for (const auto& k : lc.keys()) {
            if (k.key.role != KeyRole::Ksk || k.state != KeyState::Publish) continue;
            auto rd = dns::ds_rdata(zone_, k.key.dnskey, 2);
            early.push_back({k.key.tag, rd[2], rd[3], {rd.begin() + 4, rd.end()}});
        }
        ASSERT_EQ(early.size(), 1u);
        auto refused = lc.confirm_ds_published(early, now_ + 359, t_);
        EXPECT_EQ(refused.refused, modes::Refusal::Conflict);
        EXPECT_NE(refused.message.find("2027-01-15T10:52:40Z"), std::string::npos) << refused.message;
    }
    EXPECT_EQ(lc.next_event(t_), now_ + 360);
    EXPECT_FALSE(lc.advance(now_ + 359, t_));
    ASSERT_TRUE(lc.advance(now_ + 360, t_));
    EXPECT_EQ(lc.status(), DnssecStatus::RotatingKsk);
    EXPECT_EQ(count(lc, KeyRole::Ksk, KeyState::DsSubmit), 1u);
    EXPECT_EQ(lc.ds_publish_after(), 0);
    now_ += 360;
    EXPECT_EQ(lc.ds_records().size(), 2u);  // CDS names both KSKs from then on
    EXPECT_EQ(lc.disable(now_).refused, modes::Refusal::Conflict);
    auto both = lc.ds_records();
    std::vector<DsRecord> only_old;
    for (const auto& d : both) {
        if (d.key_tag == old_ksk) only_old.push_back(d);
    }
    EXPECT_EQ(lc.confirm_ds_published(only_old, now_, t_).refused, modes::Refusal::Invalid);  // must name the new KSK
    ASSERT_TRUE(lc.confirm_ds_published(both, now_, t_).ok());
    EXPECT_EQ(lc.status(), DnssecStatus::Active);
    EXPECT_EQ(count(lc, KeyRole::Ksk, KeyState::DsPublish), 1u);
    // No second KSK roll while this one is still finishing.
    EXPECT_EQ(lc.rotate_ksk(now_, t_).refused, modes::Refusal::Conflict);
    EXPECT_FALSE(lc.advance(now_ + 7200 + 59, t_));
    ASSERT_TRUE(lc.advance(now_ + 7260, t_));
    EXPECT_EQ(count(lc, KeyRole::Ksk, KeyState::Retire), 1u);
    EXPECT_NE(lc.signing_keys().ksk().tag, 0);
    EXPECT_EQ(lc.ds_records().size(), 1u);
    EXPECT_NE(lc.ds_records()[0].key_tag, old_ksk);
    ASSERT_TRUE(lc.advance(now_ + 7260 + 360, t_));
    EXPECT_EQ(count(lc, KeyRole::Ksk, KeyState::Active), 1u);
    EXPECT_EQ(lc.signing_keys().keys.size(), 2u);

    // Disable: signed with the delete CDS until the DS is gone.
    ASSERT_TRUE(lc.disable(now_).ok());
    EXPECT_EQ(lc.status(), DnssecStatus::PendingDisabled);
    EXPECT_TRUE(lc.signs());
    EXPECT_TRUE(lc.signing_keys().cds_delete);
    ASSERT_TRUE(lc.confirm_ds_removed(now_, t_).ok());
    // Still signed until resolvers have dropped the parent's DS.
    EXPECT_EQ(lc.status(), DnssecStatus::PendingDisabled);
    EXPECT_EQ(lc.confirm_ds_removed(now_, t_).refused, modes::Refusal::Conflict);
    EXPECT_EQ(lc.next_event(t_), now_ + 7200 + 60);
    EXPECT_FALSE(lc.advance(now_ + 7259, t_));
    EXPECT_TRUE(lc.signs());
    ASSERT_TRUE(lc.advance(now_ + 7260, t_));
    EXPECT_EQ(lc.status(), DnssecStatus::Disabled);
    EXPECT_FALSE(lc.signs());
    EXPECT_EQ(key_files(), 0u);
    EXPECT_EQ(lc.confirm_ds_removed(now_, t_).refused, modes::Refusal::Conflict);
}

TEST_F(LifecycleTest, AReloadInTheMiddleOfEachRollResumesIt) {
    {
        Lifecycle lc = load();
        ASSERT_TRUE(lc.enable(15, now_).ok());
        ASSERT_TRUE(lc.confirm_ds_published(lc.ds_records(), now_, t_).ok());
        ASSERT_TRUE(lc.rotate_zsk(now_, t_).ok());
    }
    {
        Lifecycle lc = load();
        EXPECT_EQ(lc.status(), DnssecStatus::RotatingZsk);
        EXPECT_EQ(lc.algorithm(), 15);
        EXPECT_EQ(count(lc, KeyRole::Zsk, KeyState::Publish), 1u);
        EXPECT_EQ(lc.next_event(t_), now_ + 360);
        ASSERT_TRUE(lc.advance(now_ + 360, t_));
    }
    {
        Lifecycle lc = load();
        EXPECT_EQ(count(lc, KeyRole::Zsk, KeyState::Retire), 1u);
        ASSERT_TRUE(lc.advance(now_ + 360 + 3660, t_));
        ASSERT_TRUE(lc.rotate_ksk(now_ + 5000, t_).ok());
    }
    {
        Lifecycle lc = load();
        EXPECT_EQ(lc.status(), DnssecStatus::RotatingKsk);
        EXPECT_EQ(count(lc, KeyRole::Ksk, KeyState::Publish), 1u);
        EXPECT_EQ(lc.ds_publish_after(), now_ + 5360);
        ASSERT_TRUE(lc.advance(now_ + 5360, t_));
    }
    {
        Lifecycle lc = load();
        EXPECT_EQ(lc.status(), DnssecStatus::RotatingKsk);
        EXPECT_EQ(count(lc, KeyRole::Ksk, KeyState::DsSubmit), 1u);
        ASSERT_TRUE(lc.confirm_ds_published(lc.ds_records(), now_ + 5360, t_).ok());
    }
    {
        Lifecycle lc = load();
        EXPECT_EQ(count(lc, KeyRole::Ksk, KeyState::DsPublish), 1u);
        EXPECT_EQ(lc.next_event(t_), now_ + 5360 + 7260);
    }
}

TEST_F(LifecycleTest, ZskRollsByItselfWhenItsLifetimeEnds) {
    t_.zsk_lifetime = 86400;
    Lifecycle lc = load();
    ASSERT_TRUE(lc.enable(13, now_).ok());
    ASSERT_TRUE(lc.confirm_ds_published(lc.ds_records(), now_, t_).ok());
    EXPECT_EQ(lc.next_event(t_), now_ + 86400);
    EXPECT_FALSE(lc.advance(now_ + 86399, t_));
    ASSERT_TRUE(lc.advance(now_ + 86400, t_));
    EXPECT_EQ(lc.status(), DnssecStatus::RotatingZsk);
}

TEST_F(LifecycleTest, DisableBeforeTheDsWasConfirmedIsImmediate) {
    Lifecycle lc = load();
    ASSERT_TRUE(lc.enable(13, now_).ok());
    ASSERT_TRUE(lc.disable(now_).ok());
    EXPECT_EQ(lc.status(), DnssecStatus::Disabled);
    EXPECT_EQ(key_files(), 0u);
    EXPECT_EQ(lc.disable(now_).refused, modes::Refusal::Conflict);
}

// Seed 000: modified_on is when the status last changed, null (0) when
// DNSSEC was never enabled; it is kept across a reload.
TEST_F(LifecycleTest, ModifiedOnFollowsStatusChangesAndSurvivesAReload) {
    Lifecycle lc = load();
    EXPECT_EQ(lc.modified_on(), 0);  // never enabled
    ASSERT_TRUE(lc.enable(13, now_).ok());
    EXPECT_EQ(lc.modified_on(), now_);
    ASSERT_TRUE(lc.confirm_ds_published(lc.ds_records(), now_ + 100, t_).ok());
    EXPECT_EQ(lc.status(), DnssecStatus::Active);
    EXPECT_EQ(lc.modified_on(), now_ + 100);
    lc.advance(now_ + 200, t_);  // nothing to do: the status stays, so does the time
    EXPECT_EQ(lc.modified_on(), now_ + 100);
    ASSERT_TRUE(lc.save());
    EXPECT_NE(state_text().find("modified_on " + std::to_string(now_ + 100) + "\n"), std::string::npos)
        << state_text();
    Lifecycle again = load();
    EXPECT_EQ(again.modified_on(), now_ + 100);
    ASSERT_TRUE(again.rotate_zsk(now_ + 300, t_).ok());
    EXPECT_EQ(again.modified_on(), now_ + 300);
}

const ManagedKey* find_state(const Lifecycle& lc, KeyState st) {
    for (const auto& k : lc.keys()) {
        if (k.key.role == KeyRole::Ksk && k.state == st) return &k;
    }
    return nullptr;
}

std::vector<DsRecord> ds_of(const Lifecycle& lc, std::uint16_t tag) {
    std::vector<DsRecord> out;
    for (const auto& d : lc.ds_records()) {
        if (d.key_tag == tag) out.push_back(d);
    }
    return out;
}

// Standby KSK (OpenDNSSEC's states, DESIGN.md §4): its DS goes to the
// parent first; a KSK roll then waits only for the DNSKEY TTL, not the
// parent, and the next standby follows once the roll is over.
TEST_F(LifecycleTest, AStandbyKskMakesTheKskRollWaitOnlyForTheDnskeyTtl) {
    t_.standby_ksk = true;
    Lifecycle lc = load();
    ASSERT_TRUE(lc.enable(13, now_).ok());
    EXPECT_FALSE(lc.advance(now_, t_));  // pending_ds: no standby yet
    EXPECT_EQ(lc.standby(), nullptr);
    ASSERT_TRUE(lc.confirm_ds_published(lc.ds_records(), now_, t_).ok());
    const std::uint16_t old_ksk = lc.signing_keys().ksk().tag;

    // Active: a standby KSK appears, its DS offered, its DNSKEY not published.
    ASSERT_TRUE(lc.advance(now_, t_));
    ASSERT_NE(lc.standby(), nullptr);
    const std::uint16_t standby = lc.standby()->key.tag;
    EXPECT_EQ(lc.standby()->state, KeyState::DsSubmit);
    EXPECT_FALSE(lc.standby()->key.published);
    EXPECT_FALSE(lc.standby()->key.signing);
    EXPECT_TRUE(lc.standby()->key.in_cds);
    EXPECT_EQ(lc.status(), DnssecStatus::Active);
    EXPECT_TRUE(lc.awaiting_ds());
    EXPECT_EQ(lc.ds_records().size(), 2u);
    EXPECT_EQ(lc.signing_keys().ksk().tag, old_ksk);
    EXPECT_FALSE(lc.advance(now_, t_));  // one standby is enough
    EXPECT_EQ(key_files(), 3u);

    // Its DS confirmed: ds_publish, then ds_ready once the parent's DS TTL is over.
    EXPECT_EQ(lc.confirm_ds_published(ds_of(lc, old_ksk), now_, t_).refused, modes::Refusal::Invalid);
    ASSERT_TRUE(lc.confirm_ds_published(lc.ds_records(), now_, t_).ok());
    EXPECT_EQ(lc.standby()->state, KeyState::DsPublish);
    EXPECT_EQ(lc.status(), DnssecStatus::Active);
    EXPECT_FALSE(lc.awaiting_ds());
    EXPECT_EQ(lc.confirm_ds_published(lc.ds_records(), now_, t_).refused, modes::Refusal::Conflict);
    EXPECT_EQ(lc.next_event(t_), now_ + 7200 + 60);
    EXPECT_FALSE(lc.advance(now_ + 7259, t_));
    ASSERT_TRUE(lc.advance(now_ + 7260, t_));
    EXPECT_EQ(lc.standby()->state, KeyState::DsReady);
    EXPECT_FALSE(lc.standby()->key.published);
    EXPECT_EQ(lc.next_event(t_), 0);

    // The roll: the standby's DNSKEY goes in and signs beside the old KSK.
    now_ += 10'000;
    ASSERT_TRUE(lc.rotate_ksk(now_, t_).ok());
    EXPECT_EQ(lc.status(), DnssecStatus::RotatingKsk);
    EXPECT_EQ(lc.standby(), nullptr);
    const ManagedKey* incoming = find_state(lc, KeyState::KeyPublish);
    ASSERT_NE(incoming, nullptr);
    EXPECT_EQ(incoming->key.tag, standby);
    EXPECT_TRUE(incoming->key.published);
    EXPECT_TRUE(incoming->key.signing);
    EXPECT_EQ(count(lc, KeyRole::Ksk, KeyState::Active), 1u);
    EXPECT_EQ(lc.rotate_ksk(now_, t_).refused, modes::Refusal::Conflict);
    EXPECT_EQ(lc.confirm_ds_published(lc.ds_records(), now_, t_).refused, modes::Refusal::Conflict);  // no DS to wait for
    EXPECT_EQ(lc.disable(now_).refused, modes::Refusal::Conflict);
    EXPECT_EQ(lc.next_event(t_), now_ + 300 + 60);
    EXPECT_FALSE(lc.advance(now_ + 359, t_));
    ASSERT_TRUE(lc.advance(now_ + 360, t_));
    EXPECT_EQ(lc.status(), DnssecStatus::Active);
    ASSERT_NE(find_state(lc, KeyState::Active), nullptr);
    EXPECT_EQ(find_state(lc, KeyState::Active)->key.tag, standby);
    ASSERT_NE(find_state(lc, KeyState::Retire), nullptr);
    EXPECT_EQ(find_state(lc, KeyState::Retire)->key.tag, old_ksk);
    EXPECT_EQ(lc.standby(), nullptr);  // not while the old KSK is still retiring
    ASSERT_EQ(lc.ds_records().size(), 1u);
    EXPECT_EQ(lc.ds_records()[0].key_tag, standby);

    // The old KSK dies; the next standby starts.
    ASSERT_TRUE(lc.advance(now_ + 720, t_));
    EXPECT_EQ(count(lc, KeyRole::Ksk, KeyState::Retire), 0u);
    ASSERT_NE(lc.standby(), nullptr);
    EXPECT_NE(lc.standby()->key.tag, standby);
    EXPECT_EQ(lc.standby()->state, KeyState::DsSubmit);
    EXPECT_EQ(lc.ds_records().size(), 2u);
    EXPECT_EQ(key_files(), 3u);

    // It survives a reload as a standby.
    const std::uint16_t next = lc.standby()->key.tag;
    {
        Lifecycle again = load();
        ASSERT_NE(again.standby(), nullptr);
        EXPECT_EQ(again.standby()->key.tag, next);
        EXPECT_FALSE(again.standby()->key.published);
        EXPECT_TRUE(again.awaiting_ds());
    }
    // standby_ksk off: the unused standby goes, its DS leaves CDS.
    t_.standby_ksk = false;
    ASSERT_TRUE(lc.advance(now_ + 800, t_));
    EXPECT_EQ(lc.standby(), nullptr);
    EXPECT_EQ(lc.ds_records().size(), 1u);
    EXPECT_EQ(key_files(), 2u);
    EXPECT_FALSE(lc.awaiting_ds());
}

// A restart in each standby state resumes it: the flag, the state and the
// time of the next move come back from disk.
TEST_F(LifecycleTest, AReloadInEachStandbyStateResumesIt) {
    t_.standby_ksk = true;
    std::uint16_t standby = 0;
    {
        Lifecycle lc = load();
        ASSERT_TRUE(lc.enable(13, now_).ok());
        ASSERT_TRUE(lc.confirm_ds_published(lc.ds_records(), now_, t_).ok());
        ASSERT_TRUE(lc.advance(now_, t_));
        standby = lc.standby()->key.tag;
        ASSERT_TRUE(lc.confirm_ds_published(lc.ds_records(), now_, t_).ok());
    }
    {
        Lifecycle lc = load();
        ASSERT_NE(lc.standby(), nullptr);
        EXPECT_EQ(lc.standby()->key.tag, standby);
        EXPECT_EQ(lc.standby()->state, KeyState::DsPublish);
        EXPECT_FALSE(lc.standby()->key.published);
        EXPECT_EQ(lc.next_event(t_), now_ + 7260);
        ASSERT_TRUE(lc.advance(now_ + 7260, t_));
    }
    {
        Lifecycle lc = load();
        ASSERT_NE(lc.standby(), nullptr);
        EXPECT_EQ(lc.standby()->state, KeyState::DsReady);
        EXPECT_EQ(lc.ds_records().size(), 2u);
        ASSERT_TRUE(lc.rotate_ksk(now_ + 8000, t_).ok());
    }
    {
        Lifecycle lc = load();
        EXPECT_EQ(lc.status(), DnssecStatus::RotatingKsk);
        EXPECT_EQ(lc.standby(), nullptr);
        const ManagedKey* k = find_state(lc, KeyState::KeyPublish);
        ASSERT_NE(k, nullptr);
        EXPECT_EQ(k->key.tag, standby);
        EXPECT_TRUE(k->key.published);
        EXPECT_EQ(lc.next_event(t_), now_ + 8000 + 360);
        ASSERT_TRUE(lc.advance(now_ + 8360, t_));
        EXPECT_EQ(lc.status(), DnssecStatus::Active);
    }
}

// A roll asked for before the standby's DS is confirmed is a double-KSK roll
// with the standby as the new key; one asked for while its DS propagates
// waits for that too.
TEST_F(LifecycleTest, AStandbyNotYetReadyStillServesTheRoll) {
    t_.standby_ksk = true;
    {
        Lifecycle lc = load();
        ASSERT_TRUE(lc.enable(13, now_).ok());
        ASSERT_TRUE(lc.confirm_ds_published(lc.ds_records(), now_, t_).ok());
        ASSERT_TRUE(lc.advance(now_, t_));
        const std::uint16_t standby = lc.standby()->key.tag;
        ASSERT_TRUE(lc.rotate_ksk(now_, t_).ok());
        EXPECT_EQ(lc.status(), DnssecStatus::RotatingKsk);
        EXPECT_EQ(lc.standby(), nullptr);
        const ManagedKey* incoming = find_state(lc, KeyState::DsSubmit);
        ASSERT_NE(incoming, nullptr);
        EXPECT_EQ(incoming->key.tag, standby);
        EXPECT_TRUE(incoming->key.published);
        EXPECT_EQ(key_files(), 3u);  // no other new key
        ASSERT_TRUE(lc.confirm_ds_published(lc.ds_records(), now_, t_).ok());
        EXPECT_EQ(count(lc, KeyRole::Ksk, KeyState::DsPublish), 1u);
    }
    fs::remove_all(dir_);
    {
        Lifecycle lc = load();
        ASSERT_TRUE(lc.enable(13, now_).ok());
        ASSERT_TRUE(lc.confirm_ds_published(lc.ds_records(), now_, t_).ok());
        ASSERT_TRUE(lc.advance(now_, t_));
        ASSERT_TRUE(lc.confirm_ds_published(lc.ds_records(), now_, t_).ok());  // DS TTL runs to now + 7260
        ASSERT_TRUE(lc.rotate_ksk(now_ + 100, t_).ok());
        ASSERT_NE(find_state(lc, KeyState::KeyPublish), nullptr);
        EXPECT_EQ(lc.next_event(t_), now_ + 7260);  // the later of the DS and the DNSKEY waits
        EXPECT_FALSE(lc.advance(now_ + 7259, t_));
        ASSERT_TRUE(lc.advance(now_ + 7260, t_));
        EXPECT_EQ(lc.status(), DnssecStatus::Active);
    }
}

// A dead key's file is deleted only after a saved state no longer names it:
// while the state cannot be saved, the file stays (a restart then still
// finds every key the state on disk names); the next save deletes it.
TEST_F(LifecycleTest, AKeyFileGoesOnlyOnceTheSavedStateNoLongerNamesIt) {
    Lifecycle lc = active();
    const std::uint16_t ksk = lc.signing_keys().ksk().tag;

    // The normal path: retired, dead, gone from the state, then from disk.
    std::string old = roll_zsk_to_retire(lc, now_);
    ASSERT_TRUE(fs::exists(old));
    EXPECT_TRUE(state_names(old));
    ASSERT_TRUE(lc.advance(now_ + 360 + 3660, t_));
    EXPECT_FALSE(fs::exists(old));
    EXPECT_FALSE(state_names(old));
    EXPECT_EQ(key_files(), 2u);
    EXPECT_FALSE(fs::exists(key_dir() / "state.tmp"));

    // Again, with a state that cannot be saved when the old ZSK dies.
    now_ += 10'000;
    old = roll_zsk_to_retire(lc, now_);
    const std::uint16_t zsk = lc.signing_keys().zsk().tag;
    block_saves();
    ASSERT_TRUE(lc.advance(now_ + 360 + 3660, t_));
    EXPECT_EQ(count(lc, KeyRole::Zsk, KeyState::Retire), 0u);  // dead in memory
    EXPECT_TRUE(fs::exists(old));                              // still named on disk
    EXPECT_TRUE(state_names(old));
    {
        Lifecycle back = load();  // kill -9 here: the zone loads, the old ZSK still retiring
        EXPECT_EQ(count(back, KeyRole::Zsk, KeyState::Retire), 1u);
        EXPECT_EQ(back.signing_keys().zsk().tag, zsk);
        EXPECT_TRUE(back.warnings().empty());
    }
    unblock_saves();
    now_ += 10'000;
    ASSERT_TRUE(lc.rotate_zsk(now_, t_).ok());  // any save will do
    EXPECT_FALSE(fs::exists(old));
    EXPECT_FALSE(state_names(old));

    Lifecycle back = load();
    EXPECT_TRUE(back.warnings().empty());
    EXPECT_EQ(back.status(), DnssecStatus::RotatingZsk);
    EXPECT_EQ(back.signing_keys().ksk().tag, ksk);
    EXPECT_EQ(back.signing_keys().zsk().tag, zsk);
    EXPECT_EQ(back.keys().size(), 3u);
    EXPECT_EQ(key_files(), 3u);
}

// kill -9 after the state that drops a key was saved, before its file was
// deleted: the file is left over, the zone loads without it.
TEST_F(LifecycleTest, AKeyFileLeftBehindByACrashAfterTheStateWasSavedIsIgnored) {
    Lifecycle lc = active();
    const std::uint16_t ksk = lc.signing_keys().ksk().tag;
    const std::string old = roll_zsk_to_retire(lc, now_);
    const std::uint16_t zsk = lc.signing_keys().zsk().tag;
    std::string saved;
    {
        std::ifstream f(old);
        std::stringstream ss;
        ss << f.rdbuf();
        saved = ss.str();
    }
    ASSERT_FALSE(saved.empty());
    ASSERT_TRUE(lc.advance(now_ + 360 + 3660, t_));
    ASSERT_FALSE(fs::exists(old));
    std::ofstream(old) << saved;  // as if the unlink never ran

    Lifecycle back = load();
    EXPECT_EQ(back.status(), DnssecStatus::Active);
    ASSERT_EQ(back.keys().size(), 2u);
    EXPECT_EQ(back.signing_keys().keys.size(), 2u);
    EXPECT_EQ(back.signing_keys().ksk().tag, ksk);
    EXPECT_EQ(back.signing_keys().zsk().tag, zsk);
    ASSERT_EQ(back.warnings().size(), 1u);
    EXPECT_NE(back.warnings()[0].find(fs::path(old).filename().string()), std::string::npos) << back.warnings()[0];
    EXPECT_NE(back.warnings()[0].find("not named"), std::string::npos);
    // It is left alone, and the lifecycle goes on around it.
    EXPECT_TRUE(fs::exists(old));
    ASSERT_TRUE(back.rotate_zsk(now_ + 10'000, t_).ok());
    EXPECT_TRUE(fs::exists(old));
    EXPECT_EQ(back.keys().size(), 3u);
}

// kill -9 after a new key's file was written, before the state naming it
// was saved (rotate_zsk, rotate_ksk and a new standby all make the file
// first): the zone loads with the keys the state names.
TEST_F(LifecycleTest, AKeyFileNotYetNamedByTheStateIsIgnored) {
    Lifecycle lc = active();
    const std::uint16_t ksk = lc.signing_keys().ksk().tag;
    const std::uint16_t zsk = lc.signing_keys().zsk().tag;
    auto stray = generate_key(key_dir().string(), zone_, KeyRole::Zsk, 13, now_ + 10);
    ASSERT_TRUE(stray.ok()) << stray.error().message;
    auto stray_ksk = generate_key(key_dir().string(), zone_, KeyRole::Ksk, 13, now_ + 10);
    ASSERT_TRUE(stray_ksk.ok()) << stray_ksk.error().message;
    EXPECT_EQ(key_files(), 4u);

    Lifecycle back = load();
    EXPECT_EQ(back.status(), DnssecStatus::Active);
    ASSERT_EQ(back.keys().size(), 2u);
    const ZoneKeys keys = back.signing_keys();
    ASSERT_EQ(keys.keys.size(), 2u);
    EXPECT_EQ(keys.ksk().tag, ksk);
    EXPECT_EQ(keys.zsk().tag, zsk);
    for (const auto& k : keys.keys) {
        EXPECT_NE(k.tag, stray->tag);
        EXPECT_NE(k.tag, stray_ksk->tag);
    }
    ASSERT_EQ(back.ds_records().size(), 1u);
    EXPECT_EQ(back.ds_records()[0].key_tag, ksk);
    EXPECT_EQ(back.warnings().size(), 2u);
    // A roll started now makes its own key; the stray stays unused.
    ASSERT_TRUE(back.rotate_zsk(now_ + 100, t_).ok());
    ASSERT_TRUE(back.advance(now_ + 100 + 360, t_));
    EXPECT_NE(back.signing_keys().zsk().tag, zsk);
    EXPECT_NE(back.signing_keys().zsk().tag, stray->tag);
}

// enable() saves "enabling" before it makes the first key file: with a
// state that cannot be saved, no key file is made at all.
TEST_F(LifecycleTest, AKeyFileNameFromTheStateIsNeverAPathElsewhere) {
    Lifecycle lc = active();
    (void)lc;
    const std::string good = state_text();
    for (const char* bad : {"../other/k.key", "sub/k.key", "..key", "/etc/k.key", "state"}) {
        std::string text = good;
        const auto at = text.find("\nkey ");
        ASSERT_NE(at, std::string::npos) << text;
        const auto name_end = text.find(' ', at + 5);
        text.replace(at + 5, name_end - (at + 5), bad);
        std::ofstream(key_dir() / "state", std::ios::trunc) << text;
        auto loaded = Lifecycle::load(dir_.string(), zone_);
        ASSERT_FALSE(loaded.ok()) << bad;
        EXPECT_NE(loaded.error().message.find("is not a plain key file name"), std::string::npos)
            << loaded.error().message;
    }
}

TEST_F(LifecycleTest, AStateFileThatIsASymlinkIsNotFollowed) {
    Lifecycle lc = active();
    (void)lc;
    const fs::path real = dir_ / "elsewhere";
    fs::rename(key_dir() / "state", real);
    fs::create_symlink(real, key_dir() / "state");
    auto loaded = Lifecycle::load(dir_.string(), zone_);
    // Not read through the link: as if there were no state (key files adopted) or an error, never the linked file.
    if (loaded.ok()) {
        EXPECT_NE(loaded->status(), DnssecStatus::Active);
    }
}

TEST_F(LifecycleTest, EnableMakesNoKeyFileBeforeTheStateIsOnDisk) {
    Lifecycle lc = load();
    ASSERT_TRUE(lc.enable(13, now_).ok());
    ASSERT_TRUE(lc.disable(now_).ok());
    block_saves();
    EXPECT_EQ(lc.enable(13, now_).refused, modes::Refusal::Storage);
    EXPECT_EQ(key_files(), 0u);
    unblock_saves();
    ASSERT_TRUE(lc.enable(13, now_).ok());
    EXPECT_EQ(key_files(), 2u);
}

// kill -9 inside enable(), after the KSK's file was written and before the
// state naming both keys: the zone loads disabled and not stored (so the
// config's `enabled` starts it again), and a new enable makes new keys.
TEST_F(LifecycleTest, AnEnableCutShortLoadsDisabledAndCanBeRedone) {
    {
        // Key files cannot be written (they are larger than the state): the
        // enable stops after its first save and removes what it made.
        Lifecycle lc = load();
        rlimit old{};
        ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
        auto* handler = std::signal(SIGXFSZ, SIG_IGN);
        rlimit small = old;
        small.rlim_cur = 300;
        ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
        const Outcome out = lc.enable(13, now_);
        ::setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, handler);
        EXPECT_EQ(out.refused, modes::Refusal::Storage) << out.message;
        EXPECT_EQ(key_files(), 0u);
        EXPECT_NE(state_text().find("\nenabling\n"), std::string::npos) << state_text();
    }
    // The crash point: the KSK's file is written, the process is killed.
    auto lone = generate_key(key_dir().string(), zone_, KeyRole::Ksk, 13, now_);
    ASSERT_TRUE(lone.ok()) << lone.error().message;

    Lifecycle lc = load();
    EXPECT_EQ(lc.status(), DnssecStatus::Disabled);
    EXPECT_FALSE(lc.signs());
    EXPECT_FALSE(lc.stored());
    EXPECT_TRUE(lc.keys().empty());
    EXPECT_EQ(lc.warnings().size(), 2u);  // the enable cut short, the lone KSK's file

    ASSERT_TRUE(lc.enable(13, now_ + 5).ok());
    EXPECT_EQ(lc.status(), DnssecStatus::PendingDs);
    EXPECT_NE(lc.signing_keys().ksk().tag, lone->tag);
    Lifecycle back = load();
    EXPECT_TRUE(back.stored());
    EXPECT_EQ(back.status(), DnssecStatus::PendingDs);
    EXPECT_EQ(back.signing_keys().ksk().tag, lc.signing_keys().ksk().tag);
    EXPECT_EQ(back.signing_keys().zsk().tag, lc.signing_keys().zsk().tag);
    EXPECT_EQ(back.warnings().size(), 1u);  // the lone KSK's file only
}

// A state that cannot be saved keeps every key file it names: disable
// before the DS (immediate) and the end of pending_disabled.
TEST_F(LifecycleTest, KeysDroppedByADisableStayUntilTheStateIsSaved) {
    {
        Lifecycle lc = load();
        ASSERT_TRUE(lc.enable(13, now_).ok());
        block_saves();
        EXPECT_EQ(lc.disable(now_).refused, modes::Refusal::Storage);
        EXPECT_EQ(key_files(), 2u);
        Lifecycle back = load();
        EXPECT_EQ(back.status(), DnssecStatus::PendingDs);
        EXPECT_EQ(back.keys().size(), 2u);
        unblock_saves();
        ASSERT_TRUE(back.disable(now_).ok());
        EXPECT_EQ(key_files(), 0u);
        EXPECT_EQ(load().status(), DnssecStatus::Disabled);
    }
    fs::remove_all(dir_);
    Lifecycle lc = active();
    ASSERT_TRUE(lc.disable(now_).ok());
    ASSERT_TRUE(lc.confirm_ds_removed(now_, t_).ok());
    block_saves();
    ASSERT_TRUE(lc.advance(now_ + 7260, t_));
    EXPECT_FALSE(lc.signs());
    EXPECT_EQ(key_files(), 2u);
    unblock_saves();
    Lifecycle back = load();
    EXPECT_EQ(back.status(), DnssecStatus::PendingDisabled);
    EXPECT_TRUE(back.signs());
    ASSERT_TRUE(back.advance(now_ + 7260, t_));
    EXPECT_EQ(back.status(), DnssecStatus::Disabled);
    EXPECT_EQ(key_files(), 0u);
    EXPECT_EQ(load().status(), DnssecStatus::Disabled);
}

}  // namespace
}  // namespace satellite::modes
