// The DNSSEC lifecycle under a clock the test moves: a whole life (enable,
// DS confirmed, ZSK roll, KSK roll, disable), each timed move happening
// exactly when RFC 7583's waits are over, invalid calls refused with 409,
// wrong DS with 400, and a reload in the middle of each roll resuming it.
#include <gtest/gtest.h>

#include <filesystem>

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
    dns::Name zone_ = *dns::Name::from_text("example.test.");
    fs::path dir_;
    LifecycleTiming t_;
    std::int64_t now_ = 1'800'000'000;
};

TEST_F(LifecycleTest, AWholeLifeUnderAControlledClock) {
    Lifecycle lc = load();
    EXPECT_EQ(lc.status(), DnssecStatus::Disabled);
    EXPECT_FALSE(lc.signs());
    EXPECT_EQ(lc.rotate_zsk(now_, t_).http_status, 409);
    EXPECT_EQ(lc.confirm_ds_published({}, now_, t_).http_status, 409);
    EXPECT_EQ(lc.enable(7, now_).http_status, 400);

    ASSERT_TRUE(lc.enable(13, now_).ok());
    EXPECT_EQ(lc.status(), DnssecStatus::PendingDs);
    EXPECT_EQ(lc.enable(13, now_).http_status, 409);
    EXPECT_EQ(lc.rotate_ksk(now_, t_).http_status, 409);
    ASSERT_EQ(lc.ds_records().size(), 1u);
    auto ds = lc.ds_records();
    // A DS that is not ours: 400, nothing changes.
    auto wrong = ds;
    wrong[0].digest[0] ^= 1;
    EXPECT_EQ(lc.confirm_ds_published(wrong, now_, t_).http_status, 400);
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

    // KSK roll, double-KSK.
    now_ += 10'000;
    const std::uint16_t old_ksk = lc.signing_keys().ksk().tag;
    ASSERT_TRUE(lc.rotate_ksk(now_, t_).ok());
    EXPECT_EQ(lc.status(), DnssecStatus::RotatingKsk);
    EXPECT_EQ(lc.ds_records().size(), 2u);  // CDS names both KSKs during the roll
    EXPECT_EQ(lc.disable(now_).http_status, 409);
    auto both = lc.ds_records();
    std::vector<DsRecord> only_old;
    for (const auto& d : both) {
        if (d.key_tag == old_ksk) only_old.push_back(d);
    }
    EXPECT_EQ(lc.confirm_ds_published(only_old, now_, t_).http_status, 400);  // must name the new KSK
    ASSERT_TRUE(lc.confirm_ds_published(both, now_, t_).ok());
    EXPECT_EQ(lc.status(), DnssecStatus::Active);
    EXPECT_EQ(count(lc, KeyRole::Ksk, KeyState::DsPublish), 1u);
    // No second KSK roll while this one is still finishing.
    EXPECT_EQ(lc.rotate_ksk(now_, t_).http_status, 409);
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
    EXPECT_EQ(lc.confirm_ds_removed(now_, t_).http_status, 409);
    EXPECT_EQ(lc.next_event(t_), now_ + 7200 + 60);
    EXPECT_FALSE(lc.advance(now_ + 7259, t_));
    EXPECT_TRUE(lc.signs());
    ASSERT_TRUE(lc.advance(now_ + 7260, t_));
    EXPECT_EQ(lc.status(), DnssecStatus::Disabled);
    EXPECT_FALSE(lc.signs());
    EXPECT_EQ(key_files(), 0u);
    EXPECT_EQ(lc.confirm_ds_removed(now_, t_).http_status, 409);
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
        EXPECT_EQ(count(lc, KeyRole::Ksk, KeyState::DsSubmit), 1u);
        ASSERT_TRUE(lc.confirm_ds_published(lc.ds_records(), now_ + 5000, t_).ok());
    }
    {
        Lifecycle lc = load();
        EXPECT_EQ(count(lc, KeyRole::Ksk, KeyState::DsPublish), 1u);
        EXPECT_EQ(lc.next_event(t_), now_ + 5000 + 7260);
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
    EXPECT_EQ(lc.disable(now_).http_status, 409);
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
    EXPECT_EQ(lc.confirm_ds_published(ds_of(lc, old_ksk), now_, t_).http_status, 400);
    ASSERT_TRUE(lc.confirm_ds_published(lc.ds_records(), now_, t_).ok());
    EXPECT_EQ(lc.standby()->state, KeyState::DsPublish);
    EXPECT_EQ(lc.status(), DnssecStatus::Active);
    EXPECT_FALSE(lc.awaiting_ds());
    EXPECT_EQ(lc.confirm_ds_published(lc.ds_records(), now_, t_).http_status, 409);
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
    EXPECT_EQ(lc.rotate_ksk(now_, t_).http_status, 409);
    EXPECT_EQ(lc.confirm_ds_published(lc.ds_records(), now_, t_).http_status, 409);  // no DS to wait for
    EXPECT_EQ(lc.disable(now_).http_status, 409);
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

}  // namespace
}  // namespace satellite::modes
