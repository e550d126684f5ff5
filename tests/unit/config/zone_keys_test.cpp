// Zone keys added with transfers and presigned checks: defaults, values, errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "config/config.hpp"

namespace satellite::config {
namespace {

namespace fs = std::filesystem;

std::string path() {
    return (fs::temp_directory_path() / ("zone-keys-" + std::to_string(::getpid()) + ".toml")).string();
}

TEST(ZoneKeys, Defaults) {
    auto c = parse("[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\n", path());
    ASSERT_TRUE(c.ok()) << c.error().message;
    const Zone& z = c->zones.at(0);
    EXPECT_EQ(z.max_zone_records, 5'000'000u);
    EXPECT_EQ(z.transfer_timeout, 300u);
    EXPECT_EQ(z.presigned_verify, "keys");
    EXPECT_EQ(z.expiry_warning, 3u * 86400);
}

TEST(ZoneKeys, Values) {
    auto c = parse(
        "[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\n"
        "max_zone_records = 1000\ntransfer_timeout = 30\npresigned_verify = \"full\"\n"
        "expiry_warning = \"12h\"\n",
        path());
    ASSERT_TRUE(c.ok()) << c.error().message;
    const Zone& z = c->zones.at(0);
    EXPECT_EQ(z.max_zone_records, 1000u);
    EXPECT_EQ(z.transfer_timeout, 30u);
    EXPECT_EQ(z.presigned_verify, "full");
    EXPECT_EQ(z.expiry_warning, 12u * 3600);
}

TEST(ZoneKeys, BadValuesPointAtTheKey) {
    auto bad_verify = parse(
        "[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\npresigned_verify = \"some\"\n",
        path());
    ASSERT_FALSE(bad_verify.ok());
    EXPECT_NE(bad_verify.error().message.find(":4:"), std::string::npos) << bad_verify.error().message;
    EXPECT_NE(bad_verify.error().message.find("presigned_verify"), std::string::npos);

    auto zero = parse("[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\nmax_zone_records = 0\n",
                      path());
    ASSERT_FALSE(zero.ok());
    EXPECT_NE(zero.error().message.find("out of range"), std::string::npos) << zero.error().message;

    auto bad_duration = parse(
        "[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\nexpiry_warning = \"soon\"\n",
        path());
    ASSERT_FALSE(bad_duration.ok());
    EXPECT_NE(bad_duration.error().message.find("expiry_warning"), std::string::npos)
        << bad_duration.error().message;
}

// Issue 15: signature_safety_margin.
TEST(ZoneKeys, SignatureSafetyMargin) {
    const std::string zone = "[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\n";
    auto c = parse(zone, path());
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->zones.at(0).signature_safety_margin, 3600u);  // default 1h
    c = parse(zone + "signature_safety_margin = \"20s\"\n", path());
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->zones.at(0).signature_safety_margin, 20u);
    // A zone signed here: by default at most half of validity - refresh.
    const std::string live = zone + "mode = \"live\"\n";
    c = parse(live + "[zone.signing]\nsignature_validity = \"60s\"\nsignature_refresh = \"40s\"\n", path());
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->zones.at(0).signature_safety_margin, 10u);
    c = parse(live, path());  // 14d / 7d
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->zones.at(0).signature_safety_margin, 3600u);
    // An explicit margin the re-signing window cannot keep: refused, naming both.
    auto bad = parse(live + "signature_safety_margin = \"30s\"\n[zone.signing]\nsignature_validity = \"60s\"\n"
                            "signature_refresh = \"40s\"\n",
                     path());
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("signature_safety_margin"), std::string::npos) << bad.error().message;
    EXPECT_NE(bad.error().message.find("signature_refresh"), std::string::npos) << bad.error().message;
    auto word = parse(zone + "signature_safety_margin = \"soon\"\n", path());
    ASSERT_FALSE(word.ok());
    EXPECT_NE(word.error().message.find("signature_safety_margin"), std::string::npos) << word.error().message;
}

}  // namespace
}  // namespace satellite::config
