// Record list storage and per-type RDATA shape knowledge.
#include "dns/records.hpp"

#include <cstring>

namespace satellite::dns {

void RecordList::add(std::span<const std::uint8_t> owner, std::uint16_t type,
                     std::uint16_t rclass, std::uint32_t ttl,
                     std::span<const std::uint8_t> rdata) {
    RecordRef r{};
    r.owner = static_cast<std::uint32_t>(bytes_.size());
    r.owner_len = static_cast<std::uint8_t>(owner.size());
    bytes_.insert(bytes_.end(), owner.begin(), owner.end());
    r.rdata = static_cast<std::uint32_t>(bytes_.size());
    r.rdata_len = static_cast<std::uint16_t>(rdata.size());
    bytes_.insert(bytes_.end(), rdata.begin(), rdata.end());
    r.type = type;
    r.rclass = rclass;
    r.ttl = ttl;
    refs_.push_back(r);
}

RdataShape compress_shape(std::uint16_t t) {
    switch (t) {
        case type::NS:
        case type::MD:
        case type::MF:
        case type::CNAME:
        case type::MB:
        case type::MG:
        case type::MR:
        case type::PTR:
            return RdataShape::Name;
        case type::MX:
            return RdataShape::Preference;
        case type::SOA:
            return RdataShape::Soa;
        case type::MINFO:
            return RdataShape::TwoNames;
        default:
            return RdataShape::Opaque;
    }
}

int additional_target_offset(std::uint16_t t) {
    switch (t) {
        case type::NS: return 0;
        case type::MX: return 2;
        case type::SRV: return 6;
        default: return -1;
    }
}

bool rdata_well_formed(std::uint16_t t, std::span<const std::uint8_t> rd) {
    const std::uint8_t* p = rd.data();
    std::size_t n = rd.size();
    auto name_at = [&](std::size_t off) -> std::size_t {
        if (off >= n) return 0;
        return wire_name::length(p + off, n - off);
    };
    switch (compress_shape(t)) {
        case RdataShape::Name: {
            std::size_t a = name_at(0);
            return a != 0 && a == n;
        }
        case RdataShape::Preference:
            return n > 2 && name_at(2) != 0 && name_at(2) + 2 == n;
        case RdataShape::TwoNames: {
            std::size_t a = name_at(0);
            if (!a) return false;
            std::size_t b = name_at(a);
            return b != 0 && a + b == n;
        }
        case RdataShape::Soa: {
            std::size_t a = name_at(0);
            if (!a) return false;
            std::size_t b = name_at(a);
            return b && a + b + 20 == n;
        }
        case RdataShape::Opaque:
            break;
    }
    switch (t) {
        case type::A: return n == 4;
        case type::AAAA: return n == 16;
        case type::SRV: {
            std::size_t a = n > 6 ? name_at(6) : 0;
            return a != 0 && a + 6 == n;
        }
        case type::DNAME: {
            std::size_t a = name_at(0);
            return a != 0 && a == n;
        }
        default: return true;
    }
}

}  // namespace satellite::dns

#include "dns/wire.hpp"

namespace satellite::dns {

bool decompress_rdata(std::uint16_t t, std::span<const std::uint8_t> msg, std::size_t pos,
                      std::size_t rdlen, std::vector<std::uint8_t>& out) {
    out.clear();
    const std::size_t end = pos + rdlen;
    if (end > msg.size()) return false;
    auto fixed = [&](std::size_t n) {
        if (pos + n > end) return false;
        out.insert(out.end(), msg.begin() + pos, msg.begin() + pos + n);
        pos += n;
        return true;
    };
    auto name = [&]() {
        std::uint8_t buf[kMaxNameLen];
        std::size_t len = 0;
        std::size_t next = read_name(msg.first(end), pos, buf, &len);
        if (!next) return false;
        out.insert(out.end(), buf, buf + len);
        pos = next;
        return true;
    };
    auto character_string = [&]() {
        if (pos >= end) return false;
        return fixed(1 + msg[pos]);
    };
    bool ok = true;
    switch (t) {
        case type::NS: case type::MD: case type::MF: case type::CNAME: case type::MB:
        case type::MG: case type::MR: case type::PTR: case type::DNAME:
            ok = name();
            break;
        case type::SOA:
            ok = name() && name() && fixed(20);
            break;
        case type::MINFO: case type::RP:
            ok = name() && name();
            break;
        case type::MX: case type::AFSDB: case 21 /* RT */: case type::KX:
            ok = fixed(2) && name();
            break;
        case 26:  // PX
            ok = fixed(2) && name() && name();
            break;
        case type::SRV:
            ok = fixed(6) && name();
            break;
        case type::NAPTR:
            ok = fixed(4) && character_string() && character_string() && character_string() && name();
            break;
        case type::SIG: case type::RRSIG:
            ok = fixed(18) && name() && fixed(end - pos);
            break;
        default:
            ok = fixed(rdlen);
    }
    return ok && pos == end && out.size() <= 65535;
}

}  // namespace satellite::dns
