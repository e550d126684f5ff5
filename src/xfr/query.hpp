// One question over TCP to another server, for the control side only (never
// the query path): a multi-signer peer's DNSKEY RRset, a parent's DS RRset.
// The answer's RRset of the asked name and type comes back as RDATAs, and
// the answer and authority sections whole for a caller that validates them
// (dns/validate.hpp); no validation here.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "dns/name.hpp"
#include "dns/tsig.hpp"
#include "dns/validate.hpp"
#include "util/result.hpp"

namespace satellite::xfr {

class QueryClient {
public:
    enum class Step { More, Done };
    // With `key`, the query is TSIG-signed and the response must be too
    // (RFC 8945 §5.3); the key is copied.
    QueryClient(const dns::Name& qname, std::uint16_t qtype, const dns::TsigKey* key = nullptr)
        : qname_(qname), qtype_(qtype) {
        if (key) key_ = *key;
    }

    // RFC 7314 §2: also ask for the EXPIRE option (a secondary's SOA query).
    void ask_expire() { ask_expire_ = true; }

    // The query: RD clear, EDNS0 with DO set (so DNSSEC records come along).
    std::vector<std::uint8_t> request(std::uint16_t id, std::int64_t now);
    // The response: an error unless it answers our question with NOERROR or
    // NXDOMAIN (which has no records: the RRset is empty).
    Result<Step> consume(std::span<const std::uint8_t> msg, std::int64_t now);

    // The RDATAs of the answer's records at qname of qtype (class IN).
    const std::vector<std::vector<std::uint8_t>>& rdatas() const { return rdatas_; }
    bool authoritative() const { return aa_; }
    // The largest TTL among those records (0 when none).
    std::uint32_t ttl() const { return ttl_; }
    // For an SOA question: the serial of the SOA in the answer, if any.
    std::optional<std::uint32_t> soa_serial() const { return soa_serial_; }
    // RFC 7314 §3: the EXPIRE value the server answered with, if any.
    std::optional<std::uint32_t> expire() const { return expire_; }
    // The rcode and every record of the answer and authority sections.
    const dns::ResponseRecords& records() const { return records_; }

private:
    dns::Name qname_;
    std::uint16_t qtype_;
    std::uint16_t id_ = 0;
    std::optional<dns::TsigKey> key_;
    std::optional<dns::TsigVerifier> verifier_;
    std::optional<std::uint32_t> soa_serial_;
    std::optional<std::uint32_t> expire_;
    bool ask_expire_ = false;
    bool aa_ = false;
    std::uint32_t ttl_ = 0;
    std::vector<std::vector<std::uint8_t>> rdatas_;
    dns::ResponseRecords records_;
};

}  // namespace satellite::xfr
