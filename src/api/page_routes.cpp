// The status page's routes (DESIGN.md §5 `GET /`): the pages need a token
// with zone:read, from the API's `Authorization: Bearer` header (scripts)
// or from a login session (browsers): POST /login takes the secret in a
// form body and sets an HttpOnly, SameSite=Strict cookie holding a random
// session id — a secret never travels in a URL and is never shown.
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "api/router.hpp"
#include "api/status_page.hpp"

namespace satellite::api {

namespace {

constexpr std::string_view kCookie = "satellite_session";

HttpResponse html(unsigned status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.content_type = "text/html; charset=utf-8";
    r.body = std::move(body);
    // Nothing but our inline CSS and SVG may load; forms post only to us; no framing.
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
}

HttpResponse redirect(std::string_view location) {
    HttpResponse r = html(303, "");
    r.headers.emplace_back("Location", std::string(location));
    return r;
}

// The `token` field of an application/x-www-form-urlencoded body.
std::string form_field(std::string_view body, std::string_view name) {
    auto hex = [](char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    };
    while (!body.empty()) {
        const std::size_t amp = body.find('&');
        std::string_view pair = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
        const std::size_t eq = pair.find('=');
        if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
        std::string out;
        std::string_view v = pair.substr(eq + 1);
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (v[i] == '+') {
                out.push_back(' ');
            } else if (v[i] == '%' && i + 2 < v.size() && hex(v[i + 1]) >= 0 && hex(v[i + 2]) >= 0) {
                out.push_back(static_cast<char>(hex(v[i + 1]) * 16 + hex(v[i + 2])));
                i += 2;
            } else {
                out.push_back(v[i]);
            }
        }
        return out;
    }
    return {};
}

std::string with_final_dot(std::string name) {
    if (name.empty() || name.back() != '.') name.push_back('.');
    return name;
}

}  // namespace

HttpResponse Router::page(const HttpRequest& req, std::string_view path, const std::vector<std::string>& s) {
    enum class Page { Overview, Zone, Login, Logout } kind = Page::Overview;
    if (s.size() == 2) kind = Page::Zone;
    if (s.size() == 1) kind = s[0] == "login" ? Page::Login : Page::Logout;
    const bool get = req.method == "GET", post = req.method == "POST";
    const char* allow = kind == Page::Login ? "GET, POST" : kind == Page::Logout ? "POST" : "GET";
    if ((kind == Page::Login && !get && !post) || (kind == Page::Logout && !post) ||
        ((kind == Page::Overview || kind == Page::Zone) && !get)) {
        HttpResponse r = html(405, message_page("Method not allowed", "use " + std::string(allow) + " for " +
                                                                          std::string(path)));
        r.headers.emplace_back("Allow", allow);
        return r;
    }
    const auto now = AuthThrottle::Clock::now();
    const std::int64_t wall = static_cast<std::int64_t>(std::time(nullptr));

    if (kind == Page::Login && get) return html(200, login_page(""));
    if (kind == Page::Logout) {
        sessions_.close(cookie_value(req.cookie, kCookie));
        HttpResponse r = redirect("/login");
        r.headers.emplace_back("Set-Cookie", std::string(kCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        return r;
    }
    if (unsigned wait = throttle_.retry_after(req.peer_address, now); wait > 0) {
        HttpResponse r = html(429, login_page("too many failed logins from this address; try again in " +
                                              std::to_string(wait) + " s"));
        r.headers.emplace_back("Retry-After", std::to_string(wait));
        return r;
    }
    if (kind == Page::Login) {
        const std::string secret = form_field(req.body, "token");
        const Tokens::Token* token = tokens_.find(secret);
        if (!token) {
            if (!secret.empty()) throttle_.failed(req.peer_address, now);
            return html(401, login_page(secret.empty() ? "enter a token" : "unknown token"));
        }
        if (!token->allows("zone:read")) {
            HttpResponse r = html(403, login_page("token '" + token->name + "' lacks the permission 'zone:read'"));
            r.token_name = token->name;
            return r;
        }
        HttpResponse r = redirect("/");
        // Max-Age: the cookie lasts as long as the session (Sessions::kLifetime).
        r.headers.emplace_back("Set-Cookie", std::string(kCookie) + "=" + sessions_.open(token->digest, now) +
                                                 "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                                 std::to_string(std::chrono::seconds(Sessions::kLifetime).count()));
        r.token_name = token->name;
        return r;
    }

    // The pages: a bearer token (as the API takes it), else the session cookie.
    const Tokens::Token* token = nullptr;
    std::string_view secret = bearer_secret(req.authorization);
    if (!secret.empty()) {
        token = tokens_.find(secret);
        if (!token) {
            throttle_.failed(req.peer_address, now);
            HttpResponse r = html(401, login_page("unknown token"));
            r.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="satellite", error="invalid_token")");
            return r;
        }
    } else {
        token = sessions_.token(cookie_value(req.cookie, kCookie), tokens_, now);
    }
    if (!token) {
        HttpResponse r = html(401, login_page(""));
        r.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="satellite")");
        return r;
    }
    if (!token->allows("zone:read")) {
        HttpResponse r = html(403, message_page("Not allowed", "token '" + token->name +
                                                                   "' lacks the permission 'zone:read'"));
        r.token_name = token->name;
        return r;
    }
    HttpResponse r;
    if (kind == Page::Overview) {
        const std::size_t q = req.target.find('?');
        const auto query = parse_overview_query(q == std::string_view::npos ? "" : req.target.substr(q + 1));
        r = html(200, overview_page(control_.zones(), query, wall));
    } else {
        auto z = control_.zone(s[1]);
        if (!z) {
            r = html(404, message_page("Unknown zone", "zone " + s[1] + " is not served here"));
        } else {
            std::optional<DnssecReply> d;
            if (z->mode != "presigned") {
                DnssecReply reply = control_.dnssec(with_final_dot(z->name), DnssecOp::Get, {});
                if (reply.http_status == 200) d = std::move(reply);
            }
            r = html(200, zone_page(*z, d, wall));
        }
    }
    r.token_name = token->name;
    return r;
}

}  // namespace satellite::api
