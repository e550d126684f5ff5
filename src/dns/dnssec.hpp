// DNSSEC primitives (RFC 4034): key tags, the canonical signed data of an
// RRset, RRSIG verification and signing over OpenSSL 3 for algorithms 8, 10,
// 13, 14 and 15, key generation, DS digests. Pure functions; no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dns/name.hpp"
#include "util/result.hpp"

namespace satellite::dns {

// RFC 4034 Appendix B.
std::uint16_t key_tag(std::span<const std::uint8_t> dnskey_rdata);

// Checks a DNSKEY public key field (RFC 3110, 6605, 8080) for `alg`: it
// parses, has a size the algorithm allows, and (EC) lies on the curve.
Status check_public_key(std::uint8_t alg, std::span<const std::uint8_t> field);

// One RRset as stored: owner (any case), type, and its RDATAs.
struct RrsetView {
    const std::uint8_t* owner;
    std::size_t owner_len;
    std::uint16_t type;
    std::vector<std::span<const std::uint8_t>> rdatas;
};

// Verifies one RRSIG (its RDATA) over the RRset with the DNSKEY (its RDATA).
// Checks algorithm, key tag and signer match, then the signature (RFC 4035
// §5.3). Validity times are the caller's concern.
Status verify_rrsig(const RrsetView& rrset, std::span<const std::uint8_t> rrsig_rdata,
                    std::span<const std::uint8_t> dnskey_rdata, const Name& signer_zone);

// RFC 4034 §3.1.8.1: the data an RRSIG signs — `rrsig_prefix` (the RRSIG
// RDATA up to and including the signer name) then the RRset in canonical
// form and order, with the owner rewritten to "*.<labels>" when the RRSIG's
// label count says it was a wildcard. Appends to `out`.
void append_signed_data(const RrsetView& rrset, std::span<const std::uint8_t> rrsig_prefix,
                        std::vector<std::uint8_t>& out);

// A DNSSEC private key (KSK or ZSK). Immutable and shareable across threads;
// each thread signs through its own Signer.
class SigningKey {
public:
    // A fresh key: RSA 2048 for algorithms 8 and 10, P-256 (13), P-384 (14),
    // Ed25519 (15).
    static Result<std::shared_ptr<const SigningKey>> generate(std::uint8_t algorithm);
    // From PKCS#8 PEM text; refuses a key whose type does not fit `algorithm`.
    static Result<std::shared_ptr<const SigningKey>> from_pem(std::string_view pem,
                                                              std::uint8_t algorithm);
    ~SigningKey();
    SigningKey(const SigningKey&) = delete;
    SigningKey& operator=(const SigningKey&) = delete;

    std::uint8_t algorithm() const { return algorithm_; }
    std::string to_pem() const;  // PKCS#8, unencrypted: write it with mode 0600
    // The DNSKEY public key field (RFC 3110, RFC 6605, RFC 8080).
    const std::vector<std::uint8_t>& public_key() const { return public_key_; }
    // DNSKEY RDATA: flags (256 ZSK, 257 KSK), protocol 3, algorithm, key.
    std::vector<std::uint8_t> dnskey_rdata(std::uint16_t flags) const;
    // Largest signature this key makes, in octets.
    std::size_t max_signature_size() const;

private:
    friend class Signer;
    SigningKey() = default;
    std::uint8_t algorithm_ = 0;
    void* pkey_ = nullptr;  // EVP_PKEY*
    std::vector<std::uint8_t> public_key_;
};

// Signs with one key from one thread, reusing its OpenSSL contexts.
class Signer {
public:
    explicit Signer(std::shared_ptr<const SigningKey> key);
    ~Signer();
    Signer(const Signer&) = delete;
    Signer& operator=(const Signer&) = delete;
    const SigningKey& key() const { return *key_; }
    // Signs `data`; writes the signature in DNSSEC form (r||s for ECDSA)
    // into `out` (at least max_signature_size()) and returns its length, or
    // 0 if OpenSSL failed.
    std::size_t sign(std::span<const std::uint8_t> data, std::uint8_t* out);

private:
    std::shared_ptr<const SigningKey> key_;
    void* md_ctx_ = nullptr;    // EVP_MD_CTX*: Ed25519 signing, or the digest for the others
    void* md_ = nullptr;        // EVP_MD*, fetched once (an implicit fetch per call is slow)
    void* pkey_ctx_ = nullptr;  // EVP_PKEY_CTX* (RSA, ECDSA over a digest)
};

struct RrsigTimes {
    std::uint32_t inception;
    std::uint32_t expiration;
};

// Signs one RRset (RFC 4034 §3.1): appends the RRSIG RDATA to `out`.
// `owner_labels` is the label count of the owner (less a leading '*').
// `scratch` is reused between calls to avoid allocations.
bool sign_rrset(Signer& signer, std::uint16_t key_tag, const Name& zone, const RrsetView& rrset,
                std::uint32_t ttl, RrsigTimes times, std::vector<std::uint8_t>& scratch,
                std::vector<std::uint8_t>& out);

// DS RDATA (RFC 4034 §5.1.4) for a DNSKEY at `owner`; digest type 2
// (SHA-256, RFC 4509) or 4 (SHA-384, RFC 6605). Empty for other types.
std::vector<std::uint8_t> ds_rdata(const Name& owner, std::span<const std::uint8_t> dnskey_rdata,
                                   std::uint8_t digest_type);

// RFC 5155 §5: the NSEC3 hash (iterated SHA-1) of a lower-cased wire name.
std::array<std::uint8_t, 20> nsec3_hash(const std::uint8_t* lc, std::size_t len,
                                        std::span<const std::uint8_t> salt,
                                        std::uint16_t iterations);

// The hash an NSEC3 owner's first label spells (RFC 5155 §3.3: base32hex,
// RFC 4648 §7, any case), or nullopt when the label is not 32 such characters.
std::optional<std::array<std::uint8_t, 20>> nsec3_label_hash(const std::uint8_t* label);

}  // namespace satellite::dns
