// satellited: reads the config, loads zones, serves them, and reacts to
// signals (SIGHUP reload, SIGTERM/SIGINT stop) — DESIGN.md §1.
#include <algorithm>
#include <boost/asio.hpp>
#include <cstdio>
#include <malloc.h>
#include <cstring>
#include <spdlog/spdlog.h>
#include <string>

#include "config/config.hpp"
#include "api/server.hpp"
#include "daemon/api_control.hpp"
#include "daemon/zones.hpp"
#include "serve/query_counters.hpp"
#include "serve/server.hpp"
#include "util/log.hpp"
#include "util/published.hpp"
#include "util/sd_notify.hpp"

namespace {

void usage() {
    std::fprintf(stderr,
                 "usage: satellited --config PATH [--check-config]\n"
                 "  --config PATH     the TOML config (etc/satellite.toml)\n"
                 "  --check-config    validate the config and exit (0 ok, 2 error)\n");
}

}  // namespace

namespace {

std::string endpoints(const std::vector<satellite::config::Endpoint>& list) {
    std::string out;
    for (const auto& e : list) out += (out.empty() ? "" : ", ") + e.to_string();
    return out;
}

// SIGHUP: applies the settings that can change while running (the log
// level and format here; listen addresses by rebind_listeners; zones by
// ZoneManager::configure) and names, one
// line each, those that keep their running value until a restart.
void reload_settings(const satellite::config::Config& was, const satellite::config::Config& now) {
    if (now.log.level != was.log.level || now.log.format != was.log.format) {
        if (auto s = satellite::log::setup(now.log.level, now.log.format); s) {
            spdlog::info("reload: log level {}, format {}", now.log.level, now.log.format);
        }
    }
    auto restart = [](const char* what, const std::string& from, const std::string& to) {
        if (from != to) spdlog::warn("reload: {} changes only on restart (running: {}; config: {})", what, from, to);
    };
    restart("[server] threads", std::to_string(was.server.threads), std::to_string(now.server.threads));
    restart("[server] state_dir", was.server.state_dir, now.server.state_dir);
    restart("[server] tcp_max_connections", std::to_string(was.server.tcp_max_connections),
            std::to_string(now.server.tcp_max_connections));
    restart("[server] tcp_idle_timeout_ms", std::to_string(was.server.tcp_idle_timeout_ms),
            std::to_string(now.server.tcp_idle_timeout_ms));
    restart("[server] udp_max_payload", std::to_string(was.server.udp_max_payload),
            std::to_string(now.server.udp_max_payload));
    restart("[server] online_signing_budget", std::to_string(was.server.online_signing_budget),
            std::to_string(now.server.online_signing_budget));
    restart("[api] tls_cert", was.api.tls_cert, now.api.tls_cert);
    restart("[api] tls_key", was.api.tls_key, now.api.tls_key);
    restart("[api] listen", was.api.listen ? was.api.listen->to_string() : "none",
            now.api.listen ? now.api.listen->to_string() : "none");
}

// SIGHUP with a changed [server] listen: new addresses bound, removed ones
// closed, unchanged sockets kept (their queries are never dropped). When an
// address cannot be bound nothing changes, and `now` keeps the running
// list, so the next reload tries again.
void rebind_listeners(satellite::serve::Server& server, const satellite::config::Config& was,
                      satellite::config::Config& now) {
    if (endpoints(was.server.listen) == endpoints(now.server.listen)) return;
    std::vector<satellite::serve::ListenAddress> next;
    for (const auto& e : now.server.listen) next.push_back({e.host, e.port});
    if (auto s = server.rebind(next); !s) {
        spdlog::error("reload: [server] listen not changed, still listening on {}: {}", endpoints(was.server.listen),
                      s.error().message);
        now.server.listen = was.server.listen;
        return;
    }
    const auto ports = server.bound_ports();
    std::string list;
    for (std::size_t i = 0; i < next.size(); ++i) {
        list += (list.empty() ? "" : ", ") + next[i].host + " port " + std::to_string(ports[i]);
    }
    spdlog::info("reload: listening on {} (udp, tcp)", list);
}

// [server] cookies, cookie_secret, cookie_secret_previous → what the
// workers read (nullopt: cookies off). Without a configured secret, the
// process's own random one (so a reload does not change it).
std::optional<satellite::serve::CookieSecrets> cookie_secrets(const satellite::config::Server& s,
                                                              const satellite::serve::CookieSecret& random) {
    if (!s.cookies) return std::nullopt;
    satellite::serve::CookieSecrets out;
    out.current = random;
    if (auto v = satellite::serve::parse_cookie_secret(s.cookie_secret); v) out.current = *v;  // checked by config
    if (auto v = satellite::serve::parse_cookie_secret(s.cookie_secret_previous); v) out.previous = *v;
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace satellite;
    std::string config_path;
    bool check_only = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--config" && i + 1 < argc) {
            config_path = argv[++i];
        } else if (a.rfind("--config=", 0) == 0) {
            config_path = a.substr(9);
        } else if (a == "--check-config") {
            check_only = true;
        } else if (a == "--help" || a == "-h") {
            usage();
            return 0;
        } else {
            std::fprintf(stderr, "satellited: unknown argument '%s'\n", a.c_str());
            usage();
            return 2;
        }
    }
    if (config_path.empty()) {
        usage();
        return 2;
    }

    auto cfg = config::load(config_path);
    if (!cfg) {
        std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
        return 2;
    }
    if (check_only) {
        std::fprintf(stderr, "%s: ok (%zu zones)\n", config_path.c_str(), cfg->zones.size());
        return 0;
    }
    if (auto s = log::setup(cfg->log.level, cfg->log.format); !s) {
        std::fprintf(stderr, "%s: %s\n", config_path.c_str(), s.error().message.c_str());
        return 2;
    }

    // Query counters per worker, by zone: every catalog from here on holds
    // its zones' slots in them, and /metrics shows them (through the catalog).
    auto counters = std::make_shared<serve::QueryCounters>();
    boost::asio::io_context control;
    // Readers: each query worker's TCP thread and one UDP thread per worker
    // and listen address (serve/server.hpp), with room for a reload to add
    // as many addresses again; at least 1024 (256 workers on 3 addresses).
    // A reload that needs more is refused, and a restart sizes it anew.
    const unsigned reader_slots =
        std::max(1024u, serve::Server::reader_slots_for(serve::Server::workers_for(cfg->server.threads),
                                                        cfg->server.listen.size()));
    Published<zone::Catalog> catalog(
        std::make_unique<zone::Catalog>(std::vector<zone::ServedZone>{}), reader_slots);
    daemon::ZoneManager zones(control, catalog, counters);
    zones.configure(*cfg);
    // The zone manager keeps each zone's settings: no second copy here.
    const std::size_t zone_count = cfg->zones.size();
    std::vector<config::Zone>().swap(cfg->zones);
    {
        // File zones and state_dir copies load on worker threads; they are
        // served before the listeners open.
        auto busy = boost::asio::make_work_guard(control);
        while (zones.loading()) control.run_one();
    }
    control.restart();  // the guard's end left it stopped (no work then)
    // Reading the config and loading the zones freed far more than the
    // zones keep (the TOML tree, transfer and build buffers on the worker
    // threads' arenas): hand the free pages back rather than keep them
    // resident (PSS is what tools/bench/zones.sh compares with Knot).
    ::malloc_trim(0);

    serve::ServerOptions so;
    for (const auto& e : cfg->server.listen) so.listen.push_back({e.host, e.port});
    so.threads = cfg->server.threads;
    so.tcp_max_connections = cfg->server.tcp_max_connections;
    so.tcp_max_connections_per_client = cfg->server.tcp_max_connections_per_client;
    so.tcp_idle_timeout_ms = cfg->server.tcp_idle_timeout_ms;
    so.udp_max_payload = static_cast<std::uint16_t>(cfg->server.udp_max_payload);
    so.online_signing_budget = cfg->server.online_signing_budget;
    so.nsid = cfg->server.nsid;
    so.identity = cfg->server.identity;
    so.version = cfg->server.version;
    // [server.rrl]: prefixes in the 16-octet form (IPv4 mapped, so /n is /96+n).
    so.rrl.rate = cfg->server.rrl.rate;
    so.rrl.slip = cfg->server.rrl.slip;
    for (const auto& p : cfg->server.rrl.exempt) {
        const auto slash = p.find('/');
        const std::string host = p.substr(0, slash);
        auto addr = serve::parse_address(host);
        if (!addr) continue;  // config checked it
        const bool v4 = host.find(':') == std::string::npos;
        unsigned bits = slash == std::string::npos ? (v4 ? 32 : 128) : static_cast<unsigned>(std::stoi(p.substr(slash + 1)));
        so.rrl.exempt.emplace_back(*addr, v4 ? bits + 96 : bits);
    }
    if (so.rrl.rate > 0) {
        spdlog::info("response rate limiting: {} a second per client prefix and kind, slip {}, {} exempt prefixes",
                     so.rrl.rate, so.rrl.slip, so.rrl.exempt.size());
    }
    const serve::CookieSecret random_cookie_secret = serve::random_cookie_secret();
    so.cookies = cookie_secrets(cfg->server, random_cookie_secret);
    spdlog::info("DNS cookies: {}", !so.cookies ? "off"
                                    : cfg->server.cookie_secret.empty() ? "on (a random secret of this process)"
                                    : so.cookies->previous ? "on (the configured secret, and the previous one)"
                                                           : "on (the configured secret)");
    so.notify_sink = &zones;
    so.counters = counters;
    so.xfr_out = std::make_shared<serve::XfrOutLimits>();
    so.xfr_out->write_timeout_ms = cfg->server.tcp_idle_timeout_ms;  // a transfer stalled this long is dropped
    serve::Server server(so, catalog);
    if (auto s = server.start(); !s) {
        spdlog::critical("{}", s.error().message);
        return 1;
    }
    for (std::size_t i = 0; i < so.listen.size(); ++i) {
        spdlog::info("listening on {} port {} (udp, tcp)", so.listen[i].host, server.bound_ports()[i]);
    }
    zones.serving_started();
    zones.set_xfr_out(so.xfr_out);

    // The REST API (DESIGN.md §5), on its own thread; its calls run here.
    daemon::ApiControl api_control(control, zones);
    std::unique_ptr<api::Server> api_server;
    if (cfg->api.listen) {
        api_server = std::make_unique<api::Server>(cfg->api, api_control);
        if (auto s = api_server->start(); !s) {
            spdlog::critical("{}", s.error().message);
            return 1;
        }
        spdlog::info("API listening on {} ({})", cfg->api.listen->to_string(),
                     cfg->api.tls() ? "https" : "http, no TLS");
    }

    boost::asio::signal_set signals(control, SIGINT, SIGTERM, SIGHUP);
    // Replaced versions are freed 100 ms after they are retired, once the
    // query workers have moved on; the timer runs only while some wait, so
    // an idle server does not wake up.
    boost::asio::steady_timer reclaim_timer(control);
    bool reclaim_armed = false;
    std::function<void()> arm_reclaim = [&] {
        reclaim_armed = true;
        reclaim_timer.expires_after(std::chrono::milliseconds(100));
        reclaim_timer.async_wait([&](boost::system::error_code ec) {
            reclaim_armed = false;
            if (ec) return;
            if (catalog.reclaim() > 0) arm_reclaim();
        });
    };
    catalog.on_retire([&] {
        boost::asio::post(control, [&] {
            if (!reclaim_armed) arm_reclaim();
        });
    });
    std::function<void()> wait_signal = [&] {
        signals.async_wait([&](boost::system::error_code ec, int sig) {
            if (ec) return;
            if (sig == SIGHUP) {
                sd_notify("RELOADING=1");
                // Unchanged [[zone]] blocks are taken from the running zones, not parsed again.
                auto next = config::reload(config_path, *cfg,
                                           [&](const std::string& name) { return zones.configured(name); });
                if (!next) {
                    spdlog::error("reload refused, keeping the running config: {}",
                                  next.error().message);
                } else {
                    reload_settings(*cfg, *next);
                    rebind_listeners(server, *cfg, *next);
                    // Cookie secrets change without a restart (a fleet's rollover).
                    const auto& was = cfg->server;
                    const auto& now = next->server;
                    if (was.cookies != now.cookies || was.cookie_secret != now.cookie_secret ||
                        was.cookie_secret_previous != now.cookie_secret_previous) {
                        server.set_cookies(cookie_secrets(now, random_cookie_secret));
                        spdlog::info("reload: DNS cookies {}{}", now.cookies ? "on" : "off",
                                     now.cookies && !now.cookie_secret_previous.empty() ? ", with a previous secret" : "");
                    }
                    zones.configure(*next);
                    // Tokens change without rebinding (a revoked token stops working now).
                    if (api_server) api_server->set_tokens(next->api.tokens);
                    std::vector<config::Zone>().swap(next->zones);
                    cfg = std::move(next);
                    zones.trim_soon();  // the parsed TOML tree's pages
                    spdlog::info("reloaded {}", config_path);
                }
                sd_notify("READY=1");
                wait_signal();
                return;
            }
            spdlog::info("signal {}: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
            sd_notify("STOPPING=1");
            reclaim_timer.cancel();
            zones.shutdown();
            control.stop();
        });
    };
    wait_signal();
    arm_reclaim();  // what start-up replaced
    sd_notify("READY=1\nSTATUS=serving " + std::to_string(zone_count) + " zones");
    // Memory exhausted by one zone's data (a hostile primary) is that
    // zone's failure: the transfer paths turn it into an error; should it
    // escape anyway, the control loop goes on with the versions it serves.
    for (;;) {
        try {
            control.run();
            break;
        } catch (const std::bad_alloc&) {
            spdlog::critical("out of memory on the control thread; the zones keep serving what they had");
        }
    }
    catalog.on_retire(nullptr);  // the timer and the loop it posts to are going
    // The API first: its calls wait on the control thread, which has stopped.
    api_control.stop();
    if (api_server) api_server->stop();
    server.stop();
    catalog.reclaim();
    spdlog::info("stopped");
    return 0;
}
