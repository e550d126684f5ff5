// Name decompression (loop-safe) and compression for responses.
#include "dns/wire.hpp"

namespace satellite::dns {

std::size_t read_name(std::span<const std::uint8_t> msg, std::size_t pos, std::uint8_t* out,
                      std::size_t* out_len) {
    std::size_t n = msg.size();
    std::size_t end = 0;  // position after the name in the original stream
    std::size_t len = 0;
    unsigned jumps = 0;
    for (;;) {
        if (pos >= n) return 0;
        std::uint8_t l = msg[pos];
        if ((l & 0xc0) == 0xc0) {
            if (pos + 1 >= n) return 0;
            std::size_t target = static_cast<std::size_t>(((l & 0x3f) << 8) | msg[pos + 1]);
            if (end == 0) end = pos + 2;
            // Pointers must go strictly backwards: this also bounds loops.
            if (target >= pos || ++jumps > 127) return 0;
            pos = target;
            continue;
        }
        if (l & 0xc0) return 0;  // 0x40/0x80 label types are not supported
        if (l == 0) {
            if (len + 1 > kMaxNameLen) return 0;
            out[len++] = 0;
            *out_len = len;
            return end ? end : pos + 1;
        }
        if (pos + 1 + l > n || len + 1 + l + 1 > kMaxNameLen) return 0;
        std::memcpy(out + len, msg.data() + pos, 1 + l);
        len += 1 + l;
        pos += 1 + l;
    }
}

namespace {

// Compares the (possibly compressed) name at `off` in `pkt` with the
// uncompressed `name`, case-insensitively. Names in our own packet are
// well-formed, and pointers in it always point backwards.
bool packet_name_equals(const std::uint8_t* pkt, std::size_t off, const std::uint8_t* name) {
    for (;;) {
        std::uint8_t l = pkt[off];
        if ((l & 0xc0) == 0xc0) {
            off = static_cast<std::size_t>(((l & 0x3f) << 8) | pkt[off + 1]);
            continue;
        }
        if (l != *name) return false;
        if (l == 0) return true;
        for (std::uint8_t i = 1; i <= l; ++i) {
            if (ascii_lower(pkt[off + i]) != ascii_lower(name[i])) return false;
        }
        off += 1 + l;
        name += 1 + l;
    }
}

}  // namespace

int Compressor::find(const std::uint8_t* pkt, const std::uint8_t* name, unsigned labels) const {
    for (unsigned i = 0; i < n_; ++i) {
        if (entries_[i].labels == labels && packet_name_equals(pkt, entries_[i].offset, name)) {
            return entries_[i].offset;
        }
    }
    return -1;
}

bool Writer::put_name(const std::uint8_t* name, bool compress) {
    std::size_t start = pos_;
    unsigned labels = wire_name::label_count(name);
    const std::uint8_t* p = name;
    while (*p) {
        if (compress) {
            int at = comp_.find(buf_, p, labels);
            if (at >= 0) {
                if (!put16(static_cast<std::uint16_t>(0xc000 | at))) {
                    rewind(start);
                    return false;
                }
                return true;
            }
        }
        std::size_t here = pos_;
        if (!put(p, 1 + *p)) {
            rewind(start);
            return false;
        }
        comp_.add(static_cast<std::uint16_t>(here), labels);
        --labels;
        p += 1 + *p;
    }
    if (!put8(0)) {
        rewind(start);
        return false;
    }
    return true;
}

void Writer::remember_name(std::uint16_t offset) {
    const std::uint8_t* p = buf_ + offset;
    unsigned labels = wire_name::label_count(p);
    while (*p) {
        comp_.add(static_cast<std::uint16_t>(p - buf_), labels--);
        p += 1 + *p;
    }
}

}  // namespace satellite::dns
