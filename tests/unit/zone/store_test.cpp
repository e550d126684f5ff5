// The zone copy and journal on disk after a crash: the signed_by_us marker
// round-trips and is false in files written before it existed; a journal
// torn at any point inside its last entry keeps the entries before it, and
// an append after that is readable again.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "dns/zonefile.hpp"
#include "zone/store.hpp"

namespace satellite::zone {
namespace {

namespace fs = std::filesystem;

const dns::Name kZone = *dns::Name::from_text("example.test.");

dns::RecordList records(unsigned serial, const std::string& more = "") {
    auto r = dns::parse_records("example.test. 3600 IN SOA ns.example.test. host.example.test. " +
                                    std::to_string(serial) + " 3600 900 604800 300\n" + more,
                                kZone);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return std::move(*r);
}

ZoneDelta delta(unsigned from, unsigned to) {
    ZoneDelta d;
    d.from = from;
    d.to = to;
    d.removed = records(from);
    d.added = records(to, "n" + std::to_string(to) + ".example.test. 60 IN A 192.0.2." + std::to_string(to) + "\n");
    return d;
}

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("satellite-store-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string journal_file() const {
        std::string p = stored_zone_path(dir_.string(), kZone);
        return p.substr(0, p.size() - 4) + "journal";
    }
    fs::path dir_;
};

TEST_F(StoreTest, SignedByUsRoundTrips) {
    for (bool marked : {true, false}) {
        StoredZone z;
        z.serial = 9;
        z.last_check = 1'800'000'100;
        z.last_transfer = 1'800'000'000;
        z.source = "192.0.2.53";
        z.records = records(9, "www.example.test. 60 IN A 192.0.2.1\n");
        z.signed_by_us = marked;
        ASSERT_TRUE(save_zone(dir_.string(), kZone, z).ok());
        auto back = load_zone(dir_.string(), kZone);
        ASSERT_TRUE(back.ok()) << back.error().message;
        ASSERT_TRUE(back->has_value());
        EXPECT_EQ((*back)->signed_by_us, marked);
        EXPECT_EQ((*back)->serial, 9u);
        EXPECT_EQ((*back)->last_check, 1'800'000'100);
        EXPECT_EQ((*back)->last_transfer, 1'800'000'000);
        EXPECT_EQ((*back)->source, "192.0.2.53");
        EXPECT_EQ((*back)->records.size(), 2u);
        // The temp file is gone after the rename.
        EXPECT_FALSE(fs::exists(stored_zone_path(dir_.string(), kZone) + ".tmp"));
    }
}

TEST_F(StoreTest, AFileWrittenBeforeTheMarkerReadsAsNotSignedByUs) {
    // "old.test." (serial 7, SOA and one A record), as save_zone wrote it
    // before signed_by_us existed ("SATZONE1", no flags).
    const std::string hex =
        "5341545a4f4e4531000a036f6c6404746573740000000007000000006553f164"
        "000000006553f100000a3139322e302e322e353300000000000000020a036f6c"
        "640474657374000006000100000e100030026e73036f6c640474657374000468"
        "6f7374036f6c640474657374000000000700000e100000038400093a80000001"
        "2c0e03777777036f6c64047465737400000100010000003c0004c0000207b23f"
        "4209f0c7861da158afba4a0d3f409c26e81c6bf38c8024172fd3381a71b5";
    std::string bytes;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    const dns::Name old = *dns::Name::from_text("old.test.");
    const std::string path = stored_zone_path(dir_.string(), old);
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << bytes;

    auto back = load_zone(dir_.string(), old);
    ASSERT_TRUE(back.ok()) << back.error().message;
    ASSERT_TRUE(back->has_value());
    EXPECT_FALSE((*back)->signed_by_us);
    EXPECT_EQ((*back)->serial, 7u);
    EXPECT_EQ((*back)->last_check, 1700000100);
    EXPECT_EQ((*back)->last_transfer, 1700000000);
    EXPECT_EQ((*back)->source, "192.0.2.53");
    EXPECT_EQ((*back)->records.size(), 2u);

    // Saved again, it is the new format and can carry the marker.
    StoredZone z = std::move(**back);
    z.signed_by_us = true;
    ASSERT_TRUE(save_zone(dir_.string(), old, z).ok());
    auto again = load_zone(dir_.string(), old);
    ASSERT_TRUE(again.ok() && again->has_value());
    EXPECT_TRUE((*again)->signed_by_us);
    EXPECT_EQ((*again)->records.size(), 2u);
}

TEST_F(StoreTest, TheMarkerSitsInTheHeaderUnderTheChecksum) {
    StoredZone z;
    z.serial = 3;
    z.records = records(3);
    z.signed_by_us = true;
    ASSERT_TRUE(save_zone(dir_.string(), kZone, z).ok());
    const std::string path = stored_zone_path(dir_.string(), kZone);
    // The flags word ends the header: magic, name length and name, serial,
    // two times, source length (empty source).
    const std::size_t flags_at = 8 + 2 + kZone.size() + 4 + 8 + 8 + 2;
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(static_cast<std::streamoff>(flags_at + 3));
        char c = 0;
        f.read(&c, 1);
        ASSERT_EQ(c, 1);  // the marker is where the format says
        c = 0;
        f.seekp(static_cast<std::streamoff>(flags_at + 3));
        f.write(&c, 1);
    }
    auto back = load_zone(dir_.string(), kZone);
    ASSERT_FALSE(back.ok());
    EXPECT_NE(back.error().message.find("checksum"), std::string::npos);
}

// kill -9 in the middle of append_journal: the last entry is cut short at
// any byte (inside its header, payload or digest).
TEST_F(StoreTest, ATornLastJournalEntryIsIgnoredAndTheOnesBeforeItKept) {
    ASSERT_TRUE(append_journal(dir_.string(), kZone, {delta(1, 2)}).ok());
    ASSERT_TRUE(append_journal(dir_.string(), kZone, {delta(2, 3)}).ok());
    const std::uint64_t two = journal_size(dir_.string(), kZone);
    ASSERT_TRUE(append_journal(dir_.string(), kZone, {delta(3, 4)}).ok());
    const std::uint64_t three = journal_size(dir_.string(), kZone);
    ASSERT_GT(three, two + 40);
    std::string whole;
    {
        std::ifstream f(journal_file(), std::ios::binary);
        whole.assign(std::istreambuf_iterator<char>(f), {});
    }
    ASSERT_EQ(whole.size(), three);

    for (std::uint64_t cut : {two + 1, two + 6, two + 20, (two + three) / 2, three - 1}) {
        SCOPED_TRACE("journal cut at " + std::to_string(cut) + " of " + std::to_string(three));
        std::ofstream(journal_file(), std::ios::binary | std::ios::trunc) << whole.substr(0, cut);
        auto j = load_journal(dir_.string(), kZone);
        ASSERT_TRUE(j.ok()) << j.error().message;
        ASSERT_EQ(j->deltas.size(), 2u);
        EXPECT_EQ(j->deltas[0].from, 1u);
        EXPECT_EQ(j->deltas[1].to, 3u);
        EXPECT_EQ(j->deltas[1].added.size(), 2u);
        EXPECT_NE(j->warning.find("entry 3 is damaged"), std::string::npos) << j->warning;
        // The torn bytes are cut off, so what is appended next is read.
        EXPECT_EQ(journal_size(dir_.string(), kZone), two);
        ASSERT_TRUE(append_journal(dir_.string(), kZone, {delta(3, 4)}).ok());
        auto after = load_journal(dir_.string(), kZone);
        ASSERT_TRUE(after.ok());
        EXPECT_TRUE(after->warning.empty()) << after->warning;
        ASSERT_EQ(after->deltas.size(), 3u);
        EXPECT_EQ(after->deltas[2].to, 4u);
    }

    // Torn inside the first entry: nothing usable, no error.
    std::ofstream(journal_file(), std::ios::binary | std::ios::trunc) << whole.substr(0, 10);
    auto j = load_journal(dir_.string(), kZone);
    ASSERT_TRUE(j.ok());
    EXPECT_TRUE(j->deltas.empty());
    EXPECT_NE(j->warning.find("entry 1 is damaged"), std::string::npos) << j->warning;
    EXPECT_EQ(journal_size(dir_.string(), kZone), 0u);
}

}  // namespace
}  // namespace satellite::zone
