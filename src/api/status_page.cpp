// Status page HTML. Everything is drawn here from Control's structs: no
// script, no asset fetched from anywhere, links (query parameters) for
// sorting and filtering. The key timeline follows RFC 7583's figures: time
// runs left to right, one lane per key, a state per stretch of time.
#include "api/status_page.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>

namespace satellite::api {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// application/x-www-form-urlencoded value (HTML §4.10.21.7): '+' is a space.
std::string form_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out.push_back(' ');
        } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
                   hex_value(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// RFC 3986 §2.3: everything but unreserved characters is percent-encoded.
std::string url_encode(std::string_view s) {
    static const char* d = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(d[c >> 4]);
            out.push_back(d[c & 15]);
        }
    }
    return out;
}

std::string utc(std::int64_t t, const char* format = "%Y-%m-%d %H:%M:%SZ") {
    if (t == 0) return "";
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    if (!gmtime_r(&tt, &tm)) return "";
    std::array<char, 40> buf{};
    return std::string(buf.data(), std::strftime(buf.data(), buf.size(), format, &tm));
}

// "3d 4h", "2h 5m", "40s": the two largest units.
std::string duration(std::int64_t s) {
    if (s < 0) s = -s;
    const std::int64_t d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;
    if (d > 0) return std::to_string(d) + "d" + (h ? " " + std::to_string(h) + "h" : "");
    if (h > 0) return std::to_string(h) + "h" + (m ? " " + std::to_string(m) + "m" : "");
    if (m > 0) return std::to_string(m) + "m" + (s % 60 ? " " + std::to_string(s % 60) + "s" : "");
    return std::to_string(s) + "s";
}

// A time as "in 2h 5m" / "5m ago", the exact UTC time in its tooltip; "—" for 0.
std::string when(std::int64_t t, std::int64_t now) {
    if (t == 0) return "<span class=\"none\">—</span>";
    std::string rel = t >= now ? "in " + duration(t - now) : duration(now - t) + " ago";
    return "<time datetime=\"" + html_escape(utc(t, "%Y-%m-%dT%H:%M:%SZ")) + "\" title=\"" + html_escape(utc(t)) +
           "\">" + html_escape(rel) + "</time>";
}

std::string serial(const std::optional<std::uint32_t>& s) {
    return s ? std::to_string(*s) : "<span class=\"none\">—</span>";
}

// "AXFR running: 120,000 records, 8.1 MB, 40,000/s" / "signing: 45% (4,500 of 10,000), 2,000/s, about 3 s left".
std::string progress_text(const ProgressInfo& p, bool transfer) {
    char buf[200];
    if (transfer) {
        std::snprintf(buf, sizeof buf, "%s: %llu records, %.1f MB, %.0f records/s", p.running ? "transfer running" : "last transfer",
                      static_cast<unsigned long long>(p.done), static_cast<double>(p.bytes) / 1e6, p.rate);
    } else {
        const double pct = p.total ? 100.0 * static_cast<double>(p.done) / static_cast<double>(p.total) : 0;
        std::snprintf(buf, sizeof buf, "%s: %.0f%% (%llu of %llu signatures), %.0f/s", p.running ? "signing" : "last signing",
                      pct, static_cast<unsigned long long>(p.done), static_cast<unsigned long long>(p.total), p.rate);
    }
    std::string out = buf;
    if (!p.running) out += ", took " + duration(static_cast<std::int64_t>(p.seconds + 0.5));
    if (p.running && p.eta_s >= 0) out += ", about " + duration(p.eta_s) + " left";
    return out;
}

// A bar for a running piece of work with a known total (inline SVG).
std::string progress_bar(const ProgressInfo& p) {
    if (!p.running || p.total == 0) return "";
    const double f = std::min(1.0, static_cast<double>(p.done) / static_cast<double>(p.total));
    char buf[300];
    std::snprintf(buf, sizeof buf,
                  "<svg class=\"bar\" width=\"120\" height=\"10\" role=\"img\" aria-label=\"%.0f%%\">"
                  "<rect width=\"120\" height=\"10\" fill=\"#e3e6ea\"/><rect width=\"%.1f\" height=\"10\" "
                  "fill=\"#3584e4\"/></svg>",
                  f * 100, f * 120);
    return buf;
}

constexpr std::string_view kStyle = R"(<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d2430;background:#fafbfc}
h1{font-size:1.4em;margin:0 0 .6em}h2{font-size:1.15em;margin:1.4em 0 .5em}
a{color:#1a5fb4}table{border-collapse:collapse;background:#fff}
th,td{border:1px solid #d5dae1;padding:.3em .55em;text-align:left;vertical-align:top}
th{background:#eef1f5;white-space:nowrap}th a{text-decoration:none}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.none{color:#99a}.err{color:#a51d2d}.ok{color:#26a269}.refreshing{color:#c64600}.expired{color:#a51d2d;font-weight:bold}
td.err{min-width:16em;max-width:32em}
nav.filters a{margin-right:.7em}nav.filters a.on{font-weight:bold;text-decoration:none;color:#1d2430}
dl.fields{display:grid;grid-template-columns:max-content auto;gap:.2em 1em;background:#fff;padding:.6em;border:1px solid #d5dae1}
dl.fields dt{font-weight:600}dl.fields dd{margin:0}
code{font:12px/1.3 ui-monospace,monospace;word-break:break-all}
.timeline{background:#fff;border:1px solid #d5dae1}
header{display:flex;justify-content:space-between;align-items:baseline}
form.inline{display:inline}
</style>)";

std::string page(std::string_view title, std::string_view body, bool logged_in = true) {
    std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width\">"
                      "<title>" + html_escape(title) + " — Satellite</title>";
    out += kStyle;
    out += "</head><body><header><h1>" + html_escape(title) + "</h1>";
    if (logged_in) {
        out += "<span><a href=\"/\">all zones</a> · <form class=\"inline\" method=\"post\" action=\"/logout\">"
               "<button type=\"submit\">log out</button></form></span>";
    }
    out += "</header>\n";
    out += body;
    out += "\n</body></html>\n";
    return out;
}

// -- the all-zones table --

struct Column {
    std::string_view key;    // the sort parameter
    std::string_view title;
};
constexpr Column kColumns[] = {
    {"name", "Zone"},          {"mode", "Mode"},           {"phase", "Phase"},
    {"serial", "Served"},      {"", "Stored"},             {"", "Notified"},
    {"last_transfer", "Last transfer"}, {"next_refresh", "Next refresh"}, {"effective_expiry", "Effective expiry"},
    {"signature_expiry", "Earliest signature expiry"}, {"error", "Last error"},
};

std::string overview_link(OverviewQuery q) {
    std::string out = "/?sort=" + url_encode(q.sort) + (q.descending ? "&order=desc" : "");
    if (!q.phase.empty()) out += "&phase=" + url_encode(q.phase);
    if (!q.mode.empty()) out += "&mode=" + url_encode(q.mode);
    if (q.problems) out += "&problems=1";
    if (!q.name.empty()) out += "&q=" + url_encode(q.name);
    return out;
}

// A time sorts "never" (0) after every real time.
std::int64_t time_key(std::int64_t t) { return t == 0 ? INT64_MAX : t; }

bool less(const ZoneInfo& a, const ZoneInfo& b, std::string_view key) {
    if (key == "mode") return a.mode < b.mode;
    if (key == "phase") return a.phase < b.phase;
    if (key == "serial") return a.serial.value_or(0) < b.serial.value_or(0);
    if (key == "last_transfer") return time_key(a.last_transfer) < time_key(b.last_transfer);
    if (key == "next_refresh") return time_key(a.next_refresh) < time_key(b.next_refresh);
    if (key == "effective_expiry") return time_key(a.effective_expiry) < time_key(b.effective_expiry);
    if (key == "signature_expiry") return time_key(a.signature_expiry) < time_key(b.signature_expiry);
    if (key == "error") return a.last_error > b.last_error;  // zones with an error first
    return false;
}

bool problem(const ZoneInfo& z) { return !z.not_ready.empty() || !z.last_error.empty(); }

}  // namespace

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out.push_back(c);
        }
    }
    return out;
}

OverviewQuery parse_overview_query(std::string_view query) {
    OverviewQuery q;
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        const std::size_t eq = pair.find('=');
        const std::string key = form_decode(pair.substr(0, eq));
        const std::string value = eq == std::string_view::npos ? "" : form_decode(pair.substr(eq + 1));
        if (key == "sort") {
            for (const auto& c : kColumns) {
                if (!c.key.empty() && value == c.key) q.sort = value;
            }
        } else if (key == "order") {
            q.descending = value == "desc";
        } else if (key == "phase" && (value == "ok" || value == "refreshing" || value == "expired")) {
            q.phase = value;
        } else if (key == "mode" && (value == "presigned" || value == "live" || value == "multi-signer")) {
            q.mode = value;
        } else if (key == "problems") {
            q.problems = value == "1";
        } else if (key == "q") {
            q.name = value.substr(0, 255);
        }
    }
    return q;
}

std::string overview_page(const std::vector<ZoneInfo>& zones, const OverviewQuery& q, std::int64_t now) {
    std::vector<const ZoneInfo*> shown;
    std::size_t problems = 0;
    for (const auto& z : zones) {
        problems += problem(z);
        if (!q.phase.empty() && z.phase != q.phase) continue;
        if (!q.mode.empty() && z.mode != q.mode) continue;
        if (q.problems && !problem(z)) continue;
        if (!q.name.empty() && z.name.find(q.name) == std::string::npos) continue;
        shown.push_back(&z);
    }
    std::stable_sort(shown.begin(), shown.end(), [](const ZoneInfo* a, const ZoneInfo* b) { return a->name < b->name; });
    std::stable_sort(shown.begin(), shown.end(), [&](const ZoneInfo* a, const ZoneInfo* b) {
        return q.descending ? less(*b, *a, q.sort) : less(*a, *b, q.sort);
    });

    std::string b;
    b += "<p>" + std::to_string(zones.size()) + " zones, " + std::to_string(problems) +
         " with a problem; page drawn " + html_escape(utc(now)) + ".</p>\n";
    // Filters: plain links, each keeping the other choices.
    auto filter_links = [&](std::string_view label, std::string OverviewQuery::*field,
                            std::initializer_list<std::string_view> values) {
        b += "<nav class=\"filters\">" + std::string(label) + ": ";
        for (std::string_view v : values) {
            OverviewQuery l = q;
            l.*field = std::string(v);
            const bool on = q.*field == v;
            b += "<a" + std::string(on ? " class=\"on\"" : "") + " href=\"" + html_escape(overview_link(l)) + "\">" +
                 html_escape(v.empty() ? "any" : v) + "</a>";
        }
        b += "</nav>\n";
    };
    filter_links("Phase", &OverviewQuery::phase, {"", "ok", "refreshing", "expired"});
    filter_links("Mode", &OverviewQuery::mode, {"", "presigned", "live", "multi-signer"});
    {
        OverviewQuery all = q, only = q;
        all.problems = false;
        only.problems = true;
        b += "<nav class=\"filters\">Show: <a" + std::string(!q.problems ? " class=\"on\"" : "") + " href=\"" +
             html_escape(overview_link(all)) + "\">every zone</a><a" + std::string(q.problems ? " class=\"on\"" : "") +
             " href=\"" + html_escape(overview_link(only)) + "\">only zones with a problem</a></nav>\n";
    }
    // A GET form needs no script: the name filter keeps the other choices as hidden fields.
    b += "<form method=\"get\" action=\"/\"><input type=\"hidden\" name=\"sort\" value=\"" + html_escape(q.sort) + "\">";
    if (q.descending) b += "<input type=\"hidden\" name=\"order\" value=\"desc\">";
    if (!q.phase.empty()) b += "<input type=\"hidden\" name=\"phase\" value=\"" + html_escape(q.phase) + "\">";
    if (!q.mode.empty()) b += "<input type=\"hidden\" name=\"mode\" value=\"" + html_escape(q.mode) + "\">";
    if (q.problems) b += "<input type=\"hidden\" name=\"problems\" value=\"1\">";
    b += "<label>Zone name contains <input name=\"q\" value=\"" + html_escape(q.name) +
         "\"></label> <button type=\"submit\">filter</button></form>\n";

    b += "<table id=\"zones\"><thead><tr>";
    for (const auto& c : kColumns) {
        if (c.key.empty()) {
            b += "<th>" + std::string(c.title) + "</th>";
            continue;
        }
        OverviewQuery l = q;
        l.sort = std::string(c.key);
        l.descending = q.sort == c.key && !q.descending;
        const char* arrow = q.sort == c.key ? (q.descending ? " ▼" : " ▲") : "";
        b += "<th><a href=\"" + html_escape(overview_link(l)) + "\">" + std::string(c.title) + arrow + "</a></th>";
    }
    b += "</tr></thead><tbody>\n";
    for (const ZoneInfo* z : shown) {
        std::string name = z->name;
        if (name.size() > 1 && name.back() == '.') name.pop_back();
        b += "<tr data-zone=\"" + html_escape(z->name) + "\"><td><a href=\"/zones/" + html_escape(url_encode(name)) +
             "\">" + html_escape(z->name) + "</a>" + (z->serving ? "" : " <span class=\"err\">(not served)</span>") +
             "</td>";
        b += "<td>" + html_escape(z->mode) + (z->dnssec_status.empty() ? "" : "<br><small>" + html_escape(z->dnssec_status) + "</small>") + "</td>";
        b += "<td class=\"" + html_escape(z->phase) + "\">" + html_escape(z->phase);
        if (z->transfer_progress && z->transfer_progress->running) {
            b += "<br><small class=\"progress\" data-kind=\"transfer\">" +
                 html_escape(progress_text(*z->transfer_progress, true)) + "</small>";
        }
        if (z->signing_progress && z->signing_progress->running) {
            b += "<br><small class=\"progress\" data-kind=\"signing\">" +
                 html_escape(progress_text(*z->signing_progress, false)) + "</small>" +
                 progress_bar(*z->signing_progress);
        }
        b += "</td>";
        b += "<td class=\"num\">" + serial(z->serial) + "</td><td class=\"num\">" + serial(z->stored_serial) +
             "</td><td class=\"num\">" + serial(z->notified_serial) + "</td>";
        b += "<td>" + when(z->last_transfer, now) +
             (z->last_transfer_kind.empty() ? "" : " <small>" + html_escape(z->last_transfer_kind) + "</small>") + "</td>";
        b += "<td>" + when(z->next_refresh, now) + "</td>";
        b += "<td>" + when(z->effective_expiry, now) + "</td>";
        b += "<td>" + when(z->signature_expiry, now) +
             (z->signature_rrset.empty() ? "" : "<br><small>" + html_escape(z->signature_rrset) + "</small>") + "</td>";
        // Why it is not ready, and the last error unless that already says it.
        std::string why = z->not_ready;
        if (!z->last_error.empty() && why.find(z->last_error) == std::string::npos) {
            why += (why.empty() ? "" : "; ") + z->last_error;
        }
        b += "<td class=\"err\">" + html_escape(why) + "</td></tr>\n";
    }
    b += "</tbody></table>\n";
    if (shown.empty()) b += "<p class=\"none\">No zone matches these filters.</p>\n";
    return page("Satellite zones", b);
}

// -- the key timeline --

namespace {

// The lifecycle's next state after a timed move (lifecycle.hpp's diagram).
std::string next_state(const KeyInfo& k) {
    if (k.state == "publish") return k.key_type == "ZSK" ? "active" : "ds_submit";
    if (k.state == "ds_publish") return k.standby ? "ds_ready" : "active";
    if (k.state == "key_publish") return "active";
    if (k.state == "retire") return "dead";
    return "";
}

bool before_active(std::string_view s) {
    return s == "publish" || s == "ds_submit" || s == "ds_publish" || s == "ds_ready" || s == "key_publish";
}

}  // namespace

Timeline key_timeline(const std::vector<KeyInfo>& ksk, const std::vector<KeyInfo>& zsk, std::int64_t publish_after,
                      std::int64_t now) {
    Timeline t;
    t.now = now;
    std::vector<const KeyInfo*> keys;
    for (const auto& k : ksk) keys.push_back(&k);
    for (const auto& k : zsk) keys.push_back(&k);

    // The axis: from the oldest recorded move (at least an hour back) to the
    // last planned one; a planned end far beyond the near moves (a lifetime
    // of months) is noted on the lane instead of squashing the rest.
    std::int64_t start = now - 3600, near_end = now + 3600;
    for (const KeyInfo* k : keys) {
        const std::int64_t published = k->published_at ? k->published_at : k->created_at;
        if (published > 0) start = std::min(start, published);
        if (k->next_transition > 0) near_end = std::max(near_end, k->next_transition);
    }
    if (publish_after > 0) near_end = std::max(near_end, publish_after);
    std::int64_t end = near_end;
    for (const KeyInfo* k : keys) {
        if (k->expires_at > near_end && k->expires_at - start <= 4 * (near_end - start)) end = std::max(end, k->expires_at);
    }
    const std::int64_t pad = std::max<std::int64_t>((end - start) / 12, 60);
    t.start = start;
    t.end = end + pad;

    // When a key waiting to take over becomes active, the active key of its
    // role retires (lifecycle.hpp: the new ZSK signs, the old one retires;
    // the new KSK's DS is in, the old KSK retires).
    auto successor_active_at = [&](const KeyInfo& k) -> std::int64_t {
        std::int64_t at = 0;
        for (const KeyInfo* o : keys) {
            if (o == &k || o->key_type != k.key_type || o->standby || o->next_transition <= now) continue;
            const bool takes_over = o->key_type == "ZSK" ? o->state == "publish"
                                                         : o->state == "ds_publish" || o->state == "key_publish";
            if (takes_over && (at == 0 || o->next_transition < at)) at = o->next_transition;
        }
        return at;
    };

    for (const KeyInfo* kp : keys) {
        const KeyInfo& k = *kp;
        TimelineLane lane;
        lane.key_tag = k.key_tag;
        lane.key_type = k.key_type;
        lane.standby = k.standby;
        lane.state_now = k.state;
        auto add = [&](std::string state, std::int64_t from, std::int64_t to, bool planned) {
            from = std::max(from, t.start);
            to = std::min(to, t.end);
            if (to <= from) return;
            lane.segments.push_back({std::move(state), from, to, planned});
        };
        const std::int64_t published = std::min(k.published_at ? k.published_at : k.created_at, now);
        // The current state began at the last recorded move that leads to it.
        std::int64_t since = published;
        if (k.state == "active" && k.active_at) since = k.active_at;
        if ((k.state == "retire" || k.state == "dead") && k.retire_at) since = k.retire_at;
        if (k.state == "ds_submit" && !k.standby && publish_after > 0 && publish_after <= now) since = publish_after;
        if (before_active(k.state) && k.active_at > since) since = k.active_at;  // an enabled KSK signs from the start
        since = std::min(since, now);
        // Past states before it, as the lifecycle recorded their times.
        if (since > published) {
            const std::int64_t active_from = k.active_at && k.active_at < since ? k.active_at : since;
            if (active_from > published) add("publish", published, active_from, false);
            if ((k.state == "retire" || k.state == "dead") && k.active_at && k.active_at < since) {
                add("active", k.active_at, since, false);
            }
        }
        add(k.state, since, now, false);
        // Planned moves.
        const std::string next = next_state(k);
        if (k.next_transition > now && !next.empty()) {
            add(k.state, now, k.next_transition, true);
            if (next == "active" && k.expires_at > k.next_transition) {
                add(next, k.next_transition, k.expires_at, true);
                add("retire", k.expires_at, t.end, true);
            } else {
                add(next, k.next_transition, t.end, true);
            }
        } else if (const std::int64_t handover = k.state == "active" ? successor_active_at(k) : 0; handover > now) {
            add("active", now, handover, true);
            add("retire", handover, t.end, true);
        } else if (k.state == "active" && k.expires_at > now) {
            add("active", now, k.expires_at, true);
            add("retire", k.expires_at, t.end, true);
        } else {
            add(k.state, now, t.end, true);
        }
        if (k.state == "active" && successor_active_at(k) > now) {
            lane.note = "retires when its successor is active";
        } else if (k.expires_at > t.end && (k.state == "active" || before_active(k.state))) {
            lane.note = "retires " + utc(k.expires_at, "%Y-%m-%d");
        } else if (k.next_transition == 0 && (k.state == "ds_submit")) {
            lane.note = "waits for its DS at the parent (confirm-ds)";
        } else if (k.next_transition == 0 && k.state == "ds_ready") {
            lane.note = "ready: its DS is at the parent; a KSK roll publishes it";
        } else if (k.next_transition > 0 && k.next_transition <= now && !next.empty()) {
            lane.note = "moves to " + next + " now";
        } else if (k.next_transition > 0 && k.next_transition <= now && k.state == "publish") {
            lane.note = "waits for the peers";
        }
        t.lanes.push_back(std::move(lane));
    }
    return t;
}

namespace {

const char* state_colour(std::string_view s) {
    if (s == "publish" || s == "key_publish") return "#62a0ea";
    if (s == "ready" || s == "ds_ready") return "#8ff0a4";
    if (s == "active") return "#33d17a";
    if (s == "retire") return "#f8e45c";
    if (s == "dead") return "#c0bfbc";
    if (s == "ds_submit") return "#dc8add";
    if (s == "ds_publish") return "#c061cb";
    return "#deddda";
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

}  // namespace

std::string timeline_svg(const Timeline& t) {
    constexpr double kLabel = 170, kWidth = 980, kLaneHeight = 42, kTop = 30, kAxis = 34;
    const double plot = kWidth - kLabel - 20;
    const double height = kTop + kLaneHeight * static_cast<double>(t.lanes.size()) + kAxis;
    const double span = static_cast<double>(std::max<std::int64_t>(t.end - t.start, 1));
    auto x = [&](std::int64_t when) { return kLabel + plot * static_cast<double>(when - t.start) / span; };

    std::string s = "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kWidth) +
                    "\" height=\"" + num(height) + "\" viewBox=\"0 0 " + num(kWidth) + " " + num(height) +
                    "\" role=\"img\" aria-label=\"key timeline\" data-start=\"" + std::to_string(t.start) +
                    "\" data-end=\"" + std::to_string(t.end) + "\" data-now=\"" + std::to_string(t.now) + "\">";
    s += "<defs><pattern id=\"planned\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" "
         "patternTransform=\"rotate(45)\"><rect width=\"8\" height=\"8\" fill=\"#fff\" fill-opacity=\"0.0\"/>"
         "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"#fff\" stroke-width=\"3\" stroke-opacity=\"0.55\"/>"
         "</pattern></defs>";
    // The time axis: about eight ticks on a round step.
    static constexpr std::int64_t kSteps[] = {60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400,
                                              2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 90 * 86400, 365 * 86400};
    std::int64_t step = kSteps[std::size(kSteps) - 1];
    for (std::int64_t st : kSteps) {
        if ((t.end - t.start) / st <= 8) {
            step = st;
            break;
        }
    }
    const char* format = step >= 86400 ? "%m-%d" : "%m-%d %H:%M";
    const double axis_y = kTop + kLaneHeight * static_cast<double>(t.lanes.size()) + 4;
    for (std::int64_t tick = (t.start / step + 1) * step; tick < t.end; tick += step) {
        s += "<line x1=\"" + num(x(tick)) + "\" y1=\"" + num(kTop - 4) + "\" x2=\"" + num(x(tick)) + "\" y2=\"" +
             num(axis_y) + "\" stroke=\"#e3e6ea\"/><text x=\"" + num(x(tick)) + "\" y=\"" + num(axis_y + 16) +
             "\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">" + html_escape(utc(tick, format)) + "</text>";
    }
    for (std::size_t i = 0; i < t.lanes.size(); ++i) {
        const TimelineLane& lane = t.lanes[i];
        const double y = kTop + kLaneHeight * static_cast<double>(i);
        s += "<g class=\"lane\" data-key-tag=\"" + std::to_string(lane.key_tag) + "\" data-key-type=\"" +
             html_escape(lane.key_type) + "\" data-state-now=\"" + html_escape(lane.state_now) + "\">";
        s += "<text x=\"6\" y=\"" + num(y + 15) + "\" font-size=\"13\" font-weight=\"600\">" +
             html_escape(lane.key_type) + " " + std::to_string(lane.key_tag) + (lane.standby ? " (standby)" : "") +
             "</text><text x=\"6\" y=\"" + num(y + 28) + "\" font-size=\"11\" fill=\"#555\">now: " +
             html_escape(lane.state_now) + "</text>";
        for (const auto& seg : lane.segments) {
            const double x0 = x(seg.from), x1 = x(seg.to);
            s += "<rect class=\"segment\" data-state=\"" + html_escape(seg.state) + "\" data-planned=\"" +
                 (seg.planned ? "true" : "false") + "\" data-from=\"" + std::to_string(seg.from) + "\" data-to=\"" +
                 std::to_string(seg.to) + "\" x=\"" + num(x0) + "\" y=\"" + num(y + 4) + "\" width=\"" +
                 num(x1 - x0) + "\" height=\"" + num(kLaneHeight - 18) + "\" fill=\"" + state_colour(seg.state) +
                 "\"" + (seg.planned ? " fill-opacity=\"0.45\" stroke=\"#888\" stroke-dasharray=\"4 3\"" : "") +
                 "><title>" + html_escape(seg.state + (seg.planned ? " (planned) " : " ") + utc(seg.from) + " → " +
                                          utc(seg.to)) +
                 "</title></rect>";
            if (x1 - x0 > 8.0 * static_cast<double>(seg.state.size()) + 6) {
                s += "<text x=\"" + num(x0 + 4) + "\" y=\"" + num(y + 20) + "\" font-size=\"12\" fill=\"#1d2430\">" +
                     html_escape(seg.state) + "</text>";
            }
        }
        if (!lane.note.empty()) {
            s += "<text x=\"" + num(kWidth - 8) + "\" y=\"" + num(y + 38) +
                 "\" font-size=\"10\" text-anchor=\"end\" fill=\"#555\">" + html_escape(lane.note) + "</text>";
        }
        s += "</g>";
    }
    const double nx = x(t.now);
    s += "<g class=\"now\" data-time=\"" + std::to_string(t.now) + "\"><line x1=\"" + num(nx) + "\" y1=\"" +
         num(kTop - 14) + "\" x2=\"" + num(nx) + "\" y2=\"" + num(axis_y) +
         "\" stroke=\"#e01b24\" stroke-width=\"2\"/><text x=\"" + num(nx) + "\" y=\"" + num(kTop - 18) +
         "\" font-size=\"12\" text-anchor=\"middle\" fill=\"#e01b24\">now " + html_escape(utc(t.now, "%H:%M")) +
         "</text></g>";
    s += "</svg>";
    return s;
}

namespace {

// Whether each parent server serves our DS, as the DS check (zone
// `parent_ds_check`) last asked; it asks while a DS is awaited or its removal.
std::string parent_servers(const ZoneInfo& z, std::int64_t now) {
    std::string b = "<h2>The parent's servers</h2>";
    if (!z.has_parent_check) {
        return b + "<p class=\"none\" id=\"parent-ds\">Not asked: set <code>parent_ds_check</code> on the zone for "
                   "Satellite to look at the parent's DS itself.</p>\n";
    }
    if (z.parent_checked_at == 0) {
        return b + "<p class=\"none\" id=\"parent-ds\">Not asked yet: the DS check runs while a DS is awaited "
                   "(or its removal).</p>\n";
    }
    b += "<p>As asked " + when(z.parent_checked_at, now) + ".</p>";
    b += "<table id=\"parent-ds\"><tr><th>Server</th><th>Serves our DS</th></tr>";
    for (const auto& p : z.parent_servers) {
        std::string cell;
        if (!p.answered) {
            cell = "<span class=\"err\" data-parent-ds=\"unknown\">no answer: " + html_escape(p.error) + "</span>";
        } else if (p.our_ds.empty()) {
            cell = "<span class=\"err\" data-parent-ds=\"no\">no</span>";
        } else {
            std::string tags;
            for (auto t : p.our_ds) tags += (tags.empty() ? "" : ", ") + std::to_string(t);
            cell = "<span class=\"ok\" data-parent-ds=\"yes\">yes</span> (key tag " + tags + ")";
        }
        b += "<tr><td><code>" + html_escape(p.server) + "</code></td><td>" + cell + "</td></tr>";
    }
    return b + "</table>\n";
}

}  // namespace

std::string zone_page(const ZoneInfo& z, const std::optional<DnssecReply>& d, std::int64_t now) {
    std::string b;
    b += "<h2>State</h2><dl class=\"fields\" id=\"state\">";
    auto field = [&](std::string_view name, const std::string& html) {
        b += "<dt>" + html_escape(name) + "</dt><dd>" + html + "</dd>";
    };
    field("Kind", html_escape(z.kind) + " (" + html_escape(z.source) + ")");
    field("Mode", html_escape(z.mode));
    field("Phase", "<span class=\"" + html_escape(z.phase) + "\">" + html_escape(z.phase) + "</span>" +
                       (z.serving ? "" : " <span class=\"err\">not served</span>"));
    field("Served serial", serial(z.serial));
    field("Stored serial", serial(z.stored_serial));
    field("Notified serial", serial(z.notified_serial));
    field("Records served", std::to_string(z.records));
    std::string primaries;
    for (const auto& p : z.primaries) primaries += (primaries.empty() ? "" : ", ") + html_escape(p);
    if (!primaries.empty()) field("Primaries", primaries);
    field("Last transfer", when(z.last_transfer, now) +
                               (z.last_transfer_kind.empty() ? "" : " (" + html_escape(z.last_transfer_kind) + ")"));
    if (z.transfer_progress) field("Transfer", html_escape(progress_text(*z.transfer_progress, true)));
    if (z.signing_progress) {
        field("Signing", html_escape(progress_text(*z.signing_progress, false)) + " " +
                             progress_bar(*z.signing_progress));
    }
    field("Last check", when(z.last_check, now));
    field("Next refresh", when(z.next_refresh, now));
    field("Transfers", std::to_string(z.transfers_ok) + " ok, " + std::to_string(z.transfers_failed) +
                           " failed; " + std::to_string(z.failures) + " failures in a row");
    field("Effective expiry", when(z.effective_expiry, now));
    field("Earliest signature expiry",
          when(z.signature_expiry, now) + (z.signature_rrset.empty() ? "" : " (" + html_escape(z.signature_rrset) + ")"));
    field("Ready", z.not_ready.empty() ? "<span class=\"ok\">yes</span>"
                                       : "<span class=\"err\">no: " + html_escape(z.not_ready) + "</span>");
    field("Last error", z.last_error.empty() ? "<span class=\"none\">—</span>"
                                             : "<span class=\"err\">" + html_escape(z.last_error) + "</span> " +
                                                   when(z.last_failure, now));
    b += "</dl>\n";

    b += "<h2>DNSSEC</h2>";
    if (!d) {
        b += "<p id=\"dnssec\">Not signed here: a " + html_escape(z.mode) +
             " zone is served as its primary signed it (or unsigned).</p>";
        return page(z.name, b);
    }
    b += "<dl class=\"fields\" id=\"dnssec\">";
    field("Status", "<strong data-status=\"" + html_escape(d->status) + "\">" + html_escape(d->status) + "</strong>");
    field("Algorithm", d->algorithm ? std::to_string(d->algorithm) : "<span class=\"none\">—</span>");
    field("Status since", when(d->modified_on, now));
    if (d->publish_after > 0) field("New DS may be published", when(d->publish_after, now));
    b += "</dl>\n";

    b += "<h2>DS records for the parent</h2>";
    if (d->ds_records.empty()) {
        b += "<p class=\"none\">None.</p>";
    } else {
        b += "<table id=\"ds\"><tr><th>Key tag</th><th>Record</th></tr>";
        for (const auto& ds : d->ds_records) {
            b += "<tr><td class=\"num\">" + std::to_string(ds.key_tag) + "</td><td><code>" +
                 html_escape(z.name + " IN DS " + std::to_string(ds.key_tag) + " " + std::to_string(ds.algorithm) +
                             " " + std::to_string(ds.digest_type) + " " + ds.digest) +
                 "</code></td></tr>";
        }
        b += "</table>\n";
    }
    b += parent_servers(z, now);

    b += "<h2>Keys</h2>";
    std::vector<KeyInfo> keys = d->ksk;
    keys.insert(keys.end(), d->zsk.begin(), d->zsk.end());
    if (keys.empty()) {
        b += "<p class=\"none\">No keys.</p>";
        return page(z.name, b);
    }
    b += "<table id=\"keys\"><tr><th>Key</th><th>State</th><th>Signs</th><th>Published</th><th>Active since</th>"
         "<th>Next move</th><th>Planned end</th></tr>";
    for (const auto& k : keys) {
        b += "<tr><td>" + html_escape(k.key_type) + " " + std::to_string(k.key_tag) + (k.standby ? " (standby)" : "") +
             "</td><td>" + html_escape(k.state) + "</td><td>" + (k.active ? "yes" : "no") + "</td><td>" +
             when(k.published_at ? k.published_at : k.created_at, now) + "</td><td>" + when(k.active_at, now) +
             "</td><td>" + when(k.next_transition, now) + "</td><td>" + when(k.expires_at, now) + "</td></tr>";
    }
    b += "</table>\n";
    b += "<h2>Key timeline</h2><p>RFC 7583: solid = what happened, hatched = what is planned; the red line is now.</p>";
    b += timeline_svg(key_timeline(d->ksk, d->zsk, d->publish_after, now));
    return page(z.name, b);
}

std::string login_page(std::string_view message) {
    std::string b;
    if (!message.empty()) b += "<p class=\"err\" id=\"message\">" + html_escape(message) + "</p>";
    b += "<form method=\"post\" action=\"/login\"><p>An API token with the <code>zone:read</code> permission "
         "(its secret, as in <code>Authorization: Bearer</code>).</p>"
         "<label>Token <input type=\"password\" name=\"token\" autocomplete=\"current-password\" required></label> "
         "<button type=\"submit\">log in</button></form>";
    return page("Satellite — log in", b, false);
}

std::string message_page(std::string_view title, std::string_view message) {
    return page(title, "<p>" + html_escape(message) + "</p>");
}

}  // namespace satellite::api
