// The produced catalog (RFC 9432 v2): version TXT, one PTR per member under
// zones., the group property, IDs stable per member name.
#include "zone/produced_catalog.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "dns/types.hpp"

namespace satellite::zone {
namespace {

dns::Name N(const char* t) { return *dns::Name::from_text(t); }

std::set<std::string> owners_of(const Snapshot& s, std::uint16_t type) {
    std::set<std::string> out;
    auto recs = s.to_records();
    for (const auto& r : recs.refs()) {
        if (r.type == type) out.insert(dns::wire_name::to_string(recs.owner(r)));
    }
    return out;
}

TEST(ProducedCatalog, ListsEveryMemberWithVersionAndGroup) {
    auto snap = build_produced_catalog(N("catalog.example."), 7,
                                       {{N("a.test."), "signed"}, {N("B.Test."), ""}});
    ASSERT_TRUE(snap.ok()) << snap.error().message;
    const Snapshot& s = **snap;
    EXPECT_EQ(s.serial(), 7u);
    EXPECT_EQ(owners_of(s, dns::type::TXT),
              (std::set<std::string>{"version.catalog.example.",
                                     "group." + catalog_member_id(N("a.test.")) + ".zones.catalog.example."}));
    EXPECT_EQ(owners_of(s, dns::type::PTR),
              (std::set<std::string>{catalog_member_id(N("a.test.")) + ".zones.catalog.example.",
                                     catalog_member_id(N("b.test.")) + ".zones.catalog.example."}));
    EXPECT_EQ(owners_of(s, dns::type::NS), (std::set<std::string>{"catalog.example."}));
}

TEST(ProducedCatalog, MemberIdsAreStableAndCaseBlind) {
    EXPECT_EQ(catalog_member_id(N("Example.COM.")), catalog_member_id(N("example.com.")));
    EXPECT_NE(catalog_member_id(N("example.com.")), catalog_member_id(N("example.net.")));
    EXPECT_EQ(catalog_member_id(N("example.com.")).size(), 16u);
}

TEST(ProducedCatalog, AnEmptyListIsAValidCatalog) {
    auto snap = build_produced_catalog(N("catalog.example."), 1, {});
    ASSERT_TRUE(snap.ok()) << snap.error().message;
    EXPECT_EQ((*snap)->record_count(), 3u);  // SOA, NS, version TXT
}

}  // namespace
}  // namespace satellite::zone
