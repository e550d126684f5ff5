// The status page (DESIGN.md §5 `GET /`): server-rendered HTML with inline
// CSS and SVG, no script and no external asset. Pure functions of Control's
// structs and `now`, so every page is unit-tested without a socket; every
// string from a zone, a key or a request is escaped on its way in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/control.hpp"

namespace satellite::api {

// Text for HTML content and double-quoted attribute values (& < > " ').
std::string html_escape(std::string_view s);

// `?sort=...&order=...&phase=...&mode=...&q=...` of the all-zones table;
// unknown or malformed parameters are ignored (the defaults apply).
struct OverviewQuery {
    std::string sort = "name";  // name mode phase serial last_transfer next_refresh effective_expiry signature_expiry error
    bool descending = false;
    std::string phase;          // "" = any; ok | refreshing | expired
    std::string mode;           // "" = any; presigned | live | multi-signer
    bool problems = false;      // only zones /readyz counts as not ready, or with a last error
    std::string name;           // substring of the zone name
};
OverviewQuery parse_overview_query(std::string_view query);

// One key's lane in the timeline (RFC 7583): its past states as far as the
// lifecycle recorded them, the state it is in at `now`, and the moves
// planned from its timings. Times are unix seconds.
struct TimelineSegment {
    std::string state;  // publish ready active retire dead ds_submit ds_publish ds_ready key_publish
    std::int64_t from = 0, to = 0;
    bool planned = false;  // after now
};
struct TimelineLane {
    std::uint16_t key_tag = 0;
    std::string key_type;  // KSK | ZSK
    bool standby = false;
    std::string state_now;
    std::vector<TimelineSegment> segments;  // in time order, within [start, end]
    std::string note;  // what the lane does not show: "waits for the DS at the parent", "retires 2027-03-01"
};
struct Timeline {
    std::int64_t start = 0, end = 0, now = 0;
    std::vector<TimelineLane> lanes;  // one per key, KSKs first
};
// `publish_after`: DnssecReply's (end of a rolling KSK's publish wait).
Timeline key_timeline(const std::vector<KeyInfo>& ksk, const std::vector<KeyInfo>& zsk, std::int64_t publish_after,
                      std::int64_t now);
// The timeline as one <svg> element: a lane per key (class "lane",
// data-key-tag, data-state-now), a rect per segment (data-state,
// data-planned), a time axis, and the "now" line (class "now").
std::string timeline_svg(const Timeline& t);

// GET /: every zone, filtered and sorted per `q`.
std::string overview_page(const std::vector<ZoneInfo>& zones, const OverviewQuery& q, std::int64_t now);
// GET /zones/{zone}: the zone's state and, when it is signed here
// (`dnssec` set), its DNSSEC status, DS records and key timeline.
std::string zone_page(const ZoneInfo& zone, const std::optional<DnssecReply>& dnssec, std::int64_t now);
// The login form (POST /login with the token's secret); `message` says why it is shown again.
std::string login_page(std::string_view message);
// A page saying what went wrong (404 and the like).
std::string message_page(std::string_view title, std::string_view message);

}  // namespace satellite::api
