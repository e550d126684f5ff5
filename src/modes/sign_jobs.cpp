#include "modes/sign_jobs.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <random>
#include <thread>

#include "dns/dnssec.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace satellite::modes::signing {

namespace t = dns::type;
namespace wn = dns::wire_name;

bool signer_type(std::uint16_t type) {
    return type == t::RRSIG || type == t::NSEC || type == t::NSEC3 || type == t::NSEC3PARAM || type == t::DNSKEY ||
           type == t::CDS || type == t::CDNSKEY;
}

Result<SigningKeys> SigningKeys::of(const ZoneKeys& keys) {
    SigningKeys out;
    for (std::uint32_t i = 0; i < keys.keys.size(); ++i) {
        if (keys.keys[i].signing) (keys.keys[i].role == KeyRole::Ksk ? out.ksks : out.zsks).push_back(i);
    }
    if (out.ksks.empty() || out.zsks.empty()) return make_error("no signing KSK or ZSK");
    return out;
}

const std::vector<std::uint32_t>& SigningKeys::for_type(std::uint16_t type) const {
    return type == t::DNSKEY || type == t::CDS || type == t::CDNSKEY ? ksks : zsks;
}

std::vector<std::span<const std::uint8_t>> rdatas_of(const zone::Rrset& r) {
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

bool rdata_less(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    std::size_t n = std::min(a.size(), b.size());
    int c = n ? std::memcmp(a.data(), b.data(), n) : 0;
    return c != 0 ? c < 0 : a.size() < b.size();
}

std::int64_t due_before(const LivePolicy& policy, std::int64_t now) {
    const std::uint32_t slack = (policy.validity - policy.refresh) / 4;
    return now + policy.refresh + slack;
}

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

ApexKeySets apex_key_sets(const dns::Name& origin, const ZoneKeys& keys) {
    ApexKeySets out;
    for (const auto& k : keys.keys) {
        if (k.published) out.dnskey.push_back(k.dnskey);
        if (k.role == KeyRole::Ksk && k.in_cds && !keys.cds_delete) {
            out.cds.push_back(dns::ds_rdata(origin, k.dnskey, 2));
            out.cdnskey.push_back(k.dnskey);
        }
    }
    if (keys.cds_delete) {
        // "CDS 0 0 0 00" and "CDNSKEY 0 3 0 AA==": remove the DS.
        out.cds.push_back({0, 0, 0, 0, 0});
        out.cdnskey.push_back({0, 0, 3, 0, 0});
    }
    return out;
}

std::vector<std::uint8_t> nsec3param_rdata(const LivePolicy& policy) {
    std::vector<std::uint8_t> param;
    param.reserve(5 + policy.nsec3_salt.size());
    for (std::uint8_t b : {std::uint8_t{1}, std::uint8_t{0}, static_cast<std::uint8_t>(policy.nsec3_iterations >> 8),
                           static_cast<std::uint8_t>(policy.nsec3_iterations),
                           static_cast<std::uint8_t>(policy.nsec3_salt.size())}) {
        param.push_back(b);
    }
    param.insert(param.end(), policy.nsec3_salt.begin(), policy.nsec3_salt.end());
    return param;
}

std::vector<std::uint8_t> compact_next(const std::vector<std::uint8_t>& lc, bool cut) {
    std::vector<std::uint8_t> rd;
    rd.reserve(lc.size() + 2);
    if (!cut && lc.size() + 2 <= dns::kMaxNameLen) {
        // "\000.<owner>": the next name in canonical order.
        rd.push_back(1);
        rd.push_back(0);
        rd.insert(rd.end(), lc.begin(), lc.end());
    } else if (lc[0] < 63 && lc.size() + 1 <= dns::kMaxNameLen) {
        // At a delegation (whose subtree belongs to the child) or for a name
        // too long: "<label>\000.<parent>".
        rd.push_back(static_cast<std::uint8_t>(lc[0] + 1));
        rd.insert(rd.end(), lc.begin() + 1, lc.begin() + 1 + lc[0]);
        rd.push_back(0);
        rd.insert(rd.end(), lc.begin() + 1 + lc[0], lc.end());
    } else {
        rd.insert(rd.end(), lc.begin(), lc.end());
    }
    return rd;
}

namespace {

// The previous version's signature over the job's RRset by the job's key,
// when the RRset is unchanged and the signature is not due; else empty.
std::span<const std::uint8_t> kept_signature(const zone::Snapshot& previous, const Job& job, const ZoneKey& zk,
                                             std::int64_t due, std::int64_t now) {
    std::uint8_t lc[dns::kMaxNameLen];
    wn::lower_copy(job.owner, job.owner_len, lc);
    std::uint32_t pi = previous.find(lc, job.owner_len);
    if (pi == zone::kNone) return {};
    const zone::Rrset* old = previous.find_rrset(previous.node(pi), job.type);
    if (!old || old->ttl != job.ttl || old->rr_count != job.rdatas.size()) return {};
    auto old_rd = rdatas_of(*old);
    for (std::size_t k = 0; k < old_rd.size(); ++k) {
        if (old_rd[k].size() != job.rdatas[k].size() ||
            std::memcmp(old_rd[k].data(), job.rdatas[k].data(), old_rd[k].size()) != 0) {
            return {};
        }
    }
    const zone::Rrset* sigs = previous.signatures(*old);
    if (!sigs) return {};
    for (auto sig : rdatas_of(*sigs)) {
        if (sig.size() < 20 || sig[2] != zk.key->algorithm() || dns::load16(sig.data() + 16) != zk.tag ||
            dns::load32(sig.data() + 4) != job.ttl) {
            continue;
        }
        if (rrsig_time(dns::load32(sig.data() + 8), now) <= due || rrsig_time(dns::load32(sig.data() + 12), now) > now) {
            continue;
        }
        return sig;
    }
    return {};
}

}  // namespace

Result<Signatures> sign_jobs(std::vector<Job>& jobs, const dns::Name& origin, const ZoneKeys& keys,
                             const SigningKeys& roles, const LivePolicy& policy, const zone::Snapshot* previous,
                             std::int64_t now) {
    const std::uint32_t slack = (policy.validity - policy.refresh) / 4;
    const std::int64_t due = due_before(policy, now);
    const auto inception = static_cast<std::uint32_t>(now - policy.inception_offset);
    unsigned threads = policy.threads ? policy.threads : std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(1, jobs.size() / 64)));
    Signatures result;
    result.buffers.resize(threads);
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
        for (std::uint32_t i : roles.ksks) signers[i] = std::make_unique<dns::Signer>(keys.keys[i].key);
        for (std::uint32_t i : roles.zsks) signers[i] = std::make_unique<dns::Signer>(keys.keys[i].key);
        std::mt19937 rng(std::random_device{}() + tid);
        std::uniform_int_distribution<std::uint32_t> jitter(0, slack);
        std::vector<std::uint8_t> scratch;
        auto& out = result.buffers[tid];
        for (;;) {
            const std::size_t begin = next.fetch_add(kChunk);
            if (begin >= jobs.size() || failed.load(std::memory_order_relaxed)) return;
            for (std::size_t ji = begin; ji < std::min(jobs.size(), begin + kChunk); ++ji) {
                Job& job = jobs[ji];
                const ZoneKey& zk = keys.keys[job.key];
                job.thread = tid;
                job.offset = static_cast<std::uint32_t>(out.size());
                if (previous) {
                    if (auto kept = kept_signature(*previous, job, zk, due, now); !kept.empty()) {
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
    for (unsigned i = 0; i < threads; ++i) result.earliest = std::min(result.earliest, earliest[i]);
    for (const Job& job : jobs) (job.made ? result.made : result.kept) += 1;
    return result;
}

}  // namespace satellite::modes::signing
