// Query counters (serve/query_counters.hpp): counts by zone and response
// code from answer()'s AnswerInfo, per worker; stats slots that stay a
// zone's across catalog swaps and start from zero when given to another;
// no allocation when counting; the Prometheus text; and the listeners
// counting real UDP and TCP queries on a loopback port.
#include "serve/query_counters.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cctype>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../dns/test_packet.hpp"
#include "alloc_count.hpp"
#include "dns/types.hpp"
#include "dns/zonefile.hpp"
#include "serve/answer.hpp"
#include "serve/server.hpp"
#include "util/published.hpp"
#include "zone/catalog.hpp"
#include "zone/snapshot.hpp"

namespace satellite::serve {
namespace {

namespace t = dns::type;
namespace rc = dns::rcode;
using satellite::testing::make_query;
using satellite::testing::QuerySpec;
using Buf = std::vector<std::uint8_t>;

// A small zone at `origin` with www (A) and the apex records; `data` false:
// a configured zone without data (SERVFAIL).
zone::ServedZone served(const std::string& origin, bool data = true, std::uint32_t serial = 1) {
    auto o = dns::Name::from_text(origin);
    if (!o) throw std::runtime_error(origin + ": " + o.error().message);
    zone::ServedZone z;
    z.origin = *o;
    if (!data) return z;
    const std::string text = origin + " 3600 IN SOA ns." + origin + " h." + origin + " " +
                             std::to_string(serial) + " 3600 600 86400 60\n" + origin +
                             " 3600 IN NS ns." + origin + "\nns." + origin +
                             " 3600 IN A 192.0.2.53\nwww." + origin + " 60 IN A 192.0.2.1\n";
    auto recs = dns::parse_records(text, *o);
    if (!recs) throw std::runtime_error(origin + ": " + recs.error().message);
    auto snap = zone::build_snapshot(*o, *recs);
    if (!snap) throw std::runtime_error(origin + ": " + snap.error().message);
    z.snapshot = *snap;
    return z;
}

std::unique_ptr<zone::Catalog> catalog(std::vector<zone::ServedZone> zones,
                                       std::shared_ptr<QueryCounters> counters) {
    return std::make_unique<zone::Catalog>(std::move(zones), std::move(counters));
}

// What a worker does with one query: answer it, count the response.
std::uint16_t ask(QueryCounters::Worker& w, const zone::Catalog& cat, const Buf& query,
                  Transport tr = Transport::Udp) {
    Buf out(tr == Transport::Tcp ? 65535 : 1232);
    AnswerInfo info;
    std::size_t n = answer(cat, query, tr, AnswerOptions{}, out, &info);
    if (n == 0) {
        w.dropped();
        return 0xffff;
    }
    w.answered(info.zone ? info.zone->stats_slot : 0, info.rcode, tr);
    return info.rcode;
}

std::uint16_t ask(QueryCounters::Worker& w, const zone::Catalog& cat, const std::string& name,
                  std::uint16_t qtype = t::A, Transport tr = Transport::Udp) {
    return ask(w, cat, make_query({.name = name, .qtype = qtype}), tr);
}

// zone → rcode label → count, non-zero cells only.
std::map<std::string, std::map<std::string, std::uint64_t>> counts(const QueryCounters& c) {
    std::map<std::string, std::map<std::string, std::uint64_t>> out;
    for (const auto& z : c.by_zone()) {
        auto& m = out[z.zone];
        for (unsigned i = 0; i < QueryCounters::kRcodeCells; ++i) {
            if (z.rcodes[i]) m[QueryCounters::rcode_label(i)] = z.rcodes[i];
        }
    }
    return out;
}

using Counts = std::map<std::string, std::map<std::string, std::uint64_t>>;

TEST(QueryCounters, CountsByZoneAndRcode) {
    auto counters = std::make_shared<QueryCounters>();
    auto& w = counters->add_worker();
    std::vector<zone::ServedZone> zones;
    zones.push_back(served("example.com."));
    zones.push_back(served("broken.test.", false));
    auto cat = catalog(std::move(zones), counters);

    EXPECT_EQ(ask(w, *cat, "www.example.com."), rc::NOERROR);
    EXPECT_EQ(ask(w, *cat, "WWW.Example.COM.", t::A, Transport::Tcp), rc::NOERROR);
    EXPECT_EQ(ask(w, *cat, "nx.example.com."), rc::NXDOMAIN);
    EXPECT_EQ(ask(w, *cat, "www.example.org."), rc::REFUSED);      // no zone of ours
    EXPECT_EQ(ask(w, *cat, "x.broken.test."), rc::SERVFAIL);       // no data
    EXPECT_EQ(ask(w, *cat, "example.com.", t::AXFR), rc::REFUSED);  // refused before the lookup
    EXPECT_EQ(ask(w, *cat, make_query({.name = "example.com.", .qtype = t::SOA, .edns = true,
                                       .edns_version = 1})),
              rc::BADVERS);
    EXPECT_EQ(ask(w, *cat, Buf{1, 2, 3, 4, 5}), 0xffff);  // too short: no response

    const Counts want = {
        {"", {{"REFUSED", 1}}},
        {"broken.test.", {{"SERVFAIL", 1}}},
        {"example.com.", {{"NOERROR", 2}, {"NXDOMAIN", 1}, {"REFUSED", 1}, {"16", 1}}},
    };
    EXPECT_EQ(counts(*counters), want);
    auto totals = counters->totals();
    EXPECT_EQ(totals.udp, 6u);
    EXPECT_EQ(totals.tcp, 1u);
    EXPECT_EQ(totals.dropped, 1u);
}

// A thread's counters given back (its listen address removed) keep their
// counts in the sums and are handed to the next thread, not grown anew.
TEST(QueryCounters, ReleasedWorkerCountersAreReused) {
    QueryCounters qc;
    QueryCounters::Worker& a = qc.add_worker();
    a.answered(0, rc::NOERROR, Transport::Udp);
    qc.release_worker(a);
    EXPECT_EQ(qc.totals().udp, 1u);
    QueryCounters::Worker& b = qc.add_worker();
    EXPECT_EQ(&b, &a);
    b.answered(0, rc::NOERROR, Transport::Udp);
    EXPECT_EQ(qc.totals().udp, 2u);
    EXPECT_NE(&qc.add_worker(), &b);
}

TEST(QueryCounters, RcodeCells) {
    EXPECT_EQ(QueryCounters::rcode_label(QueryCounters::cell_of(rc::NOERROR)), "NOERROR");
    EXPECT_EQ(QueryCounters::rcode_label(QueryCounters::cell_of(rc::FORMERR)), "FORMERR");
    EXPECT_EQ(QueryCounters::rcode_label(QueryCounters::cell_of(rc::SERVFAIL)), "SERVFAIL");
    EXPECT_EQ(QueryCounters::rcode_label(QueryCounters::cell_of(rc::NXDOMAIN)), "NXDOMAIN");
    EXPECT_EQ(QueryCounters::rcode_label(QueryCounters::cell_of(rc::NOTIMP)), "NOTIMP");
    EXPECT_EQ(QueryCounters::rcode_label(QueryCounters::cell_of(rc::REFUSED)), "REFUSED");
    EXPECT_EQ(QueryCounters::rcode_label(QueryCounters::cell_of(rc::YXDOMAIN)), "6");
    EXPECT_EQ(QueryCounters::rcode_label(QueryCounters::cell_of(rc::NOTAUTH)), "9");
    EXPECT_EQ(QueryCounters::rcode_label(QueryCounters::cell_of(rc::BADVERS)), "16");
    EXPECT_EQ(QueryCounters::rcode_label(QueryCounters::cell_of(23)), "other");
}

// A reload as ZoneManager does it: build the next catalog beside the
// current one, publish, and free the old one once the workers are past it.
TEST(QueryCounters, CountsSurviveCatalogChanges) {
    auto counters = std::make_shared<QueryCounters>();
    auto& w1 = counters->add_worker();
    auto& w2 = counters->add_worker();
    std::vector<zone::ServedZone> first;
    first.push_back(served("a.test."));
    first.push_back(served("b.test."));
    Published<zone::Catalog> pub(catalog(std::move(first), counters));
    const unsigned reader = pub.add_reader();
    const std::uint32_t b_slot = pub.get()->zones()[1].stats_slot;

    ask(w1, *pub.get(), "www.a.test.");
    ask(w1, *pub.get(), "www.b.test.");
    ask(w2, *pub.get(), "www.b.test.");

    // a.test removed, b.test with a new snapshot (and another spelling), c.test added.
    std::vector<zone::ServedZone> second;
    second.push_back(served("B.Test.", true, 2));
    second.push_back(served("c.test."));
    pub.publish(catalog(std::move(second), counters));
    EXPECT_EQ(pub.get()->zones()[0].stats_slot, b_slot);
    // The old catalog lives until the reader is past it: a.test still shows.
    EXPECT_EQ(counts(*counters).count("a.test."), 1u);
    pub.quiescent(reader);
    EXPECT_EQ(pub.reclaim(), 0u);

    ask(w1, *pub.get(), "www.b.test.");
    ask(w2, *pub.get(), "nx.b.test.");
    ask(w2, *pub.get(), "www.c.test.");
    ask(w1, *pub.get(), "www.a.test.");  // no longer ours
    Counts want = {
        {"", {{"REFUSED", 1}}},
        {"b.test.", {{"NOERROR", 3}, {"NXDOMAIN", 1}}},
        {"c.test.", {{"NOERROR", 1}}},
    };
    EXPECT_EQ(counts(*counters), want);

    // d.test takes the slot a.test gave back: it starts from zero.
    std::vector<zone::ServedZone> third;
    third.push_back(served("b.test."));
    third.push_back(served("c.test."));
    third.push_back(served("d.test."));
    pub.publish(catalog(std::move(third), counters));
    pub.quiescent(reader);
    pub.reclaim();
    ask(w2, *pub.get(), "nx.d.test.");
    // And a.test, back again, starts from zero too.
    std::vector<zone::ServedZone> fourth;
    fourth.push_back(served("a.test."));
    fourth.push_back(served("b.test."));
    fourth.push_back(served("c.test."));
    fourth.push_back(served("d.test."));
    pub.publish(catalog(std::move(fourth), counters));
    pub.quiescent(reader);
    pub.reclaim();
    ask(w1, *pub.get(), "www.a.test.");
    want = {
        {"", {{"REFUSED", 1}}},
        {"a.test.", {{"NOERROR", 1}}},
        {"b.test.", {{"NOERROR", 3}, {"NXDOMAIN", 1}}},
        {"c.test.", {{"NOERROR", 1}}},
        {"d.test.", {{"NXDOMAIN", 1}}},
    };
    EXPECT_EQ(counts(*counters), want);
    EXPECT_EQ(counters->totals().udp, 9u);
    pub.offline(reader);
}

// More zones than one chunk holds: the chunks are added when the catalog
// is built (before any worker sees it), for workers old and new.
TEST(QueryCounters, GrowsWhenZonesAreAdded) {
    auto counters = std::make_shared<QueryCounters>();
    auto& before = counters->add_worker();
    std::vector<zone::ServedZone> zones;
    const unsigned n = QueryCounters::kSlotsPerChunk * 2 + 10;
    for (unsigned i = 0; i < n; ++i) zones.push_back(served("z" + std::to_string(i) + ".test.", false));
    auto cat = catalog(std::move(zones), counters);
    auto& after = counters->add_worker();
    EXPECT_GT(cat->zones().back().stats_slot, 2 * QueryCounters::kSlotsPerChunk);
    ask(before, *cat, "x.z" + std::to_string(n - 1) + ".test.");
    ask(after, *cat, "x.z" + std::to_string(n - 1) + ".test.");
    ask(after, *cat, "x.z0.test.");
    auto c = counts(*counters);
    EXPECT_EQ(c["z" + std::to_string(n - 1) + ".test."]["SERVFAIL"], 2u);
    EXPECT_EQ(c["z0.test."]["SERVFAIL"], 1u);
    EXPECT_EQ(c.size(), n + 1);  // every zone a catalog holds, and ""
}

TEST(QueryCounters, CountingDoesNotAllocate) {
    auto counters = std::make_shared<QueryCounters>();
    auto& w = counters->add_worker();
    std::vector<zone::ServedZone> zones;
    zones.push_back(served("example.com."));
    auto cat = catalog(std::move(zones), counters);
    const std::vector<Buf> queries = {make_query({.name = "www.example.com."}),
                                      make_query({.name = "nx.example.com.", .edns = true}),
                                      make_query({.name = "www.example.org."}),
                                      make_query({.name = "example.com.", .qtype = t::AXFR})};
    Buf out(65535);
    satellite::testing::start_counting_allocs();
    for (const auto& q : queries) {
        for (Transport tr : {Transport::Udp, Transport::Tcp}) {
            AnswerInfo info;
            if (answer(*cat, q, tr, AnswerOptions{}, out, &info) != 0) {
                w.answered(info.zone ? info.zone->stats_slot : 0, info.rcode, tr);
            }
        }
    }
    EXPECT_EQ(satellite::testing::stop_counting_allocs(), 0u);
    EXPECT_EQ(counters->totals().udp + counters->totals().tcp, 8u);
}

TEST(QueryCounters, PrometheusText) {
    auto counters = std::make_shared<QueryCounters>();
    auto& w = counters->add_worker();
    std::vector<zone::ServedZone> zones;
    zones.push_back(served("example.com."));
    zones.push_back(served("q\\\"uote.test.", false));  // a name that needs escaping in a label
    auto cat = catalog(std::move(zones), counters);
    ask(w, *cat, "www.example.com.");
    ask(w, *cat, "www.example.com.", t::A, Transport::Tcp);
    ask(w, *cat, "nx.example.com.");
    ask(w, *cat, "www.example.org.");
    ask(w, *cat, "www.q\\\"uote.test.");
    w.tcp_connection();

    const std::string text = counters->metrics_text();
    for (const char* line : {
             "# TYPE satellite_queries_total counter\n",
             "satellite_queries_total{zone=\"example.com.\",rcode=\"NOERROR\"} 2\n",
             "satellite_queries_total{zone=\"example.com.\",rcode=\"NXDOMAIN\"} 1\n",
             "satellite_queries_total{zone=\"\",rcode=\"REFUSED\"} 1\n",
             "satellite_queries_total{zone=\"q\\\\\\\"uote.test.\",rcode=\"SERVFAIL\"} 1\n",
             "satellite_queries_by_transport_total{transport=\"udp\"} 4\n",
             "satellite_queries_by_transport_total{transport=\"tcp\"} 1\n",
             "satellite_queries_dropped_total 0\n",
             "satellite_tcp_connections_total 1\n",
         }) {
        EXPECT_NE(text.find(line), std::string::npos) << line << "in\n" << text;
    }
    EXPECT_EQ(text.find("NOTIMP"), std::string::npos) << "zero series are left out";
    // The same check as tests/integration/lifecycle: every sample is
    // `name{labels} value`, name [a-zA-Z_:][a-zA-Z0-9_:]*, labels without '}'.
    // (By hand: std::regex trips GCC 12's -Wmaybe-uninitialized under ASan.)
    auto is_sample = [](const std::string& l) {
        std::size_t i = 0;
        auto name_char = [](char c, bool first) {
            return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
                   (!first && std::isdigit(static_cast<unsigned char>(c)));
        };
        if (l.empty() || !name_char(l[0], true)) return false;
        while (i < l.size() && name_char(l[i], i == 0)) ++i;
        if (i < l.size() && l[i] == '{') {
            const std::size_t close = l.find('}', i);
            if (close == std::string::npos) return false;
            i = close + 1;
        }
        if (i >= l.size() || l[i] != ' ' || i + 1 == l.size()) return false;
        return l.find_first_not_of("0123456789.eE+-", i + 1) == std::string::npos;
    };
    std::istringstream lines(text);
    for (std::string l; std::getline(lines, l);) {
        if (l.empty() || l[0] == '#') continue;
        EXPECT_TRUE(is_sample(l)) << l;
    }
    EXPECT_FALSE(is_sample("bad name 1"));
    EXPECT_FALSE(is_sample("x{a=\"1\" 1"));
    EXPECT_TRUE(is_sample("x{a=\"1\"} -1.5e3"));
}

// The listeners: real queries on a loopback port, two workers.
class ServerCounting : public ::testing::Test {
protected:
    void SetUp() override {
        counters_ = std::make_shared<QueryCounters>();
        std::vector<zone::ServedZone> zones;
        zones.push_back(served("example.com."));
        catalog_ = std::make_unique<Published<zone::Catalog>>(catalog(std::move(zones), counters_));
        ServerOptions so;
        so.listen.push_back({"127.0.0.1", 0});
        so.threads = 2;
        so.counters = counters_;
        server_ = std::make_unique<Server>(so, *catalog_);
        auto started = server_->start();
        ASSERT_TRUE(started.ok()) << started.error().message;
        port_ = server_->bound_ports()[0];
    }
    void TearDown() override {
        if (server_) server_->stop();
    }

    sockaddr_in address() const {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port_);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return a;
    }
    static void timeout(int fd, int ms = 2000) {
        timeval tv{ms / 1000, (ms % 1000) * 1000};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }

    // Sends over UDP; returns the response's rcode, or -1 for none within `ms`.
    int udp(const Buf& q, int ms = 2000) {
        int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        timeout(fd, ms);
        sockaddr_in a = address();
        ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
        std::uint8_t buf[1232];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        ::close(fd);
        return n >= 12 ? buf[3] & 0xf : -1;
    }
    int tcp(const Buf& q) {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        timeout(fd);
        sockaddr_in a = address();
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(fd);
            return -1;
        }
        Buf framed{static_cast<std::uint8_t>(q.size() >> 8), static_cast<std::uint8_t>(q.size())};
        framed.insert(framed.end(), q.begin(), q.end());
        (void)::send(fd, framed.data(), framed.size(), MSG_NOSIGNAL);
        std::uint8_t buf[2 + 512];
        std::size_t got = 0;
        while (got < 2 + 12) {
            ssize_t n = ::recv(fd, buf + got, sizeof buf - got, 0);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        ::close(fd);
        return got >= 2 + 12 ? buf[2 + 3] & 0xf : -1;
    }
    // The counters are written by the workers before they send; wait until
    // `done` holds (or give up after two seconds).
    template <class F>
    void wait_for(F done) {
        for (int i = 0; i < 200 && !done(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    std::shared_ptr<QueryCounters> counters_;
    std::unique_ptr<Published<zone::Catalog>> catalog_;
    std::unique_ptr<Server> server_;
    std::uint16_t port_ = 0;
};

TEST_F(ServerCounting, CountsUdpAndTcpQueriesByZoneAndRcode) {
    EXPECT_EQ(udp(make_query({.name = "www.example.com."})), rc::NOERROR);
    EXPECT_EQ(udp(make_query({.name = "nx.example.com."})), rc::NXDOMAIN);
    EXPECT_EQ(udp(make_query({.name = "www.example.org."})), rc::REFUSED);
    EXPECT_EQ(tcp(make_query({.name = "www.example.com."})), rc::NOERROR);
    EXPECT_EQ(udp(Buf{0, 1, 2}, 200), -1);  // no response
    wait_for([&] {
        auto t = counters_->totals();
        return t.udp == 3 && t.tcp == 1 && t.dropped == 1 && t.tcp_connections == 1;
    });
    auto t = counters_->totals();
    EXPECT_EQ(t.udp, 3u);
    EXPECT_EQ(t.tcp, 1u);
    EXPECT_EQ(t.dropped, 1u);
    EXPECT_EQ(t.tcp_connections, 1u);
    const Counts want = {
        {"", {{"REFUSED", 1}}},
        {"example.com.", {{"NOERROR", 2}, {"NXDOMAIN", 1}}},
    };
    EXPECT_EQ(counts(*counters_), want);
    EXPECT_EQ(&server_->counters(), counters_.get());
}

// Queries flowing while the control side publishes catalogs (new snapshots,
// other zones coming and going), reclaims and renders: no count is lost.
TEST_F(ServerCounting, CountsStayRightWhileCatalogsChange) {
    constexpr int kQueries = 300;
    std::atomic<bool> done{false};
    std::atomic<std::uint32_t> serial{2};
    int answered = 0;
    std::thread client([&] {
        for (int i = 0; i < kQueries; ++i) {
            // Every 30 queries, another catalog first (bounded wait): the
            // queries always straddle catalog changes, however the threads run.
            if (i % 30 == 0) {
                std::uint32_t want = 2 + std::uint32_t(i / 30);
                for (int t = 0; t < 5000 && serial < want; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            answered += udp(make_query({.name = "www.example.com."})) == rc::NOERROR;
        }
        done = true;
    });
    while (!done) {
        std::vector<zone::ServedZone> zones;
        zones.push_back(served("example.com.", true, serial));
        if (serial % 2) zones.push_back(served("other" + std::to_string(serial % 7) + ".test."));
        catalog_->publish(catalog(std::move(zones), counters_));
        catalog_->reclaim();
        EXPECT_NE(counters_->metrics_text().find("satellite_queries_total"), std::string::npos);
        ++serial;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    client.join();
    EXPECT_EQ(answered, kQueries);
    EXPECT_GE(serial, 11u);  // 9 catalogs replaced while queries ran
    wait_for([&] { return counters_->totals().udp == kQueries; });
    EXPECT_EQ(counts(*counters_)["example.com."]["NOERROR"], std::uint64_t(kQueries));
}

// One UDP query to host:port; the response's rcode, or -1 for none within `ms`.
int udp_to(const char* host, std::uint16_t port, const Buf& q, int ms = 2000) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, host, &a.sin_addr);
    ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    std::uint8_t buf[1232];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ::close(fd);
    return n >= 12 ? buf[3] & 0xf : -1;
}

// SIGHUP's rebind: an added address gets UDP threads (a reader slot each)
// and answers; a removed one's threads stop, give their slots back and
// their counts stay in the sums; the unchanged address answers throughout.
TEST_F(ServerCounting, RebindStartsAndStopsUdpThreadsAndTheirReaderSlots) {
    const unsigned free_at_start = catalog_->free_readers();
    EXPECT_EQ(free_at_start, 256u - 2 * (1 + 1));  // two workers: TCP thread + one UDP thread each
    auto q = make_query({.name = "www.example.com."});
    // As configured: port 0 stays 0 (the port bound stays the same).
    auto s = server_->rebind({{"127.0.0.1", 0}, {"127.0.0.2", 0}});
    ASSERT_TRUE(s.ok()) << s.error().message;
    ASSERT_EQ(server_->bound_ports().size(), 2u);
    EXPECT_EQ(server_->bound_ports()[0], port_);
    const std::uint16_t second = server_->bound_ports()[1];
    EXPECT_EQ(catalog_->free_readers(), free_at_start - 2);
    EXPECT_EQ(udp_to("127.0.0.2", second, q), rc::NOERROR);
    EXPECT_EQ(udp(q), rc::NOERROR);
    EXPECT_EQ(tcp(q), rc::NOERROR);

    s = server_->rebind({{"127.0.0.2", 0}});  // the first address goes
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(catalog_->free_readers(), free_at_start);  // joined, slots back
    EXPECT_EQ(server_->bound_ports(), std::vector<std::uint16_t>{second});
    EXPECT_EQ(udp(q, 300), -1);
    EXPECT_EQ(tcp(q), -1);
    EXPECT_EQ(udp_to("127.0.0.2", second, q), rc::NOERROR);
    wait_for([&] { return counters_->totals().udp == 3; });
    EXPECT_EQ(counters_->totals().udp, 3u);  // the stopped threads' counts included

    // Back again: the slots and counters given back are taken again.
    s = server_->rebind({{"127.0.0.2", 0}, {"127.0.0.1", 0}});
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(catalog_->free_readers(), free_at_start - 2);
    EXPECT_EQ(udp_to("127.0.0.1", server_->bound_ports()[1], q), rc::NOERROR);
    wait_for([&] { return counters_->totals().udp == 4; });
    EXPECT_EQ(counters_->totals().udp, 4u);
}

// Too few reader slots: start() and rebind() refuse with an error, take
// no slot and (rebind) leave the running sockets serving.
TEST_F(ServerCounting, TooFewReaderSlotsIsAnErrorNotACrash) {
    Published<zone::Catalog> small(catalog({served("example.com.")}, counters_), 4);
    ServerOptions so;
    so.listen.push_back({"127.0.0.1", 0});
    so.threads = 2;
    so.counters = counters_;
    {
        Server tight(so, small);  // 2 x (TCP + 1 UDP) = 4: fits exactly
        auto started = tight.start();
        ASSERT_TRUE(started.ok()) << started.error().message;
        EXPECT_EQ(small.free_readers(), 0u);
        const std::uint16_t port = tight.bound_ports()[0];
        auto s = tight.rebind({{"127.0.0.1", 0}, {"127.0.0.2", 0}});
        ASSERT_FALSE(s.ok());
        EXPECT_NE(s.error().message.find("readers"), std::string::npos) << s.error().message;
        EXPECT_EQ(tight.bound_ports(), std::vector<std::uint16_t>{port});
        EXPECT_EQ(udp_to("127.0.0.1", port, make_query({.name = "www.example.com."})), rc::NOERROR);
        tight.stop();
        EXPECT_EQ(small.free_readers(), 4u);
    }
    so.listen.push_back({"127.0.0.2", 0});  // 2 x (TCP + 2 UDP) = 6
    Server too_many(so, small);
    auto started = too_many.start();
    ASSERT_FALSE(started.ok());
    EXPECT_NE(started.error().message.find("readers"), std::string::npos) << started.error().message;
    EXPECT_EQ(small.free_readers(), 4u);
}

}  // namespace
}  // namespace satellite::serve
