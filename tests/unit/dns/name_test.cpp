// Names: presentation ↔ wire round trips (escapes, case), limits, and the
// wire_name helpers, including RFC 4034 §6.1 canonical order.
#include "dns/name.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace satellite::dns {
namespace {

std::vector<std::uint8_t> wire_of(const std::string& text, const Name* origin = nullptr) {
    auto n = Name::from_text(text, origin);
    EXPECT_TRUE(n.ok()) << text << ": " << (n ? "" : n.error().message);
    if (!n) return {};
    return {n->data(), n->data() + n->size()};
}

std::vector<std::uint8_t> bytes(std::initializer_list<int> l) {
    std::vector<std::uint8_t> v;
    for (int x : l) v.push_back(static_cast<std::uint8_t>(x));
    return v;
}

Name name(const std::string& text) {
    auto n = Name::from_text(text);
    if (!n) ADD_FAILURE() << text << ": " << n.error().message;
    return n ? *n : Name();
}

TEST(NameText, SimpleNameToWireKeepsCase) {
    EXPECT_EQ(wire_of("www.Example.COM."),
              bytes({3, 'w', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'C', 'O', 'M', 0}));
    EXPECT_EQ(name("www.Example.COM.").to_string(), "www.Example.COM.");
    EXPECT_EQ(name("www.Example.COM.").label_count(), 3u);
}

TEST(NameText, RootAndSingleLabel) {
    EXPECT_EQ(wire_of("."), bytes({0}));
    EXPECT_EQ(name(".").to_string(), ".");
    EXPECT_EQ(name(".").label_count(), 0u);
    EXPECT_EQ(wire_of("com."), bytes({3, 'c', 'o', 'm', 0}));
}

TEST(NameText, EscapedDotStaysInsideLabel) {
    EXPECT_EQ(wire_of("a\\.b.example."),
              bytes({3, 'a', '.', 'b', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0}));
    Name n = name("a\\.b.example.");
    EXPECT_EQ(n.label_count(), 2u);
    EXPECT_EQ(n.to_string(), "a\\.b.example.");
}

TEST(NameText, DecimalEscapes) {
    EXPECT_EQ(wire_of("a\\032b.example."),
              bytes({3, 'a', ' ', 'b', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0}));
    EXPECT_EQ(name("a\\032b.example.").to_string(), "a\\032b.example.");
    // \065 is 'A' and prints as itself.
    EXPECT_EQ(wire_of("\\065.example."), wire_of("A.example."));
    EXPECT_EQ(name("\\065.example.").to_string(), "A.example.");
    // A decimal escape as the very last thing in the text.
    EXPECT_EQ(wire_of("x\\255"), bytes({2, 'x', 255, 0}));
    EXPECT_EQ(wire_of("\\000\\001.x."), bytes({2, 0, 1, 1, 'x', 0}));
}

TEST(NameText, CharacterEscapes) {
    EXPECT_EQ(wire_of("\\\\\\\".x."), bytes({2, '\\', '"', 1, 'x', 0}));
    EXPECT_EQ(name("\\\\\\\".x.").to_string(), "\\\\\\\".x.");
    EXPECT_EQ(name("\\(\\)\\;\\@\\$.x.").to_string(), "\\(\\)\\;\\@\\$.x.");
    // An escaped ordinary character is the character.
    EXPECT_EQ(wire_of("\\a\\b.x."), wire_of("ab.x."));
}

TEST(NameText, NonPrintableBytesPrintAsDecimalEscapes) {
    std::vector<std::uint8_t> w = {4, 0x00, 0x7f, 0x80, 0xff, 0};
    auto n = Name::from_wire(w);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(n->to_string(), "\\000\\127\\128\\255.");
}

TEST(NameText, EveryOctetRoundTripsThroughText) {
    // Labels holding every byte value 0..255, four labels of 64 would be too
    // long, so use 8 names of 32 octets.
    for (int base = 0; base < 256; base += 32) {
        std::vector<std::uint8_t> w;
        w.push_back(32);
        for (int i = 0; i < 32; ++i) w.push_back(static_cast<std::uint8_t>(base + i));
        w.push_back(0);
        auto n = Name::from_wire(w);
        ASSERT_TRUE(n.ok());
        std::string text = n->to_string();
        auto back = Name::from_text(text);
        ASSERT_TRUE(back.ok()) << text << ": " << back.error().message;
        EXPECT_EQ(std::vector<std::uint8_t>(back->data(), back->data() + back->size()), w) << text;
    }
}

TEST(NameText, RelativeNamesUseOrigin) {
    Name origin = name("Example.com.");
    EXPECT_EQ(wire_of("www", &origin), wire_of("www.Example.com."));
    EXPECT_EQ(wire_of("a.b", &origin), wire_of("a.b.Example.com."));
    EXPECT_EQ(wire_of("@", &origin), wire_of("Example.com."));
    // An absolute name ignores the origin.
    EXPECT_EQ(wire_of("www.example.net.", &origin), wire_of("www.example.net."));
    // Without an origin a relative name is taken as absolute.
    EXPECT_EQ(wire_of("www.example.net"), wire_of("www.example.net."));
    EXPECT_FALSE(Name::from_text("@").ok());
}

TEST(NameText, MalformedTextIsAnError) {
    EXPECT_FALSE(Name::from_text("").ok());
    EXPECT_FALSE(Name::from_text("a..b.").ok());
    EXPECT_FALSE(Name::from_text(".a.").ok());
    EXPECT_FALSE(Name::from_text("..").ok());
    EXPECT_FALSE(Name::from_text("a\\").ok());
    EXPECT_FALSE(Name::from_text("a\\256.").ok());
}

TEST(NameText, LabelLengthLimit) {
    std::string l63(63, 'a'), l64(64, 'a');
    EXPECT_TRUE(Name::from_text(l63 + ".").ok());
    auto bad = Name::from_text(l64 + ".");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("63"), std::string::npos) << bad.error().message;
    // Escapes count as one octet each.
    std::string esc;
    for (int i = 0; i < 63; ++i) esc += "\\046";
    EXPECT_TRUE(Name::from_text(esc + ".").ok());
    EXPECT_FALSE(Name::from_text(esc + "\\046.").ok());
}

TEST(NameText, NameLengthLimit) {
    // 3 × 63-octet labels + one 61-octet label = 4 + 250 octets + root = 255.
    std::string l63(63, 'a');
    std::string max = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b') + ".";
    auto n = Name::from_text(max);
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(n->size(), 255u);
    std::string over = l63 + "." + l63 + "." + l63 + "." + std::string(62, 'b') + ".";
    EXPECT_FALSE(Name::from_text(over).ok());
    // Too long only once the origin is appended.
    Name origin = name(std::string(61, 'b') + ".");
    EXPECT_TRUE(Name::from_text(l63 + "." + l63 + "." + l63, &origin).ok());
    Name origin2 = name(std::string(62, 'b') + ".");
    EXPECT_FALSE(Name::from_text(l63 + "." + l63 + "." + l63, &origin2).ok());
}

TEST(NameWire, FromWireValidates) {
    auto ok = Name::from_wire(bytes({1, 'a', 0, 0xff, 0xff}));  // trailing bytes ignored
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(ok->size(), 3u);
    EXPECT_FALSE(Name::from_wire(bytes({})).ok());
    EXPECT_FALSE(Name::from_wire(bytes({1, 'a'})).ok());        // no root label
    EXPECT_FALSE(Name::from_wire(bytes({3, 'a', 'b'})).ok());   // label past the end
    EXPECT_FALSE(Name::from_wire(bytes({0x40, 'a', 0})).ok());  // label type 01
    EXPECT_FALSE(Name::from_wire(bytes({0xc0, 0x0c})).ok());    // compression pointer
    std::vector<std::uint8_t> w(64, 'a');
    w[0] = 64;  // 64-octet label
    w.push_back(0);
    EXPECT_FALSE(Name::from_wire(w).ok());
}

TEST(NameWire, FromWireLengthLimit) {
    auto build = [](std::size_t last) {
        std::vector<std::uint8_t> w;
        for (int k = 0; k < 3; ++k) {
            w.push_back(63);
            w.insert(w.end(), 63, 'a');
        }
        w.push_back(static_cast<std::uint8_t>(last));
        w.insert(w.end(), last, 'b');
        w.push_back(0);
        return w;
    };
    auto ok = Name::from_wire(build(61));
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(ok->size(), 255u);
    EXPECT_EQ(wire_name::length(build(61).data(), 255), 255u);
    EXPECT_FALSE(Name::from_wire(build(62)).ok());
    EXPECT_EQ(wire_name::length(build(62).data(), 256), 0u);
}

TEST(NameCompare, EqualsIsCaseInsensitive) {
    EXPECT_TRUE(name("WWW.example.COM.").equals(name("www.EXAMPLE.com.")));
    EXPECT_FALSE(name("www.example.com.").equals(name("ww.example.com.")));
    EXPECT_FALSE(name("www.example.com.").equals(name("www.example.co.")));
    // Same bytes, different label boundaries.
    EXPECT_FALSE(name("ab.c.").equals(name("a.bc.")));
    // Case folding is ASCII only: 0xC1 and 0xE1 differ.
    auto a = Name::from_wire(bytes({1, 0xc1, 0}));
    auto b = Name::from_wire(bytes({1, 0xe1, 0}));
    EXPECT_FALSE(a->equals(*b));
}

TEST(NameCompare, LoweredFoldsOnlyAscii) {
    Name n = name("WwW.\\193X.");
    Name l = n.lowered();
    EXPECT_EQ(std::vector<std::uint8_t>(l.data(), l.data() + l.size()),
              bytes({3, 'w', 'w', 'w', 2, 0xc1, 'x', 0}));
}

TEST(NameCompare, SubdomainOnLabelBoundaries) {
    Name parent = name("Example.com.");
    EXPECT_TRUE(name("example.com.").is_subdomain_of(parent));
    EXPECT_TRUE(name("a.b.EXAMPLE.com.").is_subdomain_of(parent));
    EXPECT_FALSE(name("aexample.com.").is_subdomain_of(parent));
    EXPECT_FALSE(name("com.").is_subdomain_of(parent));
    EXPECT_FALSE(name("example.net.").is_subdomain_of(parent));
    EXPECT_TRUE(name("anything.").is_subdomain_of(name(".")));
    // A label that contains the parent's bytes does not count.
    EXPECT_FALSE(name("x\\007example\\003com.").is_subdomain_of(parent));
}

TEST(WireName, LengthLabelCountAndOffsets) {
    Name n = name("a.bc.def.");
    EXPECT_EQ(wire_name::length(n.data(), n.size()), n.size());
    EXPECT_EQ(wire_name::length(n.data(), n.size() - 1), 0u);
    EXPECT_EQ(wire_name::label_count(n.data()), 3u);
    std::uint8_t offs[kMaxLabels + 1];
    ASSERT_EQ(wire_name::label_offsets(n.data(), offs), 3u);
    EXPECT_EQ(offs[0], 0);
    EXPECT_EQ(offs[1], 2);
    EXPECT_EQ(offs[2], 5);
    EXPECT_EQ(offs[3], 9);  // the root label
    EXPECT_EQ(n.data()[offs[3]], 0);
}

TEST(WireName, LowerCopyAndToString) {
    Name n = name("MiXeD.CaSe.");
    std::uint8_t out[kMaxNameLen];
    wire_name::lower_copy(n.data(), n.size(), out);
    EXPECT_EQ(wire_name::to_string(out), "mixed.case.");
    EXPECT_EQ(wire_name::to_string(n.data()), "MiXeD.CaSe.");
}

TEST(WireName, IsSubdomainRawHelper) {
    Name c = name("x.y.z.");
    Name p = name("Y.z.");
    EXPECT_TRUE(wire_name::is_subdomain(c.data(), c.size(), p.data(), p.size()));
    EXPECT_FALSE(wire_name::is_subdomain(p.data(), p.size(), c.data(), c.size()));
    Name q = name("xy.z.");
    EXPECT_FALSE(wire_name::is_subdomain(c.data(), c.size(), q.data(), q.size()));
}

int cmp(const Name& a, const Name& b) {
    return wire_name::canonical_compare(a.data(), a.size(), b.data(), b.size());
}

// RFC 4034 §6.1: "the following names are sorted in canonical DNS name order".
TEST(CanonicalOrder, Rfc4034Section61Example) {
    const std::vector<std::string> rfc = {
        "example.",         "a.example.",      "yljkjljk.a.example.",
        "Z.a.example.",     "zABC.a.EXAMPLE.", "z.example.",
        "\\001.z.example.", "*.z.example.",    "\\200.z.example.",
    };
    std::vector<Name> names;
    for (const auto& s : rfc) names.push_back(name(s));
    for (std::size_t i = 0; i < names.size(); ++i) {
        EXPECT_EQ(cmp(names[i], names[i]), 0) << rfc[i];
        for (std::size_t j = i + 1; j < names.size(); ++j) {
            EXPECT_LT(cmp(names[i], names[j]), 0) << rfc[i] << " < " << rfc[j];
            EXPECT_GT(cmp(names[j], names[i]), 0) << rfc[j] << " > " << rfc[i];
        }
    }
    // Sorting a reversed copy gives the RFC's order back.
    std::vector<Name> shuffled(names.rbegin(), names.rend());
    std::sort(shuffled.begin(), shuffled.end(),
              [](const Name& a, const Name& b) { return cmp(a, b) < 0; });
    for (std::size_t i = 0; i < names.size(); ++i) {
        EXPECT_EQ(shuffled[i].to_string(), names[i].to_string());
    }
}

TEST(CanonicalOrder, CaseInsensitiveAndLabelPrefix) {
    EXPECT_EQ(cmp(name("WWW.Example."), name("www.example.")), 0);
    // A label that is a prefix of another sorts first.
    EXPECT_LT(cmp(name("ab.example."), name("abc.example.")), 0);
    // Octets compare unsigned.
    EXPECT_LT(cmp(name("\\127.x."), name("\\128.x.")), 0);
    // The root sorts before everything.
    EXPECT_LT(cmp(name("."), name("a.")), 0);
    // Rightmost label is most significant.
    EXPECT_LT(cmp(name("z.a."), name("a.b.")), 0);
}

}  // namespace
}  // namespace satellite::dns
