// Type mnemonics for logs and presentation.
#include <string>

#include "dns/types.hpp"

namespace satellite::dns {

std::string type_to_string(std::uint16_t t) {
    switch (t) {
        case type::A: return "A";
        case type::NS: return "NS";
        case type::CNAME: return "CNAME";
        case type::SOA: return "SOA";
        case type::PTR: return "PTR";
        case type::HINFO: return "HINFO";
        case type::MX: return "MX";
        case type::TXT: return "TXT";
        case type::AAAA: return "AAAA";
        case type::SRV: return "SRV";
        case type::NAPTR: return "NAPTR";
        case type::DNAME: return "DNAME";
        case type::OPT: return "OPT";
        case type::DS: return "DS";
        case type::SSHFP: return "SSHFP";
        case type::RRSIG: return "RRSIG";
        case type::NSEC: return "NSEC";
        case type::DNSKEY: return "DNSKEY";
        case type::NSEC3: return "NSEC3";
        case type::NSEC3PARAM: return "NSEC3PARAM";
        case type::TLSA: return "TLSA";
        case type::CDS: return "CDS";
        case type::CDNSKEY: return "CDNSKEY";
        case type::ZONEMD: return "ZONEMD";
        case type::SVCB: return "SVCB";
        case type::HTTPS: return "HTTPS";
        case type::IXFR: return "IXFR";
        case type::AXFR: return "AXFR";
        case type::ANY: return "ANY";
        case type::CAA: return "CAA";
        default: return "TYPE" + std::to_string(t);
    }
}

}  // namespace satellite::dns
