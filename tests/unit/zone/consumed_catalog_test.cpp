// Reading a consumed catalog (RFC 9432 v2): members, group and coo
// properties, ignored extras; a wrong or missing version, a duplicate member,
// two PTRs or two groups for one ID refuse the whole catalog. The member
// list kept in state_dir reads back as written.
#include "zone/consumed_catalog.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "dns/zonefile.hpp"

namespace satellite::zone {
namespace {

dns::Name N(const char* t) { return *dns::Name::from_text(t); }

const char* kHead = R"(cat.example. 0 IN SOA invalid. invalid. 42 3600 600 2147483646 0
cat.example. 0 IN NS invalid.
)";

Result<MemberList> read(const std::string& body, const std::string& version = "version.cat.example. 0 IN TXT \"2\"\n") {
    auto records = dns::parse_records(std::string(kHead) + version + body, N("cat.example."));
    if (!records) return records.error();
    return read_catalog(N("cat.example."), *records);
}

TEST(ConsumedCatalog, MembersWithGroupAndCoo) {
    auto list = read(R"(m1.zones.cat.example. 0 IN PTR a.test.
group.m1.zones.cat.example. 0 IN TXT "signed"
M2.zones.cat.example. 0 IN PTR B.test.
coo.m2.zones.cat.example. 0 IN PTR other.example.
ext.m2.zones.cat.example. 0 IN TXT "ignored"
unknown.m1.zones.cat.example. 0 IN TXT "ignored"
group.nomember.zones.cat.example. 0 IN TXT "ignored"
)");
    ASSERT_TRUE(list.ok()) << list.error().message;
    EXPECT_EQ(list->serial, 42u);
    ASSERT_EQ(list->members.size(), 2u);
    const auto* a = list->find(N("A.TEST."));
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->id, "m1");
    EXPECT_EQ(a->group, "signed");
    EXPECT_FALSE(a->coo.has_value());
    const auto* b = list->find(N("b.test."));
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->id, "m2");  // lower-cased
    EXPECT_EQ(b->group, "");
    ASSERT_TRUE(b->coo.has_value());
    EXPECT_TRUE(b->coo->equals(N("other.example.")));
    EXPECT_EQ(list->find(N("c.test.")), nullptr);
}

TEST(ConsumedCatalog, AnEmptyCatalogHasNoMembers) {
    auto list = read("");
    ASSERT_TRUE(list.ok()) << list.error().message;
    EXPECT_TRUE(list->members.empty());
}

TEST(ConsumedCatalog, VersionMustBeExactlyOneTwo) {
    auto missing = read("m1.zones.cat.example. 0 IN PTR a.test.\n", "");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("no version.cat.example. TXT"), std::string::npos) << missing.error().message;

    auto one = read("m1.zones.cat.example. 0 IN PTR a.test.\n", "version.cat.example. 0 IN TXT \"1\"\n");
    ASSERT_FALSE(one.ok());
    EXPECT_NE(one.error().message.find("schema version \"1\""), std::string::npos) << one.error().message;

    auto two = read("", "version.cat.example. 0 IN TXT \"2\"\nversion.cat.example. 0 IN TXT \"3\"\n");
    ASSERT_FALSE(two.ok());
    EXPECT_NE(two.error().message.find("2 version TXT records"), std::string::npos) << two.error().message;
}

TEST(ConsumedCatalog, DuplicateMemberRefusesTheCatalog) {
    auto list = read(R"(m1.zones.cat.example. 0 IN PTR a.test.
m2.zones.cat.example. 0 IN PTR A.Test.
)");
    ASSERT_FALSE(list.ok());
    EXPECT_NE(list.error().message.find("listed twice"), std::string::npos) << list.error().message;
}

TEST(ConsumedCatalog, TwoPtrsForOneIdRefuseTheCatalog) {
    auto list = read(R"(m1.zones.cat.example. 0 IN PTR a.test.
m1.zones.cat.example. 0 IN PTR b.test.
)");
    ASSERT_FALSE(list.ok());
    EXPECT_NE(list.error().message.find("2 PTR records"), std::string::npos) << list.error().message;
}

TEST(ConsumedCatalog, TwoGroupsOrTwoCoosRefuseTheCatalog) {
    auto groups = read(R"(m1.zones.cat.example. 0 IN PTR a.test.
group.m1.zones.cat.example. 0 IN TXT "x"
group.m1.zones.cat.example. 0 IN TXT "y"
)");
    ASSERT_FALSE(groups.ok());
    EXPECT_NE(groups.error().message.find("2 group properties"), std::string::npos) << groups.error().message;
    auto coos = read(R"(m1.zones.cat.example. 0 IN PTR a.test.
coo.m1.zones.cat.example. 0 IN PTR x.example.
coo.m1.zones.cat.example. 0 IN PTR y.example.
)");
    ASSERT_FALSE(coos.ok());
    EXPECT_NE(coos.error().message.find("2 coo properties"), std::string::npos) << coos.error().message;
}

TEST(ConsumedCatalog, TheCatalogCannotListItself) {
    auto list = read("m1.zones.cat.example. 0 IN PTR cat.example.\n");
    ASSERT_FALSE(list.ok());
    EXPECT_NE(list.error().message.find("lists itself"), std::string::npos) << list.error().message;
}

TEST(ConsumedCatalog, StateFileRoundTrip) {
    const std::string dir = std::filesystem::temp_directory_path() / ("consumed-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    auto empty = load_consumer_state(dir, N("cat.example."));
    ASSERT_TRUE(empty.ok()) << empty.error().message;
    EXPECT_FALSE(empty->members.has_value());

    ConsumerState st;
    st.members.emplace();
    st.members->serial = 7;
    st.members->members.push_back({N("a.test."), "m1", "signed group%", std::nullopt});
    st.members->members.push_back({N("b.test."), "m2", "", N("other.example.")});
    st.removed.push_back({N("gone.test."), 1234567});
    ASSERT_TRUE(save_consumer_state(dir, N("cat.example."), st).ok());
    auto back = load_consumer_state(dir, N("Cat.Example."));
    ASSERT_TRUE(back.ok()) << back.error().message;
    ASSERT_TRUE(back->members.has_value());
    EXPECT_EQ(back->members->serial, 7u);
    ASSERT_EQ(back->members->members.size(), 2u);
    EXPECT_EQ(back->members->members[0].group, "signed group%");
    EXPECT_EQ(back->members->members[0].id, "m1");
    EXPECT_TRUE(back->members->members[1].coo->equals(N("other.example.")));
    ASSERT_EQ(back->removed.size(), 1u);
    EXPECT_EQ(back->removed[0].purge_at, 1234567);

    // A file cut short is refused, never half read.
    const std::string path = consumer_state_path(dir, N("cat.example."));
    std::ofstream(path, std::ios::trunc) << "satellite-catalog-members 1\nserial 7\n";
    EXPECT_FALSE(load_consumer_state(dir, N("cat.example.")).ok());
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace satellite::zone
