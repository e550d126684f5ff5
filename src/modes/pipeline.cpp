#include "modes/pipeline.hpp"

#include <algorithm>
#include <chrono>

#include "dns/types.hpp"

namespace satellite::modes {

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
    // The signature-expiry guard: found once here, on a worker, and kept
    // with the version; the query path never looks at it.
    if (in.kind != BuildInput::Kind::Unsigned) {
        out.signatures = earliest_signature(*out.snapshot, in.now);
        if (auto s = check_signature_margin(out.signatures, in.safety_margin, in.now); !s) return s.error();
        if (in.kind == BuildInput::Kind::Presigned) {
            out.validity_warning = validity_warning(out.signatures, out.snapshot->expire(), in.safety_margin);
        }
    }
    out.ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

}  // namespace satellite::modes
