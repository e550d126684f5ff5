#include "modes/live.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "dns/dnssec.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace satellite::modes {

namespace t = dns::type;
namespace wn = dns::wire_name;
using zone::kNone;
using zone::Node;
using zone::Snapshot;

namespace {

// Records a signer owns: whatever the primary sent of these is replaced.
bool replaced_type(std::uint16_t type) {
    return type == t::RRSIG || type == t::NSEC || type == t::NSEC3 || type == t::NSEC3PARAM ||
           type == t::DNSKEY || type == t::CDS || type == t::CDNSKEY;
}

// RFC 4034 §4.1.2: window blocks of a sorted, duplicate-free type list.
void append_type_bitmap(const std::vector<std::uint16_t>& types, std::vector<std::uint8_t>& out) {
    std::size_t i = 0;
    while (i < types.size()) {
        const std::uint8_t window = static_cast<std::uint8_t>(types[i] >> 8);
        std::uint8_t bits[32] = {};
        unsigned len = 0;
        for (; i < types.size() && (types[i] >> 8) == window; ++i) {
            const unsigned low = types[i] & 0xff;
            bits[low / 8] |= static_cast<std::uint8_t>(0x80 >> (low % 8));
            len = low / 8 + 1;
        }
        out.push_back(window);
        out.push_back(static_cast<std::uint8_t>(len));
        out.insert(out.end(), bits, bits + len);
    }
}

std::string base32hex(const std::uint8_t* p, std::size_t n) {
    static const char* digits = "0123456789abcdefghijklmnopqrstuv";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (std::size_t i = 0; i < n; ++i) {
        buffer = (buffer << 8) | p[i];
        bits += 8;
        while (bits >= 5) {
            out.push_back(digits[(buffer >> (bits - 5)) & 31]);
            bits -= 5;
        }
    }
    if (bits > 0) out.push_back(digits[(buffer << (5 - bits)) & 31]);
    return out;
}

// One RRset to sign (or whose previous signature to keep).
struct Job {
    const std::uint8_t* owner;
    std::uint8_t owner_len;
    std::uint16_t type;
    std::uint32_t ttl;
    std::uint32_t key;  // index into ZoneKeys::keys
    std::vector<std::span<const std::uint8_t>> rdatas;  // sorted as a snapshot stores them
    // Result: where the RRSIG RDATA landed.
    std::uint32_t thread = 0;
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    bool made = false;
};

bool rdata_less(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    std::size_t n = std::min(a.size(), b.size());
    int c = n ? std::memcmp(a.data(), b.data(), n) : 0;
    return c != 0 ? c < 0 : a.size() < b.size();
}

std::vector<std::span<const std::uint8_t>> rdatas_of(const Snapshot&, const zone::Rrset& r) {
    std::vector<std::span<const std::uint8_t>> out;
    out.reserve(r.rr_count);
    const std::uint8_t* p = r.rdata();
    for (unsigned i = 0; i < r.rr_count; ++i) {
        std::uint16_t len = dns::load16(p);
        out.emplace_back(p + 2, len);
        p += 2 + len;
    }
    return out;
}

// Serial-arithmetic reading of a 32-bit RRSIG time near `now` (RFC 4034 §3.1.5).
std::int64_t rrsig_time(std::uint32_t v, std::int64_t now) {
    return now + static_cast<std::int32_t>(v - static_cast<std::uint32_t>(now));
}

// Generated records (DNSKEY, CDS, CDNSKEY, denial), grouped per RRset.
struct Generated {
    struct Set {
        std::vector<std::uint8_t> owner;
        std::uint16_t type;
        std::uint32_t ttl;
        bool ksk;
        std::vector<std::vector<std::uint8_t>> rdatas;
    };
    std::vector<Set> sets;
};

}  // namespace

Result<std::shared_ptr<const zone::Snapshot>> strip_signer_records(const dns::Name& origin,
                                                                  const dns::RecordList& records) {
    dns::RecordList data;
    data.reserve(records.size(), records.size() * 48);
    for (const auto& r : records.refs()) {
        if (replaced_type(r.type)) continue;
        data.add({records.owner(r), r.owner_len}, r.type, r.rclass, r.ttl, records.rdata(r));
    }
    return zone::build_snapshot(origin, data);
}

Result<SignedZone> sign_zone(const dns::Name& origin, const dns::RecordList& records,
                             const ZoneKeys& keys, const LivePolicy& policy,
                             const Snapshot* previous, std::int64_t now) {
    SignedZone result;
    const dns::Name olc = origin.lowered();

    // 1. The primary's data without the records a signer owns (and without
    //    a DS at the apex, which belongs to the parent).
    dns::RecordList data;
    data.reserve(records.size() + 16, records.size() * 48);
    for (const auto& r : records.refs()) {
        const std::uint8_t* owner = records.owner(r);
        const bool at_apex = r.owner_len == olc.size() && wn::equal_ci(owner, olc.data());
        if (replaced_type(r.type) || (r.type == t::DS && at_apex)) {
            ++result.dropped;
            continue;
        }
        data.add({owner, r.owner_len}, r.type, r.rclass, r.ttl, records.rdata(r));
    }
    auto unsigned_snap = zone::build_snapshot(origin, data);
    if (!unsigned_snap) return unsigned_snap.error();
    const Snapshot& u = **unsigned_snap;
    const std::uint32_t nsec_ttl = u.negative_ttl();  // RFC 9077
    const std::uint32_t key_ttl = u.soa().ttl;

    // 2. Records we add: the apex keys, then the denial records.
    Generated gen;
    const Node& apex = u.node(u.apex());
    const std::vector<std::uint8_t> apex_owner(u.node_name(apex), u.node_name(apex) + apex.name_len);
    Generated::Set dnskeys{apex_owner, t::DNSKEY, key_ttl, true, {}};
    Generated::Set cds{apex_owner, t::CDS, key_ttl, true, {}};
    Generated::Set cdnskey{apex_owner, t::CDNSKEY, key_ttl, true, {}};
    for (const auto& k : keys.keys) {
        if (k.published) dnskeys.rdatas.push_back(k.dnskey);
        // RFC 7344 §3: CDS and CDNSKEY name the KSKs the parent should point
        // at, a standby KSK (not yet in DNSKEY) among them.
        if (k.role == KeyRole::Ksk && k.in_cds && !keys.cds_delete) {
            cds.rdatas.push_back(dns::ds_rdata(origin, k.dnskey, 2));
            cdnskey.rdatas.push_back(k.dnskey);
        }
    }
    if (keys.cds_delete) {
        // RFC 8078 §4: "CDS 0 0 0 00" and "CDNSKEY 0 3 0 AA==": remove the DS.
        cds.rdatas.push_back({0, 0, 0, 0, 0});
        cdnskey.rdatas.push_back({0, 0, 3, 0, 0});
    }
    std::vector<std::uint16_t> apex_extra = {t::DNSKEY};
    gen.sets.push_back(std::move(dnskeys));
    if (!cds.rdatas.empty()) {
        gen.sets.push_back(std::move(cds));
        gen.sets.push_back(std::move(cdnskey));
        apex_extra.push_back(t::CDS);
        apex_extra.push_back(t::CDNSKEY);
    }

    // The types a name's denial record lists (RFC 4034 §4.1.2, RFC 5155 §3.2).
    auto types_at = [&](std::uint32_t i, bool with_rrsig_always) {
        const Node& n = u.node(i);
        std::vector<std::uint16_t> types;
        bool has_signed = false;
        for (const auto& rs : u.rrsets_of(n)) {
            if ((n.flags & Node::Cut) && rs.type != t::NS && rs.type != t::DS) continue;
            types.push_back(rs.type);
            if (!(n.flags & Node::Cut) || rs.type == t::DS) has_signed = true;
        }
        if (i == u.apex()) {
            types.insert(types.end(), apex_extra.begin(), apex_extra.end());
            has_signed = true;
        }
        if (with_rrsig_always || has_signed) types.push_back(t::RRSIG);
        return types;
    };
    auto finish = [](std::vector<std::uint16_t> types) {
        std::sort(types.begin(), types.end());
        types.erase(std::unique(types.begin(), types.end()), types.end());
        return types;
    };
    auto lower_name = [&](std::uint32_t i) {
        const Node& n = u.node(i);
        std::vector<std::uint8_t> lc(n.name_len);
        wn::lower_copy(u.node_name(n), n.name_len, lc.data());
        return lc;
    };

    if (policy.denial == Denial::Nsec) {
        // RFC 4035 §2.3: every authoritative name with data, and delegation
        // points, in one canonical-order loop.
        std::vector<std::uint32_t> names;
        for (std::uint32_t i = 0; i < u.node_count(); ++i) {
            const Node& n = u.node(i);
            if ((n.flags & Node::Occluded) || n.rrset_count == 0) continue;
            names.push_back(i);
        }
        for (std::size_t k = 0; k < names.size(); ++k) {
            const std::uint32_t i = names[k];
            std::vector<std::uint8_t> rd = lower_name(names[(k + 1) % names.size()]);
            auto types = types_at(i, true);
            types.push_back(t::NSEC);
            append_type_bitmap(finish(types), rd);
            const Node& n = u.node(i);
            gen.sets.push_back({{u.node_name(n), u.node_name(n) + n.name_len}, t::NSEC, nsec_ttl, false, {rd}});
        }
    } else if (policy.denial == Denial::Compact) {
        // RFC 9824 §3: every name that exists owns an NSEC whose next name is
        // its immediate successor, so no NSEC reveals another name.
        for (std::uint32_t i = 0; i < u.node_count(); ++i) {
            const Node& n = u.node(i);
            if (n.flags & Node::Occluded) continue;
            std::vector<std::uint8_t> lc = lower_name(i);
            std::vector<std::uint8_t> rd;
            rd.reserve(lc.size() + 2);
            const bool cut = (n.flags & Node::Cut) != 0;
            if (!cut && lc.size() + 2 <= dns::kMaxNameLen) {
                // "\000.<owner>": the next name in canonical order.
                rd.push_back(1);
                rd.push_back(0);
                rd.insert(rd.end(), lc.begin(), lc.end());
            } else if (lc[0] < 63 && lc.size() + 1 <= dns::kMaxNameLen) {
                // RFC 9824 §3.4: at a delegation (whose subtree belongs to the
                // child) or for a name too long: "<label>\000.<parent>".
                rd.push_back(static_cast<std::uint8_t>(lc[0] + 1));
                rd.insert(rd.end(), lc.begin() + 1, lc.begin() + 1 + lc[0]);
                rd.push_back(0);
                rd.insert(rd.end(), lc.begin() + 1 + lc[0], lc.end());
            } else {
                rd.insert(rd.end(), lc.begin(), lc.end());
            }
            auto types = types_at(i, true);
            types.push_back(t::NSEC);
            append_type_bitmap(finish(types), rd);
            gen.sets.push_back({{u.node_name(n), u.node_name(n) + n.name_len}, t::NSEC, nsec_ttl, false, {rd}});
        }
    } else {
        // RFC 5155 §7.1: every authoritative name, empty non-terminals too;
        // with opt-out, insecure delegations are left out.
        std::vector<std::uint8_t> param;
        param.reserve(5 + policy.nsec3_salt.size());
        for (std::uint8_t b : {std::uint8_t{1}, std::uint8_t{0}, static_cast<std::uint8_t>(policy.nsec3_iterations >> 8),
                               static_cast<std::uint8_t>(policy.nsec3_iterations),
                               static_cast<std::uint8_t>(policy.nsec3_salt.size())}) {
            param.push_back(b);
        }
        param.insert(param.end(), policy.nsec3_salt.begin(), policy.nsec3_salt.end());
        // RFC 5155 §4: NSEC3PARAM flags are 0; the opt-out flag lives in each NSEC3.
        gen.sets.push_back({apex_owner, t::NSEC3PARAM, nsec_ttl, false, {param}});
        apex_extra.push_back(t::NSEC3PARAM);
        struct Hashed {
            std::array<std::uint8_t, 20> hash;
            std::uint32_t node;
        };
        std::vector<Hashed> hashed;
        for (std::uint32_t i = 0; i < u.node_count(); ++i) {
            const Node& n = u.node(i);
            if (n.flags & Node::Occluded) continue;
            if (policy.nsec3_opt_out && (n.flags & Node::Cut) && !u.find_rrset(n, t::DS)) continue;
            auto lc = lower_name(i);
            hashed.push_back({dns::nsec3_hash(lc.data(), lc.size(), policy.nsec3_salt, policy.nsec3_iterations), i});
        }
        std::sort(hashed.begin(), hashed.end(), [](const Hashed& a, const Hashed& b) { return a.hash < b.hash; });
        hashed.erase(std::unique(hashed.begin(), hashed.end(),
                                 [](const Hashed& a, const Hashed& b) { return a.hash == b.hash; }),
                     hashed.end());
        for (std::size_t k = 0; k < hashed.size(); ++k) {
            // RFC 5155 §3.2: hash algorithm, flags, iterations, salt (as in NSEC3PARAM).
            std::vector<std::uint8_t> rd;
            rd.reserve(64);
            rd.insert(rd.end(), param.begin(), param.end());
            rd[1] = policy.nsec3_opt_out ? 1 : 0;
            rd.push_back(20);
            const auto& next = hashed[(k + 1) % hashed.size()].hash;
            rd.insert(rd.end(), next.begin(), next.end());
            const Node& n = u.node(hashed[k].node);
            auto types = n.rrset_count == 0 && hashed[k].node != u.apex() ? std::vector<std::uint16_t>{}
                                                                           : types_at(hashed[k].node, false);
            append_type_bitmap(finish(types), rd);
            std::string label = base32hex(hashed[k].hash.data(), 20);
            std::vector<std::uint8_t> owner;
            owner.push_back(static_cast<std::uint8_t>(label.size()));
            owner.insert(owner.end(), label.begin(), label.end());
            owner.insert(owner.end(), olc.data(), olc.data() + olc.size());
            if (owner.size() > dns::kMaxNameLen) return make_error("zone name too long for NSEC3 owners");
            gen.sets.push_back({std::move(owner), t::NSEC3, nsec_ttl, false, {rd}});
        }
    }

    // 3. The RRsets to sign: authoritative data (at a delegation only the
    //    DS), then everything generated.
    std::vector<std::uint32_t> ksks, zsks;  // the signing keys of each role
    for (std::uint32_t i = 0; i < keys.keys.size(); ++i) {
        if (keys.keys[i].signing) (keys.keys[i].role == KeyRole::Ksk ? ksks : zsks).push_back(i);
    }
    if (ksks.empty() || zsks.empty()) return make_error("no signing KSK or ZSK");
    std::vector<Job> jobs;
    jobs.reserve(u.record_count() / 2 + gen.sets.size());
    for (std::uint32_t i = 0; i < u.node_count(); ++i) {
        const Node& n = u.node(i);
        if (n.flags & Node::Occluded) continue;
        for (const auto& rs : u.rrsets_of(n)) {
            if ((n.flags & Node::Cut) && rs.type != t::DS) continue;
            auto rds = rdatas_of(u, rs);
            for (std::uint32_t key : zsks) jobs.push_back({u.node_name(n), n.name_len, rs.type, rs.ttl, key, rds});
        }
    }
    for (auto& set : gen.sets) {
        Job j{set.owner.data(), static_cast<std::uint8_t>(set.owner.size()), set.type, set.ttl, 0, {}};
        for (const auto& rd : set.rdatas) j.rdatas.emplace_back(rd);
        std::sort(j.rdatas.begin(), j.rdatas.end(), rdata_less);
        for (std::uint32_t key : set.ksk ? ksks : zsks) {
            j.key = key;
            jobs.push_back(j);
        }
    }

    // 4. Sign, keeping what the previous version signed when the RRset is
    //    unchanged, signed by the same key and not due yet.
    const std::uint32_t slack = (policy.validity - policy.refresh) / 4;
    const std::int64_t due_before = now + policy.refresh + slack;
    const auto inception = static_cast<std::uint32_t>(now - policy.inception_offset);
    unsigned threads = policy.threads ? policy.threads : std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(1, jobs.size() / 64)));
    std::vector<std::vector<std::uint8_t>> out_bufs(threads);
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::vector<std::int64_t> earliest(threads, INT64_MAX);
    constexpr std::size_t kChunk = 128;
    zone::Progress* progress = policy.progress.get();
    struct EndProgress {
        zone::Progress* p;
        std::uint64_t run = 0;
        ~EndProgress() {
            if (p) p->end(run);
        }
    } end_progress{progress, progress ? progress->begin(jobs.size()) : 0};

    auto worker = [&](unsigned tid) {
        std::vector<std::unique_ptr<dns::Signer>> signers(keys.keys.size());
        for (std::uint32_t i : ksks) signers[i] = std::make_unique<dns::Signer>(keys.keys[i].key);
        for (std::uint32_t i : zsks) signers[i] = std::make_unique<dns::Signer>(keys.keys[i].key);
        std::mt19937 rng(std::random_device{}() + tid);
        std::uniform_int_distribution<std::uint32_t> jitter(0, slack);
        std::vector<std::uint8_t> scratch;
        auto& out = out_bufs[tid];
        for (;;) {
            const std::size_t begin = next.fetch_add(kChunk);
            if (begin >= jobs.size() || failed.load(std::memory_order_relaxed)) return;
            for (std::size_t ji = begin; ji < std::min(jobs.size(), begin + kChunk); ++ji) {
                Job& job = jobs[ji];
                const ZoneKey& zk = keys.keys[job.key];
                job.thread = tid;
                job.offset = static_cast<std::uint32_t>(out.size());
                if (previous) {
                    if (auto kept = [&]() -> std::span<const std::uint8_t> {
                            std::uint8_t lc[dns::kMaxNameLen];
                            wn::lower_copy(job.owner, job.owner_len, lc);
                            std::uint32_t pi = previous->find(lc, job.owner_len);
                            if (pi == kNone) return {};
                            const zone::Rrset* old = previous->find_rrset(previous->node(pi), job.type);
                            if (!old || old->ttl != job.ttl || old->rr_count != job.rdatas.size()) return {};
                            auto old_rd = rdatas_of(*previous, *old);
                            for (std::size_t k = 0; k < old_rd.size(); ++k) {
                                if (old_rd[k].size() != job.rdatas[k].size() ||
                                    std::memcmp(old_rd[k].data(), job.rdatas[k].data(), old_rd[k].size()) != 0) {
                                    return {};
                                }
                            }
                            const zone::Rrset* sigs = previous->signatures(*old);
                            if (!sigs) return {};
                            for (auto sig : rdatas_of(*previous, *sigs)) {
                                if (sig.size() < 20 || sig[2] != zk.key->algorithm() ||
                                    dns::load16(sig.data() + 16) != zk.tag ||
                                    dns::load32(sig.data() + 4) != job.ttl) {
                                    continue;
                                }
                                if (rrsig_time(dns::load32(sig.data() + 8), now) <= due_before ||
                                    rrsig_time(dns::load32(sig.data() + 12), now) > now) {
                                    continue;
                                }
                                return sig;
                            }
                            return {};
                        }();
                        !kept.empty()) {
                        out.insert(out.end(), kept.begin(), kept.end());
                        job.length = static_cast<std::uint32_t>(kept.size());
                        earliest[tid] = std::min(earliest[tid], rrsig_time(dns::load32(kept.data() + 8), now));
                        continue;
                    }
                }
                const std::int64_t expiration = now + policy.validity - jitter(rng);
                dns::RrsetView view{job.owner, job.owner_len, job.type, job.rdatas};
                if (!dns::sign_rrset(*signers[job.key], zk.tag, origin, view, job.ttl,
                                     {inception, static_cast<std::uint32_t>(expiration)}, scratch, out)) {
                    failed = true;
                    return;
                }
                job.length = static_cast<std::uint32_t>(out.size() - job.offset);
                job.made = true;
                earliest[tid] = std::min(earliest[tid], expiration);
            }
            if (progress) {
                progress->done.fetch_add(std::min(jobs.size(), begin + kChunk) - begin, std::memory_order_relaxed);
                zone::tick(*progress);
            }
        }
    };
    if (threads == 1) {
        worker(0);
    } else {
        std::vector<std::thread> pool;
        for (unsigned i = 0; i < threads; ++i) pool.emplace_back(worker, i);
        for (auto& th : pool) th.join();
    }
    if (failed) return make_error("OpenSSL failed to sign; the zone is not published");

    // 5. Everything together: the data, the generated records, the RRSIGs.
    for (const auto& set : gen.sets) {
        for (const auto& rd : set.rdatas) data.add(set.owner, set.type, dns::rrclass::IN, set.ttl, rd);
    }
    std::int64_t first_expiry = INT64_MAX;
    for (unsigned i = 0; i < threads; ++i) first_expiry = std::min(first_expiry, earliest[i]);
    for (const Job& job : jobs) {
        data.add({job.owner, job.owner_len}, t::RRSIG, dns::rrclass::IN, job.ttl,
                 {out_bufs[job.thread].data() + job.offset, job.length});
        (job.made ? result.made : result.kept) += 1;
    }
    std::shared_ptr<const zone::OnlineSigning> online;
    if (policy.denial == Denial::Compact) {
        auto o = std::make_shared<zone::OnlineSigning>();
        o->zsk = keys.keys[zsks.front()].key;
        o->key_tag = keys.keys[zsks.front()].tag;
        o->validity = policy.validity;
        o->inception_offset = policy.inception_offset;
        o->nsec_ttl = nsec_ttl;
        online = std::move(o);
    }
    auto snap = zone::build_snapshot(origin, data, std::move(online));
    if (!snap) return make_error("signed zone does not build: " + snap.error().message);
    result.snapshot = std::move(*snap);
    result.next_resign = first_expiry == INT64_MAX ? now + policy.refresh : first_expiry - policy.refresh;
    return result;
}

}  // namespace satellite::modes
