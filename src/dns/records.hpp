// A flat list of resource records (owner, type, class, TTL, uncompressed
// RDATA) backed by one byte arena: what a zone file or a transfer produces
// and a zone snapshot is built from.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dns/name.hpp"
#include "dns/types.hpp"

namespace satellite::dns {

struct RecordRef {
    std::uint32_t owner;      // offset in bytes()
    std::uint32_t rdata;      // offset in bytes()
    std::uint32_t ttl;
    std::uint16_t rdata_len;
    std::uint16_t type;
    std::uint16_t rclass;
    std::uint8_t owner_len;
};

class RecordList {
public:
    void add(std::span<const std::uint8_t> owner, std::uint16_t type, std::uint16_t rclass,
             std::uint32_t ttl, std::span<const std::uint8_t> rdata);
    void reserve(std::size_t records, std::size_t bytes) {
        refs_.reserve(records);
        bytes_.reserve(bytes);
    }
    std::size_t size() const { return refs_.size(); }
    const RecordRef& operator[](std::size_t i) const { return refs_[i]; }
    const std::uint8_t* owner(const RecordRef& r) const { return bytes_.data() + r.owner; }
    std::span<const std::uint8_t> rdata(const RecordRef& r) const {
        return {bytes_.data() + r.rdata, r.rdata_len};
    }
    const std::vector<RecordRef>& refs() const { return refs_; }

private:
    std::vector<RecordRef> refs_;
    std::vector<std::uint8_t> bytes_;
};

// Where names sit inside RDATA. RFC 3597 §4: only the RFC 1035 types may be
// compressed on output; names in other types are written as they are.
enum class RdataShape : std::uint8_t {
    Opaque,     // no names we compress
    Name,       // NS, CNAME, PTR, MB, MD, MF, MG, MR: one name
    Preference, // MX: 16-bit preference then a name
    Soa,        // two names then 20 octets
    TwoNames,   // MINFO
};
RdataShape compress_shape(std::uint16_t type);

// Offset of the target name that triggers additional-section processing
// (RFC 1035 §3.3: NS, MX; RFC 2782: SRV), or -1.
int additional_target_offset(std::uint16_t type);

// Checks that names embedded in RDATA of known types are well-formed and
// within bounds. Returns false on malformed RDATA.
bool rdata_well_formed(std::uint16_t type, std::span<const std::uint8_t> rdata);

}  // namespace satellite::dns

namespace satellite::dns {

// Copies the RDATA at msg[pos, pos+rdlen) into `out`, expanding compressed
// names in the types where senders may compress them (RFC 3597 §4: the
// RFC 1035 types, plus RP, AFSDB, RT, SRV, NAPTR, PX, KX, SIG/RRSIG names
// seen from older implementations). Returns false on malformed RDATA.
bool decompress_rdata(std::uint16_t type, std::span<const std::uint8_t> msg, std::size_t pos,
                      std::size_t rdlen, std::vector<std::uint8_t>& out);

}  // namespace satellite::dns
