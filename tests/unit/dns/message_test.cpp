// parse_query on crafted packets: one or more cases per ParseStatus, EDNS
// (RFC 6891 §6.1.1) and TSIG position (RFC 8945 §5.1) rules.
#include "dns/message.hpp"

#include <gtest/gtest.h>

#include "dns/types.hpp"
#include "test_packet.hpp"

namespace satellite::dns {
namespace {

using satellite::testing::Bytes;
using satellite::testing::make_query;
using satellite::testing::QuerySpec;

ParseStatus parse(const std::vector<std::uint8_t>& m, Query& q) { return parse_query(m, q); }

ParseStatus parse(const std::vector<std::uint8_t>& m) {
    Query q;
    return parse_query(m, q);
}

TEST(ParseQuery, PlainQuery) {
    auto m = make_query({.name = "WWW.Example.com.",
                         .qtype = type::MX,
                         .id = 0xbeef,
                         .flags = flag::RD | flag::CD});
    Query q;
    ASSERT_EQ(parse(m, q), ParseStatus::Ok);
    EXPECT_EQ(q.id, 0xbeef);
    EXPECT_EQ(q.flags, flag::RD | flag::CD);
    EXPECT_EQ(q.opcode, opcode::QUERY);
    EXPECT_EQ(q.qdcount, 1);
    EXPECT_EQ(q.qtype, type::MX);
    EXPECT_EQ(q.qclass, rrclass::IN);
    ASSERT_EQ(q.qname_len, 17u);
    EXPECT_EQ(q.qname, m.data() + 12);
    EXPECT_EQ(wire_name::to_string(q.qname), "WWW.Example.com.");
    EXPECT_EQ(wire_name::to_string(q.qname_lc), "www.example.com.");
    EXPECT_EQ(q.question_end, m.size());
    EXPECT_FALSE(q.has_edns);
    EXPECT_EQ(q.tsig_offset, 0u);
}

TEST(ParseQuery, RootQuestion) {
    auto m = make_query({.name = ".", .qtype = type::NS});
    Query q;
    ASSERT_EQ(parse(m, q), ParseStatus::Ok);
    EXPECT_EQ(q.qname_len, 1u);
    EXPECT_EQ(q.question_end, 12u + 1 + 4);
}

TEST(ParseQuery, Edns) {
    auto m = make_query({.name = "a.example.", .edns = true, .payload = 4096, .do_bit = true});
    Query q;
    ASSERT_EQ(parse(m, q), ParseStatus::Ok);
    EXPECT_TRUE(q.has_edns);
    EXPECT_EQ(q.edns_payload, 4096);
    EXPECT_EQ(q.edns_version, 0);
    EXPECT_TRUE(q.edns_do);
    auto v1 = make_query({.name = "a.example.", .edns = true, .payload = 512, .edns_version = 1});
    ASSERT_EQ(parse(v1, q), ParseStatus::Ok);  // BADVERS is the answerer's call
    EXPECT_EQ(q.edns_version, 1);
    EXPECT_FALSE(q.edns_do);
    EXPECT_EQ(q.edns_payload, 512);
}

TEST(ParseQuery, EdnsWithOptions) {
    Bytes b;
    b.header(1, 0, 1, 0, 0, 1).name("a.example.").u16(type::A).u16(1);
    // OPT with a cookie option (code 10, 8 octets) and an empty option.
    b.u8(0).u16(type::OPT).u16(1232).u32(0).u16(12 + 4);
    b.u16(10).u16(8).u32(0x01020304).u32(0x05060708).u16(12).u16(0);
    Query q;
    EXPECT_EQ(parse(b.v, q), ParseStatus::Ok);
    EXPECT_TRUE(q.has_edns);
}

TEST(ParseQuery, StateIsResetBetweenCalls) {
    Query q;
    ASSERT_EQ(parse(make_query({.name = "a.", .edns = true, .do_bit = true}), q), ParseStatus::Ok);
    ASSERT_TRUE(q.has_edns);
    ASSERT_EQ(parse(make_query({.name = "a."}), q), ParseStatus::Ok);
    EXPECT_FALSE(q.has_edns);
    EXPECT_FALSE(q.edns_do);
}

TEST(ParseQuery, ShortMessagesAreDropped) {
    EXPECT_EQ(parse({}), ParseStatus::Drop);
    EXPECT_EQ(parse(std::vector<std::uint8_t>(11, 0)), ParseStatus::Drop);
}

TEST(ParseQuery, ResponsesAreDropped) {
    auto m = make_query({.name = "a.example.", .flags = flag::QR});
    EXPECT_EQ(parse(m), ParseStatus::Drop);
    // Even a malformed one.
    Bytes b;
    b.header(1, flag::QR, 7, 0, 0, 0);
    EXPECT_EQ(parse(b.v), ParseStatus::Drop);
}

TEST(ParseQuery, HeaderOnlyIsFormErr) {
    Bytes b;
    b.header(0x1111, flag::RD, 0, 0, 0, 0);
    Query q;
    EXPECT_EQ(parse(b.v, q), ParseStatus::FormErr);
    EXPECT_EQ(q.id, 0x1111);
    EXPECT_EQ(q.question_end, 0u);
}

TEST(ParseQuery, TwoQuestionsIsFormErr) {
    Bytes b;
    b.header(1, 0, 2, 0, 0, 0).name("a.").u16(1).u16(1).name("b.").u16(1).u16(1);
    Query q;
    EXPECT_EQ(parse(b.v, q), ParseStatus::FormErr);
    EXPECT_EQ(q.question_end, 0u);
}

TEST(ParseQuery, TruncatedQuestionIsFormErr) {
    auto m = make_query({.name = "www.example.com."});
    for (std::size_t cut = 12; cut < m.size(); ++cut) {
        std::vector<std::uint8_t> part(m.begin(), m.begin() + static_cast<long>(cut));
        Query q;
        EXPECT_EQ(parse(part, q), ParseStatus::FormErr) << "cut at " << cut;
        EXPECT_EQ(q.question_end, 0u);
    }
}

TEST(ParseQuery, CompressedQuestionNameIsFormErr) {
    Bytes b;
    b.header(1, 0, 1, 0, 0, 0).u16(0xc000).u16(1).u16(1);
    EXPECT_EQ(parse(b.v), ParseStatus::FormErr);
}

TEST(ParseQuery, BadLabelInQuestionIsFormErr) {
    Bytes b;
    b.header(1, 0, 1, 0, 0, 0).u8(64);
    for (int i = 0; i < 64; ++i) b.u8('a');
    b.u8(0).u16(1).u16(1);
    EXPECT_EQ(parse(b.v), ParseStatus::FormErr);
}

TEST(ParseQuery, OverlongQuestionNameIsFormErr) {
    Bytes b;
    b.header(1, 0, 1, 0, 0, 0);
    for (int k = 0; k < 5; ++k) {
        b.u8(60);
        for (int i = 0; i < 60; ++i) b.u8('a');
    }
    b.u8(0).u16(1).u16(1);
    EXPECT_EQ(parse(b.v), ParseStatus::FormErr);
}

TEST(ParseQuery, OptInAnswerSectionIsFormErr) {
    Bytes b;
    b.header(1, 0, 1, 1, 0, 0).name("a.").u16(1).u16(1).opt(1232);
    Query q;
    EXPECT_EQ(parse(b.v, q), ParseStatus::FormErr);
    EXPECT_NE(q.question_end, 0u);  // the question can still be echoed
}

TEST(ParseQuery, OptInAuthoritySectionIsFormErr) {
    Bytes b;
    b.header(1, 0, 1, 0, 1, 0).name("a.").u16(1).u16(1).opt(1232);
    EXPECT_EQ(parse(b.v), ParseStatus::FormErr);
}

TEST(ParseQuery, TwoOptsIsFormErr) {
    Bytes b;
    b.header(1, 0, 1, 0, 0, 2).name("a.").u16(1).u16(1).opt(1232).opt(1232);
    EXPECT_EQ(parse(b.v), ParseStatus::FormErr);
}

TEST(ParseQuery, OptNotAtRootIsFormErr) {
    Bytes b;
    b.header(1, 0, 1, 0, 0, 1).name("a.").u16(1).u16(1);
    b.name("x.").u16(type::OPT).u16(1232).u32(0).u16(0);
    EXPECT_EQ(parse(b.v), ParseStatus::FormErr);
}

TEST(ParseQuery, MalformedOptOptionsAreFormErr) {
    Bytes b;
    b.header(1, 0, 1, 0, 0, 1).name("a.").u16(1).u16(1);
    // RDLENGTH 6 but the option claims 8 octets of data.
    b.u8(0).u16(type::OPT).u16(1232).u32(0).u16(6).u16(10).u16(8).u16(0);
    EXPECT_EQ(parse(b.v), ParseStatus::FormErr);
    Bytes c;
    c.header(1, 0, 1, 0, 0, 1).name("a.").u16(1).u16(1);
    // RDLENGTH 2: not even an option header.
    c.u8(0).u16(type::OPT).u16(1232).u32(0).u16(2).u16(10);
    EXPECT_EQ(parse(c.v), ParseStatus::FormErr);
}

TEST(ParseQuery, RecordPastTheEndIsFormErr) {
    Bytes b;
    b.header(1, 0, 1, 0, 0, 1).name("a.").u16(1).u16(1);
    b.u8(0).u16(type::OPT).u16(1232).u32(0).u16(10).u16(0);  // RDLENGTH 10, 2 present
    EXPECT_EQ(parse(b.v), ParseStatus::FormErr);
    // ARCOUNT says 1 but nothing follows the question.
    Bytes c;
    c.header(1, 0, 1, 0, 0, 1).name("a.").u16(1).u16(1);
    EXPECT_EQ(parse(c.v), ParseStatus::FormErr);
    // A record header cut short.
    Bytes d;
    d.header(1, 0, 1, 0, 0, 1).name("a.").u16(1).u16(1).u8(0).u16(type::OPT).u16(512);
    EXPECT_EQ(parse(d.v), ParseStatus::FormErr);
}

TEST(ParseQuery, HugeCountsWithNoRecordsAreFormErr) {
    Bytes b;
    b.header(1, 0, 1, 0xffff, 0xffff, 0xffff).name("a.").u16(1).u16(1);
    EXPECT_EQ(parse(b.v), ParseStatus::FormErr);
}

TEST(ParseQuery, CompressedOwnersInOtherSectionsAreSkipped) {
    Bytes b;
    b.header(1, 0, 1, 1, 0, 1).name("a.example.").u16(1).u16(1);
    b.u16(0xc00c).u16(type::A).u16(1).u32(60).u16(4).u32(0x7f000001);  // answer record
    b.opt(1400);
    Query q;
    EXPECT_EQ(parse(b.v, q), ParseStatus::Ok);
    EXPECT_TRUE(q.has_edns);
    EXPECT_EQ(q.edns_payload, 1400);
}

Bytes tsig_rr(Bytes b) {
    b.name("key.").u16(type::TSIG).u16(rrclass::ANY).u32(0).u16(4).u32(0);
    return b;
}

TEST(ParseQuery, TsigLastIsAccepted) {
    Bytes b;
    b.header(1, 0, 1, 0, 0, 2).name("a.").u16(1).u16(1).opt(1232);
    std::size_t at = b.v.size();
    b = tsig_rr(b);
    Query q;
    EXPECT_EQ(parse(b.v, q), ParseStatus::Ok);
    EXPECT_EQ(q.tsig_offset, at);
    EXPECT_TRUE(q.has_edns);
}

TEST(ParseQuery, TsigNotLastIsFormErr) {
    Bytes b;
    b.header(1, 0, 1, 0, 0, 2).name("a.").u16(1).u16(1);
    b = tsig_rr(b);
    b.opt(1232);
    EXPECT_EQ(parse(b.v), ParseStatus::FormErr);
}

TEST(ParseQuery, TsigOutsideAdditionalIsFormErr) {
    Bytes b;
    b.header(1, 0, 1, 1, 0, 0).name("a.").u16(1).u16(1);
    b = tsig_rr(b);
    EXPECT_EQ(parse(b.v), ParseStatus::FormErr);
}

TEST(ParseQuery, UnknownOpcodeIsNotImpWithQuestion) {
    for (std::uint8_t op : {opcode::IQUERY, opcode::STATUS, std::uint8_t{3}, opcode::UPDATE,
                            std::uint8_t{6}, std::uint8_t{15}}) {
        auto m = make_query({.name = "a.example.", .flags = static_cast<std::uint16_t>(op << 11)});
        Query q;
        EXPECT_EQ(parse(m, q), ParseStatus::NotImp) << int(op);
        EXPECT_EQ(q.opcode, op);
        EXPECT_EQ(q.question_end, m.size());
    }
}

TEST(ParseQuery, UnknownOpcodeWithoutQuestionIsNotImp) {
    Bytes b;
    b.header(1, opcode::UPDATE << 11, 0, 0, 0, 0);
    Query q;
    EXPECT_EQ(parse(b.v, q), ParseStatus::NotImp);
    EXPECT_EQ(q.question_end, 0u);
}

TEST(ParseQuery, NotifyIsParsed) {
    auto m = make_query({.name = "example.",
                         .qtype = type::SOA,
                         .flags = static_cast<std::uint16_t>(opcode::NOTIFY << 11 | flag::AA)});
    Query q;
    EXPECT_EQ(parse(m, q), ParseStatus::Ok);
    EXPECT_EQ(q.opcode, opcode::NOTIFY);
}

TEST(ParseQuery, EveryPrefixOfAValidQueryIsHandled) {
    Bytes b;
    b.header(7, 0, 1, 0, 0, 2).name("www.example.com.").u16(1).u16(1).opt(4096, 0, true);
    b = tsig_rr(b);
    ASSERT_EQ(parse(b.v), ParseStatus::Ok);
    for (std::size_t n = 0; n < b.v.size(); ++n) {
        std::vector<std::uint8_t> part(b.v.begin(), b.v.begin() + static_cast<long>(n));
        ParseStatus st = parse(part);
        EXPECT_EQ(st, n < 12 ? ParseStatus::Drop : ParseStatus::FormErr) << n;
    }
}

}  // namespace
}  // namespace satellite::dns
