#include "dns/dnssec.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "dns/records.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace satellite::dns {

namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct ParamBldFree {
    void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
    void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct BnFree {
    void operator()(BIGNUM* b) const { BN_free(b); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey pkey_from(OSSL_PARAM_BLD* bld, const char* type) {
    std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* key = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
        return nullptr;
    }
    return Pkey(key);
}

// DNSKEY public key field → an OpenSSL key (RFC 3110, 6605, 8080).
Pkey public_key(std::uint8_t alg, std::span<const std::uint8_t> k) {
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    if (!bld) return nullptr;
    switch (alg) {
        case 8:
        case 10: {
            if (k.empty()) return nullptr;
            std::size_t elen = k[0], off = 1;
            if (elen == 0) {
                if (k.size() < 3) return nullptr;
                elen = load16(k.data() + 1);
                off = 3;
            }
            if (off + elen >= k.size()) return nullptr;
            std::unique_ptr<BIGNUM, BnFree> e(BN_bin2bn(k.data() + off, static_cast<int>(elen), nullptr));
            std::unique_ptr<BIGNUM, BnFree> n(BN_bin2bn(k.data() + off + elen, static_cast<int>(k.size() - off - elen), nullptr));
            if (!e || !n || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) ||
                !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get())) {
                return nullptr;
            }
            return pkey_from(bld.get(), "RSA");
        }
        case 13:
        case 14: {
            std::size_t want = alg == 13 ? 64 : 96;
            if (k.size() != want) return nullptr;
            std::vector<std::uint8_t> point(1 + want);
            point[0] = 0x04;  // uncompressed
            std::memcpy(point.data() + 1, k.data(), want);
            const char* group = alg == 13 ? "prime256v1" : "secp384r1";
            if (!OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
                !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size())) {
                return nullptr;
            }
            return pkey_from(bld.get(), "EC");
        }
        case 15:
            if (k.size() != 32) return nullptr;
            return Pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, k.data(), k.size()));
        default:
            return nullptr;
    }
}

// r||s (RFC 6605) → DER for OpenSSL's ECDSA verification.
std::vector<std::uint8_t> ecdsa_der(std::span<const std::uint8_t> sig) {
    std::size_t half = sig.size() / 2;
    ECDSA_SIG* s = ECDSA_SIG_new();
    if (!s) return {};
    BIGNUM* r = BN_bin2bn(sig.data(), static_cast<int>(half), nullptr);
    BIGNUM* ss = BN_bin2bn(sig.data() + half, static_cast<int>(half), nullptr);
    if (!r || !ss || ECDSA_SIG_set0(s, r, ss) != 1) {
        BN_free(r);
        BN_free(ss);
        ECDSA_SIG_free(s);
        return {};
    }
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(s, &der);
    std::vector<std::uint8_t> out;
    if (len > 0) out.assign(der, der + len);
    OPENSSL_free(der);
    ECDSA_SIG_free(s);
    return out;
}

const EVP_MD* digest_for(std::uint8_t alg) {
    switch (alg) {
        case 8: case 13: return EVP_sha256();
        case 10: return EVP_sha512();
        case 14: return EVP_sha384();
        default: return nullptr;  // Ed25519: no separate digest
    }
}

// RFC 4034 §6.2: names in these types' RDATA are lower-cased in canonical
// form; RFC 6840 §5.1 took NSEC off that list (its next name keeps its case).
bool rdata_names_lowered(std::uint16_t t) {
    switch (t) {
        case type::NS: case type::MD: case type::MF: case type::CNAME: case type::SOA:
        case type::MB: case type::MG: case type::MR: case type::PTR: case type::MINFO:
        case type::MX: case type::RP: case type::AFSDB: case 21: case type::SIG: case 26:
        case type::NAPTR: case type::KX: case type::SRV: case type::DNAME: case type::RRSIG:
            return true;
        default:
            return false;
    }
}

// Canonical RDATA: lower-case, in place, the embedded names of the types
// that want it.
void canonicalize_rdata(std::uint16_t t, std::uint8_t* rd, std::size_t size) {
    if (!rdata_names_lowered(t)) return;
    auto lower_name_at = [&](std::size_t off) -> std::size_t {
        if (off >= size) return 0;
        std::size_t n = wire_name::length(rd + off, size - off);
        wire_name::lower_copy(rd + off, n, rd + off);
        return off + n;
    };
    switch (compress_shape(t)) {
        case RdataShape::Name: lower_name_at(0); break;
        case RdataShape::Preference: lower_name_at(2); break;
        case RdataShape::TwoNames: lower_name_at(lower_name_at(0)); break;
        case RdataShape::Soa: lower_name_at(lower_name_at(0)); break;
        case RdataShape::Opaque:
            if (t == type::SRV) lower_name_at(6);
            else if (t == type::DNAME) lower_name_at(0);
            else if (t == type::RRSIG) lower_name_at(18);
            break;
    }
}

}  // namespace

std::uint16_t key_tag(std::span<const std::uint8_t> k) {
    std::uint32_t ac = 0;
    for (std::size_t i = 0; i < k.size(); ++i) ac += (i & 1) ? k[i] : std::uint32_t(k[i]) << 8;
    ac += (ac >> 16) & 0xffff;
    return static_cast<std::uint16_t>(ac & 0xffff);
}

Status verify_rrsig(const RrsetView& rrset, std::span<const std::uint8_t> sig,
                    std::span<const std::uint8_t> key, const Name& signer_zone) {
    if (sig.size() < 19 || key.size() < 5) return make_error("malformed RRSIG or DNSKEY");
    const std::uint8_t alg = sig[2];
    const std::uint8_t labels = sig[3];
    const std::uint32_t original_ttl = load32(sig.data() + 4);
    if (load16(sig.data()) != rrset.type) return make_error("RRSIG covers another type");
    if (key[3] != alg) return make_error("algorithm differs from the key's");
    if (load16(sig.data() + 16) != key_tag(key)) return make_error("key tag differs");
    std::size_t signer_len = wire_name::length(sig.data() + 18, sig.size() - 18);
    if (signer_len == 0 || !wire_name::equal_ci(sig.data() + 18, signer_zone.data())) {
        return make_error("signer is not the zone");
    }
    std::span<const std::uint8_t> signature = sig.subspan(18 + signer_len);

    std::vector<std::uint8_t> data;
    append_signed_data(rrset, sig.first(18 + signer_len), data);
    (void)labels;
    (void)original_ttl;

    Pkey pkey = public_key(alg, key.subspan(4));
    if (!pkey) return make_error("unsupported algorithm " + std::to_string(alg) + " or bad key");
    std::vector<std::uint8_t> der;
    if (alg == 13 || alg == 14) {
        if (signature.size() != (alg == 13 ? 64u : 96u)) return make_error("bad ECDSA signature size");
        der = ecdsa_der(signature);
        signature = der;
    }
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, digest_for(alg), nullptr, pkey.get()) != 1) {
        return make_error("cannot set up verification");
    }
    if (EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), data.data(), data.size()) != 1) {
        return make_error("signature does not verify");
    }
    return {};
}

void append_signed_data(const RrsetView& rrset, std::span<const std::uint8_t> prefix,
                        std::vector<std::uint8_t>& data) {
    const std::size_t base = data.size();
    data.insert(data.end(), prefix.begin(), prefix.end());
    const std::size_t signer_len = prefix.size() - 18;
    wire_name::lower_copy(data.data() + base + 18, signer_len, data.data() + base + 18);
    const std::uint8_t labels = prefix[3];
    const std::uint32_t original_ttl = load32(prefix.data() + 4);
    // Owner: lower-cased; a wildcard expansion is signed as "*.<last labels>".
    std::uint8_t owner[kMaxNameLen + 2];
    std::size_t owner_len = rrset.owner_len;
    wire_name::lower_copy(rrset.owner, rrset.owner_len, owner);
    unsigned owner_labels = wire_name::label_count(owner);
    if (labels < owner_labels) {
        std::size_t off = 0;
        for (unsigned i = 0; i < owner_labels - labels; ++i) off += 1 + owner[off];
        std::uint8_t tmp[kMaxNameLen + 2] = {1, '*'};
        std::memcpy(tmp + 2, owner + off, owner_len - off);
        owner_len = owner_len - off + 2;
        std::memcpy(owner, tmp, owner_len);
    }
    // Each record's canonical form goes straight into `data`; then the
    // records are put in RDATA order (RFC 4034 §6.3) and duplicates dropped.
    struct Rec {
        std::uint32_t off;  // of the RDATA within data
        std::uint16_t len;
    };
    thread_local std::vector<Rec> recs;
    thread_local std::vector<std::uint8_t> sorted;
    recs.clear();
    const std::size_t body = data.size();
    for (auto rd : rrset.rdatas) {
        recs.push_back({static_cast<std::uint32_t>(data.size() - body), static_cast<std::uint16_t>(rd.size())});
        data.insert(data.end(), rd.begin(), rd.end());
        canonicalize_rdata(rrset.type, data.data() + data.size() - rd.size(), rd.size());
    }
    const std::uint8_t* rdbase = data.data() + body;
    auto cmp = [rdbase](const Rec& a, const Rec& b) {
        std::size_t n = std::min(a.len, b.len);
        int c = n ? std::memcmp(rdbase + a.off, rdbase + b.off, n) : 0;
        return c != 0 ? c < 0 : a.len < b.len;
    };
    if (recs.size() > 1) std::sort(recs.begin(), recs.end(), cmp);
    sorted.clear();
    const Rec* prev = nullptr;
    for (const Rec& r : recs) {
        if (prev && !cmp(*prev, r) && !cmp(r, *prev)) continue;
        prev = &r;
        sorted.insert(sorted.end(), owner, owner + owner_len);
        std::uint8_t fixed[10];
        store16(fixed, rrset.type);
        store16(fixed + 2, rrclass::IN);
        store32(fixed + 4, original_ttl);
        store16(fixed + 8, r.len);
        sorted.insert(sorted.end(), fixed, fixed + 10);
        sorted.insert(sorted.end(), rdbase + r.off, rdbase + r.off + r.len);
    }
    data.resize(body);
    data.insert(data.end(), sorted.begin(), sorted.end());
}

// --- keys and signing ------------------------------------------------------

namespace {

EVP_PKEY* as_pkey(void* p) { return static_cast<EVP_PKEY*>(p); }

bool algorithm_fits(std::uint8_t alg, EVP_PKEY* k) {
    switch (alg) {
        case 8: case 10: return EVP_PKEY_is_a(k, "RSA") && EVP_PKEY_get_bits(k) >= 1024 && EVP_PKEY_get_bits(k) <= 4096;
        case 13: return EVP_PKEY_is_a(k, "EC") && EVP_PKEY_get_bits(k) == 256;
        case 14: return EVP_PKEY_is_a(k, "EC") && EVP_PKEY_get_bits(k) == 384;
        case 15: return EVP_PKEY_is_a(k, "ED25519");
        default: return false;
    }
}

}  // namespace

Status check_public_key(std::uint8_t alg, std::span<const std::uint8_t> field) {
    Pkey k = public_key(alg, field);
    if (!k) return make_error("the public key is not a well-formed algorithm " + std::to_string(alg) + " key");
    if (!algorithm_fits(alg, k.get())) {
        return make_error("the public key does not fit algorithm " + std::to_string(alg) +
                          (alg == 8 || alg == 10 ? " (RSA keys must have 1024 to 4096 bits)" : ""));
    }
    // An EC point must lie on its curve (else no signature could verify).
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, k.get(), nullptr));
    if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1) {
        return make_error("the public key fails OpenSSL's public key check");
    }
    return {};
}

namespace {

std::vector<std::uint8_t> bn_param(EVP_PKEY* k, const char* name) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(k, name, &bn) != 1) return {};
    std::vector<std::uint8_t> out(static_cast<std::size_t>(BN_num_bytes(bn)));
    BN_bn2bin(bn, out.data());
    BN_free(bn);
    return out;
}

// The DNSKEY public key field of a private key.
std::vector<std::uint8_t> public_field(std::uint8_t alg, EVP_PKEY* k) {
    std::vector<std::uint8_t> out;
    switch (alg) {
        case 8: case 10: {  // RFC 3110 §2
            auto e = bn_param(k, OSSL_PKEY_PARAM_RSA_E);
            auto n = bn_param(k, OSSL_PKEY_PARAM_RSA_N);
            if (e.empty() || n.empty()) return {};
            if (e.size() < 256) {
                out.push_back(static_cast<std::uint8_t>(e.size()));
            } else {
                out.push_back(0);
                out.push_back(static_cast<std::uint8_t>(e.size() >> 8));
                out.push_back(static_cast<std::uint8_t>(e.size()));
            }
            out.insert(out.end(), e.begin(), e.end());
            out.insert(out.end(), n.begin(), n.end());
            return out;
        }
        case 13: case 14: {  // RFC 6605 §4: x || y, without the 0x04 prefix
            std::uint8_t point[1 + 96 + 1];
            std::size_t len = 0;
            EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed");
            if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &len) != 1 ||
                len != (alg == 13 ? 65u : 97u) || point[0] != 0x04) {
                return {};
            }
            return {point + 1, point + len};
        }
        case 15: {
            std::size_t len = 32;
            out.resize(32);
            if (EVP_PKEY_get_raw_public_key(k, out.data(), &len) != 1 || len != 32) return {};
            return out;
        }
        default:
            return {};
    }
}

}  // namespace

SigningKey::~SigningKey() { EVP_PKEY_free(as_pkey(pkey_)); }

Result<std::shared_ptr<const SigningKey>> SigningKey::generate(std::uint8_t alg) {
    EVP_PKEY* k = nullptr;
    switch (alg) {
        case 8: case 10: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)); break;
        case 13: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
        case 14: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
        case 15: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
        default: return make_error("cannot generate keys for algorithm " + std::to_string(alg));
    }
    if (!k) return make_error("OpenSSL could not generate a key for algorithm " + std::to_string(alg));
    std::shared_ptr<SigningKey> key(new SigningKey());
    key->algorithm_ = alg;
    key->pkey_ = k;
    key->public_key_ = public_field(alg, k);
    if (key->public_key_.empty()) return make_error("cannot read the public half of a new key");
    return std::shared_ptr<const SigningKey>(std::move(key));
}

Result<std::shared_ptr<const SigningKey>> SigningKey::from_pem(std::string_view pem, std::uint8_t alg) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (!bio) return make_error("out of memory");
    EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    ERR_clear_error();
    if (!k) return make_error("the private key is not readable PEM (PKCS#8)");
    if (!algorithm_fits(alg, k)) {
        EVP_PKEY_free(k);
        return make_error("the private key is not a key for algorithm " + std::to_string(alg));
    }
    // A flipped bit in a key file may still parse: check the private half
    // against the public half (EC pairwise, RSA primes and modulus) so a
    // damaged key never signs.
    {
        EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, k, nullptr);
        const bool ok = ctx && (alg == 15 || EVP_PKEY_check(ctx) == 1);
        EVP_PKEY_CTX_free(ctx);
        ERR_clear_error();
        if (!ok) {
            EVP_PKEY_free(k);
            return make_error("the private key fails OpenSSL's consistency check");
        }
    }
    std::shared_ptr<SigningKey> key(new SigningKey());
    key->algorithm_ = alg;
    key->pkey_ = k;
    key->public_key_ = public_field(alg, k);
    if (key->public_key_.empty()) return make_error("cannot derive the public key");
    return std::shared_ptr<const SigningKey>(std::move(key));
}

std::string SigningKey::to_pem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    if (!bio) return {};
    std::string out;
    if (PEM_write_bio_PrivateKey(bio, as_pkey(pkey_), nullptr, nullptr, 0, nullptr, nullptr) == 1) {
        char* p = nullptr;
        long n = BIO_get_mem_data(bio, &p);
        if (n > 0) out.assign(p, static_cast<std::size_t>(n));
    }
    BIO_free(bio);
    return out;
}

std::vector<std::uint8_t> SigningKey::dnskey_rdata(std::uint16_t flags) const {
    std::vector<std::uint8_t> rd(4 + public_key_.size());
    store16(rd.data(), flags);
    rd[2] = 3;  // RFC 4034 §2.1.2
    rd[3] = algorithm_;
    std::copy(public_key_.begin(), public_key_.end(), rd.begin() + 4);
    return rd;
}

std::size_t SigningKey::max_signature_size() const {
    switch (algorithm_) {
        case 13: return 64;
        case 14: return 96;
        case 15: return 64;
        default: return static_cast<std::size_t>(EVP_PKEY_get_size(as_pkey(pkey_)));
    }
}

Signer::Signer(std::shared_ptr<const SigningKey> key) : key_(std::move(key)) {
    EVP_PKEY* k = as_pkey(key_->pkey_);
    md_ctx_ = EVP_MD_CTX_new();
    if (key_->algorithm_ == 15) return;
    const std::uint8_t alg = key_->algorithm_;
    md_ = EVP_MD_fetch(nullptr, alg == 10 ? "SHA512" : alg == 14 ? "SHA384" : "SHA256", nullptr);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, k, nullptr);
    if (!ctx || !md_ || EVP_PKEY_sign_init(ctx) != 1) {
        EVP_PKEY_CTX_free(ctx);
        return;
    }
    if (alg == 8 || alg == 10) {
        // RFC 5702 §3: PKCS #1 v1.5 over the DigestInfo of SHA-256 / SHA-512.
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
            EVP_PKEY_CTX_set_signature_md(ctx, static_cast<EVP_MD*>(md_)) != 1) {
            EVP_PKEY_CTX_free(ctx);
            return;
        }
    }
    pkey_ctx_ = ctx;
}

Signer::~Signer() {
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(md_ctx_));
    EVP_MD_free(static_cast<EVP_MD*>(md_));
    EVP_PKEY_CTX_free(static_cast<EVP_PKEY_CTX*>(pkey_ctx_));
}

namespace {

// One DER INTEGER of an ECDSA-Sig-Value (RFC 3279 §2.2.3) → `half`
// big-endian octets. Returns the position after it, or 0.
std::size_t der_integer(const std::uint8_t* der, std::size_t len, std::size_t pos, std::uint8_t* out,
                        std::size_t half) {
    if (pos + 2 > len || der[pos] != 0x02) return 0;
    std::size_t n = der[pos + 1];
    pos += 2;
    if (n > 0x7f || pos + n > len) return 0;
    const std::uint8_t* v = der + pos;
    while (n > 0 && v[0] == 0) {  // sign padding
        ++v;
        --n;
    }
    if (n > half) return 0;
    std::memset(out, 0, half - n);
    std::memcpy(out + half - n, v, n);
    return pos + static_cast<std::size_t>(v - (der + pos)) + n;
}

}  // namespace

std::size_t Signer::sign(std::span<const std::uint8_t> data, std::uint8_t* out) {
    const std::uint8_t alg = key_->algorithm_;
    auto* mctx = static_cast<EVP_MD_CTX*>(md_ctx_);
    if (!mctx) return 0;
    if (alg == 15) {
        std::size_t len = 64;
        if (EVP_DigestSignInit(mctx, nullptr, nullptr, nullptr, as_pkey(key_->pkey_)) != 1 ||
            EVP_DigestSign(mctx, out, &len, data.data(), data.size()) != 1) {
            return 0;
        }
        return len;
    }
    auto* ctx = static_cast<EVP_PKEY_CTX*>(pkey_ctx_);
    if (!ctx) return 0;
    std::uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    if (EVP_DigestInit_ex2(mctx, static_cast<EVP_MD*>(md_), nullptr) != 1 ||
        EVP_DigestUpdate(mctx, data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(mctx, digest, &dlen) != 1) {
        return 0;
    }
    if (alg == 8 || alg == 10) {
        std::size_t len = key_->max_signature_size();
        if (EVP_PKEY_sign(ctx, out, &len, digest, dlen) != 1) return 0;
        return len;
    }
    // ECDSA: DER SEQUENCE { r, s } from OpenSSL → r||s, each padded to the
    // field size (RFC 6605 §4). Parsed here: no allocation per signature.
    std::uint8_t der[160];
    std::size_t der_len = sizeof der;
    if (EVP_PKEY_sign(ctx, der, &der_len, digest, dlen) != 1) return 0;
    const std::size_t half = alg == 13 ? 32 : 48;
    std::size_t pos = 2;
    if (der_len < 8 || der[0] != 0x30) return 0;
    if (der[1] == 0x81) pos = 3;  // long-form length (P-384 may need it)
    pos = der_integer(der, der_len, pos, out, half);
    if (pos == 0 || der_integer(der, der_len, pos, out + half, half) == 0) return 0;
    return 2 * half;
}

bool sign_rrset(Signer& signer, std::uint16_t tag, const Name& zone, const RrsetView& rrset,
                std::uint32_t ttl, RrsigTimes times, std::vector<std::uint8_t>& scratch,
                std::vector<std::uint8_t>& out) {
    const std::size_t start = out.size();
    std::uint8_t head[18];
    store16(head, rrset.type);
    head[2] = signer.key().algorithm();
    unsigned labels = wire_name::label_count(rrset.owner);
    if (rrset.owner_len > 1 && rrset.owner[0] == 1 && rrset.owner[1] == '*') --labels;  // RFC 4034 §3.1.3
    head[3] = static_cast<std::uint8_t>(labels);
    store32(head + 4, ttl);
    store32(head + 8, times.expiration);
    store32(head + 12, times.inception);
    store16(head + 16, tag);
    out.insert(out.end(), head, head + 18);
    // RFC 4034 §3.1.7 / RFC 6840 §5.1: the signer name in lower case.
    const Name lower = zone.lowered();
    out.insert(out.end(), lower.data(), lower.data() + lower.size());
    scratch.clear();
    append_signed_data(rrset, std::span<const std::uint8_t>(out.data() + start, out.size() - start), scratch);
    const std::size_t sig_at = out.size();
    out.resize(sig_at + signer.key().max_signature_size());
    std::size_t n = signer.sign(scratch, out.data() + sig_at);
    if (n == 0) {
        out.resize(start);
        return false;
    }
    out.resize(sig_at + n);
    return true;
}

std::vector<std::uint8_t> ds_rdata(const Name& owner, std::span<const std::uint8_t> dnskey,
                                   std::uint8_t digest_type) {
    const EVP_MD* md = digest_type == 2 ? EVP_sha256() : digest_type == 4 ? EVP_sha384() : nullptr;
    if (!md || dnskey.size() < 4) return {};
    const Name lower = owner.lowered();
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    std::uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), lower.data(), lower.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), dnskey.data(), dnskey.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), digest, &dlen) != 1) {
        return {};
    }
    const std::uint16_t tag = key_tag(dnskey);
    std::vector<std::uint8_t> rd(4 + dlen);
    store16(rd.data(), tag);
    rd[2] = dnskey[3];
    rd[3] = digest_type;
    std::copy(digest, digest + dlen, rd.begin() + 4);
    return rd;
}

std::array<std::uint8_t, 20> nsec3_hash(const std::uint8_t* lc, std::size_t len,
                                        std::span<const std::uint8_t> salt, std::uint16_t iterations) {
    // IH(salt, x, 0) = H(x || salt); IH(salt, x, k) = H(IH(k-1) || salt).
    // SHA1() rather than EVP: no provider lookup per call, as the query
    // path hashes names of compact and NSEC3 answers with it.
    std::array<std::uint8_t, 20> h{};
    std::uint8_t buf[kMaxNameLen + 255];
    std::memcpy(buf, lc, len);
    if (!salt.empty()) std::memcpy(buf + len, salt.data(), salt.size());
    SHA1(buf, len + salt.size(), h.data());
    for (unsigned i = 0; i < iterations; ++i) {
        std::memcpy(buf, h.data(), 20);
        if (!salt.empty()) std::memcpy(buf + 20, salt.data(), salt.size());
        SHA1(buf, 20 + salt.size(), h.data());
    }
    return h;
}

std::optional<std::array<std::uint8_t, 20>> nsec3_label_hash(const std::uint8_t* label) {
    if (label[0] != 32) return std::nullopt;
    std::array<std::uint8_t, 20> h{};
    std::uint64_t acc = 0;
    unsigned bits = 0, out = 0;
    for (unsigned i = 1; i <= 32; ++i) {
        const std::uint8_t c = ascii_lower(label[i]);
        const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'v' ? c - 'a' + 10 : -1;
        if (v < 0) return std::nullopt;
        acc = (acc << 5) | static_cast<unsigned>(v);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            h[out++] = static_cast<std::uint8_t>(acc >> bits);
        }
    }
    return h;
}

}  // namespace satellite::dns
