#include "modes/live.hpp"

#include <algorithm>
#include <cstring>

#include "dns/dnssec.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"
#include "modes/sign_jobs.hpp"

namespace satellite::modes {

namespace t = dns::type;
namespace wn = dns::wire_name;
using zone::kNone;
using zone::Node;
using zone::Snapshot;
using namespace signing;

namespace {

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
        if (signer_type(r.type)) continue;
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
        if (signer_type(r.type) || (r.type == t::DS && at_apex)) {
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
    ApexKeySets key_sets = apex_key_sets(origin, keys);
    Generated::Set dnskeys{apex_owner, t::DNSKEY, key_ttl, true, std::move(key_sets.dnskey)};
    Generated::Set cds{apex_owner, t::CDS, key_ttl, true, std::move(key_sets.cds)};
    Generated::Set cdnskey{apex_owner, t::CDNSKEY, key_ttl, true, std::move(key_sets.cdnskey)};
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
            std::vector<std::uint8_t> rd = compact_next(lc, (n.flags & Node::Cut) != 0);
            auto types = types_at(i, true);
            types.push_back(t::NSEC);
            append_type_bitmap(finish(types), rd);
            gen.sets.push_back({{u.node_name(n), u.node_name(n) + n.name_len}, t::NSEC, nsec_ttl, false, {rd}});
        }
    } else {
        // RFC 5155 §7.1: every authoritative name, empty non-terminals too;
        // with opt-out, insecure delegations are left out.
        const std::vector<std::uint8_t> param = nsec3param_rdata(policy);
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
    auto roles = SigningKeys::of(keys);
    if (!roles) return roles.error();
    std::vector<Job> jobs;
    jobs.reserve(u.record_count() / 2 + gen.sets.size());
    for (std::uint32_t i = 0; i < u.node_count(); ++i) {
        const Node& n = u.node(i);
        if (n.flags & Node::Occluded) continue;
        for (const auto& rs : u.rrsets_of(n)) {
            if ((n.flags & Node::Cut) && rs.type != t::DS) continue;
            auto rds = rdatas_of(rs);
            for (std::uint32_t key : roles->zsks) jobs.push_back({u.node_name(n), n.name_len, rs.type, rs.ttl, key, rds});
        }
    }
    for (auto& set : gen.sets) {
        Job j{set.owner.data(), static_cast<std::uint8_t>(set.owner.size()), set.type, set.ttl, 0, {}};
        for (const auto& rd : set.rdatas) j.rdatas.emplace_back(rd);
        std::sort(j.rdatas.begin(), j.rdatas.end(), rdata_less);
        for (std::uint32_t key : set.ksk ? roles->ksks : roles->zsks) {
            j.key = key;
            jobs.push_back(j);
        }
    }

    // 4. Sign, keeping what the previous version signed when the RRset is
    //    unchanged, signed by the same key and not due yet.
    auto sigs = sign_jobs(jobs, origin, keys, *roles, policy, previous, now);
    if (!sigs) return sigs.error();

    // 5. Everything together: the data, the generated records, the RRSIGs.
    for (const auto& set : gen.sets) {
        for (const auto& rd : set.rdatas) data.add(set.owner, set.type, dns::rrclass::IN, set.ttl, rd);
    }
    const std::int64_t first_expiry = sigs->earliest;
    for (const Job& job : jobs) data.add({job.owner, job.owner_len}, t::RRSIG, dns::rrclass::IN, job.ttl, sigs->of(job));
    result.made = sigs->made;
    result.kept = sigs->kept;
    std::shared_ptr<const zone::OnlineSigning> online;
    if (policy.denial == Denial::Compact) {
        auto o = std::make_shared<zone::OnlineSigning>();
        o->zsk = keys.keys[roles->zsks.front()].key;
        o->key_tag = keys.keys[roles->zsks.front()].tag;
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
