// satellite-signzone: Satellite's live signer on a zone file, for
// benchmarks (tools/bench/sign.sh) and for judging our signatures with
// ldns-verify-zone. Keys live under --keys DIR exactly as in a state_dir.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "config/config.hpp"
#include "dns/zonefile.hpp"
#include "modes/keys.hpp"
#include "modes/live.hpp"

using namespace satellite;

namespace {

[[noreturn]] void usage(int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: satellite-signzone --origin NAME --in ZONEFILE --out SIGNEDFILE --keys DIR\n"
                 "         [--algorithm 8|10|13|14|15] [--denial nsec|nsec3|compact]\n"
                 "         [--nsec3-iterations N] [--nsec3-salt HEX] [--opt-out]\n"
                 "         [--validity 14d] [--refresh 7d] [--threads N]\n");
    std::exit(code);
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    std::string origin_text, in, out, keys_dir, salt;
    int algorithm = 13;
    modes::LivePolicy policy;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(2);
            return argv[++i];
        };
        if (a == "--origin") origin_text = value();
        else if (a == "--in") in = value();
        else if (a == "--out") out = value();
        else if (a == "--keys") keys_dir = value();
        else if (a == "--algorithm") algorithm = std::atoi(value().c_str());
        else if (a == "--denial") {
            std::string d = value();
            policy.denial = d == "nsec" ? modes::Denial::Nsec : d == "nsec3" ? modes::Denial::Nsec3 : d == "compact" ? modes::Denial::Compact : (usage(2), modes::Denial::Nsec);
        } else if (a == "--nsec3-iterations") policy.nsec3_iterations = static_cast<std::uint16_t>(std::atoi(value().c_str()));
        else if (a == "--nsec3-salt") salt = value();
        else if (a == "--opt-out") policy.nsec3_opt_out = true;
        else if (a == "--validity" || a == "--refresh") {
            auto d = config::parse_duration(value());
            if (!d) {
                std::fprintf(stderr, "satellite-signzone: %s\n", d.error().message.c_str());
                return 2;
            }
            (a == "--validity" ? policy.validity : policy.refresh) = *d;
        } else if (a == "--threads") policy.threads = static_cast<unsigned>(std::atoi(value().c_str()));
        else if (a == "-h" || a == "--help") usage(0);
        else usage(2);
    }
    if (origin_text.empty() || in.empty() || out.empty() || keys_dir.empty()) usage(2);
    if (policy.refresh >= policy.validity) policy.refresh = policy.validity / 2;
    for (std::size_t i = 0; i + 1 < salt.size(); i += 2) {
        policy.nsec3_salt.push_back(static_cast<std::uint8_t>(std::stoi(salt.substr(i, 2), nullptr, 16)));
    }
    auto origin = dns::Name::from_text(origin_text);
    if (!origin) {
        std::fprintf(stderr, "satellite-signzone: %s\n", origin.error().message.c_str());
        return 2;
    }
    const std::int64_t now = std::time(nullptr);
    auto t0 = std::chrono::steady_clock::now();
    auto records = dns::read_zone_file(in, *origin);
    if (!records) {
        std::fprintf(stderr, "satellite-signzone: %s\n", records.error().message.c_str());
        return 1;
    }
    const double read_ms = ms_since(t0);
    auto keys = modes::load_or_create_keys(keys_dir, *origin, static_cast<std::uint8_t>(algorithm), now);
    if (!keys) {
        std::fprintf(stderr, "satellite-signzone: %s\n", keys.error().message.c_str());
        return 1;
    }
    auto t1 = std::chrono::steady_clock::now();
    auto signed_zone = modes::sign_zone(*origin, *records, *keys, policy, nullptr, now);
    const double sign_ms = ms_since(t1);
    if (!signed_zone) {
        std::fprintf(stderr, "satellite-signzone: %s\n", signed_zone.error().message.c_str());
        return 1;
    }
    auto t2 = std::chrono::steady_clock::now();
    if (auto s = dns::write_zone_file(out, signed_zone->snapshot->to_records()); !s) {
        std::fprintf(stderr, "satellite-signzone: %s\n", s.error().message.c_str());
        return 1;
    }
    std::fprintf(stderr,
                 "satellite-signzone: %zu records read in %.0f ms; signed in %.0f ms (%zu signatures, "
                 "%.0f/s); written in %.0f ms; KSK %u ZSK %u\n",
                 records->size(), read_ms, sign_ms, signed_zone->made,
                 signed_zone->made / (sign_ms / 1000.0), ms_since(t2), keys->ksk().tag, keys->zsk().tag);
    return 0;
}
