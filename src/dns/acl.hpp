// Address prefixes and `provide_xfr` entries ("192.0.2.0/24",
// "2001:db8::/32 key xfr-key"): parsed once from the config, matched
// against a peer's address on every transfer request. IPv4 is kept in its
// v4-mapped IPv6 form (::ffff:a.b.c.d), so one comparison covers both.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace satellite::dns {

using Address16 = std::array<std::uint8_t, 16>;

struct AddressPrefix {
    Address16 address{};
    unsigned bits = 128;  // over the 16-octet form (an IPv4 /24 is 96 + 24)
    bool matches(const Address16& a) const;
};

// "192.0.2.1", "192.0.2.0/24", "2001:db8::/32", "::1". Host bits set
// beyond the prefix are refused (a likely typo: "192.0.2.1/24").
Result<AddressPrefix> parse_prefix(std::string_view text);

// One `provide_xfr` entry: a prefix and, optionally, "key NAME": then only
// requests signed with that TSIG key are allowed from the prefix.
struct XfrAclText {
    AddressPrefix prefix;
    std::string key;  // as written; "" = unsigned requests allowed
};
Result<XfrAclText> parse_xfr_acl(std::string_view text);

}  // namespace satellite::dns
