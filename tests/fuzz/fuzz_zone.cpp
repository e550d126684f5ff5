// Fuzz target for zone content: a primary may send any records. The input
// is a list of records (owner, type, TTL, RDATA) for the zone fuzz.test.,
// always with a valid SOA and NS at the apex added. If the snapshot builds,
// a fixed set of queries (every lookup path, DO=0 and DO=1, UDP and TCP)
// must be answered with a well-formed response inside the buffer.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "dns/types.hpp"
#include "dns/wire.hpp"
#include "dns/zonefile.hpp"
#include "serve/answer.hpp"
#include "zone/catalog.hpp"
#include "zone/snapshot.hpp"

namespace {

using namespace satellite;

const dns::Name& origin() {
    static const dns::Name o = *dns::Name::from_text("fuzz.test.");
    return o;
}

std::vector<std::uint8_t> make_query(const char* name, std::uint16_t qtype, bool edns, bool dnssec) {
    std::vector<std::uint8_t> q = {0x12, 0x34, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(edns)};
    auto n = *dns::Name::from_text(name);
    q.insert(q.end(), n.data(), n.data() + n.size());
    q.push_back(static_cast<std::uint8_t>(qtype >> 8));
    q.push_back(static_cast<std::uint8_t>(qtype));
    q.push_back(0);
    q.push_back(1);
    if (edns) {
        const std::uint8_t opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, static_cast<std::uint8_t>(dnssec ? 0x80 : 0), 0, 0, 0};
        q.insert(q.end(), opt, opt + 11);
    }
    return q;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const dns::RecordList base = *dns::parse_records(
        "fuzz.test. 300 IN SOA ns.fuzz.test. h.fuzz.test. 1 3600 600 86400 60\n"
        "fuzz.test. 300 IN NS ns.fuzz.test.\n",
        origin());
    dns::RecordList records = base;
    // Record encoding: owner prefix length (0-32) + prefix labels as raw
    // wire bytes, u16 type, u8 TTL, u8 RDATA length + RDATA.
    std::size_t pos = 0;
    while (pos + 5 <= size && records.size() < 64) {
        std::size_t plen = data[pos] % 33;
        ++pos;
        if (pos + plen + 4 > size) break;
        std::vector<std::uint8_t> owner(data + pos, data + pos + plen);
        pos += plen;
        owner.insert(owner.end(), origin().data(), origin().data() + origin().size());
        std::uint16_t type = static_cast<std::uint16_t>((data[pos] << 8) | data[pos + 1]);
        std::uint32_t ttl = data[pos + 2];
        std::size_t rdlen = data[pos + 3];
        pos += 4;
        if (pos + rdlen > size) break;
        if (dns::wire_name::length(owner.data(), owner.size()) != owner.size()) {
            pos += rdlen;
            continue;  // not a name: a transfer would have refused it earlier
        }
        records.add(owner, type, dns::rrclass::IN, ttl, {data + pos, rdlen});
        pos += rdlen;
    }
    auto snap = zone::build_snapshot(origin(), records);
    if (!snap) return 0;
    std::vector<zone::ServedZone> zones(1);
    zones[0].origin = origin();
    zones[0].snapshot = *snap;
    zone::Catalog catalog(std::move(zones));

    static const char* names[] = {"fuzz.test.", "a.fuzz.test.", "www.fuzz.test.", "x.y.fuzz.test.",
                                  "*.fuzz.test.", "b.a.fuzz.test.", "nx.nx.fuzz.test."};
    static const std::uint16_t types[] = {dns::type::A, dns::type::NS, dns::type::CNAME, dns::type::DS,
                                          dns::type::ANY, dns::type::RRSIG, dns::type::NSEC3, dns::type::MX};
    static std::uint8_t out[65535];
    serve::AnswerOptions options;
    for (const char* name : names) {
        for (std::uint16_t type : types) {
            for (int variant = 0; variant < 3; ++variant) {
                auto q = make_query(name, type, variant > 0, variant == 2);
                auto transport = variant == 1 ? serve::Transport::Tcp : serve::Transport::Udp;
                std::size_t cap = transport == serve::Transport::Tcp ? sizeof out : options.udp_max_payload;
                std::size_t n = serve::answer(catalog, q, transport, options, {out, cap});
                if (n < 12 || n > cap) std::abort();
                if (dns::load16(out) != 0x1234 || !(out[2] & 0x80)) std::abort();
                // Walk every record: the response must parse.
                std::size_t p = 12;
                unsigned qd = dns::load16(out + 4);
                unsigned rr = dns::load16(out + 6) + dns::load16(out + 8) + dns::load16(out + 10);
                std::uint8_t nm[dns::kMaxNameLen];
                std::size_t nl;
                for (unsigned i = 0; i < qd; ++i) {
                    p = dns::read_name({out, n}, p, nm, &nl);
                    if (!p || p + 4 > n) std::abort();
                    p += 4;
                }
                for (unsigned i = 0; i < rr; ++i) {
                    p = dns::read_name({out, n}, p, nm, &nl);
                    if (!p || p + 10 > n) std::abort();
                    p += 10 + dns::load16(out + p + 8);
                    if (p > n) std::abort();
                }
                if (p != n) std::abort();
            }
        }
    }
    return 0;
}

#ifdef SATELLITE_FUZZ_REPLAY
#include "fuzz/replay_main.hpp"
#endif
