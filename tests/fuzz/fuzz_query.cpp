// libFuzzer target for the query path: arbitrary bytes → parse_query() and
// answer() over UDP (two buffer sizes) and TCP, against a small fixed catalog
// (wildcards, CNAME chains and loops within and across zones, DNAME, a
// delegation with glue, a served child, a zone without data). Every response
// must fit its buffer and limit, parse back completely, and agree with the
// query's header. Built with -DSATELLITE_FUZZ_REPLAY it is instead a plain
// program that runs every file of a corpus directory through the same checks
// (registered with ctest as fuzz_query_corpus).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "dns/dnssec.hpp"
#include "dns/message.hpp"
#include "dns/types.hpp"
#include "dns/zonefile.hpp"
#include "modes/live.hpp"
#include "serve/answer.hpp"
#include "serve/online.hpp"
#include "unit/dns/test_packet.hpp"
#include "zone/catalog.hpp"
#include "zone/snapshot.hpp"

namespace {

using namespace satellite;

#define FUZZ_CHECK(cond)                                                                    \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            std::fprintf(stderr, "fuzz_query: check failed: %s (%s:%d)\n", #cond, __FILE__, \
                         __LINE__);                                                         \
            std::abort();                                                                   \
        }                                                                                   \
    } while (0)

std::string example_com() {
    const std::string l63(63, 'l');
    std::string z =
        "example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 "
        "300\n"
        "example.com. 3600 IN NS ns1.example.com.\n"
        "example.com. 3600 IN NS ns2.example.net.\n"
        "example.com. 3600 IN MX 10 mail.example.com.\n"
        "example.com. 3600 IN A 192.0.2.1\n"
        "example.com. 3600 IN AAAA 2001:db8::1\n"
        "ns1.example.com. 3600 IN A 192.0.2.53\n"
        "mail.example.com. 3600 IN A 192.0.2.25\n"
        "mail.example.com. 3600 IN AAAA 2001:db8::25\n"
        "web.example.com. 300 IN A 192.0.2.80\n"
        "www.example.com. 300 IN CNAME web.example.com.\n"
        "ext.example.com. 300 IN CNAME www.example.net.\n"
        "loop1.example.com. 60 IN CNAME loop2.example.com.\n"
        "tochild.example.com. 60 IN CNAME www.child.example.com.\n"
        "xloop.example.com. 60 IN CNAME xloop.child.example.com.\n"
        "dnchild.example.com. 60 IN DNAME child.example.com.\n"
        "loop2.example.com. 60 IN CNAME loop1.example.com.\n"
        "a.b.c.example.com. 60 IN A 192.0.2.4\n"
        "*.wild.example.com. 60 IN A 192.0.2.99\n"
        "*.wild.example.com. 60 IN TXT \"wild\"\n"
        "sub.wild.example.com. 60 IN TXT \"exists\"\n"
        "*.cname.example.com. 60 IN CNAME web.example.com.\n"
        "dn.example.com. 60 IN DNAME example.net.\n"
        "dn2.example.com. 60 IN DNAME t.example.com.\n"
        "x.t.example.com. 60 IN A 192.0.2.6\n"
        "dnlong.example.com. 60 IN DNAME " +
        l63 + "." + l63 + "." + l63 +
        ".example.net.\n"
        "deleg.example.com. 86400 IN NS ns.deleg.example.com.\n"
        "deleg.example.com. 86400 IN NS ns.other.net.\n"
        "deleg.example.com. 86400 IN DS 12345 13 2 "
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
        "ns.deleg.example.com. 86400 IN A 192.0.2.54\n"
        "ns.deleg.example.com. 86400 IN AAAA 2001:db8::54\n"
        "child.example.com. 86400 IN NS ns1.example.com.\n"
        "_sip._tcp.example.com. 60 IN SRV 0 5 5060 mail.example.com.\n";
    for (int i = 0; i < 30; ++i) {
        z += "big.example.com. 60 IN TXT \"" + std::string(50, 'x') + std::to_string(i) + "\"\n";
    }
    return z;
}

zone::ServedZone served(const std::string& origin, const std::string& text) {
    auto o = dns::Name::from_text(origin);
    auto recs = dns::parse_records(text, *o);
    if (!recs) throw std::runtime_error(origin + ": " + recs.error().message);
    auto snap = zone::build_snapshot(*o, *recs);
    if (!snap) throw std::runtime_error(origin + ": " + snap.error().message);
    zone::ServedZone z;
    z.origin = *o;
    z.snapshot = *snap;
    return z;
}

// A live zone with compact denial (RFC 9824), signed by our signer with an
// Ed25519 key (deterministic signatures, so the two runs per input agree).
zone::ServedZone compact_zone() {
    auto o = dns::Name::from_text("compact.test.");
    auto recs = dns::parse_records(
        "compact.test. 60 IN SOA ns1.compact.test. h.compact.test. 1 2 3 4 5\n"
        "compact.test. 60 IN NS ns1.compact.test.\n"
        "ns1.compact.test. 60 IN A 192.0.2.1\n"
        "www.compact.test. 60 IN A 192.0.2.2\n"
        "alias.compact.test. 60 IN CNAME nowhere.compact.test.\n"
        "*.wild.compact.test. 60 IN TXT \"w\"\n"
        "a.b.c.compact.test. 60 IN TXT \"deep\"\n"
        "deleg.compact.test. 60 IN NS ns.deleg.compact.test.\n"
        "ns.deleg.compact.test. 60 IN A 192.0.2.3\n"
        "dn.compact.test. 60 IN DNAME example.com.\n",
        *o);
    if (!recs) throw std::runtime_error("compact.test.: " + recs.error().message);
    modes::ZoneKeys keys;
    for (bool ksk : {true, false}) {
        modes::ZoneKey k;
        k.role = ksk ? modes::KeyRole::Ksk : modes::KeyRole::Zsk;
        k.key = *dns::SigningKey::generate(15);
        k.dnskey = k.key->dnskey_rdata(ksk ? 257 : 256);
        k.tag = dns::key_tag(k.dnskey);
        keys.keys.push_back(std::move(k));
    }
    modes::LivePolicy policy;
    policy.denial = modes::Denial::Compact;
    policy.threads = 1;
    auto signed_zone = modes::sign_zone(*o, *recs, keys, policy, nullptr, 1'800'000'000);
    if (!signed_zone) throw std::runtime_error("compact.test.: " + signed_zone.error().message);
    zone::ServedZone z;
    z.origin = *o;
    z.snapshot = signed_zone->snapshot;
    return z;
}

const zone::Catalog& catalog() {
    static const zone::Catalog c = [] {
        std::vector<zone::ServedZone> zones;
        zones.push_back(served("example.com.", example_com()));
        zones.push_back(compact_zone());
        zones.push_back(
            served("child.example.com.",
                   "child.example.com. 60 IN SOA ns1.example.com. h.example.com. 1 2 3 4 5\n"
                   "child.example.com. 60 IN NS ns1.example.com.\n"
                   "www.child.example.com. 60 IN A 192.0.2.9\n"
                   "xloop.child.example.com. 60 IN CNAME xloop.example.com.\n"));
        zones.push_back(
            served("apexdname.test.",
                   "apexdname.test. 60 IN SOA ns1.example.com. h.example.com. 1 2 3 4 5\n"
                   "apexdname.test. 60 IN NS ns1.example.com.\n"
                   "apexdname.test. 60 IN DNAME example.com.\n"));
        zone::ServedZone broken;
        broken.origin = *dns::Name::from_text("broken.test.");
        zones.push_back(broken);
        return zone::Catalog(std::move(zones));
    }();
    return c;
}

// One answer() call into a buffer of exactly `cap` bytes, first filled with
// `fill`, so that a response depending on bytes it never wrote shows up as a
// difference between two fills.
std::vector<std::uint8_t> run(std::span<const std::uint8_t> query, serve::Transport tr,
                              const serve::AnswerOptions& opt, std::size_t cap, std::uint8_t fill) {
    std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[cap]);
    std::memset(buf.get(), fill, cap);
    std::size_t n = serve::answer(catalog(), query, tr, opt, {buf.get(), cap});
    FUZZ_CHECK(n <= cap);
    return {buf.get(), buf.get() + n};
}

void check(std::span<const std::uint8_t> query, serve::Transport tr, std::uint16_t udp_max) {
    dns::Query q;
    const dns::ParseStatus st = dns::parse_query(query, q);
    serve::AnswerOptions opt;
    opt.udp_max_payload = udp_max;
    static serve::OnlineSigner online(64);
    opt.online = &online;
    opt.now = 1'800'000'100;
    const std::size_t cap = tr == serve::Transport::Tcp ? 65535 : udp_max;

    auto resp = run(query, tr, opt, cap, 0x00);
    auto again = run(query, tr, opt, cap, 0xa5);
    FUZZ_CHECK(resp == again);  // deterministic, and no unwritten bytes

    if (st == dns::ParseStatus::Drop) {
        FUZZ_CHECK(resp.empty());
        return;
    }
    FUZZ_CHECK(resp.size() >= dns::kHeaderLen);
    if (tr == serve::Transport::Udp) {
        std::size_t limit = 512;
        if (q.has_edns && q.edns_payload > 512) {
            limit = q.edns_payload < udp_max ? q.edns_payload : udp_max;
        }
        FUZZ_CHECK(resp.size() <= limit);
    }

    std::string err;
    auto d = satellite::testing::decode(resp, &err);
    if (!d) std::fprintf(stderr, "fuzz_query: response does not parse: %s\n", err.c_str());
    FUZZ_CHECK(d.has_value());
    FUZZ_CHECK(d->qr());
    FUZZ_CHECK(d->id == q.id);
    FUZZ_CHECK(d->opcode() == q.opcode);
    FUZZ_CHECK((d->flags & (dns::flag::RD | dns::flag::CD)) ==
               (q.flags & (dns::flag::RD | dns::flag::CD)));
    FUZZ_CHECK(!d->ra());
    FUZZ_CHECK(d->opt_count <= 1);
    FUZZ_CHECK(d->has_opt == q.has_edns);
    if (st == dns::ParseStatus::FormErr) FUZZ_CHECK(d->rcode() == dns::rcode::FORMERR);
    if (st == dns::ParseStatus::NotImp) FUZZ_CHECK(d->rcode() == dns::rcode::NOTIMP);
    if (st != dns::ParseStatus::Ok) {
        FUZZ_CHECK(d->answer.empty() && d->authority.empty() && d->additional.empty());
    }
    // The question comes back byte for byte (case kept) when it was readable.
    FUZZ_CHECK(d->qdcount == (q.question_end != 0 ? 1 : 0));
    if (q.question_end != 0) {
        std::size_t qlen = q.question_end - dns::kHeaderLen;
        FUZZ_CHECK(resp.size() >= q.question_end);
        FUZZ_CHECK(
            std::memcmp(resp.data() + dns::kHeaderLen, query.data() + dns::kHeaderLen, qlen) == 0);
    }
    // Only authoritative data is marked so: AA never comes with REFUSED,
    // SERVFAIL, FORMERR or NOTIMP.
    if (d->aa()) {
        unsigned rc = d->rcode();
        FUZZ_CHECK(rc == dns::rcode::NOERROR || rc == dns::rcode::NXDOMAIN ||
                   rc == dns::rcode::YXDOMAIN);
    }
    // Answer records are IN class.
    for (const auto& rr : d->answer) FUZZ_CHECK(rr.rclass == dns::rrclass::IN);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> query(data, size);
    check(query, serve::Transport::Udp, 1232);
    check(query, serve::Transport::Udp, 512);
    check(query, serve::Transport::Tcp, 1232);
    return 0;
}

#ifdef SATELLITE_FUZZ_REPLAY
#include "fuzz/replay_main.hpp"
#endif
