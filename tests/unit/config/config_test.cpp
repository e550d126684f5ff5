// Pins the config contract of DESIGN.md §2: what a good file parses to, and
// that every kind of mistake is refused with the right file:line:col.
#include "config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace satellite::config {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const fs::path kDataDir = fs::path(SATELLITE_SOURCE_DIR) / "tests/unit/config/data";

// Each test gets its own directory holding a zone file, so relative paths and
// zone-file checks have something real to point at.
class ConfigTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::temp_directory_path() / ("satellite-config-test-" + std::to_string(::getpid()) +
                                            "-" + info->test_suite_name() + "-" + info->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        std::ofstream(dir_ / "example.com.zone") << "@ 3600 IN SOA ns hm 1 3600 900 604800 300\n";
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string config_path() const { return (dir_ / "satellite.toml").string(); }

    // Test TOML is written as R"(\n...)"; the first newline is dropped so
    // line 1 is the first line of text.
    Result<Config> parse_text(std::string_view text) const {
        if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
        return parse(std::string(text), config_path());
    }

    // Parsing must fail at line:col with a message containing `fragment`.
    ::testing::AssertionResult fails_at(std::string_view text, int line, int column,
                                        std::string_view fragment) const {
        auto result = parse_text(text);
        if (result.ok()) return ::testing::AssertionFailure() << "parsed without error";
        const std::string& message = result.error().message;
        const std::string prefix =
            config_path() + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
        if (message.rfind(prefix, 0) != 0) {
            return ::testing::AssertionFailure()
                   << "expected prefix \"" << prefix << "\" in \"" << message << "\"";
        }
        if (message.find(fragment) == std::string::npos) {
            return ::testing::AssertionFailure()
                   << "expected \"" << fragment << "\" in \"" << message << "\"";
        }
        return ::testing::AssertionSuccess() << message;
    }

    fs::path dir_;
};

// --- a good config --------------------------------------------------------

TEST(ConfigFile, FullConfigParsesToTheWrittenValues) {
    const auto path = (kDataDir / "full.toml").string();
    auto cfg = load(path);
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->path, path);

    const Server& s = cfg->server;
    ASSERT_EQ(s.listen.size(), 2u);
    EXPECT_EQ(s.listen[0].host, "127.0.0.1");
    EXPECT_EQ(s.listen[0].port, 5353);
    EXPECT_EQ(s.listen[1].host, "::1");
    EXPECT_EQ(s.listen[1].port, 5354);
    EXPECT_EQ(s.threads, 4u);
    EXPECT_EQ(s.state_dir, (kDataDir / "state/satellite").lexically_normal().string());
    EXPECT_EQ(s.tcp_max_connections, 200u);
    EXPECT_EQ(s.tcp_idle_timeout_ms, 5000u);
    EXPECT_EQ(s.udp_max_payload, 1400u);

    ASSERT_TRUE(cfg->api.listen.has_value());
    EXPECT_EQ(cfg->api.listen->to_string(), "127.0.0.1:8053");
    ASSERT_EQ(cfg->api.tokens.size(), 2u);
    EXPECT_EQ(cfg->api.tokens[0].name, "ops");
    EXPECT_EQ(cfg->api.tokens[0].secret, "s3cret-ops");
    EXPECT_THAT(cfg->api.tokens[0].permissions,
                ElementsAre("zone:read", "zone:refresh", "dnssec:read", "dnssec:enable",
                            "dnssec:disable", "dnssec:rotate", "dnssec:peer-keys"));
    EXPECT_EQ(cfg->api.tokens[1].name, "monitor");
    EXPECT_THAT(cfg->api.tokens[1].permissions, ElementsAre("zone:read"));

    EXPECT_EQ(cfg->log.level, "debug");
    EXPECT_EQ(cfg->log.format, "json");

    ASSERT_EQ(cfg->tsig_keys.size(), 2u);
    EXPECT_EQ(cfg->tsig_keys[0].name, "xfr-key");
    EXPECT_EQ(cfg->tsig_keys[0].algorithm, "hmac-sha256");
    EXPECT_EQ(cfg->tsig_keys[0].secret, "c2F0ZWxsaXRlLXRlc3Qta2V5");
    const std::string decoded(cfg->tsig_keys[0].secret_bytes.begin(),
                              cfg->tsig_keys[0].secret_bytes.end());
    EXPECT_EQ(decoded, "satellite-test-key");
    EXPECT_EQ(cfg->tsig_keys[1].name, "other.key.");
    EXPECT_EQ(cfg->tsig_keys[1].algorithm, "hmac-sha512");
    EXPECT_THAT(cfg->tsig_keys[1].secret_bytes, ElementsAre(0x00, 0x01, 0x02, 0xff));

    ASSERT_EQ(cfg->zones.size(), 2u);
    const Zone& z = cfg->zones[0];
    EXPECT_EQ(z.name, "example.com.");
    ASSERT_EQ(z.primaries.size(), 3u);
    EXPECT_EQ(z.primaries[0].to_string(), "192.0.2.1:53");
    EXPECT_EQ(z.primaries[1].host, "2001:db8::53");
    EXPECT_EQ(z.primaries[1].port, 5300);
    EXPECT_EQ(z.primaries[2].to_string(), "192.0.2.2:53");
    EXPECT_EQ(z.file, "");
    EXPECT_EQ(z.tsig_key, "xfr-key");
    EXPECT_THAT(z.notify_allow, ElementsAre("192.0.2.1", "2001:db8::53", "198.51.100.7"));
    EXPECT_EQ(z.mode, Mode::Presigned);
    EXPECT_TRUE(z.allow_nsec3);
    EXPECT_FALSE(z.signing.has_value());

    const Zone& local = cfg->zones[1];
    EXPECT_EQ(local.name, "local.example.");
    EXPECT_TRUE(local.primaries.empty());
    EXPECT_EQ(local.file, (kDataDir / "local.example.zone").lexically_normal().string());
    EXPECT_TRUE(local.notify_allow.empty());
    EXPECT_EQ(local.tsig_key, "");
}

TEST(ConfigFile, MissingFileIsReportedWithItsPath) {
    auto cfg = load("/nonexistent/satellite.toml");
    ASSERT_FALSE(cfg.ok());
    EXPECT_THAT(cfg.error().message, ::testing::StartsWith("/nonexistent/satellite.toml:1:1: "));
    EXPECT_THAT(cfg.error().message, HasSubstr("cannot open the config file"));
}

TEST(ConfigFile, DirectoryIsNotAConfigFile) {
    auto cfg = load(kDataDir.string());
    ASSERT_FALSE(cfg.ok());
    EXPECT_THAT(cfg.error().message, HasSubstr("is a directory"));
}

TEST_F(ConfigTest, EmptyFileGivesDefaults) {
    auto cfg = parse_text("");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    ASSERT_EQ(cfg->server.listen.size(), 1u);
    EXPECT_EQ(cfg->server.listen[0].to_string(), "127.0.0.1:5353");
    EXPECT_EQ(cfg->server.threads, 0u);
    EXPECT_EQ(cfg->server.state_dir, (dir_ / "var/satellite").string());
    EXPECT_EQ(cfg->server.tcp_max_connections, 1024u);
    EXPECT_EQ(cfg->server.tcp_idle_timeout_ms, 10'000u);
    EXPECT_EQ(cfg->server.udp_max_payload, 1232u);
    EXPECT_FALSE(cfg->api.listen.has_value());
    EXPECT_TRUE(cfg->api.tokens.empty());
    EXPECT_EQ(cfg->log.level, "info");
    EXPECT_EQ(cfg->log.format, "text");
    EXPECT_TRUE(cfg->tsig_keys.empty());
    EXPECT_TRUE(cfg->zones.empty());
}

TEST_F(ConfigTest, NsidIdentityAndVersionAreOffUnlessSetAndMustBePrintable) {
    auto none = parse_text("[server]\n");
    ASSERT_TRUE(none.ok()) << none.error().message;
    EXPECT_EQ(none->server.nsid, "");
    EXPECT_EQ(none->server.identity, "");
    EXPECT_EQ(none->server.version, "");
    auto cfg = parse_text(R"(
[server]
nsid = "sat-1"
identity = "sat-1.example.net"
version = "satellite"
)");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->server.nsid, "sat-1");
    EXPECT_EQ(cfg->server.identity, "sat-1.example.net");
    EXPECT_EQ(cfg->server.version, "satellite");
    EXPECT_TRUE(fails_at("[server]\nnsid = \"" + std::string(129, 'x') + "\"\n", 2, 8, "longer than 128"));
    EXPECT_TRUE(fails_at("[server]\nidentity = \"a\\tb\"\n", 2, 12, "printable ASCII"));
    EXPECT_TRUE(fails_at("[server]\nversion = 1\n", 2, 11, "server.version"));
}

TEST_F(ConfigTest, ServerTableWithoutListenKeepsTheDefaultListen) {
    auto cfg = parse_text(R"(
[server]
threads = 2
)");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    ASSERT_EQ(cfg->server.listen.size(), 1u);
    EXPECT_EQ(cfg->server.listen[0].to_string(), "127.0.0.1:5353");
    EXPECT_EQ(cfg->server.threads, 2u);
}

TEST_F(ConfigTest, AbsoluteStateDirIsNormalisedButNotMoved) {
    auto cfg = parse_text(R"(
[server]
state_dir = "/var/lib//satellite/./keys/../"
)");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->server.state_dir, "/var/lib/satellite");
}

TEST_F(ConfigTest, RelativePathsStartAtTheConfigFilesDirectory) {
    fs::create_directories(dir_ / "zones");
    std::ofstream(dir_ / "zones" / "a.zone") << "\n";
    auto cfg = parse_text(R"(
[server]
state_dir = "state"
[[zone]]
name = "a.example"
file = "./zones/a.zone"
)");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->server.state_dir, (dir_ / "state").string());
    EXPECT_EQ(cfg->zones[0].file, (dir_ / "zones" / "a.zone").string());
}

TEST_F(ConfigTest, NotifyAllowDefaultsToThePrimariesAddresses) {
    auto cfg = parse_text(R"(
[[zone]]
name = "example.com."
primaries = ["192.0.2.1:53", "192.0.2.1:5300", "[2001:db8::1]"]
)");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_THAT(cfg->zones[0].notify_allow, ElementsAre("192.0.2.1", "2001:db8::1"));
}

TEST_F(ConfigTest, ExplicitEmptyNotifyAllowAcceptsNoNotify) {
    auto cfg = parse_text(R"(
[[zone]]
name = "example.com."
primaries = ["192.0.2.1"]
notify_allow = []
)");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_TRUE(cfg->zones[0].notify_allow.empty());
}

TEST_F(ConfigTest, ZoneNamesGetTheirFinalDotAndKeepTheirCase) {
    auto cfg = parse_text(R"(
[[zone]]
name = "Example.COM"
primaries = ["192.0.2.1"]
[[zone]]
name = "0/25.2.0.192.in-addr.arpa"
primaries = ["192.0.2.1"]
[[zone]]
name = "."
primaries = ["192.0.2.1"]
[[zone]]
name = "_tcp.example.net."
primaries = ["192.0.2.1"]
)");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    ASSERT_EQ(cfg->zones.size(), 4u);
    EXPECT_EQ(cfg->zones[0].name, "Example.COM.");
    EXPECT_EQ(cfg->zones[1].name, "0/25.2.0.192.in-addr.arpa.");
    EXPECT_EQ(cfg->zones[2].name, ".");
    EXPECT_EQ(cfg->zones[3].name, "_tcp.example.net.");
}

TEST_F(ConfigTest, LongestLegalNameIsAccepted) {
    // Four labels of 63, 63, 63 and 61 octets: 255 octets in wire form.
    const std::string name = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                             std::string(63, 'c') + "." + std::string(61, 'd');
    auto cfg = parse_text("[[zone]]\nname = \"" + name + "\"\nprimaries = [\"192.0.2.1\"]\n");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->zones[0].name, name + ".");
}

TEST_F(ConfigTest, TsigKeyReferenceIgnoresCaseAndFinalDot) {
    auto cfg = parse_text(R"(
[[tsig_key]]
name = "xfr-key"
algorithm = "hmac-sha384"
secret = "YWI="
[[zone]]
name = "example.com."
primaries = ["192.0.2.1"]
tsig_key = "XFR-Key."
)");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->zones[0].tsig_key, "xfr-key");
    EXPECT_EQ(cfg->tsig_keys[0].algorithm, "hmac-sha384");
    EXPECT_THAT(cfg->tsig_keys[0].secret_bytes, ElementsAre('a', 'b'));
}

TEST_F(ConfigTest, EmptyArrayOfZonesMeansNoZones) {
    auto cfg = parse_text("zone = []\n");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_TRUE(cfg->zones.empty());
}

TEST_F(ConfigTest, ZoneFileAbsolutePathIsAccepted) {
    auto cfg = parse_text("[[zone]]\nname = \"example.com\"\nfile = \"" +
                          (dir_ / "example.com.zone").string() + "\"\n");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->zones[0].file, (dir_ / "example.com.zone").string());
}

// --- TOML syntax ----------------------------------------------------------

TEST_F(ConfigTest, SyntaxErrorKeepsTomlPositionAndDescription) {
    EXPECT_TRUE(fails_at(R"(
[server]
threads = 2
listen = ["127.0.0.1:53",
)",
                         3, 27, "invalid TOML: Error while parsing array"));
    EXPECT_TRUE(fails_at(R"(
[log]
level = "info"
level = "debug"
)",
                         3, 9, "cannot redefine existing string 'level'"));
}

// --- unknown keys ---------------------------------------------------------

TEST_F(ConfigTest, UnknownTopLevelKeyIsRefusedWithASuggestion) {
    EXPECT_TRUE(fails_at(R"(
[[zones]]
name = "example.com."
)",
                         1, 3, R"(unknown key "zones" in the top level; did you mean "zone"?)"));
}

TEST_F(ConfigTest, UnknownKeyInServerPointsAtTheKey) {
    EXPECT_TRUE(fails_at(R"(
[server]
threads = 2
  thread = 2
)",
                         3, 3, R"(unknown key "thread" in [server]; did you mean "threads"?)"));
}

TEST_F(ConfigTest, UnknownKeyWithoutCloseMatchListsTheAllowedKeys) {
    EXPECT_TRUE(fails_at(R"(
[log]
colour = true
)",
                         2, 1, "remove it (the keys allowed here are level, format)"));
}

TEST_F(ConfigTest, FirstOfSeveralUnknownKeysIsReported) {
    EXPECT_TRUE(fails_at(R"(
[log]
zzz = 1
aaa = 2
)",
                         2, 1, R"("zzz")"));
}

TEST_F(ConfigTest, UnknownKeyInsideTheSecondZoneIsFound) {
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "a.example."
primaries = ["192.0.2.1"]
[[zone]]
name = "b.example."
primaries = ["192.0.2.1"]
primary_port = 53
)",
                         7, 1, R"(unknown key "primary_port" in [[zone]])"));
}

TEST_F(ConfigTest, UnknownKeysInsideArraysAndSubtablesAreFound) {
    EXPECT_TRUE(fails_at(R"(
[api]
listen = "127.0.0.1:8053"
[[api.token]]
name = "ops"
secret = "x"
permissions = []
scope = "all"
)",
                         7, 1, R"(unknown key "scope" in [[api.token]])"));
    EXPECT_TRUE(fails_at(R"(
[[tsig_key]]
name = "k"
algorithm = "hmac-sha256"
secrets = "YWI="
)",
                         4, 1, R"(did you mean "secret"?)"));
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "example.com."
primaries = ["192.0.2.1"]
[zone.signing]
algorithm = 13
algo = 13
)",
                         6, 1, R"(unknown key "algo" in [zone.signing])"));
    EXPECT_TRUE(fails_at(R"(
[api]
port = 8053
)",
                         2, 1, R"(unknown key "port" in [api])"));
}

// --- wrong types ----------------------------------------------------------

TEST_F(ConfigTest, WrongTypesPointAtTheValue) {
    EXPECT_TRUE(fails_at(R"(
[server]
threads = "4"
)",
                         2, 11, "server.threads must be an integer, not a string"));
    EXPECT_TRUE(fails_at(R"(
[server]
listen = "127.0.0.1:53"
)",
                         2, 10, "server.listen must be an array, not a string"));
    EXPECT_TRUE(fails_at(R"(
[server]
listen = ["127.0.0.1:53", 53]
)",
                         2, 27, "server.listen must be a string, not an integer"));
    EXPECT_TRUE(fails_at(R"(
[server]
threads = 2.0
)",
                         2, 11, "must be an integer, not a float"));
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "example.com."
primaries = ["192.0.2.1"]
allow_nsec3 = "yes"
)",
                         4, 15, "zone.allow_nsec3 must be true or false, not a string"));
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = 42
primaries = ["192.0.2.1"]
)",
                         2, 8, "zone.name must be a string, not an integer"));
    EXPECT_TRUE(fails_at(R"(
[api]
listen = "127.0.0.1:8053"
[[api.token]]
name = "ops"
secret = "x"
permissions = "zone:read"
)",
                         6, 15, "api.token.permissions must be an array, not a string"));
}

TEST_F(ConfigTest, TablesWrittenWithTheWrongBracketsAreRefused) {
    EXPECT_TRUE(
        fails_at(R"(
[zone]
name = "example.com."
)",
                 1, 1, "zone must be an array of tables, not a table; write each one as [[zone]]"));
    EXPECT_TRUE(fails_at(R"(
[[server]]
threads = 1
)",
                         1, 1, "server must be a table, not an array"));
    EXPECT_TRUE(fails_at(R"(
log = "debug"
)",
                         1, 7, "log must be a table, not a string"));
    EXPECT_TRUE(fails_at(R"(
zone = [1]
)",
                         1, 9, "zone must be an array of tables, not an integer"));
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "example.com."
primaries = ["192.0.2.1"]
signing = true
)",
                         4, 11, "zone.signing must be a table, not a boolean"));
}

// --- missing required keys -------------------------------------------------

TEST_F(ConfigTest, MissingRequiredKeysPointAtTheTable) {
    EXPECT_TRUE(fails_at(R"(
[[zone]]
primaries = ["192.0.2.1"]
)",
                         1, 1, "[[zone]] has no name; add name = \"example.com.\""));
    EXPECT_TRUE(fails_at(R"(
[[tsig_key]]
name = "k"
algorithm = "hmac-sha256"
)",
                         1, 1, "[[tsig_key]] has no secret"));
    EXPECT_TRUE(fails_at(R"(
[[tsig_key]]
name = "k"
secret = "YWI="
)",
                         1, 1, "[[tsig_key]] has no algorithm"));
    EXPECT_TRUE(fails_at(R"(
[api]
[[api.token]]
name = "ops"
secret = "x"
)",
                         2, 1, "[[api.token]] has no permissions"));
}

TEST_F(ConfigTest, ZoneNeedsExactlyOneOfPrimariesAndFile) {
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "example.com."
mode = "presigned"
)",
                         1, 1, "has neither primaries nor file"));
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "example.com."
primaries = ["192.0.2.1"]
file = "example.com.zone"
)",
                         4, 8, "has both primaries and file"));
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "example.com."
file = "example.com.zone"
primaries = ["192.0.2.1"]
)",
                         4, 13, "has both primaries and file"));
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "example.com."
primaries = []
)",
                         3, 13, "zone.primaries is empty"));
}

// --- names ------------------------------------------------------------------

TEST_F(ConfigTest, DuplicateZonesCompareCaseInsensitivelyAndIgnoreTheFinalDot) {
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "example.com"
primaries = ["192.0.2.1"]
[[zone]]
name = "EXAMPLE.COM."
primaries = ["192.0.2.2"]
)",
                         5, 8, R"(zone "EXAMPLE.COM." is already defined at line 2)"));
}

TEST_F(ConfigTest, InvalidZoneNamesAreRefused) {
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "example..com"
primaries = ["192.0.2.1"]
)",
                         2, 8, "has an empty label"));
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = ""
primaries = ["192.0.2.1"]
)",
                         2, 8, "zone.name is empty"));
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = ".example.com"
primaries = ["192.0.2.1"]
)",
                         2, 8, "has an empty label"));
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "exa mple.com"
primaries = ["192.0.2.1"]
)",
                         2, 8, R"(contains " ")"));
    EXPECT_TRUE(fails_at(
        "[[zone]]\nname = \"" + std::string(64, 'a') + ".com\"\nprimaries = [\"192.0.2.1\"]\n", 2,
        8, "has a label of 64 octets"));
    const std::string too_long = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                                 std::string(63, 'c') + "." + std::string(62, 'd');
    EXPECT_TRUE(fails_at("[[zone]]\nname = \"" + too_long + "\"\nprimaries = [\"192.0.2.1\"]\n", 2,
                         8, "is 256 octets in wire form"));
}

// --- TSIG -------------------------------------------------------------------

TEST_F(ConfigTest, ZoneNamingAnUnknownTsigKeyIsRefused) {
    EXPECT_TRUE(fails_at(R"(
[[tsig_key]]
name = "xfr-key"
algorithm = "hmac-sha256"
secret = "YWI="
[[zone]]
name = "example.com."
primaries = ["192.0.2.1"]
tsig_key = "xfr-kee"
)",
                         8, 12, R"(zone.tsig_key "xfr-kee" names no [[tsig_key]])"));
}

TEST_F(ConfigTest, DuplicateTsigKeyNamesAreRefused) {
    EXPECT_TRUE(fails_at(R"(
[[tsig_key]]
name = "xfr-key"
algorithm = "hmac-sha256"
secret = "YWI="
[[tsig_key]]
name = "XFR-KEY."
algorithm = "hmac-sha512"
secret = "YWI="
)",
                         6, 8, "is already defined at line 2"));
}

TEST_F(ConfigTest, BadTsigSecretsAndAlgorithmsAreRefused) {
    const std::string head = "[[tsig_key]]\nname = \"k\"\nalgorithm = \"hmac-sha256\"\n";
    EXPECT_TRUE(fails_at(head + "secret = \"YWJ\"\n", 4, 10, "not a multiple of 4"));
    EXPECT_TRUE(fails_at(head + "secret = \"YW*j\"\n", 4, 10, R"(it contains "*")"));
    EXPECT_TRUE(fails_at(head + "secret = \"Y=Jj\"\n", 4, 10, R"(it contains "=")"));
    EXPECT_TRUE(fails_at(head + "secret = \"YW Jj\"\n", 4, 10, "not valid base64"));
    EXPECT_TRUE(fails_at(head + "secret = \"\"\n", 4, 10, "tsig_key.secret is empty"));
    EXPECT_TRUE(fails_at(R"(
[[tsig_key]]
name = "k"
algorithm = "hmac-md5"
secret = "YWI="
)",
                         3, 13, R"(use "hmac-sha256", "hmac-sha384" or "hmac-sha512")"));
    EXPECT_TRUE(fails_at(R"(
[[tsig_key]]
name = "bad key"
algorithm = "hmac-sha256"
secret = "YWI="
)",
                         2, 8, "tsig_key.name"));
}

// --- files ------------------------------------------------------------------

TEST_F(ConfigTest, MissingZoneFileIsRefused) {
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "example.com."
file = "nope.zone"
)",
                         3, 8, (dir_ / "nope.zone").string() + "\" does not exist"));
}

TEST_F(ConfigTest, ZoneFileThatIsADirectoryIsRefused) {
    fs::create_directories(dir_ / "zones");
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "example.com."
file = "zones"
)",
                         3, 8, "is not a regular file"));
}

TEST_F(ConfigTest, UnreadableZoneFileIsRefused) {
    if (::geteuid() == 0) GTEST_SKIP() << "root can read any file";
    fs::permissions(dir_ / "example.com.zone", fs::perms::none);
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "example.com."
file = "example.com.zone"
)",
                         3, 8, "cannot be read"));
}

TEST_F(ConfigTest, TransferOnlyKeysOnAFileZoneAreRefused) {
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "example.com."
file = "example.com.zone"
notify_allow = ["192.0.2.1"]
)",
                         4, 16, "zone.notify_allow only applies to zones with primaries"));
    EXPECT_TRUE(fails_at(R"(
[[tsig_key]]
name = "k"
algorithm = "hmac-sha256"
secret = "YWI="
[[zone]]
name = "example.com."
file = "example.com.zone"
tsig_key = "k"
)",
                         8, 12, "zone.tsig_key only applies to zones with primaries"));
}

TEST_F(ConfigTest, RrlIsOffWithoutItsTableAndOnWithDefaultsWithIt) {
    auto cfg = parse_text("");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->server.rrl.rate, 0u);
    cfg = parse_text("[server.rrl]\n");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->server.rrl.rate, 20u);  // DESIGN.md §2
    EXPECT_EQ(cfg->server.rrl.slip, 2u);
    cfg = parse_text("[server.rrl]\nrate = 5\nslip = 0\nexempt = [\"127.0.0.0/8\", \"2001:db8::/32\", \"192.0.2.1\"]\n");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->server.rrl.rate, 5u);
    EXPECT_EQ(cfg->server.rrl.slip, 0u);
    EXPECT_EQ(cfg->server.rrl.exempt.size(), 3u);
    EXPECT_TRUE(fails_at("[server.rrl]\nexempt = [\"127.0.0.0/33\"]\n", 2, 11, "is not an address or prefix"));
    EXPECT_TRUE(fails_at("[server.rrl]\nexempt = [\"localhost\"]\n", 2, 11, "is not an address or prefix"));
    EXPECT_TRUE(fails_at("[server.rrl]\nburst = 3\n", 2, 1, "unknown key \"burst\" in [server.rrl]"));
}

// DNS cookies (RFC 7873/9018): on by default with a random secret; a
// configured secret is 32 hex digits; a previous one needs a current one.
TEST_F(ConfigTest, CookiesAreOnByDefaultAndSecretsAreChecked) {
    auto cfg = parse_text("");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_TRUE(cfg->server.cookies);
    EXPECT_EQ(cfg->server.cookie_secret, "");
    cfg = parse_text("[server]\ncookies = false\n");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_FALSE(cfg->server.cookies);
    cfg = parse_text("[server]\ncookie_secret = \"e5e973e5a6b2a43f48e7dc849e37bfcf\"\n"
                     "cookie_secret_previous = \"DD3BDF9344B678B185A6F5CB60FCA715\"\n");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->server.cookie_secret, "e5e973e5a6b2a43f48e7dc849e37bfcf");
    EXPECT_EQ(cfg->server.cookie_secret_previous, "DD3BDF9344B678B185A6F5CB60FCA715");
    EXPECT_TRUE(fails_at("[server]\ncookie_secret = \"e5e973\"\n", 2, 17, "must be 32 hex digits"));
    EXPECT_TRUE(fails_at("[server]\ncookie_secret = \"x5e973e5a6b2a43f48e7dc849e37bfcf\"\n", 2, 17,
                         "must be 32 hex digits"));
    EXPECT_TRUE(fails_at("[server]\ncookie_secret_previous = \"e5e973e5a6b2a43f48e7dc849e37bfcf\"\n", 2, 26,
                         "needs server.cookie_secret"));
    EXPECT_TRUE(fails_at("[server]\ncookies = \"yes\"\n", 2, 11, "must be true or false"));
}

// [api] HTTPS: tls_cert and tls_key together (resolved against the config's
// directory); a listen address off loopback needs TLS or allow_plaintext.
TEST_F(ConfigTest, ApiTlsAndPlaintextOffLoopback) {
    auto cfg = parse_text("[api]\nlisten = \"192.0.2.1:8053\"\ntls_cert = \"api.crt\"\ntls_key = \"/etc/k.pem\"\n");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_TRUE(cfg->api.tls());
    EXPECT_EQ(cfg->api.tls_key, "/etc/k.pem");
    EXPECT_TRUE(cfg->api.tls_cert.ends_with("/api.crt") && cfg->api.tls_cert.front() == '/') << cfg->api.tls_cert;
    EXPECT_TRUE(fails_at("[api]\nlisten = \"192.0.2.1:8053\"\n", 2, 10,
                         "is not a loopback address and the API has no TLS"));
    EXPECT_TRUE(fails_at("[api]\nlisten = \"[2001:db8::1]:8053\"\n", 2, 10, "allow_plaintext = true"));
    cfg = parse_text("[api]\nlisten = \"192.0.2.1:8053\"\nallow_plaintext = true\n");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_FALSE(cfg->api.tls());
    for (const char* loopback : {"127.0.0.1:8053", "127.0.0.2:8053", "[::1]:8053"}) {
        cfg = parse_text(std::string("[api]\nlisten = \"") + loopback + "\"\n");
        EXPECT_TRUE(cfg.ok()) << loopback << ": " << cfg.error().message;
    }
    EXPECT_TRUE(fails_at("[api]\ntls_cert = \"api.crt\"\n", 2, 12, "set both tls_cert and tls_key"));
    EXPECT_TRUE(fails_at("[api]\ntls_key = \"api.key\"\n", 2, 11, "set both tls_cert and tls_key"));
    EXPECT_TRUE(fails_at("[api]\nallow_plaintext = 1\n", 2, 19, "must be true or false"));
}

// Not UTF-8, or non-ASCII between tokens: refused before the TOML parser
// sees it (fuzz_config found toml++ 3.3 reaching an unreachable branch on
// U+FEDF and U+03DF there); strings and comments may hold any character.
TEST_F(ConfigTest, TextThatIsNotUtf8IsRefused) {
    EXPECT_TRUE(fails_at("\xef\xbb\x9fs", 1, 1, "outside a string or comment (byte 0)"));  // U+FEDF
    EXPECT_TRUE(fails_at("s\xcf\x9f" "3", 1, 2, "outside a string or comment (byte 1)"));         // U+03DF
    auto in_strings = parse_text("# \xcf\x9f \xef\xbb\x9f\n[server]\nstate_dir = \"caf\xc3\xa9 \\\" \xcf\x9f\"  # \xc3\xa9\n"
                                 "catalog = 'x\xc3\xa9.example.'\n");
    if (!in_strings.ok()) {  // (the catalog name may be refused, but not for where its characters are)
        EXPECT_EQ(in_strings.error().message.find("outside a string"), std::string::npos) << in_strings.error().message;
    }
    EXPECT_TRUE(fails_at("[server]\nthreads = 1 # \xc3\x28\n", 2, 15, "not valid UTF-8"));
    EXPECT_TRUE(fails_at("# \xed\xa0\x80 surrogate\n", 1, 3, "not valid UTF-8"));
    auto cfg = parse_text("\xef\xbb\xbf# caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n[server]\nthreads = 2\n");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->server.threads, 2u);
}

TEST_F(ConfigTest, TransferLimitsHaveDefaultsAndRanges) {
    const std::string zone = "[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\n";
    auto cfg = parse_text(zone);
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->zones[0].max_zone_bytes, 2147483648u);  // DESIGN.md §2
    EXPECT_EQ(cfg->zones[0].transfer_idle_timeout, 30u);
    cfg = parse_text(zone + "max_zone_bytes = 1048576\ntransfer_idle_timeout = 5\n");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->zones[0].max_zone_bytes, 1048576u);
    EXPECT_EQ(cfg->zones[0].transfer_idle_timeout, 5u);
    // 32-bit offsets address a version's data: 4 GiB and more is refused here.
    EXPECT_TRUE(fails_at(zone + "max_zone_bytes = 4294967296\n", 4, 18, "out of range"));
    EXPECT_TRUE(fails_at(zone + "transfer_idle_timeout = 0\n", 4, 25, "out of range"));
}

// --- addresses --------------------------------------------------------------

TEST_F(ConfigTest, InvalidAddressesArePointedAtInTheArray) {
    const auto zone_with = [](std::string_view primary) {
        return "[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\", \"" +
               std::string(primary) + "\"]\n";
    };
    // The second element starts at column 27.
    EXPECT_TRUE(fails_at(zone_with("192.0.2.256"), 3, 27, "does not start with an IP address"));
    EXPECT_TRUE(fails_at(zone_with("ns1.example.com:53"), 3, 27, "host names are not resolved"));
    EXPECT_TRUE(fails_at(zone_with("2001:db8::1"), 3, 27, "IPv6 address without brackets"));
    EXPECT_TRUE(fails_at(zone_with("[192.0.2.2]:53"), 3, 27, "brackets are for IPv6 only"));
    EXPECT_TRUE(fails_at(zone_with("[2001:db8::1"), 3, 27, R"(has no closing "]")"));
    EXPECT_TRUE(fails_at(zone_with("[2001:db8::1]53"), 3, 27, R"(is not ":port")"));
    EXPECT_TRUE(fails_at(zone_with(""), 3, 27, "zone.primaries is empty"));
    EXPECT_TRUE(fails_at(zone_with("192.0.2.1"), 3, 27, "lists \"192.0.2.1:53\" twice"));
}

TEST_F(ConfigTest, PortsOutOfRangeAreRefused) {
    const auto listen_on = [](std::string_view address) {
        return "[server]\nlisten = [\"" + std::string(address) + "\"]\n";
    };
    EXPECT_TRUE(fails_at(listen_on("127.0.0.1:65536"), 2, 11, "port 65536, which is out of range"));
    EXPECT_TRUE(fails_at(listen_on("127.0.0.1:0"), 2, 11, "use a port from 1 to 65535"));
    EXPECT_TRUE(fails_at(listen_on("[::1]:99999999999"), 2, 11, "out of range"));
    EXPECT_TRUE(fails_at(listen_on("127.0.0.1:dns"), 2, 11, "which is not a number"));
    EXPECT_TRUE(fails_at(listen_on("127.0.0.1:"), 2, 11, "which is not a number"));
    EXPECT_TRUE(fails_at(listen_on("127.0.0.1:-53"), 2, 11, "which is not a number"));
}

TEST_F(ConfigTest, ListenAddressesNeedAPort) {
    EXPECT_TRUE(fails_at(R"(
[server]
listen = ["[::1]"]
)",
                         2, 11, R"(has no port; add one, e.g. "[::1]:5353")"));
    EXPECT_TRUE(fails_at(R"(
[api]
listen = "127.0.0.1"
)",
                         2, 10, "api.listen \"127.0.0.1\" has no port"));
}

TEST_F(ConfigTest, RepeatedAndCollidingListenAddressesAreRefused) {
    EXPECT_TRUE(fails_at(R"(
[server]
listen = ["127.0.0.1:53", "127.0.0.1:53"]
)",
                         2, 27, "lists \"127.0.0.1:53\" twice"));
    EXPECT_TRUE(fails_at(R"(
[server]
listen = ["127.0.0.1:5353"]
[api]
listen = "127.0.0.1:5353"
)",
                         4, 10, "is also in server.listen"));
    EXPECT_TRUE(fails_at(R"(
[server]
listen = []
)",
                         2, 10, "server.listen is empty"));
}

TEST_F(ConfigTest, NotifyAllowTakesBareAddressesOnly) {
    const auto zone_with = [](std::string_view address) {
        return "[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\n"
               "notify_allow = [\"" +
               std::string(address) + "\"]\n";
    };
    EXPECT_TRUE(fails_at(zone_with("192.0.2.0/24"), 4, 17, "is not an IP address"));
    EXPECT_TRUE(fails_at(zone_with("192.0.2.1:53"), 4, 17, "no port, no prefix"));
    EXPECT_TRUE(fails_at(zone_with("[2001:db8::1]"), 4, 17, "is not an IP address"));
    auto ok = parse_text(zone_with("2001:db8::1"));
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_THAT(ok->zones[0].notify_allow, ElementsAre("2001:db8::1"));
}

// --- value ranges and choices --------------------------------------------------

TEST_F(ConfigTest, ServerLimitsAreChecked) {
    EXPECT_TRUE(
        fails_at("[server]\nthreads = -1\n", 2, 11,
                 "server.threads is -1, which is out of range; use a value from 0 to 256"));
    // More workers than a published catalog tracks readers: refused here, not a crash at start.
    EXPECT_TRUE(fails_at("[server]\nthreads = 257\n", 2, 11, "use a value from 0 to 256"));
    EXPECT_TRUE(fails_at("[server]\ntcp_max_connections_per_client = 0\n", 2, 34, "from 1 to"));
    EXPECT_TRUE(fails_at("[server]\nudp_max_payload = 100\n", 2, 19, "from 512 to 4096"));
    EXPECT_TRUE(fails_at("[server]\ntcp_max_connections = 0\n", 2, 23, "from 1 to"));
    EXPECT_TRUE(fails_at("[server]\ntcp_idle_timeout_ms = 0\n", 2, 23, "from 1 to"));
    EXPECT_TRUE(fails_at("[server]\nstate_dir = \"\"\n", 2, 13, "server.state_dir is empty"));
}

TEST_F(ConfigTest, LogLevelAndFormatAreChecked) {
    EXPECT_TRUE(fails_at(
        "[log]\nlevel = \"verbose\"\n", 2, 9,
        R"(log.level "verbose" is unknown; use "trace", "debug", "info", "warn" or "error")"));
    EXPECT_TRUE(fails_at("[log]\nformat = \"xml\"\n", 2, 10, R"(use "text" or "json")"));
}

TEST_F(ConfigTest, ApiTokensAreChecked) {
    const std::string head = "[api]\nlisten = \"127.0.0.1:8053\"\n";
    EXPECT_TRUE(fails_at(head + R"([[api.token]]
name = "ops"
secret = "x"
permissions = ["zone:read", "zone:write"]
)",
                         6, 29, R"(api.token.permissions "zone:write" is unknown)"));
    EXPECT_TRUE(fails_at(head + R"([[api.token]]
name = "ops"
secret = "x"
permissions = []
[[api.token]]
name = "ops"
secret = "y"
permissions = []
)",
                         8, 8, "is used by two tokens"));
    EXPECT_TRUE(fails_at(head + R"([[api.token]]
name = "ops"
secret = "x"
permissions = []
[[api.token]]
name = "monitor"
secret = "x"
permissions = []
)",
                         9, 10, "give each token its own secret"));
    EXPECT_TRUE(fails_at(head + R"([[api.token]]
name = "ops"
secret = ""
permissions = []
)",
                         5, 10, "api.token.secret is empty"));
}

// --- modes and signing ----------------------------------------------------------

TEST_F(ConfigTest, UnknownModesAreRefused) {
    const std::string head = "[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\n";
    EXPECT_TRUE(
        fails_at(head + "mode = \"signed\"\n", 4, 8,
                 R"(zone.mode "signed" is unknown; use "presigned", "live" or "multi-signer")"));
}

TEST_F(ConfigTest, MultiSignerZoneTakesPeersAndPeerSettings) {
    auto cfg = config::parse(R"(
[[zone]]
name = "example.com."
primaries = ["192.0.2.1"]
mode = "multi-signer"
peers = ["127.0.0.22:5300", "[::1]:53"]
peer_keys_from_primary = true
[zone.signing]
enabled = true
peer_publish_delay = "2h"
)",
                             "/etc/satellite/satellite.toml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    const auto& z = cfg->zones.at(0);
    EXPECT_EQ(z.mode, config::Mode::MultiSigner);
    ASSERT_EQ(z.peers.size(), 2u);
    EXPECT_EQ(z.peers[0].host, "127.0.0.22");
    EXPECT_EQ(z.peers[0].port, 5300);
    EXPECT_EQ(z.peers[1].host, "::1");
    EXPECT_TRUE(z.peer_keys_from_primary);
    ASSERT_TRUE(z.signing);
    EXPECT_EQ(z.signing->peer_publish_delay, 7200u);
}

TEST_F(ConfigTest, StandbyKskIsABooleanOfSigning) {
    const std::string head = "[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\nmode = \"live\"\n"
                             "[zone.signing]\n";
    auto cfg = config::parse(head + "standby_ksk = true\n", "/etc/satellite/satellite.toml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    ASSERT_TRUE(cfg->zones.at(0).signing);
    EXPECT_TRUE(cfg->zones.at(0).signing->standby_ksk);
    auto plain = config::parse(head + "enabled = true\n", "/etc/satellite/satellite.toml");
    ASSERT_TRUE(plain) << plain.error().message;
    EXPECT_FALSE(plain->zones.at(0).signing->standby_ksk);
    EXPECT_TRUE(fails_at(head + "standby_ksk = \"yes\"\n", 6, 15, "zone.signing.standby_ksk"));
}

TEST_F(ConfigTest, PeerSettingsOnlyInMultiSignerZones) {
    const std::string head = "[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\n";
    EXPECT_TRUE(fails_at(head + "mode = \"live\"\npeers = [\"127.0.0.2\"]\n", 5, 9,
                         R"(zone.peers only applies to mode = "multi-signer")"));
    EXPECT_TRUE(fails_at(head + "peer_keys_from_primary = true\n", 4, 26,
                         R"(zone.peer_keys_from_primary only applies to mode = "multi-signer")"));
    EXPECT_TRUE(fails_at(head + "mode = \"multi-signer\"\npeers = [\"not an address\"]\n", 5, 10, "zone.peers"));
    EXPECT_TRUE(fails_at("[[zone]]\nname = \"example.com.\"\nfile = \"/etc/passwd\"\nmode = \"multi-signer\"\n"
                         "peer_keys_from_primary = true\n",
                         5, 26, "needs primaries"));
}

TEST_F(ConfigTest, ParentDsCheckBelongsToSigningZones) {
    auto cfg = config::parse(R"(
[[zone]]
name = "example.com."
primaries = ["192.0.2.1"]
mode = "live"
parent_ds_check = ["192.0.2.53", "[2001:db8::53]:5353"]
parent_ds_check_interval = "30s"
)",
                             "/etc/satellite/satellite.toml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    const auto& z = cfg->zones.at(0);
    ASSERT_EQ(z.parent_ds_check.size(), 2u);
    EXPECT_EQ(z.parent_ds_check[0].host, "192.0.2.53");
    EXPECT_EQ(z.parent_ds_check[0].port, 53);
    EXPECT_EQ(z.parent_ds_check[1].host, "2001:db8::53");
    EXPECT_EQ(z.parent_ds_check[1].port, 5353);
    EXPECT_EQ(z.parent_ds_check_interval, 30u);

    const std::string head = "[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\n";
    EXPECT_TRUE(fails_at(head + "parent_ds_check = [\"192.0.2.53\"]\n", 4, 19,
                         "zone.parent_ds_check only applies to live and multi-signer zones"));
    EXPECT_TRUE(fails_at(head + "mode = \"live\"\nparent_ds_check_interval = \"0\"\n", 5, 28,
                         "zone.parent_ds_check_interval is 0"));
    EXPECT_TRUE(fails_at(head + "mode = \"live\"\nparent_ds_check = \"192.0.2.53\"\n", 5, 19, "zone.parent_ds_check"));
}

TEST_F(ConfigTest, ParentTrustAnchorIsCheckedAtLoad) {
    const std::string ds = "com. DS 19718 13 2 8ACBB0CD28F41250A80A491389424D341522D946B0DA0C0291F2D3D771D7805A";
    const std::string head = "[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\nmode = \"live\"\n";
    const std::string check = "parent_ds_check = [\"192.0.2.53\"]\n";
    auto cfg = config::parse(head + check + "parent_trust_anchor = [\"" + ds + "\"]\n", "/etc/satellite/satellite.toml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    ASSERT_EQ(cfg->zones.at(0).parent_trust_anchor.size(), 1u);
    EXPECT_EQ(cfg->zones.at(0).parent_trust_anchor[0], ds);

    EXPECT_TRUE(fails_at(head + "parent_trust_anchor = [\"" + ds + "\"]\n", 5, 23,
                         "zone.parent_trust_anchor needs parent_ds_check"));
    EXPECT_TRUE(fails_at(head + check + "parent_trust_anchor = [\"com. DS 1 13 2 XYZ\"]\n", 6, 24,
                         "zone.parent_trust_anchor"));
    EXPECT_TRUE(fails_at(head + check + "parent_trust_anchor = [\"com. A 192.0.2.1\"]\n", 6, 24,
                         "zone.parent_trust_anchor"));
    const std::string org = "org. DS 19718 13 2 8ACBB0CD28F41250A80A491389424D341522D946B0DA0C0291F2D3D771D7805A";
    EXPECT_TRUE(fails_at(head + check + "parent_trust_anchor = [\"" + org + "\"]\n", 6, 23,
                         "is for org., which is not above example.com."));
    EXPECT_TRUE(fails_at(head + check + "parent_trust_anchor = []\n", 6, 23, "zone.parent_trust_anchor is empty"));
}

TEST_F(ConfigTest, LiveZoneTakesItsSigningTable) {
    auto cfg = config::parse(R"(
[[zone]]
name = "example.com."
primaries = ["192.0.2.1"]
mode = "live"
[zone.signing]
enabled = true
algorithm = 15
denial = "nsec3"
nsec3_opt_out = true
nsec3_salt = "abcd"
signature_validity = "30s"
signature_refresh = "10s"
)",
                             "/tmp/satellite.toml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    const auto& z = cfg->zones.at(0);
    EXPECT_EQ(z.mode, config::Mode::Live);
    ASSERT_TRUE(z.signing.has_value());
    EXPECT_TRUE(z.signing->enabled);
    EXPECT_EQ(z.signing->algorithm, 15);
    EXPECT_EQ(z.signing->denial, config::Denial::Nsec3);
    EXPECT_TRUE(z.signing->nsec3_opt_out);
    EXPECT_EQ(z.signing->nsec3_salt, "abcd");
    EXPECT_EQ(z.signing->signature_validity, 30u);
    EXPECT_EQ(z.signing->signature_refresh, 10u);
    // Without the table a live zone starts disabled (served unsigned).
    auto bare = config::parse("[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\n"
                              "mode = \"live\"\n",
                              "/tmp/satellite.toml");
    ASSERT_TRUE(bare) << bare.error().message;
    EXPECT_EQ(bare->zones.at(0).mode, config::Mode::Live);
    EXPECT_FALSE(bare->zones.at(0).signing.has_value());
}

TEST_F(ConfigTest, SigningOnAPresignedZoneIsRefused) {
    EXPECT_TRUE(fails_at(R"(
[[zone]]
name = "example.com."
primaries = ["192.0.2.1"]
mode = "presigned"
[zone.signing]
enabled = true
algorithm = 15
denial = "nsec3"
nsec3_iterations = 0
nsec3_salt = "-"
signature_validity = "21d"
signature_refresh = "10d"
zsk_lifetime = "30d"
ksk_lifetime = 0
)",
                         5, 1, "[zone.signing] only applies to live and multi-signer zones"));
}

class SigningTest : public ConfigTest {
protected:
    // A presigned zone whose [zone.signing] starts on line 4; the table's
    // content is checked before the table itself is refused.
    ::testing::AssertionResult signing_fails_at(std::string_view body, int line, int column,
                                                std::string_view fragment) const {
        return fails_at(
            "[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\n"
            "[zone.signing]\n" +
                std::string(body),
            line, column, fragment);
    }
};

TEST_F(SigningTest, AlgorithmMustBeOneWeSignWith) {
    EXPECT_TRUE(
        signing_fails_at("algorithm = 7\n", 5, 13,
                         "zone.signing.algorithm 7 is not supported; use 8, 10, 13, 14 or 15"));
    EXPECT_TRUE(signing_fails_at("algorithm = \"13\"\n", 5, 13, "must be an integer"));
}

TEST_F(SigningTest, DenialAndNsec3ParametersAreChecked) {
    EXPECT_TRUE(
        signing_fails_at("denial = \"nsec5\"\n", 5, 10, R"(use "nsec", "nsec3" or "compact")"));
    EXPECT_TRUE(signing_fails_at("denial = \"nsec\"\nnsec3_salt = \"ab\"\n", 6, 14,
                                 R"(only applies with denial = "nsec3")"));
    EXPECT_TRUE(
        signing_fails_at("nsec3_iterations = 0\n", 5, 20, R"(only applies with denial = "nsec3")"));
    EXPECT_TRUE(signing_fails_at("denial = \"nsec3\"\nnsec3_iterations = 150\n", 6, 20,
                                 "use a value from 0 to 100"));
    EXPECT_TRUE(
        signing_fails_at("denial = \"nsec3\"\nnsec3_salt = \"xyz\"\n", 6, 14, "is not a salt"));
    EXPECT_TRUE(signing_fails_at("denial = \"nsec3\"\nnsec3_salt = \"abc\"\n", 6, 14,
                                 "even number of hex digits"));
    // Valid NSEC3 parameters get as far as the presigned-zone check.
    EXPECT_TRUE(signing_fails_at("denial = \"nsec3\"\nnsec3_salt = \"DEADbeef\"\n", 4, 1,
                                 "only applies to live and multi-signer zones"));
    EXPECT_TRUE(signing_fails_at("denial = \"compact\"\n", 4, 1,
                                 "only applies to live and multi-signer zones"));
}

// Compact denial signs at query time: only algorithms 13 and 15 (issue 17).
TEST_F(SigningTest, CompactDenialOnlyWithFastAlgorithms) {
    const std::string live = "[[zone]]\nname = \"example.com.\"\nprimaries = [\"192.0.2.1\"]\nmode = \"live\"\n"
                             "[zone.signing]\n";
    for (int alg : {8, 10, 14}) {
        EXPECT_TRUE(fails_at(live + "algorithm = " + std::to_string(alg) + "\ndenial = \"compact\"\n", 6, 13,
                             "needs algorithm 13 (ECDSA P-256) or 15 (Ed25519), not " + std::to_string(alg)))
            << alg;
    }
    for (int alg : {13, 15}) {
        auto cfg = parse_text(live + "algorithm = " + std::to_string(alg) + "\ndenial = \"compact\"\n");
        EXPECT_TRUE(cfg.ok()) << alg << ": " << cfg.error().message;
    }
    auto cfg = parse_text(live + "denial = \"compact\"\n");  // the default algorithm, 13
    EXPECT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_TRUE(parse_text(live + "algorithm = 8\ndenial = \"nsec3\"\n").ok());
}

TEST_F(SigningTest, DurationsAreChecked) {
    EXPECT_TRUE(signing_fails_at("zsk_lifetime = \"90x\"\n", 5, 16,
                                 R"(zone.signing.zsk_lifetime "90x" is not a duration)"));
    EXPECT_TRUE(signing_fails_at("ksk_lifetime = -1\n", 5, 16, "out of range"));
    EXPECT_TRUE(
        signing_fails_at("ksk_lifetime = true\n", 5, 16, "must be a duration, not a boolean"));
    EXPECT_TRUE(signing_fails_at("signature_validity = \"0\"\n", 5, 22, "signature_validity is 0"));
    EXPECT_TRUE(signing_fails_at("enabled = 1\n", 5, 11, "must be true or false"));
}

TEST_F(SigningTest, RefreshMustComeBeforeExpiry) {
    EXPECT_TRUE(signing_fails_at("signature_validity = \"7d\"\nsignature_refresh = \"7d\"\n", 6, 21,
                                 "signature_refresh (7d) must be shorter than "
                                 "signature_validity (7d)"));
    EXPECT_TRUE(signing_fails_at("signature_validity = 3600\nsignature_refresh = \"2h\"\n", 6, 21,
                                 "signature_refresh (2h) must be shorter than "
                                 "signature_validity (1h)"));
    // Only validity written: it clashes with the default refresh (7d), so
    // the message points at the key the operator wrote.
    EXPECT_TRUE(signing_fails_at("signature_validity = \"5d\"\n", 5, 22,
                                 "signature_refresh (7d) must be shorter than "
                                 "signature_validity (5d)"));
    EXPECT_TRUE(signing_fails_at("signature_validity = \"5d\"\nsignature_refresh = \"4d\"\n", 4, 1,
                                 "only applies to live and multi-signer zones"));
}

// --- durations and endpoints ---------------------------------------------------

TEST(Duration, UnitsAndBareSeconds) {
    const std::pair<const char*, std::uint32_t> cases[] = {
        {"0", 0},
        {"45", 45},
        {"45s", 45},
        {"30m", 1800},
        {"12h", 43200},
        {"14d", 1'209'600},
        {"0d", 0},
        {"007s", 7},
        {"4294967295", 4'294'967'295u},
        {"49710d", 49710u * 86400u},
    };
    for (const auto& [text, seconds] : cases) {
        auto d = parse_duration(text);
        ASSERT_TRUE(d.ok()) << text << ": " << d.error().message;
        EXPECT_EQ(*d, seconds) << text;
    }
}

TEST(Duration, BadTextIsRefused) {
    for (const char* text :
         {"", "d", "14x", "14D", "-5", "+5", "1.5h", "14 d", " 14d", "1d2h", "h14", "0x10"}) {
        auto d = parse_duration(text);
        EXPECT_FALSE(d.ok()) << '"' << text << "\" parsed";
        if (!d.ok()) {
            EXPECT_THAT(d.error().message, HasSubstr("e.g. \"14d\"")) << text;
        }
    }
}

TEST(Duration, OverflowIsRefused) {
    for (const char* text : {"4294967296", "49711d", "71582789m", "99999999999999999999999s"}) {
        auto d = parse_duration(text);
        ASSERT_FALSE(d.ok()) << text;
        EXPECT_THAT(d.error().message, HasSubstr("is too long")) << text;
    }
}

TEST(EndpointText, RebracketsIpv6) {
    EXPECT_EQ((Endpoint{"192.0.2.1", 53}).to_string(), "192.0.2.1:53");
    EXPECT_EQ((Endpoint{"::1", 5353}).to_string(), "[::1]:5353");
    EXPECT_EQ((Endpoint{"2001:db8::53", 65535}).to_string(), "[2001:db8::53]:65535");
}

TEST_F(ConfigTest, EndpointFormsRoundTrip) {
    auto cfg = parse_text(R"(
[server]
listen = ["0.0.0.0:53", "[::]:53", "[2001:db8::1]:5353"]
[[zone]]
name = "example.com."
primaries = ["192.0.2.1", "[2001:db8::2]", "[::ffff:192.0.2.3]:1", "198.51.100.1:65535"]
)");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    std::vector<std::string> listen, primaries;
    for (const auto& ep : cfg->server.listen) listen.push_back(ep.to_string());
    for (const auto& ep : cfg->zones[0].primaries) primaries.push_back(ep.to_string());
    EXPECT_THAT(listen, ElementsAre("0.0.0.0:53", "[::]:53", "[2001:db8::1]:5353"));
    EXPECT_THAT(primaries, ElementsAre("192.0.2.1:53", "[2001:db8::2]:53", "[::ffff:192.0.2.3]:1",
                                       "198.51.100.1:65535"));
    EXPECT_EQ(cfg->zones[0].primaries[1].host, "2001:db8::2");
}

}  // namespace
}  // namespace satellite::config

namespace satellite::config {
namespace {

// A reload (SIGHUP) takes unchanged [[zone]] blocks from the running zones
// and parses only the rest; what it returns and refuses is load()'s.
class ConfigReloadTest : public ConfigTest {
protected:
    void write(const std::string& text) const { std::ofstream(config_path()) << text; }
    std::string zone_block(const std::string& name, const std::string& extra = "") const {
        return "[[zone]]\nname = \"" + name + "\"\nfile = \"example.com.zone\"\n" + extra;
    }
    // The running zones, by name as written (what the zone manager answers).
    ConfiguredZone running(const Config& cfg) const {
        return [&cfg](const std::string& name) -> const Zone* {
            for (const auto& z : cfg.zones) {
                if (z.name == name || z.name == name + ".") return &z;
            }
            return nullptr;
        };
    }
};

TEST_F(ConfigReloadTest, UnchangedBlocksAreKeptChangedOnesParsedAndTheResultIsLoads) {
    const std::string header = "[server]\nlisten = [\"127.0.0.1:5353\"]\n";
    write(header + zone_block("a.test.") + zone_block("b.test.", "mode = \"live\"\n[zone.signing]\nalgorithm = 13\n") +
          zone_block("c.test."));
    auto first = load(config_path());
    ASSERT_TRUE(first) << first.error().message;
    ASSERT_EQ(first->zones.size(), 3u);
    EXPECT_NE(first->outside_zones_digest, 0u);
    for (const auto& z : first->zones) EXPECT_NE(z.block_digest, 0u);

    // b changes its algorithm, d is added, c removed.
    write(header + zone_block("a.test.") + zone_block("b.test.", "mode = \"live\"\n[zone.signing]\nalgorithm = 15\n") +
          zone_block("d.test."));
    // The running zones carry a mark no parse would give: a kept zone is
    // taken from them, not parsed again.
    Config marked = *first;
    for (auto& z : marked.zones) z.transfer_timeout = 777;
    auto next = reload(config_path(), *first, running(marked));
    ASSERT_TRUE(next) << next.error().message;
    EXPECT_EQ(next->zones[0].transfer_timeout, 777u);  // a.test.: unchanged block
    EXPECT_NE(next->zones[1].transfer_timeout, 777u);  // b.test.: changed
    EXPECT_NE(next->zones[2].transfer_timeout, 777u);  // d.test.: new
    for (auto& z : next->zones) z.transfer_timeout = 300;
    auto fresh = load(config_path());
    ASSERT_TRUE(fresh);
    ASSERT_EQ(next->zones.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(next->zones[i].name, fresh->zones[i].name);
        EXPECT_EQ(next->zones[i].file, fresh->zones[i].file);
        EXPECT_EQ(next->zones[i].mode, fresh->zones[i].mode);
        EXPECT_EQ(next->zones[i].signing.has_value(), fresh->zones[i].signing.has_value());
        EXPECT_EQ(next->zones[i].block_digest, fresh->zones[i].block_digest);
    }
    EXPECT_EQ(next->zones[1].mode, Mode::Live);
    ASSERT_TRUE(next->zones[1].signing);
    EXPECT_EQ(next->zones[1].signing->algorithm, 15);
    EXPECT_NE(next->zones[1].block_digest, first->zones[1].block_digest);
    EXPECT_EQ(next->zones[0].block_digest, first->zones[0].block_digest);
}

TEST_F(ConfigReloadTest, ErrorsInParsedBlocksKeepTheirLineNumbers) {
    write(zone_block("a.test.") + zone_block("b.test."));
    auto first = load(config_path());
    ASSERT_TRUE(first) << first.error().message;
    write(zone_block("a.test.") + zone_block("b.test.") + "[[zone]]\nname = \"c.test.\"\nfile = \"example.com.zone\"\nbogus = 1\n");
    auto next = reload(config_path(), *first, running(*first));
    ASSERT_FALSE(next);
    auto fresh = load(config_path());
    ASSERT_FALSE(fresh);
    EXPECT_EQ(next.error().message, fresh.error().message);
    EXPECT_THAT(next.error().message, HasSubstr(":10:"));
}

TEST_F(ConfigReloadTest, AKeptZoneWhoseFileWentMissingOrADuplicateIsRefusedAsLoadDoes) {
    std::ofstream(dir_ / "other.zone") << "@ 3600 IN SOA ns hm 1 3600 900 604800 300\n";
    const std::string other = "[[zone]]\nname = \"o.test.\"\nfile = \"other.zone\"\n";
    write(zone_block("a.test.") + other);
    auto first = load(config_path());
    ASSERT_TRUE(first) << first.error().message;
    fs::remove(dir_ / "other.zone");
    auto next = reload(config_path(), *first, running(*first));
    ASSERT_FALSE(next);
    EXPECT_EQ(next.error().message, load(config_path()).error().message);
    EXPECT_THAT(next.error().message, HasSubstr("does not exist"));

    write(zone_block("a.test.") + zone_block("A.test."));
    auto dup = reload(config_path(), *first, running(*first));
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().message, load(config_path()).error().message);
    EXPECT_THAT(dup.error().message, HasSubstr("already defined"));
}

TEST_F(ConfigReloadTest, AChangeOutsideTheZoneBlocksParsesEverything) {
    write("[[tsig_key]]\nname = \"k\"\nalgorithm = \"hmac-sha256\"\nsecret = \"c2VjcmV0\"\n"
          "[[zone]]\nname = \"s.test.\"\nprimaries = [\"192.0.2.1\"]\ntsig_key = \"k\"\n");
    auto first = load(config_path());
    ASSERT_TRUE(first) << first.error().message;
    // The key is renamed: the unchanged zone block must be checked again.
    write("[[tsig_key]]\nname = \"k2\"\nalgorithm = \"hmac-sha256\"\nsecret = \"c2VjcmV0\"\n"
          "[[zone]]\nname = \"s.test.\"\nprimaries = [\"192.0.2.1\"]\ntsig_key = \"k\"\n");
    auto next = reload(config_path(), *first, running(*first));
    ASSERT_FALSE(next);
    EXPECT_THAT(next.error().message, HasSubstr("names no [[tsig_key]]"));
}

}  // namespace
}  // namespace satellite::config
