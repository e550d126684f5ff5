// Prefix parsing with inet_pton; matching is a masked compare.
#include "dns/acl.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <sstream>
#include <vector>

namespace satellite::dns {

bool AddressPrefix::matches(const Address16& a) const {
    unsigned full = bits / 8, rest = bits % 8;
    if (std::memcmp(address.data(), a.data(), full) != 0) return false;
    if (rest == 0) return true;
    auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (address[full] & mask) == (a[full] & mask);
}

Result<AddressPrefix> parse_prefix(std::string_view text) {
    std::string s(text);
    std::string addr = s, len;
    if (auto slash = s.find('/'); slash != std::string::npos) {
        addr = s.substr(0, slash);
        len = s.substr(slash + 1);
    }
    AddressPrefix p;
    unsigned max_bits;
    unsigned offset;
    unsigned char v4[4];
    if (::inet_pton(AF_INET, addr.c_str(), v4) == 1) {
        p.address[10] = p.address[11] = 0xff;
        std::memcpy(p.address.data() + 12, v4, 4);
        max_bits = 32;
        offset = 96;
    } else if (::inet_pton(AF_INET6, addr.c_str(), p.address.data()) == 1) {
        max_bits = 128;
        offset = 0;
    } else {
        return make_error("'" + addr + "' is not an IPv4 or IPv6 address");
    }
    unsigned bits = max_bits;
    if (!len.empty() || s.find('/') != std::string::npos) {
        if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string::npos) {
            return make_error("prefix length '" + len + "' is not a number");
        }
        bits = static_cast<unsigned>(std::stoul(len));
        if (bits > max_bits) {
            return make_error("prefix length /" + len + " is longer than " + std::to_string(max_bits));
        }
    }
    p.bits = offset + bits;
    AddressPrefix masked = p;
    for (unsigned i = p.bits; i < 128; ++i) masked.address[i / 8] &= static_cast<std::uint8_t>(~(0x80 >> (i % 8)));
    if (masked.address != p.address) {
        return make_error("'" + s + "' has host bits set beyond the prefix; write the network address");
    }
    return p;
}

Result<XfrAclText> parse_xfr_acl(std::string_view text) {
    std::istringstream in{std::string(text)};
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    if (words.size() != 1 && !(words.size() == 3 && words[1] == "key")) {
        return make_error("write \"192.0.2.0/24\" or \"192.0.2.0/24 key NAME\"");
    }
    auto prefix = parse_prefix(words[0]);
    if (!prefix) return prefix.error();
    XfrAclText out;
    out.prefix = *prefix;
    if (words.size() == 3) out.key = words[2];
    return out;
}

}  // namespace satellite::dns
