// DNSSEC primitives (RFC 4034): key tags, the canonical signed data of an
// RRset, and RRSIG verification over OpenSSL 3 for algorithms 8, 10, 13, 14
// and 15. Pure functions; no I/O.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dns/name.hpp"
#include "util/result.hpp"

namespace satellite::dns {

// RFC 4034 Appendix B.
std::uint16_t key_tag(std::span<const std::uint8_t> dnskey_rdata);

// One RRset as stored: owner (any case), type, and its RDATAs.
struct RrsetView {
    const std::uint8_t* owner;
    std::size_t owner_len;
    std::uint16_t type;
    std::vector<std::span<const std::uint8_t>> rdatas;
};

// Verifies one RRSIG (its RDATA) over the RRset with the DNSKEY (its RDATA).
// Checks algorithm, key tag and signer match, then the signature (RFC 4035
// §5.3). Validity times are the caller's concern.
Status verify_rrsig(const RrsetView& rrset, std::span<const std::uint8_t> rrsig_rdata,
                    std::span<const std::uint8_t> dnskey_rdata, const Name& signer_zone);

}  // namespace satellite::dns
