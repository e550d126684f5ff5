// Fuzz target for the REST API router with JSON bodies: the first byte
// picks the method and the Authorization header (a valid token, a wrong
// one, none), then the target up to a newline, then the body. Whatever
// arrives, Router::handle answers with a status from 200 to 599 and, for a
// JSON response, a body Boost.JSON parses. The control side is the unit
// tests' FakeControl (scripted zones and DNSSEC replies).
#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/router.hpp"
#include "unit/api/fake_control.hpp"

namespace {

using namespace satellite;

#define FUZZ_CHECK(cond)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            std::fprintf(stderr, "fuzz_api: check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            std::abort();                                                                     \
        }                                                                                     \
    } while (0)

config::Api api_config() {
    config::Api c;
    config::ApiToken t;
    t.name = "fuzz";
    t.secret = "fuzz-secret";
    t.permissions = {"zone:read", "zone:refresh", "dnssec:read", "dnssec:enable", "dnssec:disable",
                     "dnssec:rotate", "dnssec:peer-keys"};
    c.tokens.push_back(t);
    return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    static api::testing::FakeControl control;
    static api::Router router(api_config(), control);
    static const char* kMethods[] = {"GET", "POST", "DELETE", "PUT", "HEAD", "PATCH", "OPTIONS", "get"};
    static const char* kAuth[] = {"Bearer fuzz-secret", "Bearer wrong", "", "Basic Zm9vOmJhcg=="};
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::size_t nl = rest.find('\n');
    api::HttpRequest req;
    req.method = kMethods[data[0] & 7];
    req.authorization = kAuth[(data[0] >> 3) & 3];
    req.target = rest.substr(0, nl);
    req.body = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    // A fresh address per input, so the failed-login throttle does not
    // turn every later input into a 429.
    static unsigned n = 0;
    const std::string peer = "192.0.2." + std::to_string(++n % 250);
    req.peer_address = peer;
    const api::HttpResponse r = router.handle(req);
    FUZZ_CHECK(r.status >= 200 && r.status <= 599);
    if (r.content_type == "application/json" && !r.body.empty()) {
        boost::system::error_code ec;
        (void)boost::json::parse(r.body, ec);
        FUZZ_CHECK(!ec);
    }
    return 0;
}

#ifdef SATELLITE_FUZZ_REPLAY
#include "fuzz/replay_main.hpp"
#endif
