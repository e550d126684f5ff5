// Routes of DESIGN.md §5 and seed 003. Order of checks: path (404), method
// (405), token (401), permission (403), body (400), then the Control call.
#include "api/router.hpp"

#include <charconv>
#include <cstdint>
#include <exception>
#include <optional>
#include <vector>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "api/json.hpp"

namespace satellite::api {

namespace json = boost::json;

namespace {

enum class Kind { Healthz, Readyz, Metrics, Zones, Zone, Refresh, Retransfer, Dnssec, PeerKeys };

// One method a path answers, and what a token needs to use it.
struct Method {
    std::string_view name;        // "GET", "POST", "DELETE"
    std::string_view permission;  // "" = no token needed
};

struct Route {
    Kind kind;
    std::vector<Method> methods;  // at least one
    std::string name;             // zone or domain_id from the path
    DnssecOp op = DnssecOp::Get;
    std::optional<std::string> key_tag = std::nullopt;  // DELETE .../peer-keys/{key_tag}, unchecked
};

struct DnssecAction {
    std::string_view word;
    DnssecOp op;
    std::string_view permission;
};

constexpr DnssecAction kDnssecActions[] = {
    {"enable", DnssecOp::Enable, "dnssec:enable"},
    {"disable", DnssecOp::Disable, "dnssec:disable"},
    {"rotate-zsk", DnssecOp::RotateZsk, "dnssec:rotate"},
    {"rotate-ksk", DnssecOp::RotateKsk, "dnssec:rotate"},
    {"confirm-ds-published", DnssecOp::ConfirmDsPublished, "dnssec:enable"},
    {"confirm-ds-removed", DnssecOp::ConfirmDsRemoved, "dnssec:disable"},
    {"sync", DnssecOp::Sync, "dnssec:enable"},  // it re-signs the zone: not a read
};

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 3986 §2.1 percent-decoding of one path segment.
std::optional<std::string> percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.push_back(s[i]);
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

// The path's segments, decoded; "/a/b/" and "/a/b" are the same path.
std::optional<std::vector<std::string>> segments(std::string_view path) {
    std::vector<std::string> out;
    path.remove_prefix(1);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    while (!path.empty()) {
        std::size_t slash = path.find('/');
        auto seg = percent_decode(path.substr(0, slash));
        if (!seg) return std::nullopt;
        out.push_back(std::move(*seg));
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    }
    return out;
}

std::optional<Route> match(const std::vector<std::string>& s) {
    const std::size_t n = s.size();
    if (n == 1 && s[0] == "healthz") return Route{Kind::Healthz, {{"GET", ""}}, {}};
    if (n == 1 && s[0] == "readyz") return Route{Kind::Readyz, {{"GET", ""}}, {}};
    if (n == 1 && s[0] == "metrics") return Route{Kind::Metrics, {{"GET", "zone:read"}}, {}};
    if (n < 3 || s[0] != "api" || s[1] != "v1") return std::nullopt;
    if (s[2] == "zones") {
        if (n == 3) return Route{Kind::Zones, {{"GET", "zone:read"}}, {}};
        if (s[3].empty()) return std::nullopt;
        if (n == 4) return Route{Kind::Zone, {{"GET", "zone:read"}}, s[3]};
        if (n == 5 && s[4] == "refresh") return Route{Kind::Refresh, {{"POST", "zone:refresh"}}, s[3]};
        if (n == 5 && s[4] == "retransfer") return Route{Kind::Retransfer, {{"POST", "zone:refresh"}}, s[3]};
        return std::nullopt;
    }
    if (s[2] == "domains" && n >= 5 && !s[3].empty() && s[4] == "dnssec") {
        if (n == 5) return Route{Kind::Dnssec, {{"GET", "dnssec:read"}}, s[3], DnssecOp::Get};
        if (s[5] == "peer-keys") {
            // RFC 8901 §2.1.2 model 2: each provider imports the others' ZSKs.
            // A key added here is signed into the DNSKEY RRset with our KSK:
            // its own permission, not one a key-rotation token has anyway.
            if (n == 6) {
                return Route{Kind::PeerKeys,
                             {{"GET", "dnssec:read"}, {"POST", "dnssec:peer-keys"}, {"DELETE", "dnssec:peer-keys"}},
                             s[3]};
            }
            if (n == 7) return Route{Kind::PeerKeys, {{"DELETE", "dnssec:peer-keys"}}, s[3], DnssecOp::Get, s[6]};
            return std::nullopt;
        }
        if (n != 6) return std::nullopt;
        for (const auto& a : kDnssecActions) {
            if (s[5] == a.word) return Route{Kind::Dnssec, {{"POST", a.permission}}, s[3], a.op};
        }
    }
    return std::nullopt;
}

// The route's methods: "GET, POST or DELETE" for the 405 message with
// `last_separator` " or ", the Allow header's list with ", " (RFC 9110 §10.2.1).
std::string method_list(const std::vector<Method>& methods, std::string_view last_separator) {
    std::string out;
    for (std::size_t i = 0; i < methods.size(); ++i) {
        if (i > 0) out += i + 1 == methods.size() ? last_separator : ", ";
        out += methods[i].name;
    }
    return out;
}

// A key tag from the path: decimal 0-65535 (RFC 4034 §5.1).
std::optional<std::uint16_t> parse_key_tag(std::string_view s) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

// Text from the path, safe to echo in an error: printable ASCII, at most 24 characters.
std::string echo(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 24)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    return s.size() > 24 ? out + "..." : out;
}

PeerKeyOp peer_key_op(std::string_view method) {
    if (method == "POST") return PeerKeyOp::Add;
    if (method == "DELETE") return PeerKeyOp::Remove;
    return PeerKeyOp::Get;
}

HttpResponse json_response(unsigned status, const json::value& v) {
    HttpResponse r;
    r.status = status;
    r.body = json::serialize(v);
    return r;
}

std::string with_final_dot(std::string name) {
    if (name.empty() || name.back() != '.') name.push_back('.');
    return name;
}

// A Control reply's status as the HTTP answer: 2xx with `body()`, 4xx/5xx
// (503 included) as {"error": message}, anything else a bug in the control.
template <class MakeBody>
HttpResponse control_answer(int status, const std::string& message, const HttpRequest& req, std::string_view path,
                            MakeBody body) {
    if (status >= 200 && status < 300) return json_response(static_cast<unsigned>(status), body());
    if (status >= 400 && status < 600) {
        return error_response(static_cast<unsigned>(status), message.empty() ? "request refused" : message);
    }
    spdlog::error("api: control answered {} {} with HTTP status {}", req.method, path, status);
    return error_response(500, "internal error; see the server log");
}

}  // namespace

HttpResponse error_response(unsigned status, std::string_view message) {
    // A message may quote the request (its path): bytes that are not
    // printable ASCII become '?', so the body is always valid JSON (UTF-8).
    std::string text(message);
    for (char& c : text) {
        if (static_cast<unsigned char>(c) >= 0x80 || static_cast<unsigned char>(c) < 0x20) c = '?';
    }
    json::object o;
    o["error"] = text;
    return json_response(status, o);
}

Router::Router(const config::Api& config, Control& control) : tokens_(config.tokens), control_(control) {}

HttpResponse Router::handle(const HttpRequest& request) {
    // RFC 9112 §3.2: a request-target is printable ASCII (anything else is
    // percent-encoded), so no raw byte reaches a zone name or a JSON reply.
    for (char c : request.target) {
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
            return error_response(400, "the request target must be printable ASCII (RFC 9112 section 3.2)");
        }
    }
    try {
        return route(request);
    } catch (const ControlBusy& busy) {
        auto r = error_response(503, "satellited is busy; try again in " + std::to_string(busy.retry_after_s) + " s");
        r.headers.emplace_back("Retry-After", std::to_string(busy.retry_after_s));
        return r;
    } catch (const std::exception& e) {
        spdlog::error("api: {} {} failed: {}", request.method, request.target, e.what());
        return error_response(500, "internal error; see the server log");
    }
}

HttpResponse Router::route(const HttpRequest& req) {
    std::string_view path = req.target.substr(0, req.target.find('?'));
    if (path.empty() || path.front() != '/') return error_response(400, "request target must be a path");
    auto segs = segments(path);
    if (!segs) return error_response(400, "bad percent-encoding in the request path");
    // The status page and its login: HTML, a token or a login session.
    if (segs->empty() || (segs->size() == 2 && (*segs)[0] == "zones" && !(*segs)[1].empty()) ||
        (segs->size() == 1 && ((*segs)[0] == "login" || (*segs)[0] == "logout"))) {
        return page(req, path, *segs);
    }
    auto route = match(*segs);
    if (!route) return error_response(404, "no such endpoint: " + std::string(path));
    const Method* method = nullptr;
    for (const auto& m : route->methods) {
        if (req.method == m.name) method = &m;
    }
    if (!method) {
        auto r = error_response(405, "use " + method_list(route->methods, " or ") + " for " + std::string(path));
        r.headers.emplace_back("Allow", method_list(route->methods, ", "));
        return r;
    }

    std::string token_name;
    if (!method->permission.empty()) {
        const auto now = AuthThrottle::Clock::now();
        if (unsigned wait = throttle_.retry_after(req.peer_address, now); wait > 0) {
            auto r = error_response(429, "too many failed authentications from this address; try again in " +
                                             std::to_string(wait) + " s");
            r.headers.emplace_back("Retry-After", std::to_string(wait));
            return r;
        }
        std::string_view secret = bearer_secret(req.authorization);
        const Tokens::Token* token = tokens_.find(secret);
        if (!token) {
            if (!secret.empty()) throttle_.failed(req.peer_address, now);
            // RFC 6750 §3: the challenge, with error="invalid_token" when a token was sent.
            auto r = error_response(401, secret.empty() ? "missing bearer token (Authorization: Bearer <secret>)"
                                                        : "unknown token");
            r.headers.emplace_back("WWW-Authenticate", secret.empty()
                                                           ? R"(Bearer realm="satellite")"
                                                           : R"(Bearer realm="satellite", error="invalid_token")");
            return r;
        }
        if (!token->allows(method->permission)) {
            auto r = error_response(403, "token '" + token->name + "' lacks the permission '" +
                                             std::string(method->permission) + "'");
            r.token_name = token->name;
            return r;
        }
        token_name = token->name;
    }

    HttpResponse r;
    switch (route->kind) {
    case Kind::Healthz: {
        json::object o;
        o["status"] = "ok";
        r = json_response(200, o);
        break;
    }
    case Kind::Readyz: {
        // 200 only when every zone is served, none expired and none inside
        // its warning window; else 503 with each such zone and why.
        json::array not_ready;
        std::size_t total = 0;
        for (const auto& z : control_.zones()) {
            ++total;
            if (z.not_ready.empty()) continue;
            json::object o;
            o["zone"] = z.name;
            o["reason"] = z.not_ready;
            not_ready.push_back(std::move(o));
        }
        json::object o;
        o["status"] = not_ready.empty() ? "ready" : "not ready";
        o["zones"] = total;
        o["not_ready"] = std::move(not_ready);
        r = json_response(o["not_ready"].as_array().empty() ? 200 : 503, o);
        break;
    }
    case Kind::Metrics:
        r.content_type = "text/plain; version=0.0.4";
        r.body = control_.metrics();
        break;
    case Kind::Zones: {
        json::array a;
        for (const auto& z : control_.zones()) a.push_back(zone_json(z));
        r = json_response(200, a);
        break;
    }
    case Kind::Zone: {
        auto z = control_.zone(route->name);
        r = z ? json_response(200, zone_json(*z)) : error_response(404, "unknown zone " + route->name);
        break;
    }
    case Kind::Refresh:
    case Kind::Retransfer: {
        const bool full = route->kind == Kind::Retransfer;
        auto z = control_.zone(route->name);
        if (!z) {
            r = error_response(404, "unknown zone " + route->name);
        } else if (!control_.refresh(route->name, full)) {
            r = z->kind == "secondary"
                    ? error_response(404, "unknown zone " + route->name)  // removed meanwhile
                    : error_response(409, "zone " + z->name + " is loaded from " + z->source +
                                              ", not transferred; there is nothing to refresh");
        } else {
            json::object o;
            o["zone"] = z->name;
            o["action"] = full ? "retransfer" : "refresh";
            o["message"] = full ? "full transfer (AXFR) queued" : "refresh queued";
            r = json_response(202, o);
        }
        break;
    }
    case Kind::Dnssec: {
        Result<DnssecRequest> body = DnssecRequest{};
        if (route->op == DnssecOp::Enable) body = parse_enable_body(req.body);
        if (route->op == DnssecOp::ConfirmDsPublished) body = parse_confirm_ds_body(req.body);
        if (!body) {
            r = error_response(400, body.error().message);
            break;
        }
        DnssecReply reply = control_.dnssec(with_final_dot(route->name), route->op, *body);
        r = control_answer(reply.http_status, reply.message, req, path,
                           [&] { return dnssec_json(route->name, route->op, reply); });
        break;
    }
    case Kind::PeerKeys: {
        const PeerKeyOp op = peer_key_op(method->name);
        const std::string zone = with_final_dot(route->name);
        Result<PeerKeysRequest> body = PeerKeysRequest{};
        if (route->key_tag) {
            auto tag = parse_key_tag(*route->key_tag);
            if (!tag) {
                r = error_response(400, "key tag '" + echo(*route->key_tag) + "' must be a decimal number from 0 to 65535");
                break;
            }
            body->key_tag = *tag;
        } else if (op == PeerKeyOp::Remove && req.body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
            r = error_response(400, "DELETE " + std::string(path) +
                                        " needs the records to remove: {\"dnskey\": \"...\"} or {\"keys\": [...]}, "
                                        "or a key tag in the path (.../peer-keys/{key_tag})");
            break;
        } else if (op != PeerKeyOp::Get) {
            body = parse_peer_keys_body(req.body, zone);
        }
        if (!body) {
            r = error_response(400, body.error().message);
            break;
        }
        PeerKeysReply reply = control_.peer_keys(zone, op, *body);
        r = control_answer(reply.http_status, reply.message, req, path, [&] { return peer_keys_json(reply, op); });
        break;
    }
    }
    r.token_name = token_name;
    return r;
}

}  // namespace satellite::api
