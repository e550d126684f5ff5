// HTTP ↔ Control translation, with no sockets: a request's method, target,
// Authorization header and body in; status, headers and body out. The
// server (server.cpp) only moves bytes; every API rule lives here.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/auth.hpp"
#include "api/control.hpp"
#include "config/config.hpp"

namespace satellite::api {

struct HttpRequest {
    std::string_view method;         // "GET", "POST", ...
    std::string_view target;         // "/api/v1/zones?x=y"
    std::string_view authorization;  // the header's value, "" when absent
    std::string_view body;
    std::string_view peer_address;  // the client's IP address, for the failed-login throttle
    std::string_view cookie;        // the Cookie header ("" when absent): the status page's login session
};

struct HttpResponse {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // Allow, WWW-Authenticate
    std::string token_name;  // who asked, for the request log ("" = no valid token)
};

// {"error": message} with `status`.
HttpResponse error_response(unsigned status, std::string_view message);

class Router {
public:
    Router(const config::Api& config, Control& control);

    // Never throws: a Control that throws becomes a 500.
    HttpResponse handle(const HttpRequest& request);

    // A reload (SIGHUP): the new tokens apply to the next request.
    void set_tokens(const std::vector<config::ApiToken>& tokens) { tokens_ = Tokens(tokens); }

private:
    HttpResponse route(const HttpRequest& request);
    // The status page (GET /, /zones/{zone}) and its login (GET|POST /login, POST /logout).
    HttpResponse page(const HttpRequest& request, std::string_view path, const std::vector<std::string>& segments);

    Tokens tokens_;
    AuthThrottle throttle_;
    Sessions sessions_;
    Control& control_;
};

}  // namespace satellite::api
