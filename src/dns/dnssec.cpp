#include "dns/dnssec.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

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

// RFC 4034 §6.2: names in these types' RDATA are lower-cased in canonical form.
bool rdata_names_lowered(std::uint16_t t) {
    switch (t) {
        case type::NS: case type::MD: case type::MF: case type::CNAME: case type::SOA:
        case type::MB: case type::MG: case type::MR: case type::PTR: case type::MINFO:
        case type::MX: case type::RP: case type::AFSDB: case 21: case type::SIG: case 26:
        case type::NAPTR: case type::KX: case type::SRV: case type::DNAME: case type::RRSIG:
        case type::NSEC:
            return true;
        default:
            return false;
    }
}

// Canonical RDATA: lower-case the embedded names of the types that want it.
std::vector<std::uint8_t> canonical_rdata(std::uint16_t t, std::span<const std::uint8_t> rd) {
    std::vector<std::uint8_t> out(rd.begin(), rd.end());
    if (!rdata_names_lowered(t)) return out;
    auto lower_name_at = [&](std::size_t off) -> std::size_t {
        if (off >= out.size()) return 0;
        std::size_t n = wire_name::length(out.data() + off, out.size() - off);
        wire_name::lower_copy(out.data() + off, n, out.data() + off);
        return n;
    };
    switch (compress_shape(t)) {
        case RdataShape::Name: lower_name_at(0); break;
        case RdataShape::Preference: lower_name_at(2); break;
        case RdataShape::TwoNames: lower_name_at(lower_name_at(0)); break;
        case RdataShape::Soa: lower_name_at(lower_name_at(0)); break;
        case RdataShape::Opaque:
            if (t == type::SRV) lower_name_at(6);
            else if (t == type::DNAME || t == type::NSEC) lower_name_at(0);
            else if (t == type::RRSIG) lower_name_at(18);
            break;
    }
    return out;
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

    // RFC 4034 §3.1.8.1: RRSIG RDATA (less the signature, signer lower-cased)
    // then the RRset in canonical form and order.
    std::vector<std::uint8_t> data(sig.begin(), sig.begin() + 18 + static_cast<std::ptrdiff_t>(signer_len));
    wire_name::lower_copy(data.data() + 18, signer_len, data.data() + 18);
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
    std::vector<std::vector<std::uint8_t>> rdatas;
    for (auto rd : rrset.rdatas) rdatas.push_back(canonical_rdata(rrset.type, rd));
    // RFC 4034 §6.3: RDATA as left-justified octet strings; duplicates dropped.
    auto less = [](const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
        std::size_t n = std::min(a.size(), b.size());
        int c = n ? std::memcmp(a.data(), b.data(), n) : 0;
        return c != 0 ? c < 0 : a.size() < b.size();
    };
    std::sort(rdatas.begin(), rdatas.end(), less);
    rdatas.erase(std::unique(rdatas.begin(), rdatas.end(),
                             [&](const auto& a, const auto& b) { return !less(a, b) && !less(b, a); }),
                 rdatas.end());
    for (const auto& rd : rdatas) {
        data.insert(data.end(), owner, owner + owner_len);
        std::uint8_t fixed[10];
        store16(fixed, rrset.type);
        store16(fixed + 2, rrclass::IN);
        store32(fixed + 4, original_ttl);
        store16(fixed + 8, static_cast<std::uint16_t>(rd.size()));
        data.insert(data.end(), fixed, fixed + 10);
        data.insert(data.end(), rd.begin(), rd.end());
    }

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

}  // namespace satellite::dns
