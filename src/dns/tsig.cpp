// TSIG over OpenSSL 3's EVP_MAC. RFC 8945 §4.3 (digest components), §5.2
// (verification order: key, MAC, time), §5.3.1 (message streams).
#include "dns/tsig.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>
#include <memory>

#include "dns/message.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace satellite::dns {

namespace {

using dns::load16;
using dns::load32;

const dns::Name& algorithm_name(TsigAlgorithm a) {
    static const dns::Name s256 = *dns::Name::from_text("hmac-sha256.");
    static const dns::Name s384 = *dns::Name::from_text("hmac-sha384.");
    static const dns::Name s512 = *dns::Name::from_text("hmac-sha512.");
    switch (a) {
        case TsigAlgorithm::HmacSha384: return s384;
        case TsigAlgorithm::HmacSha512: return s512;
        default: return s256;
    }
}

const char* digest_name(TsigAlgorithm a) {
    switch (a) {
        case TsigAlgorithm::HmacSha384: return "SHA384";
        case TsigAlgorithm::HmacSha512: return "SHA512";
        default: return "SHA256";
    }
}

// An HMAC computation fed piece by piece.
class Hmac {
public:
    Hmac(TsigAlgorithm a, std::span<const std::uint8_t> key) {
        mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        ctx_ = mac_ ? EVP_MAC_CTX_new(mac_) : nullptr;
        char* dig = const_cast<char*>(digest_name(a));
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, dig, 0),
                               OSSL_PARAM_construct_end()};
        ok_ = ctx_ && EVP_MAC_init(ctx_, key.data(), key.size(), params) == 1;
    }
    ~Hmac() {
        EVP_MAC_CTX_free(ctx_);
        EVP_MAC_free(mac_);
    }
    Hmac(const Hmac&) = delete;
    Hmac& operator=(const Hmac&) = delete;

    void update(const void* p, std::size_t n) {
        if (ok_ && n) ok_ = EVP_MAC_update(ctx_, static_cast<const unsigned char*>(p), n) == 1;
    }
    void u16(std::uint16_t v) {
        std::uint8_t b[2];
        dns::store16(b, v);
        update(b, 2);
    }
    void time48(std::int64_t t) {
        std::uint8_t b[6];
        auto v = static_cast<std::uint64_t>(t);
        for (int i = 5; i >= 0; --i) {
            b[i] = static_cast<std::uint8_t>(v);
            v >>= 8;
        }
        update(b, 6);
    }
    std::vector<std::uint8_t> final() {
        std::vector<std::uint8_t> out(EVP_MAX_MD_SIZE);
        std::size_t n = 0;
        if (!ok_ || EVP_MAC_final(ctx_, out.data(), &n, out.size()) != 1) return {};
        out.resize(n);
        return out;
    }

private:
    EVP_MAC* mac_ = nullptr;
    EVP_MAC_CTX* ctx_ = nullptr;
    bool ok_ = false;
};

struct TsigRecord {
    std::size_t offset = 0;  // start of the TSIG RR in the message
    dns::Name key;
    dns::Name algorithm;
    std::int64_t time = 0;
    std::uint16_t fudge = 0;
    std::vector<std::uint8_t> mac;
    std::uint16_t original_id = 0;
    std::uint16_t error = 0;
    std::span<const std::uint8_t> other;
};

Result<TsigRecord> parse_tsig(std::span<const std::uint8_t> m, std::size_t off) {
    TsigRecord t;
    t.offset = off;
    std::uint8_t name[dns::kMaxNameLen];
    std::size_t nlen = 0;
    std::size_t pos = dns::read_name(m, off, name, &nlen);
    if (!pos) return make_error("malformed TSIG owner");
    t.key = dns::Name::from_wire({name, nlen})->lowered();
    if (pos + 10 > m.size()) return make_error("truncated TSIG");
    std::uint16_t rdlen = load16(m.data() + pos + 8);
    std::size_t rd = pos + 10, end = rd + rdlen;
    if (end != m.size()) return make_error("TSIG is not the last record");
    std::size_t p = dns::read_name(m, rd, name, &nlen);
    if (!p || p + 10 > end) return make_error("malformed TSIG RDATA");
    t.algorithm = dns::Name::from_wire({name, nlen})->lowered();
    const std::uint8_t* d = m.data();
    t.time = (std::int64_t(load16(d + p)) << 32) | load32(d + p + 2);
    t.fudge = load16(d + p + 6);
    std::uint16_t mac_len = load16(d + p + 8);
    p += 10;
    if (p + mac_len + 6 > end) return make_error("malformed TSIG MAC");
    t.mac.assign(d + p, d + p + mac_len);
    p += mac_len;
    t.original_id = load16(d + p);
    t.error = load16(d + p + 2);
    std::uint16_t other_len = load16(d + p + 4);
    p += 6;
    if (p + other_len != end) return make_error("malformed TSIG other data");
    t.other = {d + p, other_len};
    return t;
}

// The message as it was before the TSIG was added: ARCOUNT - 1, original ID.
void update_stripped(Hmac& h, std::span<const std::uint8_t> m, const TsigRecord& t) {
    std::uint8_t hdr[dns::kHeaderLen];
    std::memcpy(hdr, m.data(), dns::kHeaderLen);
    dns::store16(hdr, t.original_id);
    dns::store16(hdr + 10, static_cast<std::uint16_t>(load16(hdr + 10) - 1));
    h.update(hdr, dns::kHeaderLen);
    h.update(m.data() + dns::kHeaderLen, t.offset - dns::kHeaderLen);
}

void update_variables(Hmac& h, const dns::Name& key, const dns::Name& alg, std::int64_t time,
                      std::uint16_t fudge, std::uint16_t error, std::span<const std::uint8_t> other) {
    h.update(key.data(), key.size());
    h.u16(dns::rrclass::ANY);
    h.update("\0\0\0\0", 4);  // TTL
    h.update(alg.data(), alg.size());
    h.time48(time);
    h.u16(fudge);
    h.u16(error);
    h.u16(static_cast<std::uint16_t>(other.size()));
    h.update(other.data(), other.size());
}

Status check_record(const TsigRecord& t, const TsigKey& key) {
    if (!t.key.equals(key.name)) {
        return make_error("TSIG key " + t.key.to_string() + " is not the expected " +
                          key.name.to_string() + " (BADKEY)");
    }
    if (!t.algorithm.equals(algorithm_name(key.algorithm))) {
        return make_error("TSIG algorithm " + t.algorithm.to_string() + " does not match key " +
                          key.name.to_string() + " (BADKEY)");
    }
    if (t.error != 0) return make_error("peer reports TSIG error " + std::to_string(t.error));
    if (t.mac.size() != tsig_mac_size(key.algorithm)) {
        return make_error("truncated or oversized TSIG MAC (" + std::to_string(t.mac.size()) +
                          " octets) refused");
    }
    return {};
}

Status check_mac_and_time(const TsigRecord& t, const std::vector<std::uint8_t>& mac,
                          std::int64_t now) {
    if (mac.size() != t.mac.size() || CRYPTO_memcmp(mac.data(), t.mac.data(), mac.size()) != 0) {
        return make_error("TSIG MAC does not verify (BADSIG): wrong secret?");
    }
    std::int64_t skew = now > t.time ? now - t.time : t.time - now;
    if (skew > t.fudge) {
        return make_error("TSIG time is " + std::to_string(skew) + " s off (BADTIME)");
    }
    return {};
}

}  // namespace

Result<TsigAlgorithm> tsig_algorithm_from_string(const std::string& text) {
    if (text == "hmac-sha256") return TsigAlgorithm::HmacSha256;
    if (text == "hmac-sha384") return TsigAlgorithm::HmacSha384;
    if (text == "hmac-sha512") return TsigAlgorithm::HmacSha512;
    return make_error("unsupported TSIG algorithm '" + text + "'");
}

std::size_t tsig_mac_size(TsigAlgorithm a) {
    switch (a) {
        case TsigAlgorithm::HmacSha384: return 48;
        case TsigAlgorithm::HmacSha512: return 64;
        default: return 32;
    }
}

std::size_t tsig_find(std::span<const std::uint8_t> m) {
    if (m.size() < dns::kHeaderLen) return 0;
    const std::uint8_t* d = m.data();
    unsigned qd = load16(d + 4), an = load16(d + 6), ns = load16(d + 8), ar = load16(d + 10);
    if (ar == 0) return 0;
    std::size_t pos = dns::kHeaderLen;
    for (unsigned i = 0; i < qd; ++i) {
        pos = skip_name(m, pos);
        if (!pos || pos + 4 > m.size()) return 0;
        pos += 4;
    }
    unsigned total = an + ns + ar;
    for (unsigned i = 0; i < total; ++i) {
        std::size_t start = pos;
        pos = skip_name(m, pos);
        if (!pos || pos + 10 > m.size()) return 0;
        std::uint16_t type = load16(d + pos);
        std::size_t next = pos + 10 + load16(d + pos + 8);
        if (next > m.size()) return 0;
        if (i + 1 == total && type == dns::type::TSIG) return start;
        pos = next;
    }
    return 0;
}

namespace {

// RFC 8945 §4.3: a request is signed over itself; a response over the
// request's MAC first.
// `timers_only`: a later message of a stream (§5.3.1) digests only the
// time and fudge after the prior MAC and the message.
std::vector<std::uint8_t> sign(std::vector<std::uint8_t>& msg, const TsigKey& key,
                               const std::vector<std::uint8_t>* request_mac, std::int64_t now,
                               bool timers_only = false) {
    const dns::Name& alg = algorithm_name(key.algorithm);
    Hmac h(key.algorithm, key.secret);
    if (request_mac) {
        h.u16(static_cast<std::uint16_t>(request_mac->size()));
        h.update(request_mac->data(), request_mac->size());
    }
    h.update(msg.data(), msg.size());
    if (timers_only) {
        h.time48(now);
        h.u16(kTsigFudge);
    } else {
        update_variables(h, key.name, alg, now, kTsigFudge, 0, {});
    }
    std::vector<std::uint8_t> mac = h.final();

    std::uint16_t id = load16(msg.data());
    auto put16 = [&](std::uint16_t v) {
        msg.push_back(static_cast<std::uint8_t>(v >> 8));
        msg.push_back(static_cast<std::uint8_t>(v));
    };
    msg.insert(msg.end(), key.name.data(), key.name.data() + key.name.size());
    put16(dns::type::TSIG);
    put16(dns::rrclass::ANY);
    put16(0);
    put16(0);
    std::size_t rdlen_at = msg.size();
    put16(0);
    msg.insert(msg.end(), alg.data(), alg.data() + alg.size());
    put16(static_cast<std::uint16_t>(static_cast<std::uint64_t>(now) >> 32));
    put16(static_cast<std::uint16_t>(static_cast<std::uint64_t>(now) >> 16));
    put16(static_cast<std::uint16_t>(now));
    put16(kTsigFudge);
    put16(static_cast<std::uint16_t>(mac.size()));
    msg.insert(msg.end(), mac.begin(), mac.end());
    put16(id);
    put16(0);  // error
    put16(0);  // other len
    dns::store16(msg.data() + rdlen_at, static_cast<std::uint16_t>(msg.size() - rdlen_at - 2));
    dns::store16(msg.data() + 10, static_cast<std::uint16_t>(load16(msg.data() + 10) + 1));
    return mac;
}

}  // namespace

std::vector<std::uint8_t> tsig_sign(std::vector<std::uint8_t>& msg, const TsigKey& key,
                                    std::int64_t now) {
    return sign(msg, key, nullptr, now);
}

void tsig_sign_response(std::vector<std::uint8_t>& msg, const TsigKey& key,
                        const std::vector<std::uint8_t>& request_mac, std::int64_t now) {
    sign(msg, key, &request_mac, now);
}

void TsigStreamSigner::sign(std::vector<std::uint8_t>& msg, std::int64_t now) {
    prior_mac_ = dns::sign(msg, key_, &prior_mac_, now, !first_);
    first_ = false;
}

Result<dns::Name> tsig_key_name(std::span<const std::uint8_t> msg) {
    std::size_t off = tsig_find(msg);
    if (off == 0) return make_error("message is not TSIG-signed");
    auto t = parse_tsig(msg, off);
    if (!t) return t.error();
    return t->key;
}

Status tsig_append_error(std::vector<std::uint8_t>& msg, std::span<const std::uint8_t> request,
                         std::uint16_t error, std::int64_t now) {
    std::size_t off = tsig_find(request);
    if (off == 0) return make_error("request is not TSIG-signed");
    auto t = parse_tsig(request, off);
    if (!t) return t.error();
    auto put16 = [&](std::uint16_t v) {
        msg.push_back(static_cast<std::uint8_t>(v >> 8));
        msg.push_back(static_cast<std::uint8_t>(v));
    };
    msg.insert(msg.end(), t->key.data(), t->key.data() + t->key.size());
    put16(dns::type::TSIG);
    put16(dns::rrclass::ANY);
    put16(0);
    put16(0);
    std::size_t rdlen_at = msg.size();
    put16(0);
    msg.insert(msg.end(), t->algorithm.data(), t->algorithm.data() + t->algorithm.size());
    put16(static_cast<std::uint16_t>(static_cast<std::uint64_t>(now) >> 32));
    put16(static_cast<std::uint16_t>(static_cast<std::uint64_t>(now) >> 16));
    put16(static_cast<std::uint16_t>(now));
    put16(kTsigFudge);
    put16(0);  // no MAC (RFC 8945 §5.2: BADKEY and BADSIG answers are unsigned)
    put16(t->original_id);
    put16(error);
    put16(0);
    dns::store16(msg.data() + rdlen_at, static_cast<std::uint16_t>(msg.size() - rdlen_at - 2));
    dns::store16(msg.data() + 10, static_cast<std::uint16_t>(load16(msg.data() + 10) + 1));
    return {};
}

Status TsigVerifier::verify(std::span<const std::uint8_t> msg, std::int64_t now) {
    std::size_t off = tsig_find(msg);
    if (off == 0) {
        if (first_) return make_error("response is not TSIG-signed");
        // §5.3.1: up to 99 unsigned messages between signed ones.
        if (++unsigned_count_ > 99) return make_error("more than 99 messages without TSIG");
        unsigned_.insert(unsigned_.end(), msg.begin(), msg.end());
        last_signed_ = false;
        return {};
    }
    auto t = parse_tsig(msg, off);
    if (!t) return t.error();
    if (auto s = check_record(*t, key_); !s) return s;
    Hmac h(key_.algorithm, key_.secret);
    h.u16(static_cast<std::uint16_t>(prior_mac_.size()));
    h.update(prior_mac_.data(), prior_mac_.size());
    h.update(unsigned_.data(), unsigned_.size());
    update_stripped(h, msg, *t);
    if (first_) {
        update_variables(h, t->key, t->algorithm, t->time, t->fudge, t->error, t->other);
    } else {
        h.time48(t->time);
        h.u16(t->fudge);
    }
    std::vector<std::uint8_t> mac = h.final();
    if (auto s = check_mac_and_time(*t, mac, now); !s) return s;
    prior_mac_ = t->mac;
    unsigned_.clear();
    unsigned_count_ = 0;
    first_ = false;
    last_signed_ = true;
    return {};
}

Result<std::vector<std::uint8_t>> tsig_verify_request(std::span<const std::uint8_t> msg,
                                                      const TsigKey& key, std::int64_t now) {
    std::size_t off = tsig_find(msg);
    if (off == 0) return make_error("message is not TSIG-signed");
    auto t = parse_tsig(msg, off);
    if (!t) return t.error();
    if (auto s = check_record(*t, key); !s) return s.error();
    Hmac h(key.algorithm, key.secret);
    update_stripped(h, msg, *t);
    update_variables(h, t->key, t->algorithm, t->time, t->fudge, t->error, t->other);
    std::vector<std::uint8_t> mac = h.final();
    if (auto s = check_mac_and_time(*t, mac, now); !s) return s.error();
    return t->mac;
}

}  // namespace satellite::dns
