// Wire codec: read_name decompression (and its refusal of loops, forward
// pointers, bad label types, overlong names) and Writer compression,
// including the compression table's truncation on rewind.
#include "dns/wire.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace satellite::dns {
namespace {

Name name(const std::string& text) {
    auto n = Name::from_text(text);
    if (!n) ADD_FAILURE() << text << ": " << n.error().message;
    return n ? *n : Name();
}

// Decodes the name at `pos`; returns its text or "<error>" and the end.
std::string read_at(std::span<const std::uint8_t> msg, std::size_t pos,
                    std::size_t* end = nullptr) {
    std::uint8_t out[kMaxNameLen];
    std::size_t len = 12345;
    std::size_t e = read_name(msg, pos, out, &len);
    if (end) *end = e;
    if (e == 0) return "<error>";
    EXPECT_EQ(wire_name::length(out, len), len);
    return wire_name::to_string(out);
}

std::vector<std::uint8_t> bytes(std::initializer_list<int> l) {
    std::vector<std::uint8_t> v;
    for (int x : l) v.push_back(static_cast<std::uint8_t>(x));
    return v;
}

TEST(ReadName, Uncompressed) {
    auto m = bytes({0xff, 3, 'W', 'w', 'w', 2, 'e', 'X', 0, 0xee});
    std::size_t end = 0;
    EXPECT_EQ(read_at(m, 1, &end), "Www.eX.");
    EXPECT_EQ(end, 9u);
}

TEST(ReadName, RootName) {
    auto m = bytes({0});
    std::size_t end = 0;
    EXPECT_EQ(read_at(m, 0, &end), ".");
    EXPECT_EQ(end, 1u);
}

TEST(ReadName, CompressedEndIsAfterTheFirstPointer) {
    // 0: "b.c."   5: "a" + ptr→0   9: ptr→5
    auto m = bytes({1, 'b', 1, 'c', 0, 1, 'a', 0xc0, 0, 0xc0, 5});
    std::size_t end = 0;
    EXPECT_EQ(read_at(m, 5, &end), "a.b.c.");
    EXPECT_EQ(end, 9u);
    EXPECT_EQ(read_at(m, 9, &end), "a.b.c.");
    EXPECT_EQ(end, 11u);
}

TEST(ReadName, PointerToItselfIsRejected) {
    auto m = bytes({0, 0, 0xc0, 2});
    EXPECT_EQ(read_at(m, 2), "<error>");
}

TEST(ReadName, ForwardPointerIsRejected) {
    auto m = bytes({0xc0, 2, 1, 'a', 0});
    EXPECT_EQ(read_at(m, 0), "<error>");
}

TEST(ReadName, TwoPointerLoopIsRejected) {
    // 0: "a" + ptr→4 (forward, so also a loop breaker)   4: ptr→0
    auto m = bytes({1, 'a', 0xc0, 4, 0xc0, 0});
    EXPECT_EQ(read_at(m, 4), "<error>");
}

TEST(ReadName, LoopThroughLabelsIsRejected) {
    // 0: a 3-octet label whose octets look like a pointer; 4: ptr→0. Every
    // pointer goes backwards, yet the walk 4→0→4→0… never ends by itself.
    auto m = bytes({3, 'x', 0xc0, 0, 0xc0, 0});
    EXPECT_EQ(read_at(m, 4), "<error>");
}

TEST(ReadName, UnknownLabelTypesAreRejected) {
    EXPECT_EQ(read_at(bytes({0x40, 0}), 0), "<error>");  // extended label (RFC 6891 §5)
    EXPECT_EQ(read_at(bytes({0x80, 0}), 0), "<error>");
    EXPECT_EQ(read_at(bytes({0x7f, 0}), 0), "<error>");  // > 63
}

TEST(ReadName, TruncatedInputIsRejected) {
    EXPECT_EQ(read_at(bytes({}), 0), "<error>");
    EXPECT_EQ(read_at(bytes({3, 'a', 'b'}), 0), "<error>");  // label past the end
    EXPECT_EQ(read_at(bytes({1, 'a'}), 0), "<error>");       // no root
    EXPECT_EQ(read_at(bytes({0, 0xc0}), 1), "<error>");      // half a pointer
    EXPECT_EQ(read_at(bytes({0, 1, 'a'}), 5), "<error>");    // start past the end
}

TEST(ReadName, OverlongUncompressedNameIsRejected) {
    std::vector<std::uint8_t> m;
    for (int k = 0; k < 4; ++k) {
        m.push_back(63);
        m.insert(m.end(), 63, 'a');
    }
    m.push_back(0);  // 4 × 64 + 1 = 257 octets
    EXPECT_EQ(read_at(m, 0), "<error>");
    // 255 octets exactly is fine.
    std::vector<std::uint8_t> ok;
    for (int k = 0; k < 3; ++k) {
        ok.push_back(63);
        ok.insert(ok.end(), 63, 'a');
    }
    ok.push_back(61);
    ok.insert(ok.end(), 61, 'b');
    ok.push_back(0);
    ASSERT_EQ(ok.size(), 255u);
    std::size_t end = 0;
    EXPECT_NE(read_at(ok, 0, &end), "<error>");
    EXPECT_EQ(end, 255u);
}

TEST(ReadName, OverlongNameThroughPointersIsRejected) {
    // Each step adds a 10-octet label then points back at the previous name:
    // every pointer goes backwards, yet the expanded name grows past 255.
    std::vector<std::uint8_t> m = {0};  // root at 0
    std::size_t prev = 0;
    std::size_t last = 0;
    for (int k = 0; k < 30; ++k) {
        last = m.size();
        m.push_back(10);
        m.insert(m.end(), 10, static_cast<std::uint8_t>('a' + k % 26));
        m.push_back(static_cast<std::uint8_t>(0xc0 | (prev >> 8)));
        m.push_back(static_cast<std::uint8_t>(prev));
        prev = last;
    }
    EXPECT_EQ(read_at(m, last), "<error>");
    // 23 × 11 + 1 = 254: still fine at a shallower start.
    std::size_t start = 1 + 22 * 13;  // the 23rd name
    std::string t = read_at(m, start);
    EXPECT_NE(t, "<error>");
}

TEST(ReadName, ManyBackwardJumpsAreBounded) {
    // A chain of 200 pointers each pointing at the previous one, ending at
    // the root: short name, but more jumps than any real message needs.
    std::vector<std::uint8_t> m = {0};
    for (int k = 0; k < 200; ++k) {
        std::size_t target = m.size() - (k == 0 ? 1 : 2);
        m.push_back(static_cast<std::uint8_t>(0xc0 | (target >> 8)));
        m.push_back(static_cast<std::uint8_t>(target));
    }
    EXPECT_EQ(read_at(m, m.size() - 2), "<error>");
    EXPECT_EQ(read_at(m, 1), ".");  // one jump is fine
}

class WriterTest : public ::testing::Test {
protected:
    std::uint8_t buf[70000];
    std::span<const std::uint8_t> written(const Writer& w) { return {buf, w.pos()}; }
};

TEST_F(WriterTest, SameNameTwiceBecomesAPointer) {
    Writer w(buf, sizeof buf);
    w.put(std::vector<std::uint8_t>(12, 0).data(), 12);
    Name n = name("www.example.com.");
    ASSERT_TRUE(w.put_name(n.data()));
    std::size_t second = w.pos();
    ASSERT_TRUE(w.put_name(n.data()));
    EXPECT_EQ(w.pos() - second, 2u);
    EXPECT_EQ(buf[second], 0xc0);
    EXPECT_EQ(buf[second + 1], 12);
    EXPECT_EQ(read_at(written(w), 12), "www.example.com.");
    EXPECT_EQ(read_at(written(w), second), "www.example.com.");
}

TEST_F(WriterTest, SharedSuffixIsCompressed) {
    Writer w(buf, sizeof buf);
    w.put(std::vector<std::uint8_t>(12, 0).data(), 12);
    ASSERT_TRUE(w.put_name(name("www.example.com.").data()));
    std::size_t second = w.pos();
    ASSERT_TRUE(w.put_name(name("mail.EXAMPLE.com.").data()));
    // "mail" label then a pointer to "example.com." at 12 + 4.
    EXPECT_EQ(w.pos() - second, 5u + 2u);
    EXPECT_EQ(buf[second + 5], 0xc0);
    EXPECT_EQ(buf[second + 6], 16);
    EXPECT_EQ(read_at(written(w), second), "mail.example.com.");
    std::size_t third = w.pos();
    ASSERT_TRUE(w.put_name(name("com.").data()));
    EXPECT_EQ(w.pos() - third, 2u);
    EXPECT_EQ(read_at(written(w), third), "com.");
    // A name with no common suffix is written whole.
    std::size_t fourth = w.pos();
    ASSERT_TRUE(w.put_name(name("example.net.").data()));
    EXPECT_EQ(w.pos() - fourth, name("example.net.").size());
}

TEST_F(WriterTest, CompressionRespectsLabelBoundaries) {
    Writer w(buf, sizeof buf);
    w.put(std::vector<std::uint8_t>(12, 0).data(), 12);
    ASSERT_TRUE(w.put_name(name("xexample.com.").data()));
    std::size_t second = w.pos();
    ASSERT_TRUE(w.put_name(name("example.com.").data()));
    // Only "com." can be shared.
    EXPECT_EQ(read_at(written(w), second), "example.com.");
    EXPECT_EQ(w.pos() - second, 8u + 2u);
}

TEST_F(WriterTest, UncompressedWriteStillRegistersSuffixes) {
    Writer w(buf, sizeof buf);
    w.put(std::vector<std::uint8_t>(12, 0).data(), 12);
    ASSERT_TRUE(w.put_name(name("a.example.").data(), /*compress=*/false));
    std::size_t second = w.pos();
    ASSERT_TRUE(w.put_name(name("a.example.").data(), /*compress=*/false));
    EXPECT_EQ(w.pos() - second, name("a.example.").size());
    std::size_t third = w.pos();
    ASSERT_TRUE(w.put_name(name("b.example.").data()));
    EXPECT_EQ(w.pos() - third, 2u + 2u);
    EXPECT_EQ(read_at(written(w), third), "b.example.");
}

TEST_F(WriterTest, RememberNameRegistersAnExistingName) {
    Writer w(buf, sizeof buf);
    w.put(std::vector<std::uint8_t>(12, 0).data(), 12);
    Name q = name("Host.Example.org.");
    w.put(q.data(), q.size());
    w.remember_name(12);
    std::size_t at = w.pos();
    ASSERT_TRUE(w.put_name(name("other.example.ORG.").data()));
    EXPECT_EQ(w.pos() - at, 6u + 2u);
    // The pointer keeps the case of the name it points to.
    EXPECT_EQ(read_at(written(w), at), "other.Example.org.");
}

TEST_F(WriterTest, RewindForgetsNamesWrittenAfterTheMark) {
    Writer w(buf, sizeof buf);
    w.put(std::vector<std::uint8_t>(12, 0).data(), 12);
    std::size_t mark = w.pos();
    ASSERT_TRUE(w.put_name(name("gone.example.").data()));
    w.rewind(mark);
    // Overwrite the bytes where the forgotten name was.
    std::vector<std::uint8_t> junk(20, 0xee);
    w.put(junk.data(), junk.size());
    std::size_t at = w.pos();
    ASSERT_TRUE(w.put_name(name("gone.example.").data()));
    EXPECT_EQ(w.pos() - at, name("gone.example.").size()) << "pointer into rewound bytes";
    EXPECT_EQ(read_at(written(w), at), "gone.example.");
}

TEST_F(WriterTest, OverflowLeavesPositionAndSetsFlag) {
    Writer w(buf, sizeof buf);
    w.set_limit(20);
    w.put(std::vector<std::uint8_t>(12, 0).data(), 12);
    EXPECT_FALSE(w.overflow());
    EXPECT_FALSE(w.put_name(name("toolong.example.").data()));
    EXPECT_TRUE(w.overflow());
    EXPECT_EQ(w.pos(), 12u);
    // A half-written name must not be remembered for compression.
    w.clear_overflow();
    w.set_limit(sizeof buf);
    std::size_t at = w.pos();
    ASSERT_TRUE(w.put_name(name("toolong.example.").data()));
    EXPECT_EQ(w.pos() - at, name("toolong.example.").size());
    EXPECT_EQ(read_at(written(w), at), "toolong.example.");
}

TEST_F(WriterTest, IntegerWritesRespectTheLimit) {
    Writer w(buf, sizeof buf);
    w.set_limit(5);
    EXPECT_TRUE(w.put16(0x1234));
    EXPECT_FALSE(w.put32(1));
    EXPECT_EQ(w.pos(), 2u);
    EXPECT_TRUE(w.put8(7));
    EXPECT_TRUE(w.put16(0xabcd));
    EXPECT_FALSE(w.put8(1));
    EXPECT_EQ(w.pos(), 5u);
    EXPECT_EQ(load16(buf), 0x1234);
    EXPECT_EQ(buf[2], 7);
    EXPECT_EQ(load16(buf + 3), 0xabcd);
    // The limit never exceeds the capacity.
    Writer small(buf, 4);
    small.set_limit(100);
    EXPECT_EQ(small.limit(), 4u);
}

TEST_F(WriterTest, NoPointersBeyondTheFourteenBitRange) {
    Writer w(buf, sizeof buf);
    std::vector<std::uint8_t> pad(0x4000, 0);
    w.put(pad.data(), pad.size());
    Name n = name("far.example.");
    std::size_t first = w.pos();
    ASSERT_TRUE(w.put_name(n.data()));
    std::size_t second = w.pos();
    ASSERT_TRUE(w.put_name(n.data()));
    EXPECT_EQ(w.pos() - second, n.size());
    EXPECT_EQ(read_at(written(w), first), "far.example.");
    EXPECT_EQ(read_at(written(w), second), "far.example.");
}

TEST_F(WriterTest, ManyNamesRoundTrip) {
    Writer w(buf, sizeof buf);
    w.put(std::vector<std::uint8_t>(12, 0).data(), 12);
    std::vector<std::pair<std::size_t, std::string>> written_names;
    for (int i = 0; i < 300; ++i) {
        std::string t = "h" + std::to_string(i % 37) + ".z" + std::to_string(i % 5) + ".example.";
        written_names.emplace_back(w.pos(), t);
        ASSERT_TRUE(w.put_name(name(t).data()));
    }
    for (const auto& [pos, t] : written_names) EXPECT_EQ(read_at(written(w), pos), t);
}

TEST(LoadStore, BigEndian) {
    std::uint8_t b[4];
    store16(b, 0xabcd);
    EXPECT_EQ(b[0], 0xab);
    EXPECT_EQ(b[1], 0xcd);
    store32(b, 0x01020304);
    EXPECT_EQ(b[0], 1);
    EXPECT_EQ(b[3], 4);
    EXPECT_EQ(load32(b), 0x01020304u);
}

}  // namespace
}  // namespace satellite::dns
