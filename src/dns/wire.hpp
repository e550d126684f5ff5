// Wire codec: a bounds-checked reader (with name decompression, loop-safe)
// and a response writer over a caller-owned buffer with name compression.
// Neither allocates.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "dns/name.hpp"

namespace satellite::dns {

inline std::uint16_t load16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t load32(const std::uint8_t* p) {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
           p[3];
}
inline void store16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
inline void store32(std::uint8_t* p, std::uint32_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}

// Reads a possibly compressed name at `pos` in `msg` into `out` (uncompressed
// wire, case kept). Returns the position after the name in the message, or 0
// on any malformation (bad pointer, loop, too long).
std::size_t read_name(std::span<const std::uint8_t> msg, std::size_t pos, std::uint8_t* out,
                      std::size_t* out_len);

// Skips a possibly compressed name at `pos` without copying it: the
// position after it, or 0 if it is malformed. (Where the name leads through
// its pointers is not checked; read_name does that.)
inline std::size_t skip_name(std::span<const std::uint8_t> msg, std::size_t pos) {
    const std::size_t n = msg.size();
    std::size_t total = 0;
    while (pos < n) {
        const std::uint8_t l = msg[pos];
        if ((l & 0xc0) == 0xc0) return pos + 2 <= n ? pos + 2 : 0;
        if (l & 0xc0) return 0;
        if (l == 0) return pos + 1;
        total += 1 + l;
        if (total > kMaxNameLen) return 0;
        pos += 1 + l;
    }
    return 0;
}

// Compression table: where names already written start in the packet.
// RFC 1035 §4.1.4. Entries remember the label count of the name at that
// offset so a lookup compares only candidates of the right depth.
class Compressor {
public:
    void reset() { n_ = 0; }
    // Offset of a name in `pkt` equal (case-insensitively) to the uncompressed
    // `name` with `labels` labels, or -1.
    int find(const std::uint8_t* pkt, const std::uint8_t* name, unsigned labels) const;
    // Forgets names at or after `pos` (after a rollback).
    void truncate(std::size_t pos) {
        while (n_ > 0 && entries_[n_ - 1].offset >= pos) --n_;
    }
    void add(std::uint16_t offset, unsigned labels) {
        if (n_ < kMax && offset < 0x3fff) {
            entries_[n_++] = Entry{offset, static_cast<std::uint8_t>(labels)};
        }
    }

private:
    struct Entry {
        std::uint16_t offset;
        std::uint8_t labels;
    };
    static constexpr unsigned kMax = 64;
    Entry entries_[kMax];
    unsigned n_ = 0;
};

// Writes into a fixed buffer; every write checks the limit. A failed write
// leaves `overflow()` set and the position unchanged, so callers can roll
// back to a mark and set TC.
class Writer {
public:
    Writer(std::uint8_t* buf, std::size_t capacity) : buf_(buf), cap_(capacity) {}

    std::size_t pos() const { return pos_; }
    std::size_t limit() const { return limit_; }
    void set_limit(std::size_t limit) { limit_ = limit < cap_ ? limit : cap_; }
    std::uint8_t* data() { return buf_; }
    const std::uint8_t* data() const { return buf_; }
    bool overflow() const { return overflow_; }
    void clear_overflow() { overflow_ = false; }
    void rewind(std::size_t pos) {
        pos_ = pos;
        comp_.truncate(pos);
    }
    Compressor& compressor() { return comp_; }

    bool put(const void* p, std::size_t n) {
        if (pos_ + n > limit_) return fail();
        std::memcpy(buf_ + pos_, p, n);
        pos_ += n;
        return true;
    }
    bool put8(std::uint8_t v) { return put(&v, 1); }
    bool put16(std::uint16_t v) {
        if (pos_ + 2 > limit_) return fail();
        store16(buf_ + pos_, v);
        pos_ += 2;
        return true;
    }
    bool put32(std::uint32_t v) {
        if (pos_ + 4 > limit_) return fail();
        store32(buf_ + pos_, v);
        pos_ += 4;
        return true;
    }
    // Writes an uncompressed wire name, compressing against earlier names
    // when `compress` is true, and registering its suffixes for later ones.
    bool put_name(const std::uint8_t* name, bool compress = true);
    // Registers the name already written at `offset` (uncompressed there).
    void remember_name(std::uint16_t offset);

private:
    bool fail() {
        overflow_ = true;
        return false;
    }
    std::uint8_t* buf_;
    std::size_t cap_;
    std::size_t pos_ = 0;
    std::size_t limit_ = cap_;
    bool overflow_ = false;
    Compressor comp_;
};

}  // namespace satellite::dns
