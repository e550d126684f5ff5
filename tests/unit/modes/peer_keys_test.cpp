// Multi-signer peer keys (RFC 8901 model 2): which DNSKEYs are taken as
// another provider's, how they are kept on disk, how the primary's DNSKEY
// RRset replaces only its own share, what the signer makes of them (published,
// never signing; KSKs in CDS/CDNSKEY), and the lifecycle's wait for the
// peers before a new ZSK signs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "dns/dnssec.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"
#include "dns/zonefile.hpp"
#include "modes/lifecycle.hpp"
#include "modes/live.hpp"
#include "modes/peer_keys.hpp"

namespace satellite::modes {
namespace {

namespace fs = std::filesystem;
namespace t = dns::type;

using Rdata = std::vector<std::uint8_t>;

class PeerKeysTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("satellite-peer-" + std::to_string(::getpid()) + "-" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    // A fresh key's DNSKEY RDATA, as another provider would publish it.
    static Rdata foreign(std::uint8_t alg, std::uint16_t flags) {
        auto k = dns::SigningKey::generate(alg);
        EXPECT_TRUE(k.ok());
        return (*k)->dnskey_rdata(flags);
    }
    static Rdata with(Rdata rd, std::size_t at, std::uint8_t value) {
        rd[at] = value;
        return rd;
    }
    PeerKeys load() {
        auto pk = PeerKeys::load(dir_.string(), zone_);
        EXPECT_TRUE(pk.ok()) << pk.error().message;
        return std::move(*pk);
    }

    dns::Name zone_ = *dns::Name::from_text("ms.test.");
    fs::path dir_;
};

TEST_F(PeerKeysTest, OnlyAnotherProvidersZoneKeyOfTheZonesAlgorithmIsTaken) {
    const Rdata zsk = foreign(13, 256), ksk = foreign(13, 257), own = foreign(13, 256);
    EXPECT_TRUE(check_peer_key(zsk, 13, {own}).ok());
    EXPECT_TRUE(check_peer_key(ksk, 13, {own}).ok());

    auto refused = [&](const Rdata& rd, const std::string& why) {
        auto s = check_peer_key(rd, 13, {own});
        if (s) return ::testing::AssertionFailure() << "accepted";
        if (s.error().message.find(why) == std::string::npos) {
            return ::testing::AssertionFailure() << s.error().message;
        }
        return ::testing::AssertionSuccess();
    };
    EXPECT_TRUE(refused(with(zsk, 2, 2), "protocol is 2"));
    EXPECT_TRUE(refused(with(zsk, 0, 0), "flags 0"));          // not a zone key
    EXPECT_TRUE(refused(with(ksk, 1, 0x81), "revoked"));       // 385: REVOKE
    EXPECT_TRUE(refused(with(zsk, 3, 5), "algorithm 5 is not supported"));
    EXPECT_TRUE(refused(foreign(15, 256), "differs from the zone's algorithm 13"));
    EXPECT_TRUE(refused(with(zsk, 10, zsk[10] ^ 0xff), "public key"));  // off the curve
    EXPECT_TRUE(refused(Rdata(zsk.begin(), zsk.end() - 1), "public key"));
    EXPECT_TRUE(refused(own, "own key"));
    EXPECT_TRUE(check_peer_key(foreign(8, 256), 8, {}).ok());
    EXPECT_TRUE(check_peer_key(foreign(15, 257), 15, {}).ok());
}

TEST_F(PeerKeysTest, PresentationRecordsAreParsedAndCheckedAgainstTheZone) {
    const Rdata zsk = foreign(13, 256);
    const std::string text = dnskey_text(zone_, 3600, zsk);
    EXPECT_EQ(text.rfind("ms.test. 3600 IN DNSKEY 256 3 13 ", 0), 0u) << text;
    auto back = parse_peer_dnskey(text, zone_, 13, {});
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, zsk);
    // Owner in another case, no TTL or class: still the zone's key.
    auto upper = parse_peer_dnskey("MS.Test. DNSKEY " + text.substr(text.find("256")), zone_, 13, {});
    EXPECT_TRUE(upper.ok()) << upper.error().message;

    auto wrong_owner = parse_peer_dnskey("other.test. 3600 IN DNSKEY " + text.substr(text.find("256")), zone_, 13, {});
    ASSERT_FALSE(wrong_owner.ok());
    EXPECT_NE(wrong_owner.error().message.find("is not the zone ms.test."), std::string::npos);
    auto sub = parse_peer_dnskey("www.ms.test. 3600 IN DNSKEY " + text.substr(text.find("256")), zone_, 13, {});
    EXPECT_FALSE(sub.ok());
    EXPECT_FALSE(parse_peer_dnskey("ms.test. 3600 IN A 192.0.2.1", zone_, 13, {}).ok());
    EXPECT_FALSE(parse_peer_dnskey("ms.test. 3600 CH DNSKEY " + text.substr(text.find("256")), zone_, 13, {}).ok());
    EXPECT_FALSE(parse_peer_dnskey(text + "\n" + text, zone_, 13, {}).ok());
    EXPECT_FALSE(parse_peer_dnskey("not a record", zone_, 13, {}).ok());
}

TEST_F(PeerKeysTest, KeysPersistAndThePrimarysShareIsReplacedAlone) {
    const Rdata api_zsk = foreign(13, 256), api_ksk = foreign(13, 257);
    const Rdata p1 = foreign(13, 256), p2 = foreign(13, 256);
    {
        PeerKeys pk = load();
        EXPECT_TRUE(pk.keys().empty());
        EXPECT_EQ(pk.add({api_zsk, api_ksk, api_zsk}, "api", 100), 2u);
        EXPECT_EQ(pk.add({api_zsk}, "api", 101), 0u);  // already held
        EXPECT_TRUE(pk.set_from_primary({p1, api_zsk}, 102));
        ASSERT_TRUE(pk.save().ok());
    }
    {
        PeerKeys pk = load();
        ASSERT_EQ(pk.keys().size(), 3u);
        EXPECT_EQ(pk.keys()[0].dnskey, api_zsk);
        EXPECT_EQ(pk.keys()[0].source, "api");  // the primary listing it too changes nothing
        EXPECT_EQ(pk.keys()[1].source, "api");
        EXPECT_TRUE(pk.keys()[1].is_ksk());
        EXPECT_EQ(pk.keys()[2].dnskey, p1);
        EXPECT_EQ(pk.keys()[2].source, "primary");
        EXPECT_EQ(pk.keys()[2].added_at, 102);
        EXPECT_EQ(pk.keys()[2].tag, dns::key_tag(p1));
        // The primary drops p1 and adds p2; the API's keys stay.
        EXPECT_FALSE(pk.set_from_primary({p1}, 103));
        EXPECT_TRUE(pk.set_from_primary({p2}, 104));
        ASSERT_EQ(pk.keys().size(), 3u);
        EXPECT_EQ(pk.keys()[2].dnskey, p2);
        EXPECT_TRUE(pk.set_from_primary({}, 105));
        EXPECT_EQ(pk.keys().size(), 2u);
        EXPECT_EQ(pk.remove_tag(dns::key_tag(api_ksk)), 1u);
        EXPECT_EQ(pk.remove(api_zsk), 1u);
        EXPECT_EQ(pk.remove(api_zsk), 0u);
        EXPECT_TRUE(pk.keys().empty());
        ASSERT_TRUE(pk.save().ok());
    }
    EXPECT_TRUE(load().keys().empty());
    const std::string path = key_directory(dir_.string(), zone_) + "/peer-keys";
    EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(PeerKeysTest, ADamagedFileIsRefusedWithItsPathAndLine) {
    {
        PeerKeys pk = load();
        pk.add({foreign(13, 256)}, "api", 1);
        ASSERT_TRUE(pk.save().ok());
    }
    const std::string path = key_directory(dir_.string(), zone_) + "/peer-keys";
    std::ofstream(path, std::ios::app) << "peer api 5 zz11\n";
    auto pk = PeerKeys::load(dir_.string(), zone_);
    ASSERT_FALSE(pk.ok());
    EXPECT_NE(pk.error().message.find(path + ":4: damaged line"), std::string::npos) << pk.error().message;
}

// The signer publishes the peers' keys, names every KSK in CDS/CDNSKEY and
// signs the DNSKEY RRset with our KSK alone.
TEST_F(PeerKeysTest, SignedZoneCarriesEveryProvidersKeys) {
    auto own = load_or_create_keys(dir_.string(), zone_, 13, 1'800'000'000);
    ASSERT_TRUE(own.ok()) << own.error().message;
    const Rdata peer_zsk = foreign(13, 256), peer_ksk = foreign(13, 257);
    PeerKeys pk = load();
    pk.add({peer_zsk, peer_ksk}, "api", 1);
    ZoneKeys keys = *own;
    pk.add_to(keys);
    ASSERT_EQ(keys.keys.size(), 4u);
    EXPECT_FALSE(keys.keys[2].signing);
    EXPECT_EQ(keys.ksk().tag, own->ksk().tag);  // ours signs
    EXPECT_EQ(keys.zsk().tag, own->zsk().tag);

    auto recs = dns::parse_records("@ 300 SOA ns h 1 3600 600 86400 60\n@ 300 NS ns\nns 300 A 192.0.2.1\n", zone_);
    ASSERT_TRUE(recs.ok()) << recs.error().message;
    auto signed_zone = sign_zone(zone_, *recs, keys, LivePolicy{}, nullptr, 1'800'000'000);
    ASSERT_TRUE(signed_zone.ok()) << signed_zone.error().message;
    dns::RecordList out = (*signed_zone).snapshot->to_records();
    std::vector<Rdata> dnskeys, cdnskeys, cds;
    std::vector<std::uint16_t> dnskey_signers;
    for (const auto& r : out.refs()) {
        auto rd = out.rdata(r);
        if (r.type == t::DNSKEY) dnskeys.emplace_back(rd.begin(), rd.end());
        if (r.type == t::CDNSKEY) cdnskeys.emplace_back(rd.begin(), rd.end());
        if (r.type == t::CDS) cds.emplace_back(rd.begin(), rd.end());
        if (r.type == t::RRSIG && dns::load16(rd.data()) == t::DNSKEY) dnskey_signers.push_back(dns::load16(rd.data() + 16));
    }
    EXPECT_EQ(dnskeys.size(), 4u);
    EXPECT_NE(std::find(dnskeys.begin(), dnskeys.end(), peer_zsk), dnskeys.end());
    EXPECT_NE(std::find(dnskeys.begin(), dnskeys.end(), peer_ksk), dnskeys.end());
    ASSERT_EQ(cdnskeys.size(), 2u);  // our KSK and the peer's
    EXPECT_NE(std::find(cdnskeys.begin(), cdnskeys.end(), peer_ksk), cdnskeys.end());
    EXPECT_NE(std::find(cdnskeys.begin(), cdnskeys.end(), own->ksk().dnskey), cdnskeys.end());
    EXPECT_EQ(cds.size(), 2u);
    EXPECT_NE(std::find(cds.begin(), cds.end(), dns::ds_rdata(zone_, peer_ksk, 2)), cds.end());
    EXPECT_EQ(dnskey_signers, std::vector<std::uint16_t>{own->ksk().tag});
}

// A new ZSK of ours waits for the TTLs, the peers' publication delay, and
// then for the peers themselves.
TEST_F(PeerKeysTest, NewZskWaitsUntilThePeersPublishIt) {
    LifecycleTiming t;
    t.dnskey_ttl = 300;
    t.propagation_delay = 60;
    t.peer_publish_delay = 600;
    t.max_zone_ttl = 3600;
    t.zsk_lifetime = 0;
    const std::int64_t now = 1'800'000'000;
    auto lc = Lifecycle::load(dir_.string(), zone_);
    ASSERT_TRUE(lc.ok());
    ASSERT_TRUE(lc->enable(13, now).ok());
    ASSERT_TRUE(lc->confirm_ds_published(lc->ds_records(), now, t).ok());
    ASSERT_TRUE(lc->rotate_zsk(now, t).ok());
    EXPECT_EQ(lc->next_event(t), now + 960);
    bool peers_have_it = false;
    Rdata asked;
    PeersPublish gate = [&](const ZoneKey& k) {
        asked = k.dnskey;
        return peers_have_it;
    };
    EXPECT_FALSE(lc->advance(now + 959, t, gate));
    EXPECT_EQ(lc->awaiting_peers(now + 959), nullptr);
    EXPECT_FALSE(lc->advance(now + 960, t, gate));  // due, but a peer lacks it
    const ManagedKey* waiting = lc->awaiting_peers(now + 960);
    ASSERT_NE(waiting, nullptr);
    EXPECT_EQ(waiting->state, KeyState::Publish);
    EXPECT_EQ(asked, waiting->key.dnskey);
    EXPECT_EQ(lc->status(), DnssecStatus::RotatingZsk);
    peers_have_it = true;
    EXPECT_TRUE(lc->advance(now + 2000, t, gate));
    EXPECT_EQ(lc->awaiting_peers(now + 2000), nullptr);
    std::size_t active = 0, retiring = 0;
    for (const auto& k : lc->keys()) {
        if (k.key.role != KeyRole::Zsk) continue;
        active += k.state == KeyState::Active;
        retiring += k.state == KeyState::Retire;
    }
    EXPECT_EQ(active, 1u);
    EXPECT_EQ(retiring, 1u);
}

}  // namespace
}  // namespace satellite::modes
