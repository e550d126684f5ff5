// provide_xfr and notify (DESIGN.md §2, second round): the server-wide ACL
// is every zone's default, a zone's own list overrides it, keys must exist,
// and mistakes are refused with file:line:col.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"

namespace satellite::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kKeys = R"([[tsig_key]]
name = "xfr-key"
algorithm = "hmac-sha256"
secret = "YWI="
)";

Result<Config> parse_text(const std::string& text) { return parse(text, "/tmp/provide-xfr-test.toml"); }

TEST(ProvideXfr, ServerListIsTheDefaultAndAZoneListOverridesIt) {
    auto cfg = parse_text(std::string(R"([server]
provide_xfr = ["127.0.0.0/8", "2001:db8::/32 key XFR-Key."]
)") + kKeys + R"(
[[zone]]
name = "a.test."
primaries = ["192.0.2.1"]

[[zone]]
name = "b.test."
primaries = ["192.0.2.1"]
provide_xfr = ["198.51.100.7 key xfr-key"]
notify = ["198.51.100.7:5300", "[2001:db8::1]"]

[[zone]]
name = "c.test."
primaries = ["192.0.2.1"]
provide_xfr = []
)");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_THAT(cfg->server.provide_xfr, ElementsAre("127.0.0.0/8", "2001:db8::/32 key xfr-key"));
    EXPECT_THAT(cfg->zones[0].provide_xfr, ElementsAre("127.0.0.0/8", "2001:db8::/32 key xfr-key"));
    EXPECT_THAT(cfg->zones[1].provide_xfr, ElementsAre("198.51.100.7 key xfr-key"));
    ASSERT_EQ(cfg->zones[1].notify.size(), 2u);
    EXPECT_EQ(cfg->zones[1].notify[0].to_string(), "198.51.100.7:5300");
    EXPECT_EQ(cfg->zones[1].notify[1].to_string(), "[2001:db8::1]:53");
    EXPECT_TRUE(cfg->zones[2].provide_xfr.empty());  // nobody, despite the server's list
    EXPECT_TRUE(cfg->zones[0].notify.empty());
}

TEST(ProvideXfr, UnsetMeansNobody) {
    auto cfg = parse_text("[[zone]]\nname = \"a.test.\"\nprimaries = [\"192.0.2.1\"]\n");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_TRUE(cfg->server.provide_xfr.empty());
    EXPECT_TRUE(cfg->zones[0].provide_xfr.empty());
}

TEST(ProvideXfr, MistakesAreRefusedWithTheirPlace) {
    auto unknown_key = parse_text("[server]\nprovide_xfr = [\"127.0.0.1 key nope\"]\n");
    ASSERT_FALSE(unknown_key.ok());
    EXPECT_THAT(unknown_key.error().message, StartsWith("/tmp/provide-xfr-test.toml:2:16: "));
    EXPECT_THAT(unknown_key.error().message, HasSubstr("no [[tsig_key]]"));

    auto bad_prefix = parse_text(std::string(kKeys) +
                                 "[[zone]]\nname = \"a.test.\"\nprimaries = [\"192.0.2.1\"]\n"
                                 "provide_xfr = [\"192.0.2.1/24\"]\n");
    ASSERT_FALSE(bad_prefix.ok());
    EXPECT_THAT(bad_prefix.error().message, StartsWith("/tmp/provide-xfr-test.toml:8:16: "));
    EXPECT_THAT(bad_prefix.error().message, HasSubstr("host bits"));

    for (const char* text : {"\"192.0.2.0/33\"", "\"nonsense\"", "\"127.0.0.1 xfr-key\"", "\"::1/129\"", "\"127.0.0.1 key\""}) {
        auto r = parse_text(std::string(kKeys) + "[server]\nprovide_xfr = [" + text + "]\n");
        EXPECT_FALSE(r.ok()) << text;
        if (!r.ok()) {
            EXPECT_THAT(r.error().message, StartsWith("/tmp/provide-xfr-test.toml:6:16: ")) << text;
        }
    }
    auto not_array = parse_text("[server]\nprovide_xfr = \"127.0.0.1\"\n");
    EXPECT_FALSE(not_array.ok());
    auto bad_notify = parse_text(
        "[[zone]]\nname = \"a.test.\"\nprimaries = [\"192.0.2.1\"]\nnotify = [\"not an address\"]\n");
    ASSERT_FALSE(bad_notify.ok());
    EXPECT_THAT(bad_notify.error().message, StartsWith("/tmp/provide-xfr-test.toml:4:"));
}

}  // namespace
}  // namespace satellite::config

namespace satellite::config {
namespace {

TEST(ProducedCatalogConfig, CatalogAndGroupsParse) {
    auto cfg = parse_text(
        "[server]\ncatalog = \"Catalog.Example\"\n[[zone]]\nname = \"a.test.\"\nprimaries = [\"192.0.2.1\"]\n"
        "catalog_group = \"signed\"\n");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->server.catalog, "Catalog.Example.");
    EXPECT_EQ(cfg->zones[0].catalog_group, "signed");
}

TEST(ProducedCatalogConfig, AZoneNamedLikeTheCatalogIsRefused) {
    auto cfg = parse_text(
        "[server]\ncatalog = \"cat.example.\"\n[[zone]]\nname = \"CAT.example.\"\nprimaries = [\"192.0.2.1\"]\n");
    ASSERT_FALSE(cfg.ok());
    EXPECT_THAT(cfg.error().message, StartsWith("/tmp/provide-xfr-test.toml:4:8: "));
    auto quote = parse_text("[[zone]]\nname = \"a.test.\"\nprimaries = [\"192.0.2.1\"]\ncatalog_group = \"a\\\"b\"\n");
    EXPECT_FALSE(quote.ok());
}

TEST(ConsumedCatalogConfig, TemplatesTakeTheCatalogsPrimariesAndKey) {
    auto cfg = parse_text(std::string(R"([server]
provide_xfr = ["127.0.0.0/8"]
)") + kKeys + R"(
[[catalog]]
name = "cat.example"
primaries = ["192.0.2.1:5300"]
tsig_key = "xfr-key"
member_grace = "1h"
[catalog.group.signed]
mode = "live"
[catalog.group.signed.signing]
enabled = true
denial = "nsec3"
[catalog.group.other]
primaries = ["192.0.2.9"]
provide_xfr = []
)");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    ASSERT_EQ(cfg->catalogs.size(), 1u);
    const Catalog& c = cfg->catalogs[0];
    EXPECT_EQ(c.name, "cat.example.");
    EXPECT_EQ(c.member_grace, 3600u);
    EXPECT_EQ(c.tsig_key, "xfr-key");
    EXPECT_THAT(c.notify_allow, ElementsAre("192.0.2.1"));
    // No group: presigned, the catalog's primaries and key, [server] provide_xfr.
    const Zone* plain = c.template_for("");
    ASSERT_NE(plain, nullptr);
    EXPECT_EQ(plain->mode, Mode::Presigned);
    ASSERT_EQ(plain->primaries.size(), 1u);
    EXPECT_EQ(plain->primaries[0].port, 5300);
    EXPECT_EQ(plain->tsig_key, "xfr-key");
    EXPECT_THAT(plain->provide_xfr, ElementsAre("127.0.0.0/8"));
    const Zone* signed_ = c.template_for("signed");
    ASSERT_NE(signed_, nullptr);
    EXPECT_EQ(signed_->mode, Mode::Live);
    ASSERT_TRUE(signed_->signing.has_value());
    EXPECT_EQ(signed_->signing->denial, Denial::Nsec3);
    EXPECT_EQ(signed_->primaries[0].port, 5300);
    const Zone* other = c.template_for("other");
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(other->primaries[0].host, "192.0.2.9");
    EXPECT_TRUE(other->provide_xfr.empty());
    EXPECT_EQ(c.template_for("nosuch"), nullptr);
}

TEST(ConsumedCatalogConfig, MistakesAreRefusedWithTheirPlace) {
    auto no_primaries = parse_text("[[catalog]]\nname = \"cat.example.\"\n");
    ASSERT_FALSE(no_primaries.ok());
    EXPECT_THAT(no_primaries.error().message, HasSubstr("has no primaries"));
    auto clash = parse_text(
        "[[zone]]\nname = \"cat.example.\"\nprimaries = [\"192.0.2.1\"]\n"
        "[[catalog]]\nname = \"CAT.example.\"\nprimaries = [\"192.0.2.1\"]\n");
    ASSERT_FALSE(clash.ok());
    EXPECT_THAT(clash.error().message, HasSubstr("is already a [[zone]]"));
    auto named = parse_text(
        "[[catalog]]\nname = \"cat.example.\"\nprimaries = [\"192.0.2.1\"]\n[catalog.group.g]\nname = \"x.\"\n");
    ASSERT_FALSE(named.ok());
    EXPECT_THAT(named.error().message, StartsWith("/tmp/provide-xfr-test.toml:5:"));
    EXPECT_THAT(named.error().message, HasSubstr("not allowed in a template"));
    auto bad_mode = parse_text(
        "[[catalog]]\nname = \"cat.example.\"\nprimaries = [\"192.0.2.1\"]\n[catalog.group.g]\nmode = \"fast\"\n");
    ASSERT_FALSE(bad_mode.ok());
    EXPECT_THAT(bad_mode.error().message, StartsWith("/tmp/provide-xfr-test.toml:5:8: "));
    auto typo = parse_text("[[catalog]]\nname = \"cat.example.\"\nprimaries = [\"192.0.2.1\"]\ngroups = {}\n");
    ASSERT_FALSE(typo.ok());
    EXPECT_THAT(typo.error().message, HasSubstr("did you mean \"group\""));
}

}  // namespace
}  // namespace satellite::config
