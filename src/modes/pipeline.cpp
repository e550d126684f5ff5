#include "modes/pipeline.hpp"

#include <algorithm>
#include <chrono>

#include "dns/types.hpp"
#include "modes/sign_jobs.hpp"

namespace satellite::modes {

using signing::signer_type;

namespace {

Status finish(const BuildInput& in, BuiltVersion& out);

}  // namespace

Result<BuiltVersion> build_version(const BuildInput& in, const dns::RecordList& records) {
    const auto t0 = std::chrono::steady_clock::now();
    BuiltVersion out;
    // The TTLs the key timings wait for (RFC 7583 §2.1).
    for (const auto& r : records.refs()) {
        out.max_ttl = std::max(out.max_ttl, r.ttl);
        if (r.type == dns::type::SOA) out.soa_ttl = r.ttl;
    }
    switch (in.kind) {
        case BuildInput::Kind::Presigned: {
            auto report = check_presigned(in.origin, records, in.presigned, in.now);
            if (!report) return report.error();
            out.warning = report->warning;
            auto snap = zone::build_snapshot(in.origin, records);
            if (!snap) return snap.error();
            out.snapshot = *snap;
            break;
        }
        case BuildInput::Kind::Unsigned: {
            auto snap = strip_signer_records(in.origin, records);
            if (!snap) return snap.error();
            out.snapshot = *snap;
            break;
        }
        case BuildInput::Kind::Signed: {
            auto signed_zone = sign_zone(in.origin, records, in.keys, in.live, in.previous.get(), in.now);
            if (!signed_zone) return signed_zone.error();
            out.snapshot = signed_zone->snapshot;
            out.made = signed_zone->made;
            out.kept = signed_zone->kept;
            out.dropped = signed_zone->dropped;
            out.next_resign = signed_zone->next_resign;
            break;
        }
    }
    if (auto st = finish(in, out); !st) return st.error();
    out.ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

Result<BuiltVersion> apply_version(const BuildInput& in, const std::vector<zone::ZoneDelta>& deltas) {
    if (!in.previous) return make_error("no version to apply the differences to");
    if (in.kind == BuildInput::Kind::Signed) {
        const auto t0 = std::chrono::steady_clock::now();
        std::string why_whole;
        auto changed = sign_changes(in.origin, *in.previous, deltas, in.keys, in.live, in.now, &why_whole);
        if (!changed) return changed.error();
        if (*changed) {
            BuiltVersion out;
            out.max_ttl = in.previous_max_ttl;
            for (const auto& r : (*changed)->diff.added.refs()) out.max_ttl = std::max(out.max_ttl, r.ttl);
            out.snapshot = (*changed)->zone.snapshot;
            out.soa_ttl = out.snapshot->soa().ttl;
            out.made = (*changed)->zone.made;
            out.kept = (*changed)->zone.kept;
            out.dropped = (*changed)->zone.dropped;
            out.next_resign = (*changed)->zone.next_resign;
            out.signed_diff = std::move((*changed)->diff);
            if (auto st = finish(in, out); !st) return st.error();
            out.ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
            return out;
        }
        // Signed whole: our signed version plus the primary's changes.
        auto records = zone::apply_deltas(in.previous->to_records(), deltas);
        if (!records) return records.error();
        auto whole = build_version(in, *records);
        if (whole) whole->signed_whole = why_whole;
        return whole;
    }
    const auto t0 = std::chrono::steady_clock::now();
    BuiltVersion out;
    out.max_ttl = in.previous_max_ttl;
    out.soa_ttl = in.previous->soa().ttl;
    const std::vector<zone::ZoneDelta>* apply = &deltas;
    std::vector<zone::ZoneDelta> stripped;
    if (in.kind == BuildInput::Kind::Unsigned) {
        // The signer's records of the primary are not served (as strip_signer_records).
        for (const auto& d : deltas) {
            zone::ZoneDelta s{d.from, d.to, {}, {}};
            for (auto [from, to] : {std::pair{&d.removed, &s.removed}, std::pair{&d.added, &s.added}}) {
                for (const auto& r : from->refs()) {
                    if (!signer_type(r.type)) to->add({from->owner(r), r.owner_len}, r.type, r.rclass, r.ttl, from->rdata(r));
                }
            }
            stripped.push_back(std::move(s));
        }
        apply = &stripped;
    }
    for (const auto& d : *apply) {
        for (const auto& r : d.added.refs()) {
            out.max_ttl = std::max(out.max_ttl, r.ttl);
            if (r.type == dns::type::SOA) out.soa_ttl = r.ttl;
        }
    }
    std::vector<std::uint32_t> touched;
    auto snap = zone::apply_changes(*in.previous, *apply, &touched);
    if (!snap) return snap.error();
    if (in.kind == BuildInput::Kind::Presigned) {
        // The pre-flight checks over what changed, and the apex (its keys).
        touched.push_back((*snap)->apex());
        std::sort(touched.begin(), touched.end());
        touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
        auto report = check_presigned(in.origin, (*snap)->records_at(touched), in.presigned, in.now);
        if (!report) return report.error();
        out.warning = report->warning;
    }
    out.snapshot = *snap;
    if (auto st = finish(in, out); !st) return st.error();
    out.ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

namespace {

// The signature-expiry guard: found once here, on a worker, and kept with
// the version; the query path never looks at it.
Status finish(const BuildInput& in, BuiltVersion& out) {
    if (in.kind != BuildInput::Kind::Unsigned) {
        out.signatures = earliest_signature(*out.snapshot, in.now);
        if (auto s = check_signature_margin(out.signatures, in.safety_margin, in.now); !s) return s.error();
        if (in.kind == BuildInput::Kind::Presigned) {
            out.validity_warning = validity_warning(out.signatures, out.snapshot->expire(), in.safety_margin);
        }
    }
    return {};
}

}  // namespace

}  // namespace satellite::modes
