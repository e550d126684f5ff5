// RFC 1982 serial number arithmetic for SOA serials (SERIAL_BITS = 32).
// Two serials exactly 2^31 apart are not comparable (§3.2): neither is newer.
#pragma once

#include <cstdint>

namespace satellite::dns {

// a is newer than b.
constexpr bool serial_newer(std::uint32_t a, std::uint32_t b) {
    const std::uint32_t d = a - b;
    return d != 0 && d < 0x8000'0000u;
}

// a is older than b.
constexpr bool serial_older(std::uint32_t a, std::uint32_t b) { return serial_newer(b, a); }

}  // namespace satellite::dns
