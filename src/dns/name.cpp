// Wire-format name helpers: label walking, case folding, canonical order.
#include "dns/name.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace satellite::dns {

namespace wire_name {

std::size_t length(const std::uint8_t* p, std::size_t n) {
    std::size_t pos = 0;
    while (pos < n) {
        std::uint8_t l = p[pos];
        if (l == 0) {
            return pos + 1 <= kMaxNameLen ? pos + 1 : 0;
        }
        if (l > 63) return 0;
        pos += 1 + l;
        if (pos >= kMaxNameLen) return 0;
    }
    return 0;
}

unsigned label_count(const std::uint8_t* p) {
    unsigned n = 0;
    while (*p) {
        p += 1 + *p;
        ++n;
    }
    return n;
}

bool equal_ci(const std::uint8_t* a, const std::uint8_t* b) {
    for (;;) {
        std::uint8_t la = *a, lb = *b;
        if (la != lb) return false;
        if (la == 0) return true;
        ++a;
        ++b;
        for (std::uint8_t i = 0; i < la; ++i) {
            if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
        }
        a += la;
        b += lb;
    }
}

unsigned label_offsets(const std::uint8_t* p, std::uint8_t* offsets) {
    unsigned n = 0;
    std::uint8_t pos = 0;
    while (p[pos]) {
        offsets[n++] = pos;
        pos = static_cast<std::uint8_t>(pos + 1 + p[pos]);
    }
    offsets[n] = pos;  // the root label
    return n;
}

int canonical_compare(const std::uint8_t* a, std::size_t, const std::uint8_t* b, std::size_t) {
    std::uint8_t oa[kMaxLabels + 1], ob[kMaxLabels + 1];
    int na = static_cast<int>(label_offsets(a, oa));
    int nb = static_cast<int>(label_offsets(b, ob));
    // Compare from the rightmost label leftwards.
    for (int ia = na - 1, ib = nb - 1; ia >= 0 && ib >= 0; --ia, --ib) {
        const std::uint8_t* la = a + oa[ia];
        const std::uint8_t* lb = b + ob[ib];
        std::size_t n = std::min(la[0], lb[0]);
        for (std::size_t i = 1; i <= n; ++i) {
            std::uint8_t ca = ascii_lower(la[i]), cb = ascii_lower(lb[i]);
            if (ca != cb) return ca < cb ? -1 : 1;
        }
        if (la[0] != lb[0]) return la[0] < lb[0] ? -1 : 1;
    }
    return na == nb ? 0 : (na < nb ? -1 : 1);
}

std::string to_string(const std::uint8_t* p) {
    std::string out;
    if (*p == 0) return ".";
    while (*p) {
        std::uint8_t l = *p++;
        for (std::uint8_t i = 0; i < l; ++i) {
            std::uint8_t c = p[i];
            if (c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' ||
                c == '@' || c == '$') {
                out += '\\';
                out += static_cast<char>(c);
            } else if (c <= 0x20 || c >= 0x7f) {
                char esc[5];
                std::snprintf(esc, sizeof esc, "\\%03u", c);
                out += esc;
            } else {
                out += static_cast<char>(c);
            }
        }
        out += '.';
        p += l;
    }
    return out;
}

void lower_copy(const std::uint8_t* src, std::size_t len, std::uint8_t* dst) {
    // Label length octets are ≤ 63, so lowering them is a no-op.
    for (std::size_t i = 0; i < len; ++i) dst[i] = ascii_lower(src[i]);
}

bool is_subdomain(const std::uint8_t* child, std::size_t clen, const std::uint8_t* parent,
                  std::size_t plen) {
    if (plen > clen) return false;
    // Walk child labels until the remaining length equals parent's.
    std::size_t pos = 0;
    while (clen - pos > plen) {
        pos += 1 + child[pos];
    }
    if (clen - pos != plen) return false;
    return equal_ci(child + pos, parent);
}

}  // namespace wire_name

Result<Name> Name::from_wire(std::span<const std::uint8_t> wire) {
    std::size_t n = wire_name::length(wire.data(), wire.size());
    if (n == 0) return make_error("malformed domain name");
    Name name;
    std::memcpy(name.buf_.data(), wire.data(), n);
    name.len_ = static_cast<std::uint8_t>(n);
    return name;
}

Result<Name> Name::from_text(std::string_view text, const Name* origin) {
    Name name;
    if (text == "@") {
        if (!origin) return make_error("'@' needs an origin");
        return *origin;
    }
    if (text == ".") return name;
    if (text.empty()) return make_error("empty domain name");
    std::size_t out = 0;
    std::uint8_t label[64];
    std::size_t llen = 0;
    bool absolute = false;
    auto flush = [&]() -> bool {
        if (llen == 0 || llen > 63 || out + 1 + llen >= kMaxNameLen) return false;
        name.buf_[out++] = static_cast<std::uint8_t>(llen);
        std::memcpy(name.buf_.data() + out, label, llen);
        out += llen;
        llen = 0;
        return true;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '.') {
            if (!flush()) return make_error("bad label in domain name '" + std::string(text) + "'");
            if (i + 1 == text.size()) absolute = true;
            continue;
        }
        std::uint8_t byte;
        if (c == '\\') {
            if (i + 1 >= text.size()) return make_error("dangling escape in domain name");
            if (i + 3 < text.size() + 0 && std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
                std::isdigit(static_cast<unsigned char>(text[i + 2])) &&
                std::isdigit(static_cast<unsigned char>(text[i + 3]))) {
                int v = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
                if (v > 255) return make_error("bad \\DDD escape in domain name");
                byte = static_cast<std::uint8_t>(v);
                i += 3;
            } else {
                byte = static_cast<std::uint8_t>(text[++i]);
            }
        } else {
            byte = static_cast<std::uint8_t>(c);
        }
        if (llen >= 63) return make_error("label longer than 63 octets in '" + std::string(text) + "'");
        label[llen++] = byte;
    }
    if (llen > 0 && !flush()) return make_error("domain name too long: '" + std::string(text) + "'");
    if (!absolute) {
        if (!origin) {
            // Treat as absolute when no origin is given.
        } else {
            if (out + origin->len_ > kMaxNameLen) return make_error("domain name too long");
            std::memcpy(name.buf_.data() + out, origin->buf_.data(), origin->len_);
            name.len_ = static_cast<std::uint8_t>(out + origin->len_);
            return name;
        }
    }
    name.buf_[out++] = 0;
    name.len_ = static_cast<std::uint8_t>(out);
    return name;
}

unsigned Name::label_count() const { return wire_name::label_count(buf_.data()); }

std::string Name::to_string() const { return wire_name::to_string(buf_.data()); }

Name Name::lowered() const {
    Name n;
    wire_name::lower_copy(buf_.data(), len_, n.buf_.data());
    n.len_ = len_;
    return n;
}

bool Name::equals(const Name& o) const { return wire_name::equal_ci(data(), o.data()); }

bool Name::is_subdomain_of(const Name& parent) const {
    return wire_name::is_subdomain(data(), len_, parent.data(), parent.len_);
}

PackedName::PackedName(const Name& n) : PackedName(n.data(), n.size()) {}

PackedName::PackedName(const std::uint8_t* p, std::size_t n)
    : bytes_(new std::uint8_t[n]), len_(static_cast<std::uint8_t>(n)) {
    std::memcpy(bytes_.get(), p, n);
}

unsigned PackedName::label_count() const { return wire_name::label_count(data()); }

std::string PackedName::to_string() const { return wire_name::to_string(data()); }

Name PackedName::name() const {
    Name n;
    std::memcpy(n.buf_.data(), data(), len_);
    n.len_ = len_;
    return n;
}

bool PackedName::equals(const Name& o) const { return wire_name::equal_ci(data(), o.data()); }

bool PackedName::is_subdomain_of(const Name& parent) const {
    return wire_name::is_subdomain(data(), len_, parent.data(), parent.size());
}

}  // namespace satellite::dns
