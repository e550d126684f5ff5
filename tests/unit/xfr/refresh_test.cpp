#include "xfr/refresh.hpp"

#include <gtest/gtest.h>

namespace {

using namespace satellite::xfr;
using Do = RefreshStep::Do;
using Outcome = TransferClient::Outcome;

const std::vector<std::string> kTwo = {"192.0.2.1:53", "192.0.2.2:53"};

TEST(RefreshPolicy, WithoutDataItTransfersTheWholeZoneAtOnce) {
    RefreshPolicy p("a.test.", kTwo, std::nullopt, false);
    auto s = p.start();
    EXPECT_EQ(s.what, Do::Transfer);
    EXPECT_EQ(s.kind, TransferKind::Axfr);
    EXPECT_EQ(s.primary, 0u);
    EXPECT_EQ(p.transferred(0, TransferKind::Axfr, Outcome::Full, 5).what, Do::Install);
}

TEST(RefreshPolicy, AsksTheSoaFirstAndTransfersOnlyANewerSerial) {
    RefreshPolicy p("a.test.", kTwo, 100, false);
    auto s = p.start();
    EXPECT_EQ(s.what, Do::AskSoa);
    EXPECT_EQ(s.primary, 0u);
    s = p.soa_answered(0, 101);
    EXPECT_EQ(s.what, Do::Transfer);
    EXPECT_EQ(s.kind, TransferKind::Ixfr);
    EXPECT_EQ(p.transferred(0, TransferKind::Ixfr, Outcome::Incremental, 101).what, Do::Install);
}

TEST(RefreshPolicy, TheSameSerialIsASuccessfulCheckWithoutATransfer) {
    RefreshPolicy p("a.test.", kTwo, 100, false);
    p.start();
    auto s = p.soa_answered(0, 100);
    EXPECT_EQ(s.what, Do::Current);
    EXPECT_TRUE(p.take_notes().empty());
}

TEST(RefreshPolicy, AnOlderSerialIsNotTransferredAndTheNextPrimaryIsAsked) {
    RefreshPolicy p("a.test.", kTwo, 2000, false);
    p.start();
    auto s = p.soa_answered(0, 1000);
    EXPECT_EQ(s.what, Do::AskSoa);
    EXPECT_EQ(s.primary, 1u);
    auto notes = p.take_notes();
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0], "zone a.test.: 192.0.2.1:53 offers serial 1000, older than the served 2000; not transferred");
    s = p.soa_answered(1, 1000);
    EXPECT_EQ(s.what, Do::GiveUp);
    EXPECT_NE(s.error.find("192.0.2.2:53: offers serial 1000"), std::string::npos) << s.error;
}

TEST(RefreshPolicy, SerialsWrapAround) {
    RefreshPolicy p("a.test.", kTwo, 0xfffffff0u, false);
    p.start();
    EXPECT_EQ(p.soa_answered(0, 3).what, Do::Transfer);  // 3 follows 0xfffffff0 (RFC 1982)
    RefreshPolicy q("a.test.", kTwo, 3, false);
    q.start();
    EXPECT_NE(q.soa_answered(0, 0xfffffff0u).what, Do::Transfer);
}

TEST(RefreshPolicy, AWholeZoneThatIsNotNewerIsRefused) {
    // A primary without a journal answers IXFR with its whole zone, and a
    // restored one serves an older zone: neither replaces what we serve.
    for (auto kind : {TransferKind::Ixfr, TransferKind::Axfr}) {
        RefreshPolicy p("a.test.", kTwo, 2000, false);
        p.start();
        p.soa_answered(0, 2001);  // the SOA said newer; the zone that came is not
        auto s = p.transferred(0, kind, Outcome::Full, 1000);
        EXPECT_EQ(s.what, Do::AskSoa);
        EXPECT_EQ(s.primary, 1u);
        auto notes = p.take_notes();
        ASSERT_EQ(notes.size(), 1u);
        EXPECT_EQ(notes[0], std::string("zone a.test.: ") + (kind == TransferKind::Axfr ? "AXFR" : "IXFR") +
                                " from 192.0.2.1:53 brought serial 1000, not newer than the served 2000; refused");
        EXPECT_EQ(p.transferred(1, kind, Outcome::Full, 2000).what, Do::GiveUp);  // equal: refused too
    }
}

TEST(RefreshPolicy, AnIxfrSoaOnlyReplyOfOurSerialIsCurrent) {
    RefreshPolicy p("a.test.", kTwo, 50, false);
    p.start();
    p.soa_answered(0, 51);
    EXPECT_EQ(p.transferred(0, TransferKind::Ixfr, Outcome::UpToDate, 50).what, Do::Current);
    RefreshPolicy q("a.test.", kTwo, 50, false);
    q.start();
    q.soa_answered(0, 51);
    EXPECT_EQ(q.transferred(0, TransferKind::Ixfr, Outcome::UpToDate, 40).what, Do::AskSoa);
}

TEST(RefreshPolicy, IxfrFailureFallsBackToAxfrThenTheNextPrimary) {
    RefreshPolicy p("a.test.", kTwo, 100, false);
    p.start();
    p.soa_answered(0, 101);
    auto s = p.transfer_failed(0, TransferKind::Ixfr, "connection reset");
    EXPECT_EQ(s.what, Do::Transfer);
    EXPECT_EQ(s.kind, TransferKind::Axfr);
    EXPECT_EQ(s.primary, 0u);
    s = p.transfer_failed(0, TransferKind::Axfr, "connection reset");
    EXPECT_EQ(s.what, Do::AskSoa);
    EXPECT_EQ(s.primary, 1u);
    s = p.soa_failed(1, "timed out");
    EXPECT_EQ(s.what, Do::GiveUp);
    EXPECT_EQ(s.error, "192.0.2.2:53: SOA query failed: timed out");
}

TEST(RefreshPolicy, WithoutDataTheNextPrimaryIsAskedForTheWholeZone) {
    RefreshPolicy p("a.test.", kTwo, std::nullopt, false);
    p.start();
    auto s = p.transfer_failed(0, TransferKind::Axfr, "refused");
    EXPECT_EQ(s.what, Do::Transfer);
    EXPECT_EQ(s.kind, TransferKind::Axfr);
    EXPECT_EQ(s.primary, 1u);
}

TEST(RefreshPolicy, RetransferTakesTheZoneEvenWhenOlderAndSaysSo) {
    RefreshPolicy p("a.test.", kTwo, 2000, true);
    auto s = p.start();
    EXPECT_EQ(s.what, Do::Transfer);
    EXPECT_EQ(s.kind, TransferKind::Axfr);
    s = p.transferred(0, TransferKind::Axfr, Outcome::Full, 1000);
    EXPECT_EQ(s.what, Do::Install);
    EXPECT_TRUE(s.backwards);
    RefreshPolicy q("a.test.", kTwo, 2000, true);
    q.start();
    s = q.transferred(0, TransferKind::Axfr, Outcome::Full, 2000);
    EXPECT_EQ(s.what, Do::Install);
    EXPECT_FALSE(s.backwards);
}

TEST(RefreshPolicy, NoPrimariesGivesUpAtOnce) {
    RefreshPolicy p("a.test.", {}, 1, false);
    auto s = p.start();
    EXPECT_EQ(s.what, Do::GiveUp);
    EXPECT_FALSE(s.error.empty());
}

TEST(RefreshTimers, RefreshIsSpreadDownwardsWithinTenPercent) {
    std::mt19937 rng(1);
    bool spread = false;
    for (int i = 0; i < 200; ++i) {
        auto d = refresh_delay(3600, rng);
        EXPECT_LE(d, 3600);
        EXPECT_GE(d, 3240);
        spread |= d != 3600;
    }
    EXPECT_TRUE(spread);
    EXPECT_EQ(refresh_delay(2, rng), 2);  // short test timers exactly
    EXPECT_EQ(refresh_delay(0, rng), 1);
}

TEST(RefreshTimers, RetryUsesSoaRetryOrBacksOffWithoutData) {
    std::mt19937 rng(7);
    for (int i = 0; i < 200; ++i) {
        auto d = retry_delay(600, 1, rng);
        EXPECT_GE(d, 540);
        EXPECT_LE(d, 660);
    }
    EXPECT_EQ(retry_delay(std::nullopt, 0, rng), 5);
    auto d = retry_delay(std::nullopt, 3, rng);
    EXPECT_GE(d, 36);
    EXPECT_LE(d, 44);
    for (std::uint32_t f : {6u, 7u, 50u}) {
        d = retry_delay(std::nullopt, f, rng);
        EXPECT_LE(d, 330);
        EXPECT_GE(d, 270);
    }
}

}  // namespace
