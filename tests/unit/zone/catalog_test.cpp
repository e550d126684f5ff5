// Catalog: longest-match zone selection over lower-cased names, exact lookup.
#include "zone/catalog.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace satellite::zone {
namespace {

using dns::Name;

Name name(const std::string& text) {
    auto n = Name::from_text(text);
    if (!n) ADD_FAILURE() << text << ": " << n.error().message;
    return n ? *n : Name();
}

Catalog catalog(const std::vector<std::string>& origins) {
    std::vector<ServedZone> zones;
    for (const auto& o : origins) {
        ServedZone z;
        z.origin = name(o);
        zones.push_back(std::move(z));
    }
    return Catalog(std::move(zones));
}

// Origin of the zone chosen for `qname`, or "-" for none.
std::string match(const Catalog& c, const std::string& qname) {
    Name l = name(qname).lowered();
    const ServedZone* z = c.find(l.data(), l.size());
    return z ? z->origin.to_string() : "-";
}

TEST(Catalog, LongestMatchWins) {
    Catalog c = catalog({"com.", "example.com.", "sub.example.com.", "example.net."});
    EXPECT_EQ(match(c, "a.b.sub.example.com."), "sub.example.com.");
    EXPECT_EQ(match(c, "sub.example.com."), "sub.example.com.");
    EXPECT_EQ(match(c, "other.example.com."), "example.com.");
    EXPECT_EQ(match(c, "example.com."), "example.com.");
    EXPECT_EQ(match(c, "xsub.example.com."), "example.com.");
    EXPECT_EQ(match(c, "xexample.com."), "com.");
    EXPECT_EQ(match(c, "com."), "com.");
    EXPECT_EQ(match(c, "www.example.net."), "example.net.");
    EXPECT_EQ(match(c, "net."), "-");
    EXPECT_EQ(match(c, "example.org."), "-");
    EXPECT_EQ(match(c, "."), "-");
}

TEST(Catalog, OrderOfZonesDoesNotMatter) {
    Catalog c = catalog({"sub.example.com.", "example.com.", "com."});
    EXPECT_EQ(match(c, "a.sub.example.com."), "sub.example.com.");
    EXPECT_EQ(match(c, "a.example.com."), "example.com.");
}

TEST(Catalog, MatchIgnoresTheCaseOfOrigins) {
    Catalog c = catalog({"Example.COM."});
    EXPECT_EQ(match(c, "WWW.example.com."), "Example.COM.");
}

TEST(Catalog, RootZoneCatchesEverything) {
    Catalog c = catalog({".", "example.com."});
    EXPECT_EQ(match(c, "www.example.org."), ".");
    EXPECT_EQ(match(c, "."), ".");
    EXPECT_EQ(match(c, "www.example.com."), "example.com.");
}

TEST(Catalog, EmptyCatalog) {
    Catalog c = catalog({});
    EXPECT_EQ(match(c, "example.com."), "-");
    EXPECT_EQ(c.exact(name("example.com.")), nullptr);
}

TEST(Catalog, DeepNamesAndSkippedDepths) {
    Catalog c = catalog({"a.b.c.d.e.f.g.", "g."});
    std::string deep = "x.";
    for (int i = 0; i < 100; ++i) deep += "q.";  // 108 labels in all
    EXPECT_EQ(match(c, deep + "a.b.c.d.e.f.g."), "a.b.c.d.e.f.g.");
    EXPECT_EQ(match(c, "b.c.d.e.f.g."), "g.");
}

TEST(Catalog, ManyZones) {
    std::vector<std::string> origins;
    for (int i = 0; i < 2000; ++i) origins.push_back("zone" + std::to_string(i) + ".example.");
    origins.push_back("example.");
    Catalog c = catalog(origins);
    for (int i = 0; i < 2000; i += 7) {
        std::string o = "zone" + std::to_string(i) + ".example.";
        EXPECT_EQ(match(c, "www." + o), o);
    }
    EXPECT_EQ(match(c, "zone2000.example."), "example.");
    EXPECT_EQ(c.zones().size(), 2001u);
}

TEST(Catalog, ExactIgnoresCaseAndKeepsSnapshotPointer) {
    Catalog c = catalog({"example.com.", "sub.example.com."});
    const ServedZone* z = c.exact(name("SUB.Example.com."));
    ASSERT_NE(z, nullptr);
    EXPECT_EQ(z->origin.to_string(), "sub.example.com.");
    EXPECT_EQ(z->snapshot, nullptr);
    EXPECT_EQ(c.exact(name("www.example.com.")), nullptr);
    // find() and exact() agree on the zone object.
    Name l = name("sub.example.com.");
    EXPECT_EQ(c.find(l.data(), l.size()), z);
}

}  // namespace
}  // namespace satellite::zone
