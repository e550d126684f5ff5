// The authoritative lookup (RFC 1034 §4.3.2 with RFC 4592 wildcards,
// RFC 6672 DNAME, RFC 2308 negative answers, RFC 8482 minimal ANY,
// RFC 6891 EDNS) written straight into the response buffer. DNSSEC denial
// from pre-signed NSEC/NSEC3 chains (RFC 4035 §3.1.3, RFC 5155 §7.2), or, in
// compact-denial zones (RFC 9824), signed at query time (serve/online.hpp).
//
//   parse ─► zone (longest match) ─► walk down from the apex:
//        cut? ─► referral        DNAME above qname? ─► synthesize CNAME, restart
//        name found ─► RRset | CNAME (restart at target) | NODATA
//        not found ─► wildcard at closest encloser | NXDOMAIN
#include "serve/answer.hpp"

#include <algorithm>
#include <cstring>

#include "dns/message.hpp"
#include "dns/records.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"
#include "serve/online.hpp"

namespace satellite::serve {

namespace {

using dns::load16;
using dns::store16;
namespace wn = dns::wire_name;
namespace t = dns::type;
using zone::kNone;
using zone::Node;
using zone::Rrset;
using zone::Snapshot;
using SnapshotRef = std::shared_ptr<const Snapshot>;

constexpr unsigned kMaxChain = 16;      // CNAME/DNAME steps followed in one answer
constexpr unsigned kMaxAdditional = 32;  // nodes queued for the additional section
constexpr std::size_t kOptLen = 11;
constexpr unsigned kMaxDenial = 6;        // distinct NSEC/NSEC3 records in one answer
constexpr std::uint16_t kEdnsCo = 0x4000;  // RFC 9824 §4.1: Compact Answers OK

// The offset of the query's OPT record type field (after its owner name),
// or 0. parse_query() has already checked every record's framing; this
// walks them again to find it.
std::size_t query_opt(std::span<const std::uint8_t> msg, const dns::Query& q) {
    if (!q.has_edns || q.question_end == 0) return 0;
    const std::uint8_t* h = msg.data();
    const unsigned total = unsigned(dns::load16(h + 6)) + dns::load16(h + 8) + dns::load16(h + 10);
    std::size_t pos = q.question_end;
    for (unsigned i = 0; i < total; ++i) {
        std::size_t after = dns::skip_name(msg, pos);
        if (after == 0 || after + 10 > msg.size()) return 0;
        if (load16(h + after) == t::OPT) return after;
        pos = after + 10 + load16(h + after + 8);
    }
    return 0;
}

// RFC 9824 §4.1: the CO flag of the query's OPT record.
bool query_has_co(std::span<const std::uint8_t> msg, const dns::Query& q) {
    const std::size_t opt = query_opt(msg, q);
    return opt != 0 && (load16(msg.data() + opt + 6) & kEdnsCo) != 0;
}

// Whether the query's OPT carries an option `code` (RFC 6891 §6.1.2).
bool query_has_option(std::span<const std::uint8_t> msg, const dns::Query& q, std::uint16_t code) {
    const std::size_t opt = query_opt(msg, q);
    if (opt == 0) return false;
    const std::uint8_t* h = msg.data();
    std::size_t o = opt + 10;
    const std::size_t end = std::min(o + load16(h + opt + 8), msg.size());
    while (o + 4 <= end) {
        if (load16(h + o) == code) return true;
        o += 4 + load16(h + o + 2);
    }
    return false;
}

// RFC 7314 §2: the query's OPT carries an EXPIRE option (code 9).
bool query_has_expire(std::span<const std::uint8_t> msg, const dns::Query& q) {
    return query_has_option(msg, q, 9);
}

// Where an owner name comes from: a pointer to a name already in the packet,
// or an uncompressed name to write (and compress).
struct Owner {
    int offset = -1;
    const std::uint8_t* name = nullptr;
};

struct Response {
    dns::Writer w;
    const dns::Query& q;
    Transport transport;
    const AnswerOptions& opt;
    std::uint16_t rcode = dns::rcode::NOERROR;
    bool aa = false;
    bool tc = false;
    bool co = false;      // the query set Compact Answers OK (RFC 9824 §4.1)
    bool failed = false;  // an online signature was needed and not made: SERVFAIL
    int ede = -1;         // RFC 8914 INFO-CODE to put in the OPT record (-1: none)
    std::int64_t expire = -1;  // RFC 7314 EXPIRE seconds to put in the OPT record (-1: none)
    bool nsid = false;         // RFC 5001: the query asked, and we have one to give
    std::uint16_t counts[3] = {0, 0, 0};  // answer, authority, additional
    std::size_t question_end = 0;
    // Additional-section candidates: (zone, node, required glue).
    struct Extra {
        const Snapshot* z;
        std::uint32_t node;
        bool required;
    };
    Extra extra[kMaxAdditional];
    unsigned extra_n = 0;
    struct NsecDone {
        const Snapshot* z;
        std::uint32_t node;
    } nsec_done[kMaxDenial];
    unsigned nsec_n = 0;
    // Storage for names synthesized by DNAME substitution.
    std::uint8_t synth[2][dns::kMaxNameLen];
    unsigned synth_i = 0;

    Response(std::uint8_t* buf, std::size_t cap, const dns::Query& query, Transport tr,
             const AnswerOptions& options)
        : w(buf, cap), q(query), transport(tr), opt(options) {}

    bool write_owner(const Owner& o) {
        if (o.offset >= 0) return w.put16(static_cast<std::uint16_t>(0xc000 | o.offset));
        return w.put_name(o.name);
    }

    // One RR: owner, type, class, TTL, RDATA (names compressed where RFC 3597
    // §4 allows it).
    bool write_rr(const Owner& owner, std::uint16_t type, std::uint32_t ttl,
                  const std::uint8_t* rd, std::uint16_t rdlen) {
        std::size_t mark = w.pos();
        if (!write_owner(owner) || !w.put16(type) || !w.put16(dns::rrclass::IN) || !w.put32(ttl)) {
            w.rewind(mark);
            return false;
        }
        std::size_t len_at = w.pos();
        if (!w.put16(0)) {
            w.rewind(mark);
            return false;
        }
        bool ok = true;
        switch (dns::compress_shape(type)) {
            case dns::RdataShape::Opaque:
                ok = w.put(rd, rdlen);
                break;
            case dns::RdataShape::Name:
                ok = w.put_name(rd);
                break;
            case dns::RdataShape::Preference:
                ok = w.put(rd, 2) && w.put_name(rd + 2);
                break;
            case dns::RdataShape::TwoNames: {
                std::size_t a = wn::length(rd, rdlen);
                ok = w.put_name(rd) && w.put_name(rd + a);
                break;
            }
            case dns::RdataShape::Soa: {
                std::size_t a = wn::length(rd, rdlen);
                std::size_t b = wn::length(rd + a, rdlen - a);
                ok = w.put_name(rd) && w.put_name(rd + a) && w.put(rd + a + b, 20);
                break;
            }
        }
        if (!ok) {
            w.rewind(mark);
            return false;
        }
        store16(w.data() + len_at, static_cast<std::uint16_t>(w.pos() - len_at - 2));
        return true;
    }

    // A whole RRset, or nothing (then overflow() is set). With DO=1 the
    // RRSIGs over it come along (RFC 4035 §3.1.1), with the same owner (a
    // wildcard answer's RRSIGs take the query name) and TTL.
    bool write_rrset(int section, const Owner& owner, const Snapshot& z, const Rrset& r,
                     std::uint32_t ttl) {
        std::size_t mark = w.pos();
        const Rrset* sigs = q.edns_do ? z.signatures(r) : nullptr;
        if (!write_records(owner, z, r, ttl) || (sigs && !write_records(owner, z, *sigs, ttl))) {
            w.rewind(mark);
            return false;
        }
        counts[section] += r.rr_count + (sigs ? sigs->rr_count : 0);
        return true;
    }

    bool write_records(const Owner& owner, const Snapshot&, const Rrset& r, std::uint32_t ttl) {
        const std::uint8_t* p = r.rdata();
        for (std::uint16_t i = 0; i < r.rr_count; ++i) {
            std::uint16_t len = load16(p);
            if (!write_rr(owner, r.type, ttl, p + 2, len)) return false;
            p += 2 + len;
        }
        return true;
    }

    // Authenticated denial with NSEC (RFC 4035 §3.1.3): the NSEC at a node,
    // once per response.
    bool dnssec(const Snapshot& z) const { return q.edns_do && (z.has_nsec() || z.has_nsec3()); }
    bool add_nsec_at(const Snapshot& z, std::uint32_t node, std::uint16_t type = dns::type::NSEC) {
        if (node == kNone) return true;
        for (unsigned i = 0; i < nsec_n; ++i) {
            if (nsec_done[i].z == &z && nsec_done[i].node == node) return true;
        }
        const Node& n = z.node(node);
        const Rrset* nsec = z.find_rrset(n, type);
        if (!nsec) return true;
        if (nsec_n < kMaxDenial) nsec_done[nsec_n++] = {&z, node};
        return write_rrset(1, Owner{-1, z.node_name(n)}, z, *nsec, nsec->ttl);
    }
    // NSEC3 (RFC 5155 §7.2): the NSEC3 matching a name, if there is one.
    bool nsec3_matches(const Snapshot& z, const std::uint8_t* lc, std::size_t len) const {
        return z.nsec3_match(z.nsec3_hash(lc, len)) != kNone;
    }
    bool add_nsec3_match(const Snapshot& z, const std::uint8_t* lc, std::size_t len) {
        return add_nsec_at(z, z.nsec3_match(z.nsec3_hash(lc, len)), dns::type::NSEC3);
    }
    bool add_nsec3_cover(const Snapshot& z, const std::uint8_t* lc, std::size_t len) {
        return add_nsec_at(z, z.nsec3_cover(z.nsec3_hash(lc, len)), dns::type::NSEC3);
    }
    // RFC 5155 §7.2.1: the closest provable encloser of the name (searched
    // from its suffix at `from` upwards) matched, and the next closer name
    // covered. Returns the encloser's offset in lc through `ce_off`.
    bool add_nsec3_closest_encloser(const Snapshot& z, const std::uint8_t* lc, std::size_t len,
                                    std::size_t from, std::size_t* ce_off = nullptr) {
        std::uint8_t offs[dns::kMaxLabels + 1];
        unsigned labels = wn::label_offsets(lc, offs);
        for (unsigned i = 0; i <= labels; ++i) {
            if (offs[i] < from) continue;
            if (!z.contains(lc + offs[i], len - offs[i]) || !nsec3_matches(z, lc + offs[i], len - offs[i])) continue;
            if (ce_off) *ce_off = offs[i];
            if (!add_nsec3_match(z, lc + offs[i], len - offs[i])) return false;
            if (i == 0) return true;  // the name itself exists
            return add_nsec3_cover(z, lc + offs[i - 1], len - offs[i - 1]);
        }
        return true;
    }
    // The NSEC whose owner..next interval covers (or matches) the name.
    bool add_nsec_covering(const Snapshot& z, const std::uint8_t* lc, std::size_t len) {
        return add_nsec_at(z, z.nsec_covering(lc, len));
    }

    bool write_rr(const Owner& owner, std::uint16_t type, std::uint32_t ttl,
                  std::span<const std::uint8_t> rdata) {
        return write_rr(owner, type, ttl, rdata.data(), static_cast<std::uint16_t>(rdata.size()));
    }

    // RFC 9824: an NSEC made now at `owner` (lower-cased `lc`), with its
    // RRSIG. False on overflow, or with `failed` set when no signature could
    // be made (the answer becomes SERVFAIL, never an unsigned denial).
    bool add_online_nsec(int section, const Owner& owner, const SnapshotRef& zs,
                         const std::uint8_t* lc, std::size_t len, OnlineKind kind,
                         std::span<const std::uint16_t> types = {}) {
        OnlineRecord rec;
        if (!opt.online || !opt.online->nsec(zs, lc, len, kind, types, opt.now, rec)) {
            failed = true;
            return false;
        }
        const std::uint32_t ttl = zs->online()->nsec_ttl;
        std::size_t mark = w.pos();
        if (!write_rr(owner, t::NSEC, ttl, rec.nsec) || !write_rr(owner, t::RRSIG, ttl, rec.rrsig)) {
            w.rewind(mark);
            return false;
        }
        counts[section] += 2;
        return true;
    }

    // RFC 9824 §3.3: an RRset synthesized from a wildcard, signed now as if
    // it existed at the name (labels = the name's), so that no proof of
    // a closer name's non-existence is needed. DO=0: the records alone.
    bool write_rrset_online(int section, const Owner& owner, const SnapshotRef& zs,
                            const Rrset& rs, const std::uint8_t* lc, std::size_t len) {
        if (!q.edns_do) return write_rrset(section, owner, *zs, rs, rs.ttl);
        OnlineRecord rec;
        if (!opt.online || !opt.online->rrset_signature(zs, lc, len, rs, opt.now, rec)) {
            failed = true;
            return false;
        }
        std::size_t mark = w.pos();
        if (!write_records(owner, *zs, rs, rs.ttl) || !write_rr(owner, t::RRSIG, rs.ttl, rec.rrsig)) {
            w.rewind(mark);
            return false;
        }
        counts[section] += rs.rr_count + 1;
        return true;
    }

    void queue_additional(const Snapshot& z, const Rrset& r, bool required_below) {
        auto targets = z.additional_nodes(r);
        for (std::uint32_t node : targets) {
            if (!z.additional_usable(r, node)) continue;
            if (extra_n == kMaxAdditional) return;
            bool dup = false;
            for (unsigned i = 0; i < extra_n; ++i) dup |= extra[i].z == &z && extra[i].node == node;
            if (!dup) extra[extra_n++] = Extra{&z, node, required_below};
        }
    }

    // Truncation (RFC 2181 §9): drop every section, keep the question.
    void truncate() {
        tc = true;
        w.rewind(question_end);
        w.clear_overflow();
        counts[0] = counts[1] = counts[2] = 0;
        extra_n = 0;
    }
};

struct Lookup {
    enum Kind { Exact, Wildcard, NxDomain, Referral, Dname } kind;
    std::uint32_t node;
};

// Walks from the apex towards the name (lower-cased, `len` octets).
Lookup lookup(const Snapshot& z, const std::uint8_t* lc, std::size_t len, std::uint16_t qtype) {
    std::uint8_t offsets[dns::kMaxLabels + 1];
    unsigned labels = wn::label_offsets(lc, offsets);
    unsigned apex_labels = z.origin().label_count();
    std::uint32_t found = z.apex();
    // RFC 6672 §2.3: a DNAME at the apex redirects every name below it.
    if ((z.node(found).flags & Node::Dname) && labels > apex_labels) return {Lookup::Dname, found};
    for (unsigned d = apex_labels + 1; d <= labels; ++d) {
        std::size_t off = offsets[labels - d];
        std::uint32_t idx = z.find(lc + off, len - off);
        if (idx != kNone && (z.node(idx).flags & Node::Nsec3Only)) idx = kNone;
        if (idx == kNone) {
            std::uint32_t wc = z.node(found).wildcard_child;
            if (wc != kNone) return {Lookup::Wildcard, wc};
            return {Lookup::NxDomain, found};
        }
        const Node& n = z.node(idx);
        if (n.flags & Node::Cut) {
            // RFC 4035 §3.1.4.1: the parent side answers DS at the cut.
            if (!(d == labels && qtype == t::DS)) return {Lookup::Referral, idx};
        }
        if ((n.flags & Node::Dname) && d < labels) return {Lookup::Dname, idx};
        found = idx;
    }
    return {Lookup::Exact, found};
}

void write_negative(Response& r, const Snapshot& z) {
    const Node& apex = z.node(z.apex());
    Owner o{-1, z.node_name(apex)};
    if (!r.write_rrset(1, o, z, z.soa(), z.negative_ttl())) r.truncate();
}

// The types present at a node, for an online NSEC's bitmap. False if there
// are more than fit.
bool node_types(const Snapshot& z, const Node& n, std::uint16_t* out, std::size_t cap,
                std::size_t* count) {
    std::size_t k = 0;
    for (const Rrset& set : z.rrsets_of(n)) {
        if (k == cap) return false;
        out[k++] = set.type;
    }
    *count = k;
    return true;
}

// The zone that holds a chain's next name: this one, or another zone we
// serve (RFC 1034 §4.3.2 step 3a restarts the lookup for the target).
const SnapshotRef* zone_for(const zone::Catalog& cat, const std::uint8_t* lc, std::size_t len) {
    const zone::ServedZone* sz = cat.find(lc, len);
    return sz ? sz->served() : nullptr;
}

// Answers the name `owner`/`lc` of length `len` in zone *zsp; follows
// CNAME/DNAME chains inside the zone and into other zones we serve.
void resolve(Response& r, const zone::Catalog& cat, const SnapshotRef* zsp, Owner owner,
             const std::uint8_t* lc, std::size_t len) {
    const std::uint16_t qtype = r.q.qtype;
    std::uint8_t lcbuf[dns::kMaxNameLen];
    // Names already answered in this chain: a loop stops at the first repeat
    // (RFC 1034 §3.6.2), so each record appears once.
    struct Seen {
        const Snapshot* z;
        std::uint32_t node;
    } seen[kMaxChain];
    unsigned seen_n = 0;
    // RFC 1034 §4.3.2 step 3a: restart the lookup at a chain's next name, in
    // whichever zone we serve holds it. False when we serve none.
    auto restart_at = [&](const std::uint8_t* name, std::size_t nlen) {
        wn::lower_copy(name, nlen, lcbuf);
        zsp = zone_for(cat, lcbuf, nlen);
        owner = Owner{-1, name};
        lc = lcbuf;
        len = nlen;
        return zsp != nullptr;
    };
    for (unsigned step = 0; step < kMaxChain; ++step) {
        const Snapshot* zp = zsp->get();
        const Snapshot& z = *zp;
        // RFC 9824: denial (and wildcard answers) signed at query time.
        const bool compact = z.online() != nullptr && r.q.edns_do;
        Lookup lk = lookup(z, lc, len, qtype);
        const Node* n = &z.node(lk.node);
        switch (lk.kind) {
            case Lookup::NxDomain:
                if (compact) {
                    // RFC 9824 §3.1: NODATA with an NSEC at the name whose
                    // bitmap says NXNAME; RCODE NXDOMAIN only when the query
                    // said it understands that (CO flag, §4.1). For a
                    // CNAME's missing target the NSEC is the target's
                    // (RFC 6604 §3: the last name decides the rcode).
                    r.rcode = r.co ? dns::rcode::NXDOMAIN : dns::rcode::NOERROR;
                    write_negative(r, z);
                    if (!r.tc && !r.add_online_nsec(1, owner, *zsp, lc, len, OnlineKind::NxName) &&
                        !r.failed) {
                        r.truncate();
                    }
                    return;
                }
                r.rcode = dns::rcode::NXDOMAIN;  // RFC 6604 §3: the last name's rcode
                write_negative(r, z);
                if (r.dnssec(z) && !r.tc) {
                    // No such name, and no wildcard at the closest encloser
                    // that could have matched it: RFC 4035 §3.1.3.2 (NSEC),
                    // RFC 5155 §7.2.2 (NSEC3).
                    std::uint8_t wild[dns::kMaxNameLen];
                    const Node& ce = z.node(lk.node);
                    std::size_t ce_off = len - ce.name_len;
                    bool ok;
                    if (z.has_nsec()) {
                        wild[0] = 1;
                        wild[1] = '*';
                        wn::lower_copy(z.node_name(ce), ce.name_len, wild + 2);
                        ok = r.add_nsec_covering(z, lc, len) &&
                             r.add_nsec_covering(z, wild, ce.name_len + 2u);
                    } else {
                        ok = r.add_nsec3_closest_encloser(z, lc, len, ce_off, &ce_off);
                        wild[0] = 1;
                        wild[1] = '*';
                        std::memcpy(wild + 2, lc + ce_off, len - ce_off);
                        ok = ok && r.add_nsec3_cover(z, wild, len - ce_off + 2);
                    }
                    if (!ok) r.truncate();
                }
                return;
            case Lookup::Referral: {
                const Rrset* ns = z.find_rrset(*n, t::NS);
                if (step == 0) r.aa = false;
                if (!r.write_rrset(1, Owner{-1, z.node_name(*n)}, z, *ns, ns->ttl)) {
                    r.truncate();
                    return;
                }
                if (r.q.edns_do && z.is_signed()) {
                    // RFC 4035 §3.1.4: the DS RRset, or the NSEC proving there is none.
                    const Rrset* ds = z.find_rrset(*n, t::DS);
                    bool ok;
                    if (ds) {
                        ok = r.write_rrset(1, Owner{-1, z.node_name(*n)}, z, *ds, ds->ttl);
                    } else if (z.has_nsec3()) {
                        // RFC 5155 §7.2.7: the cut's NSEC3, or (opt-out) the
                        // closest provable encloser proof.
                        std::uint8_t cut[dns::kMaxNameLen];
                        wn::lower_copy(z.node_name(*n), n->name_len, cut);
                        ok = r.add_nsec3_closest_encloser(z, cut, n->name_len, 0);
                    } else if (compact && !z.find_rrset(*n, t::NSEC)) {
                        // RFC 9824 §3.4: the cut's NSEC, made now if the
                        // signer left none (NS, DS if any, NSEC, RRSIG).
                        std::uint16_t types[256];
                        std::size_t nt = 0;
                        std::uint8_t cut[dns::kMaxNameLen];
                        wn::lower_copy(z.node_name(*n), n->name_len, cut);
                        ok = node_types(z, *n, types, 256, &nt);
                        if (!ok) r.failed = true;
                        ok = ok && r.add_online_nsec(1, Owner{-1, z.node_name(*n)}, *zsp, cut,
                                                     n->name_len, OnlineKind::Delegation,
                                                     {types, nt});
                    } else {
                        ok = r.add_nsec_at(z, lk.node);
                    }
                    if (!ok) {
                        if (!r.failed) r.truncate();
                        return;
                    }
                }
                r.queue_additional(z, *ns, true);
                return;
            }
            case Lookup::Dname: {
                const Rrset* dn = z.find_rrset(*n, t::DNAME);
                if (!r.write_rrset(0, Owner{-1, z.node_name(*n)}, z, *dn, dn->ttl)) {
                    r.truncate();
                    return;
                }
                // RFC 6672 §2.2: replace the DNAME owner suffix by the target.
                const std::uint8_t* target = dn->rdata() + 2;
                std::size_t tlen = load16(dn->rdata());
                const std::uint8_t* cur = owner.offset >= 0 ? r.q.qname : owner.name;
                std::size_t prefix = len - n->name_len;
                if (prefix + tlen > dns::kMaxNameLen) {
                    r.rcode = dns::rcode::YXDOMAIN;
                    return;
                }
                std::uint8_t* out = r.synth[r.synth_i++ & 1];
                std::memcpy(out, cur, prefix);
                std::memcpy(out + prefix, target, tlen);
                std::size_t nlen = prefix + tlen;
                // Synthesized CNAME, TTL of the DNAME.
                if (!r.write_rr(owner, t::CNAME, dn->ttl, out, static_cast<std::uint16_t>(nlen))) {
                    r.truncate();
                    return;
                }
                ++r.counts[0];
                if (qtype == t::CNAME) return;  // the synthesized CNAME is the answer
                if (!restart_at(out, nlen)) return;
                continue;
            }
            case Lookup::Exact:
            case Lookup::Wildcard:
                break;
        }
        // A name that exists (or is synthesized from a wildcard).
        const bool wildcard = lk.kind == Lookup::Wildcard;
        // The wildcard's parent is the closest encloser of the query name.
        const std::size_t wild_ce_off = wildcard ? len - (n->name_len - 2u) : 0;
        // A wildcard answer proves that no closer name exists: RFC 4035
        // §3.1.3.3 (NSEC), RFC 5155 §7.2.6 (NSEC3: the next closer is covered).
        // Compact zones sign the answer at the name instead (RFC 9824 §3.3).
        auto prove_no_closer = [&] {
            if (!wildcard || !r.dnssec(z) || compact) return true;
            if (z.has_nsec()) return r.add_nsec_covering(z, lc, len);
            std::uint8_t offs[dns::kMaxLabels + 1];
            unsigned labels = wn::label_offsets(lc, offs);
            for (unsigned i = 1; i <= labels; ++i) {
                if (offs[i] == wild_ce_off) return r.add_nsec3_cover(z, lc + offs[i - 1], len - offs[i - 1]);
            }
            return true;
        };
        // The records at the name: from the wildcard when synthesized, and
        // with an RRSIG made now in a compact zone (RFC 9824 §3.3).
        auto write_at_name = [&](const Rrset& rs) {
            return wildcard && compact ? r.write_rrset_online(0, owner, *zsp, rs, lc, len)
                                       : r.write_rrset(0, owner, z, rs, rs.ttl);
        };
        // RFC 9824 §3.2/§3.3: an NSEC at the name listing its types (the
        // wildcard's when synthesized), made now when none is pre-signed.
        auto add_online_nodata = [&](int section) {
            std::uint16_t types[256];
            std::size_t nt = 0;
            if (!node_types(z, *n, types, 256, &nt)) {
                r.failed = true;
                return false;
            }
            return r.add_online_nsec(section, owner, *zsp, lc, len, OnlineKind::NoData, {types, nt});
        };
        // NODATA: RFC 4035 §3.1.3.1 / §3.1.3.4; RFC 5155 §7.2.3-5.
        auto nodata = [&] {
            write_negative(r, z);
            if (!r.dnssec(z) || r.tc) return;
            bool ok;
            if (compact) {
                // RFC 9824 §3.2: the name's own NSEC (pre-signed by the
                // live signer); §3.3: at a wildcard-synthesized name, one
                // made now with the wildcard's types.
                ok = !wildcard && z.find_rrset(*n, t::NSEC) ? r.add_nsec_at(z, lk.node)
                                                            : add_online_nodata(1);
            } else if (z.has_nsec()) {
                ok = z.find_rrset(*n, t::NSEC) ? r.add_nsec_at(z, lk.node)
                                               : r.add_nsec_covering(z, lc, len);
                ok = ok && prove_no_closer();
            } else if (wildcard) {
                // Closest encloser proof plus the wildcard's own NSEC3.
                std::uint8_t wl[dns::kMaxNameLen];
                wn::lower_copy(z.node_name(*n), n->name_len, wl);
                ok = r.add_nsec3_closest_encloser(z, lc, len, wild_ce_off) &&
                     r.add_nsec3_match(z, wl, n->name_len);
            } else {
                // The name's NSEC3, or (opt-out, e.g. DS at an insecure cut)
                // the closest provable encloser proof.
                ok = r.add_nsec3_closest_encloser(z, lc, len, 0);
            }
            if (!ok && !r.failed) r.truncate();
        };
        if (n->rrset_count == 0) {  // empty non-terminal
            nodata();
            return;
        }
        if (qtype == t::ANY) {
            auto sets = z.rrsets_of(*n);
            // RFC 8482 §4.2: over UDP, one RRset is enough. DNSSEC records go
            // only to DO=1 queries (RFC 4035 §3.2.1), RRSIGs with their RRsets.
            std::size_t written = 0;
            for (const Rrset& set : sets) {
                if (dns::is_dnssec_type(set.type) && (!r.q.edns_do || set.type == t::RRSIG)) continue;
                // A wildcard's own NSEC names the wildcard: not synthesized
                // in a compact zone (the name's NSEC would be made now).
                if (wildcard && compact && set.type == t::NSEC) continue;
                if (r.transport == Transport::Udp && written == 1) break;
                if (!write_at_name(set)) {
                    if (!r.failed) r.truncate();
                    return;
                }
                ++written;
            }
            if (written == 0) nodata();
            else if (!prove_no_closer()) r.truncate();
            return;
        }
        if (qtype == t::RRSIG && n->rrset_count > 0) {
            // Each RRSIG with the TTL of the RRset it covers (RFC 4034 §3).
            std::size_t written = 0;
            for (const Rrset& set : z.rrsets_of(*n)) {
                const Rrset* sigs = z.signatures(set);
                if (!sigs) continue;
                if (!r.write_records(owner, z, *sigs, sigs->ttl)) {
                    r.truncate();
                    return;
                }
                r.counts[0] += sigs->rr_count;
                ++written;
            }
            if (written > 0) {
                if (!prove_no_closer()) r.truncate();
                return;
            }
        }
        if (wildcard && compact && qtype == t::NSEC) {
            // The synthesized name's NSEC is the one made for it now.
            if (!add_online_nodata(0) && !r.failed) r.truncate();
            return;
        }
        if (const Rrset* rs = z.find_rrset(*n, qtype)) {
            if (!write_at_name(*rs) || !prove_no_closer()) {
                if (!r.failed) r.truncate();
                return;
            }
            r.queue_additional(z, *rs, false);
            return;
        }
        // NSEC3 records live at hashed owners: a query for them at a name
        // never follows a CNAME (RFC 5155 §7.2.9 answers it as NODATA).
        const Rrset* cname = qtype == t::NSEC3 ? nullptr : z.find_rrset(*n, t::CNAME);
        if (!cname) {
            nodata();
            return;
        }
        for (unsigned i = 0; i < seen_n; ++i) {
            if (seen[i].z == zp && seen[i].node == lk.node && lk.kind == Lookup::Exact) return;
        }
        seen[seen_n++] = Seen{zp, lk.node};
        if (!write_at_name(*cname) || !prove_no_closer()) {
            if (!r.failed) r.truncate();
            return;
        }
        if (!restart_at(cname->rdata() + 2, load16(cname->rdata()))) return;
    }
}

void write_additional(Response& r) {
    for (unsigned i = 0; i < r.extra_n; ++i) {
        const auto& e = r.extra[i];
        const Node& n = e.z->node(e.node);
        for (std::uint16_t type : {t::A, t::AAAA}) {
            const Rrset* rs = e.z->find_rrset(n, type);
            if (!rs) continue;
            if (!r.write_rrset(2, Owner{-1, e.z->node_name(n)}, *e.z, *rs, rs->ttl)) {
                r.w.clear_overflow();
                // RFC 9471: glue for in-domain name servers must fit, or TC.
                if (e.required && (n.flags & Node::Occluded)) r.tc = true;
            }
        }
    }
}

// RFC 4892 §2: CHAOS TXT id.server. / hostname.bind. (identity) and
// version.bind. / version.server. (version), when configured; false (the
// caller REFUSES) for any other CHAOS query or one not configured.
bool answer_chaos(Response& r) {
    static constexpr std::uint8_t kIdServer[] = "\2id\6server", kHostnameBind[] = "\10hostname\4bind",
                                  kVersionBind[] = "\7version\4bind", kVersionServer[] = "\7version\6server";
    const dns::Query& q = r.q;
    auto is = [&](const std::uint8_t* name, std::size_t size) {  // `size` counts the root label's 0
        return q.qname_len == size && std::memcmp(q.qname_lc, name, size) == 0;
    };
    std::string_view text;
    if (is(kIdServer, sizeof kIdServer) || is(kHostnameBind, sizeof kHostnameBind)) text = r.opt.identity;
    if (is(kVersionBind, sizeof kVersionBind) || is(kVersionServer, sizeof kVersionServer)) text = r.opt.version;
    if (text.empty() || text.size() > 255 || (q.qtype != t::TXT && q.qtype != t::ANY)) return false;
    // One TXT record at the question's name (a pointer to it), TTL 0.
    std::uint8_t rr[2 + 10 + 1 + 255] = {0xc0, dns::kHeaderLen, 0, 16, 0, 3, 0, 0, 0, 0};
    store16(rr + 10, static_cast<std::uint16_t>(1 + text.size()));
    rr[12] = static_cast<std::uint8_t>(text.size());
    std::memcpy(rr + 13, text.data(), text.size());
    if (!r.w.put(rr, 13 + text.size())) return false;
    r.counts[0] = 1;
    r.aa = true;
    return true;
}

std::size_t finish(Response& r, std::size_t limit_with_opt, const zone::ServedZone* zone,
                   AnswerInfo* info) {
    const dns::Query& q = r.q;
    if (info) *info = AnswerInfo{zone, r.rcode};
    r.w.set_limit(limit_with_opt);
    if (q.has_edns) {
        std::uint8_t opt[kOptLen] = {0, 0, 41, 0, 0, 0, 0, 0, 0, 0, 0};
        std::uint16_t payload = r.transport == Transport::Udp ? static_cast<std::uint16_t>(limit_with_opt) : 1232;
        store16(opt + 3, payload < 512 ? 512 : payload);
        opt[5] = static_cast<std::uint8_t>(r.rcode >> 4);  // extended rcode
        if (q.edns_do) opt[7] = 0x80;                       // RFC 3225 §3: copy DO
        if (r.co) opt[7] |= kEdnsCo >> 8;                   // RFC 9824 §4.1: we understood CO
        // RFC 8914 §2: an Extended DNS Error option (code 15), no
        // EXTRA-TEXT; RFC 7314 §2: an EXPIRE option (code 9).
        // Then the DNS COOKIE (RFC 7873) and NSID (RFC 5001), when they go.
        std::uint8_t with[kOptLen + 8 + kMaxExtraOption + 4 + 128];  // NSID: config allows at most 128
        std::size_t len = 0;
        if (r.ede >= 0) {
            std::memcpy(with, opt, kOptLen);
            store16(with + kOptLen, 15);
            store16(with + kOptLen + 2, 2);
            store16(with + kOptLen + 4, static_cast<std::uint16_t>(r.ede));
            len = kOptLen + 6;
        } else if (r.expire >= 0) {
            std::memcpy(with, opt, kOptLen);
            store16(with + kOptLen, 9);
            store16(with + kOptLen + 2, 4);
            const auto v = static_cast<std::uint32_t>(std::min<std::int64_t>(r.expire, 0xffffffffLL));
            store16(with + kOptLen + 4, static_cast<std::uint16_t>(v >> 16));
            store16(with + kOptLen + 6, static_cast<std::uint16_t>(v));
            len = kOptLen + 8;
        }
        if (const auto extra = r.opt.edns_option; !extra.empty() && extra.size() <= kMaxExtraOption) {
            if (len == 0) {
                std::memcpy(with, opt, kOptLen);
                len = kOptLen;
            }
            std::memcpy(with + len, extra.data(), extra.size());
            len += extra.size();
        }
        if (r.nsid && r.opt.nsid.size() <= 128) {  // RFC 5001 §2.3: the server's identifier as configured
            if (len == 0) {
                std::memcpy(with, opt, kOptLen);
                len = kOptLen;
            }
            store16(with + len, 3);
            store16(with + len + 2, static_cast<std::uint16_t>(r.opt.nsid.size()));
            std::memcpy(with + len + 4, r.opt.nsid.data(), r.opt.nsid.size());
            len += 4 + r.opt.nsid.size();
        }
        if (len) store16(with + 9, static_cast<std::uint16_t>(len - kOptLen));
        if ((len && r.w.put(with, len)) || r.w.put(opt, kOptLen)) ++r.counts[2];
    }
    std::uint8_t* h = r.w.data();
    store16(h, q.id);
    std::uint16_t flags = dns::flag::QR | static_cast<std::uint16_t>(q.opcode << 11) |
                          (q.flags & (dns::flag::RD | dns::flag::CD)) | (r.rcode & 0xf);
    if (r.aa) flags |= dns::flag::AA;
    if (r.tc) flags |= dns::flag::TC;
    store16(h + 2, flags);
    store16(h + 4, r.question_end > dns::kHeaderLen ? 1 : 0);
    store16(h + 6, r.counts[0]);
    store16(h + 8, r.counts[1]);
    store16(h + 10, r.counts[2]);
    return r.w.pos();
}

}  // namespace

std::size_t answer(const zone::Catalog& catalog, std::span<const std::uint8_t> query,
                   Transport transport, const AnswerOptions& options,
                   std::span<std::uint8_t> out, AnswerInfo* info) {
    dns::Query q;
    dns::ParseStatus st = dns::parse_query(query, q);
    if (st == dns::ParseStatus::Drop) return 0;

    // Response size limit: RFC 6891 §6.2.5 (never below 512).
    std::size_t limit = 65535;
    if (transport == Transport::Udp) {
        limit = 512;
        if (q.has_edns && q.edns_payload > 512) {
            limit = q.edns_payload < options.udp_max_payload ? q.edns_payload : options.udp_max_payload;
        }
    }
    if (limit > out.size()) limit = out.size();

    Response r(out.data(), limit, q, transport, options);
    const std::size_t extra = options.edns_option.size() <= kMaxExtraOption ? options.edns_option.size() : 0;
    r.w.set_limit(limit - (q.has_edns ? kOptLen + extra : 0));
    r.w.rewind(dns::kHeaderLen);
    // Echo the question when we could read it.
    if (q.question_end != 0) {
        r.w.put(query.data() + dns::kHeaderLen, q.question_end - dns::kHeaderLen);
        r.w.remember_name(dns::kHeaderLen);
    }
    r.question_end = r.w.pos();

    if (st == dns::ParseStatus::FormErr) {
        r.rcode = dns::rcode::FORMERR;
        return finish(r, limit, nullptr, info);
    }
    if (st == dns::ParseStatus::NotImp) {
        r.rcode = dns::rcode::NOTIMP;
        return finish(r, limit, nullptr, info);
    }
    // Answers decided before the lookup still count against the zone the
    // name is in (only looked up when someone counts).
    auto early = [&] {
        return finish(r, limit, info ? catalog.find(q.qname_lc, q.qname_len) : nullptr, info);
    };
    r.co = query_has_co(query, q);
    if (q.has_edns && q.edns_version > 0) {  // RFC 6891 §6.1.3
        r.rcode = dns::rcode::BADVERS;
        return early();
    }
    if (q.opcode == dns::opcode::NOTIFY) {  // NOTIFY intake arrives with transfers
        r.rcode = dns::rcode::REFUSED;
        return early();
    }
    r.nsid = !options.nsid.empty() && query_has_option(query, q, 3);
    if (q.qclass == dns::rrclass::CH && answer_chaos(r)) return finish(r, limit, nullptr, info);
    if (q.qclass != dns::rrclass::IN && q.qclass != dns::rrclass::ANY) {
        r.rcode = dns::rcode::REFUSED;
        return early();
    }
    switch (q.qtype) {
        case t::NXNAME:  // RFC 9824 §3.5: a meta type, never queried
            r.rcode = dns::rcode::FORMERR;
            return early();
        case t::AXFR:
        case t::IXFR:
            r.rcode = dns::rcode::REFUSED;  // we do not serve transfers
            return early();
        default:  // other meta types (OPT, TKEY, MAILA…) find no data: NODATA

            break;
    }

    const zone::ServedZone* zone = catalog.find(q.qname_lc, q.qname_len);
    // RFC 4035 §3.1.4.1: DS at a child apex is the parent's data.
    if (zone && q.qtype == t::DS && q.qname_len > 1 && zone->origin.size() == q.qname_len) {
        const std::uint8_t* parent = q.qname_lc + 1 + q.qname_lc[0];
        if (const zone::ServedZone* pz = catalog.find(parent, q.qname_len - 1 - q.qname_lc[0])) {
            zone = pz;
        }
    }
    if (!zone) {
        r.rcode = dns::rcode::REFUSED;
        r.ede = zone::kEdeNotAuthoritative;  // RFC 8914 §4.21: not ours, ask elsewhere
        return finish(r, limit, zone, info);
    }
    const SnapshotRef* served = zone->served();
    if (!served) {
        r.rcode = dns::rcode::SERVFAIL;
        // RFC 8914: why (an expired zone), so resolvers know to try elsewhere.
        if (zone->slot) r.ede = zone->slot->unserved_ede.load(std::memory_order_relaxed);
        return finish(r, limit, zone, info);
    }
    // RFC 7314 §4: an SOA query with EXPIRE learns how long the zone stays
    // served: the effective expiry (never past the earliest signature
    // expiration - margin), capped by the SOA expire field.
    if (q.qtype == t::SOA && query_has_expire(query, q)) {
        const Snapshot& zs = **served;
        const std::int64_t at = zone->slot ? zone->slot->expire_at.load(std::memory_order_relaxed) : 0;
        std::int64_t v = zs.expire();
        if (at != 0) v = std::min<std::int64_t>(v, std::max<std::int64_t>(0, at - std::int64_t(options.now)));
        r.expire = v;
    }
    // Data for class ANY is not authoritative (NSD and BIND clear AA too).
    r.aa = q.qclass == dns::rrclass::IN;
    if (options.online) options.online->apply_budget(transport == Transport::Udp);
    resolve(r, catalog, served, Owner{static_cast<int>(dns::kHeaderLen), nullptr},
            q.qname_lc, q.qname_len);
    if (r.failed) {
        // An online signature could not be made: no unsigned denial, ever.
        // Over the worker's signing budget (UDP): truncated, so a real
        // client asks again over TCP; otherwise SERVFAIL.
        r.truncate();
        if (options.online && options.online->declined()) return finish(r, limit, zone, info);
        r.tc = false;
        r.aa = false;
        r.rcode = dns::rcode::SERVFAIL;
        return finish(r, limit, zone, info);
    }
    if (!r.tc) write_additional(r);
    return finish(r, limit, zone, info);
}

}  // namespace satellite::serve
