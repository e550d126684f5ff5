// Fuzz target for NOTIFY intake (RFC 1996) and the DNS cookie parser, the
// two query-path readers besides answer(). The first byte picks the sender
// (allowed or not, IPv4 or IPv6) and whether the zone wants TSIG; the rest
// is the message. answer_notify() must answer inside its buffer (or not at
// all) and hand the sink only zones we serve; CookieEngine::check() and
// cookie_response() must stay inside the message and the buffer.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dns/tsig.hpp"
#include "dns/zonefile.hpp"
#include "serve/cookie.hpp"
#include "serve/notify.hpp"
#include "zone/catalog.hpp"
#include "zone/snapshot.hpp"

namespace {

using namespace satellite;

#define FUZZ_CHECK(cond)                                                                         \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            std::fprintf(stderr, "fuzz_notify: check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            std::abort();                                                                        \
        }                                                                                        \
    } while (0)

class Sink : public serve::NotifySink {
public:
    void notify(const dns::Name& zone, std::optional<std::uint32_t>, const std::string&) override {
        FUZZ_CHECK(zone.to_string() == "example.com." || zone.to_string() == "signed.example.");
    }
};

zone::ServedZone secondary(const char* origin, std::shared_ptr<const dns::TsigKey> key) {
    auto o = *dns::Name::from_text(origin);
    auto recs = *dns::parse_records(std::string(origin) + " 300 IN SOA ns. h. 7 3600 600 86400 300\n" +
                                        origin + " 300 IN NS ns.\n",
                                    o);
    zone::ServedZone z;
    z.origin = o;
    z.snapshot = *zone::build_snapshot(o, recs);
    z.secondary = true;
    std::array<std::uint8_t, 16> v4{};
    v4[10] = v4[11] = 0xff;
    v4[12] = 127;
    v4[15] = 1;
    z.notify_allow = {v4};
    z.tsig = std::move(key);
    return z;
}

const zone::Catalog& catalog() {
    static const zone::Catalog c = [] {
        auto key = std::make_shared<dns::TsigKey>();
        key->name = *dns::Name::from_text("xfr-key.");
        key->secret = std::vector<std::uint8_t>(32, 0x5a);
        std::vector<zone::ServedZone> zones;
        zones.push_back(secondary("example.com.", nullptr));
        zones.push_back(secondary("signed.example.", key));
        return zone::Catalog(std::move(zones));
    }();
    return c;
}

sockaddr_storage peer(std::uint8_t which) {
    sockaddr_storage ss{};
    if (which & 1) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
        in6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, "2001:db8::1", &in6->sin6_addr);
    } else {
        auto* in = reinterpret_cast<sockaddr_in*>(&ss);
        in->sin_family = AF_INET;
        inet_pton(AF_INET, (which & 2) ? "192.0.2.9" : "127.0.0.1", &in->sin_addr);
    }
    return ss;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    static Sink sink;
    static serve::CookieEngine cookies;
    static const serve::CookieSecrets secrets{*serve::parse_cookie_secret("e5e973e5a6b2a43f48e7dc849e37bfcf"),
                                              *serve::parse_cookie_secret("445536bcd2513298075a5d379663c962")};
    const auto from = peer(data[0]);
    const auto* sa = reinterpret_cast<const sockaddr*>(&from);
    const std::span<const std::uint8_t> msg(data + 1, size - 1);

    std::vector<std::uint8_t> out(512);
    const std::size_t n = serve::answer_notify(catalog(), msg, sa, 1'700'000'000, &sink, out);
    FUZZ_CHECK(n <= out.size());

    const auto ck = cookies.check(msg, sa, 1'559'731'985 + data[0], secrets);
    FUZZ_CHECK(ck.question_end <= msg.size());
    FUZZ_CHECK(ck.option_len == 0 || ck.option_len == 28);
    for (std::size_t cap : {std::size_t(12), std::size_t(600)}) {
        std::vector<std::uint8_t> r(cap);
        const std::size_t rl = serve::cookie_response(msg, ck, serve::kRcodeBadCookie, 1232, r);
        FUZZ_CHECK(rl <= cap);
    }
    return 0;
}

#ifdef SATELLITE_FUZZ_REPLAY
#include "fuzz/replay_main.hpp"
#endif
