// Keys on disk: made once, read back with the same tags, private, and a
// damaged or missing file refused rather than silently replaced.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "modes/keys.hpp"

namespace satellite::modes {
namespace {

namespace fs = std::filesystem;

class KeysTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("satellite-keys-" + std::to_string(::getpid()) + "-" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string state() const { return (dir_ / "state").string(); }
    dns::Name zone_ = *dns::Name::from_text("Example.COM.");
    fs::path dir_;
};

mode_t mode_of(const std::string& path) {
    struct stat st{};
    ::stat(path.c_str(), &st);
    return st.st_mode & 0777;
}

TEST(KeyDirectory, NamesMapToOneLevelAndNeverCollide) {
    auto dir = [](const char* text) { return key_directory("/s", *dns::Name::from_text(text)); };
    EXPECT_EQ(dir("example.com."), "/s/keys/example.com");  // ordinary names: as before
    EXPECT_EQ(dir("a_b."), "/s/keys/a_b");
    EXPECT_EQ(dir("a/b."), "/s/keys/a%2Fb");  // not a_b's directory, and one level
    EXPECT_EQ(dir("a%2Fb."), "/s/keys/a%252fb");  // the escape character escaped (names are lowered)
    EXPECT_EQ(dir("."), "/s/keys/root");
}

TEST_F(KeysTest, MadeOnceThenReadBackWithTheSameTags) {
    auto first = load_or_create_keys(state(), zone_, 13, 1000);
    ASSERT_TRUE(first.ok()) << first.error().message;
    EXPECT_EQ(first->ksk().dnskey[1], 1);  // flags 257: SEP
    EXPECT_EQ(first->zsk().dnskey[1], 0);  // flags 256
    const std::string dir = key_directory(state(), zone_);
    EXPECT_EQ(dir, state() + "/keys/example.com");
    EXPECT_EQ(mode_of(dir), 0700u);
    EXPECT_EQ(mode_of(first->ksk().path), 0600u);
    EXPECT_EQ(mode_of(first->zsk().path), 0600u);
    auto again = load_or_create_keys(state(), zone_, 13, 2000);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ(again->ksk().tag, first->ksk().tag);
    EXPECT_EQ(again->zsk().tag, first->zsk().tag);
    EXPECT_EQ(again->ksk().dnskey, first->ksk().dnskey);
    EXPECT_EQ(again->ksk().created, 1000);
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
    EXPECT_EQ(files, 2u);
}

TEST_F(KeysTest, DamagedKeyFileIsRefusedAndNotReplaced) {
    auto first = load_or_create_keys(state(), zone_, 15, 1000);
    ASSERT_TRUE(first.ok());
    const std::string path = first->zsk().path;
    std::string text;
    {
        std::ifstream f(path);
        std::stringstream ss;
        ss << f.rdbuf();
        text = ss.str();
    }
    // Change one character of the PEM body: a different private key (or none).
    auto at = text.find("-----BEGIN PRIVATE KEY-----\n") + 28 + 20;
    text[at] = text[at] == 'A' ? 'B' : 'A';
    {
        std::ofstream f(path, std::ios::trunc);
        f << text;
    }
    auto again = load_or_create_keys(state(), zone_, 15, 2000);
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.error().message.find(path), std::string::npos) << again.error().message;
    EXPECT_NE(again.error().message.find("damaged"), std::string::npos) << again.error().message;
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(key_directory(state(), zone_))) ++files;
    EXPECT_EQ(files, 2u);  // nothing new made

    // A truncated file too.
    fs::resize_file(path, 40);
    auto truncated = load_or_create_keys(state(), zone_, 15, 2000);
    ASSERT_FALSE(truncated.ok());
    EXPECT_NE(truncated.error().message.find("damaged"), std::string::npos) << truncated.error().message;
}

// A changed character that still parses as a key (the EC scalar, an RSA
// prime) must fail the consistency check, not sign with a broken key.
TEST_F(KeysTest, AKeyThatStillParsesButNoLongerMatchesIsRefused) {
    struct Case {
        std::uint8_t alg;
        std::size_t offset;  // into the PEM body
    };
    for (Case c : {Case{13, 50}, Case{13, 70}, Case{14, 80}, Case{8, 400}, Case{8, 900}, Case{10, 1200}}) {
        fs::remove_all(dir_);
        auto first = load_or_create_keys(state(), zone_, c.alg, 1000);
        ASSERT_TRUE(first.ok());
        std::string text;
        {
            std::ifstream f(first->ksk().path);
            std::stringstream ss;
            ss << f.rdbuf();
            text = ss.str();
        }
        std::size_t at = text.find("-----BEGIN PRIVATE KEY-----\n") + 28 + c.offset;
        if (text[at] == '\n') ++at;
        text[at] = text[at] == 'Q' ? 'R' : 'Q';
        {
            std::ofstream f(first->ksk().path, std::ios::trunc);
            f << text;
        }
        auto again = load_or_create_keys(state(), zone_, c.alg, 2000);
        ASSERT_FALSE(again.ok()) << "algorithm " << int(c.alg) << " offset " << c.offset;
        EXPECT_NE(again.error().message.find("damaged"), std::string::npos) << again.error().message;
    }
}

TEST_F(KeysTest, AMissingRoleOrAnotherAlgorithmIsRefused) {
    auto first = load_or_create_keys(state(), zone_, 13, 1000);
    ASSERT_TRUE(first.ok());
    auto other_alg = load_or_create_keys(state(), zone_, 8, 1000);
    ASSERT_FALSE(other_alg.ok());
    EXPECT_NE(other_alg.error().message.find("algorithm rollover"), std::string::npos);
    fs::remove(first->ksk().path);
    auto missing = load_or_create_keys(state(), zone_, 13, 1000);
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("no KSK"), std::string::npos) << missing.error().message;
}

TEST_F(KeysTest, AKeyFileForAnotherZoneIsRefused) {
    auto first = load_or_create_keys(state(), zone_, 13, 1000);
    ASSERT_TRUE(first.ok());
    auto other = dns::Name::from_text("example.net.");
    auto read = read_key_file(first->ksk().path, *other);
    ASSERT_FALSE(read.ok());
    EXPECT_NE(read.error().message.find("names zone"), std::string::npos);
}

}  // namespace
}  // namespace satellite::modes
