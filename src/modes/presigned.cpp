#include <cstring>
#include <ctime>
#include <string>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>
#include <tuple>
#include <vector>

#include "dns/dnssec.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"
#include "modes/expiry.hpp"
#include "modes/modes.hpp"

namespace satellite::modes {

Result<PreflightReport> check_presigned(const dns::Name& origin, const dns::RecordList& records,
                                        const PresignedPolicy& policy, std::int64_t now) {
    PreflightReport report;
    std::string nsec3_note;
    for (const auto& r : records.refs()) {
        if (r.type == dns::type::NSEC3 || r.type == dns::type::NSEC3PARAM) {
            if (!policy.allow_nsec3) {
                return make_error("zone " + origin.to_string() + " uses NSEC3 (" +
                                  dns::wire_name::to_string(records.owner(r)) + " " +
                                  dns::type_to_string(r.type) +
                                  "), which is refused in presigned mode; set allow_nsec3 = true "
                                  "for this zone to serve it");
            }
            // RFC 9276 §3.2: validators treat more than 100 iterations as
            // insecure or bogus, and every DO=1 denial costs that many hashes.
            auto rd = records.rdata(r);
            if (rd.size() < 5) {
                return make_error(dns::wire_name::to_string(records.owner(r)) + " " + dns::type_to_string(r.type) +
                                  ": malformed");
            }
            const std::uint16_t iterations = dns::load16(rd.data() + 2);
            const std::uint8_t salt_len = rd[4];
            if (iterations > kMaxNsec3Iterations) {
                return make_error("zone " + origin.to_string() + " uses NSEC3 with " + std::to_string(iterations) +
                                  " iterations (" + dns::wire_name::to_string(records.owner(r)) + " " +
                                  dns::type_to_string(r.type) + "); more than " +
                                  std::to_string(kMaxNsec3Iterations) +
                                  " is refused (RFC 9276: validators treat it as insecure or bogus); "
                                  "re-sign on the primary with 0 iterations and no salt");
            }
            if ((iterations != 0 || salt_len != 0) && r.type == dns::type::NSEC3PARAM && nsec3_note.empty()) {
                nsec3_note = "NSEC3 with " + std::to_string(iterations) + " iterations and a " +
                             std::to_string(salt_len) +
                             "-byte salt: RFC 9276 asks for 0 iterations and no salt (extra cost for every "
                             "resolver, no added protection)";
            }
        }
        if (r.type != dns::type::RRSIG) continue;
        auto rd = records.rdata(r);
        if (rd.size() < 18) {
            return make_error(dns::wire_name::to_string(records.owner(r)) + " RRSIG: malformed");
        }
        const std::uint16_t covered = dns::load16(rd.data());
        const std::int64_t expiration = rrsig_time(dns::load32(rd.data() + 8), now);
        const std::int64_t inception = rrsig_time(dns::load32(rd.data() + 12), now);
        auto rrset = [&] {
            return dns::wire_name::to_string(records.owner(r)) + " " + dns::type_to_string(covered);
        };
        if (expiration < now) {
            return make_error("the RRSIG over " + rrset() + " expired at " + utc_time(expiration) +
                              "; refusing to serve expired signatures (re-sign on the primary)");
        }
        if (inception > now) {
            return make_error("the RRSIG over " + rrset() + " is not valid before " +
                              utc_time(inception) + "; check the primary's clock");
        }
        ++report.signatures;
        if (report.earliest_expiry == 0 || expiration < report.earliest_expiry) {
            report.earliest_expiry = expiration;
        }
    }
    if (policy.verify != Verify::Off && report.signatures > 0) {
        // Group the zone into RRsets: (lower-cased owner, type) → RDATAs.
        using Key = std::pair<std::string, std::uint16_t>;
        std::map<Key, dns::RrsetView> sets;
        std::vector<std::pair<Key, std::size_t>> sigs;  // covered RRset, record index
        std::vector<std::span<const std::uint8_t>> keys;
        const dns::Name apex = origin.lowered();
        for (std::size_t i = 0; i < records.size(); ++i) {
            const auto& r = records[i];
            std::string owner(r.owner_len, '\0');
            dns::wire_name::lower_copy(records.owner(r), r.owner_len,
                                       reinterpret_cast<std::uint8_t*>(owner.data()));
            if (r.type == dns::type::RRSIG) {
                auto rd = records.rdata(r);
                const std::uint16_t covered = dns::load16(rd.data());
                if (policy.verify == Verify::Full || covered == dns::type::DNSKEY) {
                    sigs.push_back({{owner, covered}, i});
                }
                continue;
            }
            auto& set = sets[{owner, r.type}];
            set.owner = records.owner(r);
            set.owner_len = r.owner_len;
            set.type = r.type;
            set.rdatas.push_back(records.rdata(r));
            if (r.type == dns::type::DNSKEY && owner.size() == apex.size() &&
                std::memcmp(owner.data(), apex.data(), apex.size()) == 0) {
                keys.push_back(records.rdata(r));
            }
        }
        if (keys.empty()) {
            return make_error("zone " + origin.to_string() +
                              " carries signatures but no DNSKEY RRset at the apex");
        }
        // One check per RRSIG; with "full" they run in parallel on all cores
        // and the first bad one in zone order is reported.
        auto check = [&](std::size_t j) -> Status {
            // (No structured binding: clang 14 cannot capture one in a lambda.)
            const auto& key = sigs[j].first;
            const auto index = sigs[j].second;
            auto it = sets.find(key);
            const auto& r = records[index];
            auto rd = records.rdata(r);
            auto what = [&] {
                return dns::wire_name::to_string(records.owner(r)) + " " + dns::type_to_string(key.second);
            };
            if (it == sets.end()) {
                if (policy.verify != Verify::Full) return {};
                return make_error("an RRSIG covers " + what() + ", which is not in the zone");
            }
            Status ok = make_error("no DNSKEY with key tag " + std::to_string(dns::load16(rd.data() + 16)));
            for (auto k : keys) {
                if (dns::key_tag(k) != dns::load16(rd.data() + 16)) continue;
                ok = dns::verify_rrsig(it->second, rd, k, origin);
                if (ok) break;
            }
            if (!ok) return make_error("the RRSIG over " + what() + " does not verify (" + ok.error().message + ")");
            return {};
        };
        std::vector<char> good(sigs.size(), 0);
        std::vector<std::string> why(sigs.size());
        const unsigned workers = policy.verify == Verify::Full && sigs.size() > 256
                                     ? std::max(1u, std::thread::hardware_concurrency())
                                     : 1u;
        std::atomic<std::size_t> next{0};
        auto run = [&] {
            for (std::size_t j; (j = next.fetch_add(1)) < sigs.size();) {
                Status st = check(j);
                good[j] = st.ok();
                if (!st) why[j] = st.error().message;
            }
        };
        std::vector<std::thread> pool;
        for (unsigned w = 1; w < workers; ++w) pool.emplace_back(run);
        run();
        for (auto& t : pool) t.join();
        bool dnskey_signed = false;
        for (std::size_t j = 0; j < sigs.size(); ++j) {
            if (good[j] && sigs[j].first.second == dns::type::DNSKEY) dnskey_signed = true;
            if (!good[j] && policy.verify == Verify::Full) return make_error(why[j]);
        }
        if (!dnskey_signed) {
            return make_error("the DNSKEY RRset of " + origin.to_string() +
                              " is not signed by a key in it: a validator could not trust the zone");
        }
    }
    if (report.earliest_expiry != 0 && report.earliest_expiry - now < policy.expiry_warning_s) {
        report.warning = "the earliest signature expires at " + utc_time(report.earliest_expiry) +
                         ", in " + std::to_string((report.earliest_expiry - now) / 3600) +
                         " h: the primary must re-sign before then";
    }
    if (!nsec3_note.empty()) report.warning += (report.warning.empty() ? "" : "; ") + nsec3_note;
    return report;
}

}  // namespace satellite::modes
