// Domain names in uncompressed wire form, with the helpers the query path
// needs: case-insensitive compare, label walking, canonical order
// (RFC 4034 §6.1). No heap allocation: a Name is a fixed 255-octet buffer.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace satellite::dns {

inline constexpr std::size_t kMaxNameLen = 255;
inline constexpr std::size_t kMaxLabels = 128;

inline std::uint8_t ascii_lower(std::uint8_t c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + 32) : c;
}

// A wire-format name (sequence of labels ending with the root label).
class Name {
public:
    Name() { buf_[0] = 0; len_ = 1; }

    // From uncompressed wire bytes; validates label lengths and total size.
    static Result<Name> from_wire(std::span<const std::uint8_t> wire);
    // From presentation text ("www.Example.com." or relative to `origin`).
    // Handles \DDD and \X escapes.
    static Result<Name> from_text(std::string_view text, const Name* origin = nullptr);

    const std::uint8_t* data() const { return buf_.data(); }
    std::size_t size() const { return len_; }
    std::span<const std::uint8_t> wire() const { return {buf_.data(), len_}; }
    unsigned label_count() const;  // root = 0

    std::string to_string() const;  // presentation, with final dot
    Name lowered() const;

    bool equals(const Name& o) const;  // case-insensitive
    bool is_subdomain_of(const Name& parent) const;  // or equal; case-insensitive

private:
    std::array<std::uint8_t, kMaxNameLen> buf_;
    std::uint8_t len_ = 0;
    friend class NameBuilder;
    friend class PackedName;
};

// A name held by something there is one of per zone (the zone, each of its
// versions, its catalog entry): 16 bytes and its wire bytes on the heap,
// where a Name is 256 bytes inline (100,000 zones: issue 13). Read it in
// place, or as a Name (a copy on the stack, no allocation).
class PackedName {
public:
    PackedName() : PackedName(Name()) {}
    PackedName(const Name& n);  // NOLINT: implicit, it stands where a Name stood
    PackedName(const PackedName& o) : PackedName(o.data(), o.size()) {}
    PackedName(PackedName&&) noexcept = default;
    PackedName& operator=(const PackedName& o) {
        if (this != &o) *this = PackedName(o);
        return *this;
    }
    PackedName& operator=(PackedName&&) noexcept = default;

    const std::uint8_t* data() const { return bytes_.get(); }
    std::size_t size() const { return len_; }
    std::span<const std::uint8_t> wire() const { return {bytes_.get(), len_}; }
    unsigned label_count() const;
    std::string to_string() const;
    Name name() const;
    operator Name() const { return name(); }  // NOLINT: where a const Name& is asked for
    Name lowered() const { return name().lowered(); }
    bool equals(const Name& o) const;
    bool is_subdomain_of(const Name& parent) const;

private:
    PackedName(const std::uint8_t* p, std::size_t n);
    std::unique_ptr<std::uint8_t[]> bytes_;
    std::uint8_t len_ = 0;
};

// Low-level helpers over raw uncompressed wire names.
namespace wire_name {

// Length of a valid uncompressed wire name starting at p (within n bytes),
// or 0 if it is not one.
std::size_t length(const std::uint8_t* p, std::size_t n);
unsigned label_count(const std::uint8_t* p);
// Case-insensitive equality of two uncompressed wire names.
bool equal_ci(const std::uint8_t* a, const std::uint8_t* b);
// Offsets of each label start (index 0 = whole name); returns label count
// (not counting the root). `offsets` needs kMaxLabels entries.
unsigned label_offsets(const std::uint8_t* p, std::uint8_t* offsets);
// Canonical DNS name order (RFC 4034 §6.1): <0, 0, >0.
int canonical_compare(const std::uint8_t* a, std::size_t alen, const std::uint8_t* b,
                      std::size_t blen);
std::string to_string(const std::uint8_t* p);
// Lower-cases `len` bytes of wire name `src` into `dst`.
void lower_copy(const std::uint8_t* src, std::size_t len, std::uint8_t* dst);
// True if `child` (len clen) equals or is below `parent` (len plen); case-insensitive.
bool is_subdomain(const std::uint8_t* child, std::size_t clen, const std::uint8_t* parent,
                  std::size_t plen);

}  // namespace wire_name

}  // namespace satellite::dns
