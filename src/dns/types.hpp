// DNS constants: RR types, classes, opcodes, rcodes, header flags.
#pragma once

#include <cstdint>
#include <string>

namespace satellite::dns {

namespace type {
inline constexpr std::uint16_t A = 1, NS = 2, MD = 3, MF = 4, CNAME = 5, SOA = 6, MB = 7, MG = 8,
                               MR = 9, NULL_ = 10, WKS = 11, PTR = 12, HINFO = 13, MINFO = 14,
                               MX = 15, TXT = 16, RP = 17, AFSDB = 18, SIG = 24, KEY = 25,
                               AAAA = 28, LOC = 29, SRV = 33, NAPTR = 35, KX = 36, CERT = 37,
                               DNAME = 39, OPT = 41, APL = 42, DS = 43, SSHFP = 44,
                               IPSECKEY = 45, RRSIG = 46, NSEC = 47, DNSKEY = 48, DHCID = 49,
                               NSEC3 = 50, NSEC3PARAM = 51, TLSA = 52, SMIMEA = 53, HIP = 55,
                               CDS = 59, CDNSKEY = 60, OPENPGPKEY = 61, CSYNC = 62,
                               ZONEMD = 63, SVCB = 64, HTTPS = 65, SPF = 99, NID = 104,
                               L32 = 105, L64 = 106, LP = 107, EUI48 = 108, EUI64 = 109,
                               NXNAME = 128, TKEY = 249, TSIG = 250, IXFR = 251, AXFR = 252,
                               MAILB = 253, MAILA = 254, ANY = 255, URI = 256, CAA = 257;
}  // namespace type

namespace rrclass {
inline constexpr std::uint16_t IN = 1, CH = 3, HS = 4, NONE = 254, ANY = 255;
}

namespace opcode {
inline constexpr std::uint8_t QUERY = 0, IQUERY = 1, STATUS = 2, NOTIFY = 4, UPDATE = 5;
}

namespace rcode {
inline constexpr std::uint16_t NOERROR = 0, FORMERR = 1, SERVFAIL = 2, NXDOMAIN = 3, NOTIMP = 4,
                               REFUSED = 5, YXDOMAIN = 6, NOTAUTH = 9, BADVERS = 16;
}

// Header flag bits within the 16-bit flags word.
namespace flag {
inline constexpr std::uint16_t QR = 0x8000, AA = 0x0400, TC = 0x0200, RD = 0x0100, RA = 0x0080,
                               AD = 0x0020, CD = 0x0010;
}

inline constexpr std::uint16_t kEdnsDo = 0x8000;  // DO bit in the OPT TTL's low 16 bits

// "A", "AAAA", ... or "TYPE12345".
std::string type_to_string(std::uint16_t type);

// True for types that are only DNSSEC metadata (left out of answers with DO=0
// unless asked for by type): RFC 4035 §3.2.1.
inline bool is_dnssec_type(std::uint16_t t) {
    return t == type::RRSIG || t == type::NSEC || t == type::NSEC3;
}

}  // namespace satellite::dns
