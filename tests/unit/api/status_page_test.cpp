// The status page's HTML as pure functions: escaping, the all-zones table's
// sorting and filtering links, the zone page, and the key timeline's lanes
// (one per key, the state at "now", past and planned segments).
#include "api/status_page.hpp"

#include <gtest/gtest.h>

#include <string>

namespace satellite::api {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
}

ZoneInfo zone(std::string name, std::string mode, std::string phase) {
    ZoneInfo z;
    z.name = std::move(name);
    z.kind = "secondary";
    z.mode = std::move(mode);
    z.phase = std::move(phase);
    z.serving = z.phase != "expired";
    z.serial = 7;
    return z;
}

KeyInfo key(std::uint16_t tag, std::string type, std::string state) {
    KeyInfo k;
    k.key_tag = tag;
    k.key_type = std::move(type);
    k.state = std::move(state);
    k.created_at = k.published_at = kNow - 7200;
    return k;
}

const TimelineSegment* at(const TimelineLane& lane, std::int64_t t, bool planned) {
    for (const auto& s : lane.segments) {
        if (s.planned == planned && s.from <= t && t <= s.to) return &s;
    }
    return nullptr;
}

TEST(StatusPage, EscapesEveryHtmlSpecialCharacter) {
    EXPECT_EQ(html_escape(R"(<a href="x">'&'</a>)"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

TEST(StatusPage, ZoneStringsAreEscapedInBothPages) {
    ZoneInfo z = zone("evil.test.", "presigned", "ok");
    z.last_error = "<script>alert(1)</script>";
    z.source = "\"><img src=x>";
    const std::string overview = overview_page({z}, {}, kNow);
    const std::string page = zone_page(z, std::nullopt, kNow);
    for (const auto& html : {overview, page}) {
        EXPECT_EQ(html.find("<script>"), std::string::npos);
        EXPECT_EQ(html.find("<img"), std::string::npos);
    }
    EXPECT_NE(overview.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
}

TEST(StatusPage, QueryParametersAreParsedAndUnknownValuesIgnored) {
    OverviewQuery q = parse_overview_query("sort=next_refresh&order=desc&phase=expired&mode=live&problems=1&q=ex+am%2E");
    EXPECT_EQ(q.sort, "next_refresh");
    EXPECT_TRUE(q.descending);
    EXPECT_EQ(q.phase, "expired");
    EXPECT_EQ(q.mode, "live");
    EXPECT_TRUE(q.problems);
    EXPECT_EQ(q.name, "ex am.");
    OverviewQuery bad = parse_overview_query("sort=%3Cscript%3E&phase=bogus&mode=x&order=up&%zz=1");
    EXPECT_EQ(bad.sort, "name");
    EXPECT_FALSE(bad.descending);
    EXPECT_EQ(bad.phase, "");
    EXPECT_EQ(bad.mode, "");
}

TEST(StatusPage, OverviewFiltersAndSortsByItsParameters) {
    ZoneInfo a = zone("a.test.", "live", "ok"), b = zone("b.test.", "presigned", "expired"),
             c = zone("c.test.", "live", "refreshing");
    a.next_refresh = kNow + 300;
    b.next_refresh = kNow + 100;
    c.next_refresh = kNow + 200;
    b.last_error = "no primary answered";
    const std::vector<ZoneInfo> zones = {a, b, c};
    auto rows = [](const std::string& html) {
        std::vector<std::string> out;
        for (std::size_t at = html.find("<tr data-zone=\""); at != std::string::npos;
             at = html.find("<tr data-zone=\"", at + 1)) {
            const std::size_t from = at + 15;
            out.push_back(html.substr(from, html.find('"', from) - from));
        }
        return out;
    };
    EXPECT_EQ(rows(overview_page(zones, {}, kNow)), (std::vector<std::string>{"a.test.", "b.test.", "c.test."}));
    EXPECT_EQ(rows(overview_page(zones, parse_overview_query("sort=next_refresh"), kNow)),
              (std::vector<std::string>{"b.test.", "c.test.", "a.test."}));
    EXPECT_EQ(rows(overview_page(zones, parse_overview_query("sort=next_refresh&order=desc"), kNow)),
              (std::vector<std::string>{"a.test.", "c.test.", "b.test."}));
    EXPECT_EQ(rows(overview_page(zones, parse_overview_query("mode=live"), kNow)),
              (std::vector<std::string>{"a.test.", "c.test."}));
    EXPECT_EQ(rows(overview_page(zones, parse_overview_query("phase=expired"), kNow)),
              (std::vector<std::string>{"b.test."}));
    EXPECT_EQ(rows(overview_page(zones, parse_overview_query("problems=1"), kNow)),
              (std::vector<std::string>{"b.test."}));
    EXPECT_EQ(rows(overview_page(zones, parse_overview_query("q=c.te"), kNow)), (std::vector<std::string>{"c.test."}));
    // Links keep the other choices: the sort header under a mode filter.
    const std::string html = overview_page(zones, parse_overview_query("mode=live&sort=next_refresh"), kNow);
    EXPECT_NE(html.find("href=\"/?sort=next_refresh&amp;order=desc&amp;mode=live\""), std::string::npos);
    EXPECT_NE(html.find("href=\"/zones/a.test\""), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(StatusPage, ZonePageShowsDnssecStateDsAndOneLanePerKey) {
    ZoneInfo z = zone("example.test.", "live", "ok");
    DnssecReply d;
    d.status = "rotating_zsk";
    d.algorithm = 13;
    d.ds_records = {DsInfo{1111, 13, 2, "ABCDEF"}};
    KeyInfo ksk = key(1111, "KSK", "active");
    ksk.active_at = kNow - 7200;
    KeyInfo old_zsk = key(2222, "ZSK", "active");
    old_zsk.active_at = kNow - 7200;
    KeyInfo new_zsk = key(3333, "ZSK", "publish");
    new_zsk.published_at = kNow - 600;
    new_zsk.next_transition = kNow + 3000;
    d.ksk = {ksk};
    d.zsk = {old_zsk, new_zsk};
    const std::string html = zone_page(z, d, kNow);
    EXPECT_NE(html.find("example.test. IN DS 1111 13 2 ABCDEF"), std::string::npos);
    EXPECT_NE(html.find("data-status=\"rotating_zsk\""), std::string::npos);
    EXPECT_EQ(count(html, "<g class=\"lane\""), 3u);
    EXPECT_NE(html.find("data-key-tag=\"3333\" data-key-type=\"ZSK\" data-state-now=\"publish\""), std::string::npos);
    EXPECT_NE(html.find("<g class=\"now\" data-time=\"" + std::to_string(kNow) + "\""), std::string::npos);
    // A presigned zone has no DNSSEC section of ours.
    const std::string plain = zone_page(zone("p.test.", "presigned", "ok"), std::nullopt, kNow);
    EXPECT_EQ(plain.find("<svg"), std::string::npos);
    EXPECT_NE(plain.find("Not signed here"), std::string::npos);
}

// Issue 18: the DS check's answer per parent server, escaped, or why none.
TEST(StatusPage, ZonePageShowsWhetherEachParentServerServesOurDs) {
    ZoneInfo z = zone("example.test.", "live", "ok");
    DnssecReply d;
    d.status = "pending_ds";
    const std::string unconfigured = zone_page(z, d, kNow);
    EXPECT_NE(unconfigured.find("set <code>parent_ds_check</code>"), std::string::npos);
    z.has_parent_check = true;
    EXPECT_NE(zone_page(z, d, kNow).find("Not asked yet"), std::string::npos);
    z.parent_checked_at = kNow - 5;
    z.parent_servers = {{"192.0.2.1:53", true, {1111}, ""},
                        {"192.0.2.2:53", true, {}, ""},
                        {"192.0.2.3:53", false, {}, "connect: <refused>"}};
    const std::string html = zone_page(z, d, kNow);
    EXPECT_EQ(count(html, "data-parent-ds="), 3u);
    EXPECT_NE(html.find("data-parent-ds=\"yes\">yes</span> (key tag 1111)"), std::string::npos);
    EXPECT_NE(html.find("data-parent-ds=\"no\">no</span>"), std::string::npos);
    EXPECT_NE(html.find("no answer: connect: &lt;refused&gt;"), std::string::npos);
}

TEST(KeyTimeline, ZskRollPastNowAndPlannedMoves) {
    KeyInfo old_zsk = key(2222, "ZSK", "retire");
    old_zsk.active_at = kNow - 7200;
    old_zsk.retire_at = kNow - 1800;
    old_zsk.next_transition = kNow + 3600;
    KeyInfo new_zsk = key(3333, "ZSK", "active");
    new_zsk.published_at = kNow - 5400;
    new_zsk.active_at = kNow - 1800;
    new_zsk.expires_at = kNow + 20000;  // near enough to be drawn
    const Timeline t = key_timeline({}, {old_zsk, new_zsk}, 0, kNow);
    ASSERT_EQ(t.lanes.size(), 2u);
    EXPECT_LE(t.start, kNow - 7200);
    EXPECT_GT(t.end, kNow + 20000);

    const TimelineLane& o = t.lanes[0];
    EXPECT_EQ(o.state_now, "retire");
    ASSERT_NE(at(o, kNow - 3600, false), nullptr);
    EXPECT_EQ(at(o, kNow - 3600, false)->state, "active");  // before it retired
    EXPECT_EQ(at(o, kNow, false)->state, "retire");
    EXPECT_EQ(at(o, kNow + 1800, true)->state, "retire");
    EXPECT_EQ(at(o, kNow + 7200, true)->state, "dead");  // after next_transition

    const TimelineLane& n = t.lanes[1];
    EXPECT_EQ(at(n, kNow - 3600, false)->state, "publish");  // pre-published, then active
    EXPECT_EQ(at(n, kNow, false)->state, "active");
    EXPECT_EQ(at(n, kNow + 3600, true)->state, "active");
    EXPECT_EQ(at(n, kNow + 20000 + 60, true)->state, "retire");  // its lifetime ends
    // Segments stay in time order and inside the axis.
    for (const auto& lane : t.lanes) {
        for (std::size_t i = 0; i < lane.segments.size(); ++i) {
            EXPECT_LT(lane.segments[i].from, lane.segments[i].to);
            EXPECT_GE(lane.segments[i].from, t.start);
            EXPECT_LE(lane.segments[i].to, t.end);
            if (i > 0) {
                EXPECT_LE(lane.segments[i - 1].to, lane.segments[i].from);
            }
        }
    }
}

TEST(KeyTimeline, TheActiveZskRetiresWhenItsSuccessorBecomesActive) {
    KeyInfo old_zsk = key(2222, "ZSK", "active");
    old_zsk.active_at = kNow - 7200;
    old_zsk.expires_at = kNow + 90 * 86400;
    KeyInfo new_zsk = key(3333, "ZSK", "publish");
    new_zsk.published_at = kNow - 60;
    new_zsk.next_transition = kNow + 7200;
    const Timeline t = key_timeline({}, {old_zsk, new_zsk}, 0, kNow);
    EXPECT_EQ(at(t.lanes[0], kNow + 3600, true)->state, "active");
    EXPECT_EQ(at(t.lanes[0], kNow + 7260, true)->state, "retire");
    EXPECT_EQ(at(t.lanes[1], kNow + 7260, true)->state, "active");
    EXPECT_EQ(t.lanes[0].note, "retires when its successor is active");
}

TEST(KeyTimeline, KskWaitingForItsDsAndAFarLifetimeAsANote) {
    KeyInfo ksk = key(1111, "KSK", "ds_submit");
    ksk.active_at = ksk.published_at;  // an enabled zone's KSK signs from the start
    KeyInfo zsk = key(2222, "ZSK", "active");
    zsk.active_at = zsk.published_at;
    zsk.expires_at = kNow + 90 * 86400;
    const Timeline t = key_timeline({ksk}, {zsk}, 0, kNow);
    ASSERT_EQ(t.lanes.size(), 2u);
    EXPECT_EQ(at(t.lanes[0], kNow, false)->state, "ds_submit");
    EXPECT_EQ(t.lanes[0].note, "waits for its DS at the parent (confirm-ds)");
    EXPECT_LT(t.end, kNow + 90 * 86400);  // months away: not on this axis
    EXPECT_NE(t.lanes[1].note.find("retires "), std::string::npos);
    const std::string svg = timeline_svg(t);
    EXPECT_EQ(count(svg, "<g class=\"lane\""), 2u);
    EXPECT_NE(svg.find("data-state-now=\"ds_submit\""), std::string::npos);
}

TEST(KeyTimeline, RollingKskPublishesUntilPublishAfter) {
    KeyInfo old_ksk = key(1111, "KSK", "active");
    old_ksk.active_at = kNow - 86400;
    old_ksk.published_at = kNow - 86400;
    KeyInfo new_ksk = key(4444, "KSK", "publish");
    new_ksk.published_at = kNow - 600;
    new_ksk.next_transition = kNow + 6600;
    const Timeline t = key_timeline({old_ksk, new_ksk}, {}, kNow + 6600, kNow);
    const TimelineLane& n = t.lanes[1];
    EXPECT_EQ(at(n, kNow, false)->state, "publish");
    EXPECT_EQ(at(n, kNow + 3600, true)->state, "publish");
    EXPECT_EQ(at(n, kNow + 7200, true)->state, "ds_submit");
}

TEST(StatusPage, RunningTransferAndSigningShowTheirProgress) {
    ZoneInfo z = zone("big.test.", "live", "refreshing");
    z.transfer_progress = ProgressInfo{true, 120000, 0, 8'100'000, 3.0, 40000, 2'700'000, -1};
    z.signing_progress = ProgressInfo{true, 4500, 10000, 0, 2.25, 2000, 0, 3};
    const std::string overview = overview_page({z}, {}, kNow);
    EXPECT_NE(overview.find("transfer running: 120000 records, 8.1 MB, 40000 records/s"), std::string::npos) << overview;
    EXPECT_NE(overview.find("signing: 45% (4500 of 10000 signatures), 2000/s, about 3s left"), std::string::npos);
    EXPECT_NE(overview.find("aria-label=\"45%\""), std::string::npos);  // the bar
    z.transfer_progress->running = false;
    z.signing_progress->running = false;
    EXPECT_EQ(overview_page({z}, {}, kNow).find("class=\"progress\""), std::string::npos);  // only while running
    EXPECT_NE(zone_page(z, std::nullopt, kNow).find("last transfer: 120000 records, 8.1 MB, 40000 records/s, took 3s"),
              std::string::npos);
}

TEST(StatusPage, LoginFormPostsTheTokenInTheBodyNeverTheUrl) {
    const std::string html = login_page("unknown <token>");
    EXPECT_NE(html.find("<form method=\"post\" action=\"/login\">"), std::string::npos);
    EXPECT_NE(html.find("type=\"password\" name=\"token\""), std::string::npos);
    EXPECT_NE(html.find("unknown &lt;token&gt;"), std::string::npos);
}

}  // namespace
}  // namespace satellite::api
