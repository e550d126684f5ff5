// RFC 8901 §8 consistency of one provider's apex key RRsets with ours.
#include "modes/provider_check.hpp"

#include <algorithm>

#include "dns/dnssec.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace satellite::modes {

namespace {

Rdatas rdatas_of(const zone::Snapshot& z, const zone::Node& apex, std::uint16_t type) {
    Rdatas out;
    const zone::Rrset* rs = z.find_rrset(apex, type);
    if (!rs) return out;
    const std::uint8_t* p = rs->rdata();
    for (std::uint16_t i = 0; i < rs->rr_count; ++i) {
        const std::uint16_t len = dns::load16(p);
        out.emplace_back(p + 2, p + 2 + len);
        p += 2 + len;
    }
    return out;
}

bool holds(const Rdatas& set, const std::vector<std::uint8_t>& rd) {
    return std::find(set.begin(), set.end(), rd) != set.end();
}

// "12345" for a DNSKEY; for a DS-like RDATA (CDS) its key tag field; for a
// CDNSKEY the key tag computed.
std::string tag_of(std::uint16_t type, const std::vector<std::uint8_t>& rd) {
    if (type == dns::type::CDS) {
        if (rd.size() == 5 && rd[0] == 0 && rd[1] == 0 && rd[2] == 0) return "delete";  // RFC 8078 §4
        return rd.size() >= 2 ? std::to_string(dns::load16(rd.data())) : "?";
    }
    if (rd.size() == 5 && rd[2] == 3 && rd[3] == 0) return "delete";
    return std::to_string(dns::key_tag(rd));
}

void compare_set(const char* name, std::uint16_t type, const Rdatas& ours, const Rdatas& theirs,
                 std::vector<std::string>& out) {
    std::string lacks, extra;
    for (const auto& rd : ours) {
        if (!holds(theirs, rd)) lacks += (lacks.empty() ? "" : " ") + tag_of(type, rd);
    }
    for (const auto& rd : theirs) {
        if (!holds(ours, rd)) extra += (extra.empty() ? "" : " ") + tag_of(type, rd);
    }
    if (lacks.empty() && extra.empty()) return;
    std::string s = std::string(name) + " differs from ours:";
    if (!lacks.empty()) s += " lacks " + lacks + (extra.empty() ? "" : ";");
    if (!extra.empty()) s += " has " + extra + " that ours does not";
    out.push_back(std::move(s));
}

}  // namespace

ApexKeySets apex_key_sets(const zone::Snapshot& z) {
    ApexKeySets s;
    const zone::Node& apex = z.node(z.apex());
    s.dnskey = rdatas_of(z, apex, dns::type::DNSKEY);
    s.cds = rdatas_of(z, apex, dns::type::CDS);
    s.cdnskey = rdatas_of(z, apex, dns::type::CDNSKEY);
    return s;
}

std::vector<std::string> provider_disagreements(const ApexKeySets& ours, const Rdatas& own,
                                                const ApexKeySets& theirs) {
    std::vector<std::string> out;
    // RFC 8901 §2.1.2 (model 2): every provider's DNSKEY RRset holds our ZSK
    // (and here our KSK): a resolver holding theirs must validate our answers.
    for (const auto& rd : own) {
        if (rd.size() < 4 || !holds(ours.dnskey, rd) || holds(theirs.dnskey, rd)) continue;
        const bool ksk = (rd[1] & 1) != 0;
        out.push_back(std::string("lacks our ") + (ksk ? "KSK " : "ZSK ") + std::to_string(dns::key_tag(rd)) +
                      " in its DNSKEY RRset (import our GET .../dnssec/peer-keys there)");
    }
    // RFC 8901 §8: CDS and CDNSKEY the same at every provider.
    compare_set("CDS", dns::type::CDS, ours.cds, theirs.cds, out);
    compare_set("CDNSKEY", dns::type::CDNSKEY, ours.cdnskey, theirs.cdnskey, out);
    return out;
}

}  // namespace satellite::modes
