// The signature-expiry guard (issue 15): the earliest RRSIG expiration of a
// built version and the RRset holding it; a version already inside
// signature_safety_margin refused; the validity-shorter-than-SOA-expire
// warning; RFC 9276 NSEC3 iteration limits for pre-signed zones.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "dns/zonefile.hpp"
#include "modes/expiry.hpp"
#include "modes/pipeline.hpp"

namespace satellite::modes {
namespace {

const dns::Name kOrigin = *dns::Name::from_text("example.test.");
constexpr std::int64_t kNow = 1'800'000'000;  // 2027-01-15T08:00:00Z

// A pre-signed zone whose signatures need not verify (presigned_verify =
// "off"): only their times matter here. www's A expires first.
std::string zone_text(const std::string& www_expiry = "20270120000000",
                      const std::string& other_expiry = "20270301000000",
                      const std::string& soa_expire = "86400") {
    return "$ORIGIN example.test.\n$TTL 300\n"
           "@ SOA ns1 host 1 3600 600 " + soa_expire + " 60\n"
           "@ NS ns1\n"
           "@ DNSKEY 257 3 13 Uyd83kJpt/FROxfbeFjj/RSl2qgkITdWoA+6hZwg5/gSOMloTblqzqeQFZe705fux8Li9wmMfLF9CS9omrBHpw==\n"
           "@ RRSIG SOA 13 2 300 " + other_expiry + " 20270101000000 1234 example.test. AAAA\n"
           "@ RRSIG NS 13 2 300 " + other_expiry + " 20270101000000 1234 example.test. AAAA\n"
           "@ RRSIG DNSKEY 13 2 300 " + other_expiry + " 20270101000000 1234 example.test. AAAA\n"
           "ns1 A 127.0.0.1\n"
           "ns1 RRSIG A 13 3 300 " + other_expiry + " 20270101000000 1234 example.test. AAAA\n"
           "www A 192.0.2.1\n"
           "www RRSIG A 13 3 300 " + www_expiry + " 20270101000000 1234 example.test. AAAA\n";
}

BuildInput presigned_input(std::int64_t margin = 3600) {
    BuildInput in;
    in.kind = BuildInput::Kind::Presigned;
    in.origin = kOrigin;
    in.presigned.verify = Verify::Off;
    in.presigned.allow_nsec3 = true;
    in.now = kNow;
    in.safety_margin = margin;
    return in;
}

Result<BuiltVersion> build(const std::string& text, std::int64_t margin = 3600) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("satellite-expiry-" + std::to_string(::getpid()) + ".zone");
    {
        std::ofstream f(path, std::ios::trunc);
        f << text;
    }
    auto records = dns::read_zone_file(path.string(), kOrigin);
    std::filesystem::remove(path);
    EXPECT_TRUE(records.ok()) << records.error().message;
    return build_version(presigned_input(margin), *records);
}

TEST(SignatureExpiry, EarliestExpirationAndItsRrsetAreFoundWhenTheVersionIsBuilt) {
    auto b = build(zone_text());
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_EQ(b->signatures.expiration, 1'800'403'200);  // 2027-01-20T00:00:00Z
    EXPECT_EQ(b->signatures.inception, 1'798'761'600);   // 2027-01-01T00:00:00Z
    EXPECT_EQ(b->signatures.rrset, "www.example.test. A");
    EXPECT_EQ(b->signatures.signatures, 5u);
    EXPECT_EQ(signature_limit(b->signatures, 3600), 1'800'403'200 - 3600);

    // Another RRset expiring first is the one named.
    b = build(zone_text("20270301000000", "20270125000000"));
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_EQ(b->signatures.expiration, 1'800'835'200);  // 2027-01-25T00:00:00Z
    EXPECT_NE(b->signatures.rrset, "www.example.test. A");
}

TEST(SignatureExpiry, AnUnsignedVersionHasNone) {
    auto b = build("$ORIGIN example.test.\n@ 300 IN SOA ns1 host 1 3600 600 86400 60\n@ 300 NS ns1\nns1 300 A 127.0.0.1\n");
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_EQ(b->signatures.expiration, 0);
    EXPECT_EQ(signature_limit(b->signatures, 3600), 0);
    EXPECT_TRUE(b->validity_warning.empty());
}

TEST(SignatureExpiry, AVersionInsideTheMarginIsRefusedNamingTheRrsetAndTime) {
    // www's A expires 20 s from now: outside a 10 s margin, inside a 30 s one.
    const std::string soon = "20270115080020";
    auto ok = build(zone_text(soon), 10);
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_EQ(ok->signatures.expiration, kNow + 20);

    auto refused = build(zone_text(soon), 30);
    ASSERT_FALSE(refused.ok());
    const std::string& m = refused.error().message;
    EXPECT_NE(m.find("www.example.test. A"), std::string::npos) << m;
    EXPECT_NE(m.find("2027-01-15T08:00:20Z"), std::string::npos) << m;
    EXPECT_NE(m.find("signature_safety_margin"), std::string::npos) << m;

    // Exactly at the margin is inside it.
    EXPECT_FALSE(build(zone_text(soon), 20).ok());
    EXPECT_TRUE(build(zone_text(soon), 19).ok());
}

TEST(SignatureExpiry, CheckSignatureMarginDirectly) {
    SignatureExpiry e{kNow + 100, kNow - 100, "a.test. TXT", 1};
    EXPECT_TRUE(check_signature_margin(e, 99, kNow).ok());
    EXPECT_FALSE(check_signature_margin(e, 100, kNow).ok());
    EXPECT_TRUE(check_signature_margin(SignatureExpiry{}, 1'000'000, kNow).ok());  // unsigned
}

TEST(SignatureExpiry, ValidityShorterThanSoaExpireIsWarnedAbout) {
    // Signatures valid 2027-01-01 .. 2027-01-20 (19 d); SOA expire 4 weeks.
    auto b = build(zone_text("20270120000000", "20270301000000", "2419200"));
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_NE(b->validity_warning.find("SHORTER THAN SOA EXPIRE"), std::string::npos) << b->validity_warning;
    EXPECT_NE(b->validity_warning.find("www.example.test. A"), std::string::npos) << b->validity_warning;
    // SOA expire 1 day: no warning.
    b = build(zone_text("20270120000000", "20270301000000", "86400"));
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_TRUE(b->validity_warning.empty()) << b->validity_warning;
}

std::string nsec3_zone(int iterations, const std::string& salt) {
    return "$ORIGIN example.test.\n$TTL 300\n"
           "@ SOA ns1 host 1 3600 600 86400 60\n"
           "@ NS ns1\n"
           "@ NSEC3PARAM 1 0 " + std::to_string(iterations) + " " + salt + "\n"
           "ns1 A 127.0.0.1\n";
}

TEST(PresignedNsec3, MoreThan100IterationsIsRefused) {
    auto b = build(nsec3_zone(150, "-"));
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.error().message.find("150 iterations"), std::string::npos) << b.error().message;
    EXPECT_NE(b.error().message.find("RFC 9276"), std::string::npos) << b.error().message;
    auto at_limit = build(nsec3_zone(100, "-"));
    EXPECT_TRUE(at_limit.ok()) << at_limit.error().message;
}

TEST(PresignedNsec3, SaltOrIterationsAreWarnedAbout) {
    auto b = build(nsec3_zone(0, "-"));
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_EQ(b->warning.find("RFC 9276"), std::string::npos) << b->warning;
    b = build(nsec3_zone(5, "-"));
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_NE(b->warning.find("5 iterations"), std::string::npos) << b->warning;
    b = build(nsec3_zone(0, "aabbccdd"));
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_NE(b->warning.find("4-byte salt"), std::string::npos) << b->warning;
}

}  // namespace
}  // namespace satellite::modes

namespace satellite::modes {
namespace {

// RFC 7314 §4 as modes::expire_clock applies it (the values are seconds the
// clock runs from `now`; nullopt: SOA expire).
TEST(EdnsExpireClock, FollowsThePrimaryWithinSoaExpire) {
    const std::int64_t now = 1'000'000;
    // No option: SOA expire, as RFC 1034 has it.
    EXPECT_EQ(expire_clock(std::nullopt, true, 0, now, 3600), std::nullopt);
    EXPECT_EQ(expire_clock(std::nullopt, false, now + 10, now, 3600), std::nullopt);
    // After a transfer (¶3): the value as it is, even when shorter than what was left.
    EXPECT_EQ(expire_clock(1200u, true, 0, now, 3600), 1200u);
    EXPECT_EQ(expire_clock(0u, true, 0, now, 3600), 0u);
    // An up-to-date check (¶2) lengthens the clock, never shortens it.
    EXPECT_EQ(expire_clock(1200u, false, now + 3000, now, 3600), 3000u);
    EXPECT_EQ(expire_clock(1200u, false, now + 600, now, 3600), 1200u);
    EXPECT_EQ(expire_clock(1200u, false, now - 50, now, 3600), 1200u);  // already past: the option's value
    // Never longer than SOA expire (¶4).
    EXPECT_EQ(expire_clock(86400u, true, 0, now, 3600), std::nullopt);
    EXPECT_EQ(expire_clock(3600u, false, now + 100, now, 3600), std::nullopt);
}

}  // namespace
}  // namespace satellite::modes
