// RecordList storage, per-type RDATA knowledge, and the zone file reader
// (parse_records / read_zone_file) through the public API.
#include "dns/records.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "dns/types.hpp"
#include "dns/zonefile.hpp"
#include "test_packet.hpp"

namespace satellite::dns {
namespace {

using V = std::vector<std::uint8_t>;

Name name(const std::string& text) {
    auto n = Name::from_text(text);
    if (!n) ADD_FAILURE() << text << ": " << n.error().message;
    return n ? *n : Name();
}

std::vector<std::uint8_t> wire(const std::string& text) {
    Name n = name(text);
    return {n.data(), n.data() + n.size()};
}

std::vector<std::uint8_t> cat(std::initializer_list<std::vector<std::uint8_t>> parts) {
    std::vector<std::uint8_t> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

TEST(RecordList, StoresOwnersAndRdata) {
    RecordList l;
    auto o1 = wire("a.example."), o2 = wire("bb.example.");
    std::vector<std::uint8_t> rd1 = {1, 2, 3, 4}, rd2 = {};
    l.add(o1, type::A, rrclass::IN, 60, rd1);
    l.add(o2, type::TXT, rrclass::CH, 7, rd2);
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(wire_name::to_string(l.owner(l[0])), "a.example.");
    EXPECT_EQ(l[0].owner_len, o1.size());
    EXPECT_EQ(std::vector<std::uint8_t>(l.rdata(l[0]).begin(), l.rdata(l[0]).end()), rd1);
    EXPECT_EQ(l[0].ttl, 60u);
    EXPECT_EQ(l[1].type, type::TXT);
    EXPECT_EQ(l[1].rclass, rrclass::CH);
    EXPECT_EQ(wire_name::to_string(l.owner(l[1])), "bb.example.");
    EXPECT_EQ(l.rdata(l[1]).size(), 0u);
}

TEST(Rdata, CompressShapes) {
    EXPECT_EQ(compress_shape(type::NS), RdataShape::Name);
    EXPECT_EQ(compress_shape(type::CNAME), RdataShape::Name);
    EXPECT_EQ(compress_shape(type::PTR), RdataShape::Name);
    EXPECT_EQ(compress_shape(type::MX), RdataShape::Preference);
    EXPECT_EQ(compress_shape(type::SOA), RdataShape::Soa);
    EXPECT_EQ(compress_shape(type::MINFO), RdataShape::TwoNames);
    // RFC 3597 §4: names in newer types are never compressed.
    EXPECT_EQ(compress_shape(type::DNAME), RdataShape::Opaque);
    EXPECT_EQ(compress_shape(type::SRV), RdataShape::Opaque);
    EXPECT_EQ(compress_shape(type::RRSIG), RdataShape::Opaque);
    EXPECT_EQ(compress_shape(type::A), RdataShape::Opaque);
}

TEST(Rdata, AdditionalTargetOffsets) {
    EXPECT_EQ(additional_target_offset(type::NS), 0);
    EXPECT_EQ(additional_target_offset(type::MX), 2);
    EXPECT_EQ(additional_target_offset(type::SRV), 6);
    EXPECT_EQ(additional_target_offset(type::CNAME), -1);
    EXPECT_EQ(additional_target_offset(type::A), -1);
}

TEST(Rdata, WellFormedChecks) {
    EXPECT_TRUE(rdata_well_formed(type::A, std::vector<std::uint8_t>(4)));
    EXPECT_FALSE(rdata_well_formed(type::A, std::vector<std::uint8_t>(3)));
    EXPECT_FALSE(rdata_well_formed(type::A, std::vector<std::uint8_t>(5)));
    EXPECT_TRUE(rdata_well_formed(type::AAAA, std::vector<std::uint8_t>(16)));
    EXPECT_FALSE(rdata_well_formed(type::AAAA, std::vector<std::uint8_t>(4)));

    EXPECT_TRUE(rdata_well_formed(type::NS, wire("ns.example.")));
    EXPECT_FALSE(rdata_well_formed(type::NS, cat({wire("ns.example."), {0}})));  // trailing
    EXPECT_FALSE(rdata_well_formed(type::CNAME, V{2, 'a'}));
    EXPECT_TRUE(rdata_well_formed(type::DNAME, wire("target.example.")));
    EXPECT_FALSE(rdata_well_formed(type::DNAME, V{0xc0, 0}));

    EXPECT_TRUE(rdata_well_formed(type::MX, cat({{0, 10}, wire("mx.example.")})));
    EXPECT_FALSE(rdata_well_formed(type::MX, V{0, 10}));
    EXPECT_FALSE(rdata_well_formed(type::MX, cat({{0, 10}, wire("mx.example."), {1}})));

    EXPECT_TRUE(rdata_well_formed(type::SRV, cat({{0, 1, 0, 2, 0, 3}, wire("t.example.")})));
    EXPECT_FALSE(rdata_well_formed(type::SRV, V{0, 1, 0, 2, 0, 3}));

    EXPECT_TRUE(rdata_well_formed(type::MINFO, cat({wire("a."), wire("b.")})));

    auto soa = cat({wire("ns.example."), wire("host.example."), std::vector<std::uint8_t>(20)});
    EXPECT_TRUE(rdata_well_formed(type::SOA, soa));
    soa.pop_back();
    EXPECT_FALSE(rdata_well_formed(type::SOA, soa));
    EXPECT_FALSE(rdata_well_formed(type::SOA, wire("ns.example.")));

    // Types we know nothing about are opaque.
    EXPECT_TRUE(rdata_well_formed(type::TXT, V{}));
    EXPECT_TRUE(rdata_well_formed(65280, V{1, 2, 3}));
}

// BUG (src/dns/records.cpp, rdata_well_formed): for the one-name shapes
// `name_at(0) == n` holds when n == 0, so an empty NS/CNAME/PTR/DNAME RDATA
// (zone file "x NS \# 0", or a transfer) passes, and answer() later reads a
// name from whatever follows the RDATA.
TEST(Rdata, EmptyNameRdataIsMalformed) {
    for (std::uint16_t t : {type::NS, type::CNAME, type::PTR, type::MB, type::DNAME}) {
        EXPECT_FALSE(rdata_well_formed(t, V{})) << type_to_string(t);
    }
}

// BUG (same function, TwoNames case): `name_at(a) + a == n` holds when the
// first name fills the RDATA (name_at returns 0 past the end), so a MINFO
// with one name passes and write_rr reads the second name past the RDATA.
TEST(Rdata, MinfoNeedsTwoNames) {
    EXPECT_FALSE(rdata_well_formed(type::MINFO, wire("a.")));
    EXPECT_FALSE(rdata_well_formed(type::MINFO, V{}));
}

TEST(ParseRecords, PresentationLines) {
    Name origin = name("Example.com.");
    auto r = parse_records(
        "@ 300 IN SOA ns1 hostmaster 42 7200 3600 1209600 600\n"
        "\n"
        "www IN A 192.0.2.1\n"
        "   \t\n"
        "mail.example.com. 60 IN MX 10 mx\n"
        "txt IN TXT \"hello world\" two\n"
        "v6 IN AAAA 2001:db8::1\n",
        origin);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const RecordList& l = *r;
    ASSERT_EQ(l.size(), 5u);
    EXPECT_EQ(wire_name::to_string(l.owner(l[0])), "Example.com.");
    EXPECT_EQ(l[0].type, type::SOA);
    EXPECT_EQ(l[0].ttl, 300u);
    EXPECT_TRUE(rdata_well_formed(type::SOA, l.rdata(l[0])));
    EXPECT_EQ(wire_name::to_string(l.rdata(l[0]).data()), "ns1.Example.com.");

    EXPECT_EQ(wire_name::to_string(l.owner(l[1])), "www.Example.com.");
    EXPECT_EQ(l[1].ttl, 3600u);  // the default TTL
    EXPECT_EQ(l[1].rclass, rrclass::IN);
    EXPECT_EQ(std::vector<std::uint8_t>(l.rdata(l[1]).begin(), l.rdata(l[1]).end()),
              (std::vector<std::uint8_t>{192, 0, 2, 1}));

    EXPECT_EQ(l[2].type, type::MX);
    EXPECT_EQ(l[2].ttl, 60u);
    auto mx = l.rdata(l[2]);
    EXPECT_EQ(load16(mx.data()), 10);
    EXPECT_EQ(wire_name::to_string(mx.data() + 2), "mx.Example.com.");

    auto txt = l.rdata(l[3]);
    EXPECT_EQ(std::string(txt.begin(), txt.end()), std::string("\x0bhello world\x03two"));
    EXPECT_EQ(l.rdata(l[4]).size(), 16u);
}

TEST(ParseRecords, ErrorsNameTheLine) {
    Name origin = name("example.com.");
    auto r = parse_records("www IN A 192.0.2.1\nbad IN A not-an-address\n", origin);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("bad IN A not-an-address"), std::string::npos)
        << r.error().message;
    EXPECT_FALSE(parse_records("x IN NOSUCHTYPE 1\n", origin).ok());
}

TEST(ReadZoneFile, ReadsAFileWithDirectives) {
    char path[] = "/tmp/satellite-zone-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    {
        std::ofstream f(path);
        f << "$ORIGIN example.org.\n"
             "$TTL 120\n"
             "@ IN SOA ns hostmaster 1 2 3 4 5\n"
             "@ IN NS ns\n"
             "; a comment\n"
             "ns IN A 192.0.2.53\n"
             "\n";
    }
    auto r = read_zone_file(path, name("example.org."));
    std::remove(path);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0].ttl, 120u);
    EXPECT_EQ(wire_name::to_string(r->owner((*r)[2])), "ns.example.org.");
    EXPECT_EQ(wire_name::to_string(r->rdata((*r)[1]).data()), "ns.example.org.");
}

TEST(ReadZoneFile, ErrorCarriesFileAndLine) {
    char path[] = "/tmp/satellite-zone-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    {
        std::ofstream f(path);
        f << "$ORIGIN example.org.\n"
             "@ 60 IN SOA ns hostmaster 1 2 3 4 5\n"
             "ns 60 IN A 999.1.2.3\n";
    }
    auto r = read_zone_file(path, name("example.org."));
    std::remove(path);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find(std::string(path) + ":3:"), std::string::npos)
        << r.error().message;
}

TEST(ReadZoneFile, MissingFile) {
    auto r = read_zone_file("/nonexistent/zone.db", name("example.org."));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("/nonexistent/zone.db"), std::string::npos);
}

TEST(TypeNames, Mnemonics) {
    EXPECT_EQ(type_to_string(type::A), "A");
    EXPECT_EQ(type_to_string(type::AAAA), "AAAA");
    EXPECT_EQ(type_to_string(type::DNAME), "DNAME");
    EXPECT_EQ(type_to_string(65280), "TYPE65280");
}

}  // namespace
}  // namespace satellite::dns
