// DNSSEC validation of a parent's DS answer from a trust anchor (RFC 4035 §5,
// RFC 5155 §8). Control path: clear over fast, but RRsets are views into the
// response, not copies.
#include "dns/validate.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>
#include <optional>
#include <span>
#include <string>

#include "dns/dnssec.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"
#include "dns/zonefile.hpp"

namespace satellite::dns {

namespace {

namespace wn = wire_name;
using Bytes = std::span<const std::uint8_t>;
using Hash = std::array<std::uint8_t, 20>;

constexpr std::uint16_t kZoneKey = 0x0100;      // RFC 4034 §2.1.1
constexpr std::uint16_t kRevoke = 0x0080;       // RFC 5011 §3
constexpr std::uint8_t kOptOut = 0x01;          // RFC 5155 §3.1.2.1
constexpr std::uint16_t kMaxIterations = 2500;  // RFC 5155 §10.3, for the largest keys

bool supported_algorithm(unsigned alg) { return alg == 8 || alg == 10 || alg == 13 || alg == 14 || alg == 15; }

bool well_formed(const std::vector<std::uint8_t>& name) {
    return !name.empty() && wn::length(name.data(), name.size()) == name.size();
}

// A record of class IN at `owner` (any case).
bool owned_by(const WireRecord& r, const std::uint8_t* owner) {
    return r.rclass == rrclass::IN && well_formed(r.owner) && wn::equal_ci(r.owner.data(), owner);
}

// A key that may sign zone data: protocol 3, ZONE flag, not revoked.
bool is_zone_key(Bytes key) {
    if (key.size() < 5 || key[2] != 3) return false;
    const std::uint16_t flags = load16(key.data());
    return (flags & kZoneKey) && !(flags & kRevoke);
}

// RFC 4034 §3.2: YYYYMMDDHHmmSS, UTC.
std::string time_text(std::uint32_t t) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
    return buf;
}

std::string keys_of(const Name& zone) { return zone.to_string() + "'s keys"; }

std::string tags_text(const std::vector<Bytes>& keys) {
    std::string out;
    for (Bytes k : keys) out += (out.empty() ? "" : ", ") + std::to_string(key_tag(k));
    return out.empty() ? "none" : out;
}

// The RRset of `type` at `owner` among `records`.
RrsetView rrset_at(const std::vector<WireRecord>& records, const Name& owner, std::uint16_t type) {
    RrsetView set{owner.data(), owner.size(), type, {}};
    for (const auto& r : records) {
        if (r.type == type && owned_by(r, owner.data())) set.rdatas.emplace_back(r.rdata);
    }
    return set;
}

// RFC 4035 §5.3: some RRSIG in `section` over `set`, by `signer` with one of
// `keys` (described by `whose` in errors), verifies and is valid at `now`.
// Otherwise the most telling reason (a good but expired signature says more
// than an unknown key tag).
Status check_signed(const RrsetView& set, const std::vector<WireRecord>& section, const Name& signer,
                    const std::vector<Bytes>& keys, const std::string& whose, std::int64_t now) {
    const std::string what = wn::to_string(set.owner) + " " + type_to_string(set.type);
    int rank = 0;
    std::string why = "no RRSIG over " + what;
    auto note = [&](int r, std::string w) {
        if (r > rank) {
            rank = r;
            why = std::move(w);
        }
    };
    const unsigned owner_labels = wn::label_count(set.owner);
    const bool wildcard_owner = set.owner[0] == 1 && set.owner[1] == '*';
    for (const auto& r : section) {
        if (r.type != type::RRSIG || !owned_by(r, set.owner)) continue;
        Bytes sig = r.rdata;
        if (sig.size() < 19 || load16(sig.data()) != set.type) continue;
        const std::size_t signer_len = wn::length(sig.data() + 18, sig.size() - 18);
        if (signer_len == 0) {
            note(1, "malformed RRSIG over " + what);
            continue;
        }
        if (!wn::equal_ci(sig.data() + 18, signer.data())) {
            note(1, "RRSIG over " + what + " has signer " + wn::to_string(sig.data() + 18) + ", not " +
                        signer.to_string());
            continue;
        }
        // A label count below the owner's is a wildcard expansion (RFC 4035
        // §5.3.2), which proves nothing about this name; only a literal "*"
        // owner is signed with one label less (RFC 4034 §3.1.3).
        const unsigned labels = sig[3];
        if (labels != owner_labels && !(wildcard_owner && labels + 1 == owner_labels)) {
            note(2, "RRSIG over " + what + " has label count " + std::to_string(labels) + " for an owner of " +
                        std::to_string(owner_labels) + " labels (a wildcard expansion)");
            continue;
        }
        const std::uint16_t tag = load16(sig.data() + 16);
        const std::string by = "RRSIG over " + what + " by key " + std::to_string(tag);
        bool have_key = false;
        for (Bytes key : keys) have_key |= key[3] == sig[2] && key_tag(key) == tag;
        if (!have_key) {
            note(3, by + " (algorithm " + std::to_string(sig[2]) + "), which is not one of " + whose + " (" +
                        tags_text(keys) + ")");
            continue;
        }
        // RFC 4035 §5.3.1; 32-bit unix times (good until 2106).
        const std::uint32_t expiration = load32(sig.data() + 8), inception = load32(sig.data() + 12);
        if (now > static_cast<std::int64_t>(expiration)) {
            note(4, by + " expired at " + time_text(expiration));
            continue;
        }
        if (now < static_cast<std::int64_t>(inception)) {
            note(4, by + " is not valid until " + time_text(inception));
            continue;
        }
        for (Bytes key : keys) {
            if (key[3] != sig[2] || key_tag(key) != tag) continue;
            Status s = verify_rrsig(set, sig, key, signer);
            if (s) return {};
            note(5, by + ": " + s.error().message);
        }
    }
    return make_error(why);
}

// DS RDATA for `key` at `owner` (RFC 4034 §5.1.4): digest types 2 and 4 as
// the signer makes them, and 1 (SHA-1), which anchors may still carry.
std::vector<std::uint8_t> ds_of(const Name& owner, Bytes key, std::uint8_t digest_type) {
    if (digest_type != 1) return ds_rdata(owner, key, digest_type);
    const Name lower = owner.lowered();
    std::vector<std::uint8_t> data(lower.data(), lower.data() + lower.size());
    data.insert(data.end(), key.begin(), key.end());
    std::vector<std::uint8_t> rd(4 + 20);
    unsigned len = 0;
    if (key.size() < 4 || EVP_Digest(data.data(), data.size(), rd.data() + 4, &len, EVP_sha1(), nullptr) != 1) {
        return {};
    }
    store16(rd.data(), key_tag(key));
    rd[2] = key[3];
    rd[3] = 1;
    return rd;
}

// RFC 4034 §5.2: the anchor names `key` by an equal DNSKEY or a DS over it.
bool anchored(const TrustAnchor& anchor, Bytes key) {
    for (const auto& k : anchor.dnskey) {
        if (std::equal(k.begin(), k.end(), key.begin(), key.end())) return true;
    }
    const std::uint16_t tag = key_tag(key);
    for (const auto& ds : anchor.ds) {
        if (ds.size() < 5 || load16(ds.data()) != tag || ds[2] != key[3]) continue;
        if (ds_of(anchor.zone, key, ds[3]) == ds) return true;
    }
    return false;
}

// RFC 4034 §4.1.2: whether `t` is in a type bitmap; nullopt if malformed.
std::optional<bool> bitmap_has(Bytes bitmap, std::uint16_t t) {
    bool found = false;
    int last_window = -1;
    for (std::size_t pos = 0; pos < bitmap.size();) {
        if (pos + 2 > bitmap.size()) return std::nullopt;
        const unsigned window = bitmap[pos], len = bitmap[pos + 1];
        if (len == 0 || len > 32 || pos + 2 + len > bitmap.size() || static_cast<int>(window) <= last_window) {
            return std::nullopt;
        }
        const unsigned low = t & 0xff;
        if (window == (t >> 8u) && low / 8 < len && (bitmap[pos + 2 + low / 8] & (0x80u >> (low % 8)))) {
            found = true;
        }
        last_window = static_cast<int>(window);
        pos += 2 + len;
    }
    return found;
}

int compare(const Name& a, const std::uint8_t* b, std::size_t blen) {
    return wn::canonical_compare(a.data(), a.size(), b, blen);
}

// owner < name < next in canonical order (RFC 4034 §6.1); the last NSEC's
// next name is the apex, which sorts before every name, so it wraps.
bool covers(const Name& owner, const std::uint8_t* next, std::size_t next_len, const Name& name) {
    const bool after_owner = compare(owner, name.data(), name.size()) < 0;
    const bool before_next = compare(name, next, next_len) < 0;
    return compare(owner, next, next_len) < 0 ? after_owner && before_next : after_owner || before_next;
}

// The outcome of one kind of denial proof: proven, not applicable (no such
// records), or refused with a reason.
enum class Proof { Proven, NotFound };

// RFC 4035 §5.4 with NSEC: NODATA at child, or an NSEC covering child.
Result<Proof> nsec_denial(const Name& child, const Name& parent, const std::vector<Bytes>& keys,
                          const std::vector<WireRecord>& authority, std::int64_t now, bool& seen) {
    const std::string c = child.to_string();
    auto check = [&](const Name& owner) {
        return check_signed(rrset_at(authority, owner, type::NSEC), authority, parent, keys, keys_of(parent), now);
    };
    std::string failure;
    for (const auto& r : authority) {
        if (r.type != type::NSEC || r.rclass != rrclass::IN || !well_formed(r.owner)) continue;
        auto owner = Name::from_wire(r.owner);
        if (!owner || !owner->is_subdomain_of(parent)) continue;
        seen = true;
        const std::string at = "NSEC at " + owner->to_string();
        const std::size_t next_len = wn::length(r.rdata.data(), r.rdata.size());
        if (next_len == 0) return make_error("malformed " + at);
        const std::uint8_t* next = r.rdata.data();
        const Bytes bitmap = Bytes(r.rdata).subspan(next_len);
        const bool at_child = owner->equals(child);
        const auto has_ds = bitmap_has(bitmap, type::DS);
        if (!has_ds && (at_child || covers(*owner, next, next_len, child))) {
            return make_error(at + " has a malformed type bitmap");
        }

        if (at_child) {  // NODATA
            if (auto s = check(*owner); !s) {
                failure = at + " is not signed by " + parent.to_string() + "'s keys: " + s.error().message;
                continue;
            }
            if (*has_ds) return make_error(at + " lists DS: " + c + " has a DS RRset, left out of the answer");
            return Proof::Proven;
        }

        if (!covers(*owner, next, next_len, child)) continue;
        // An NSEC at a delegation (or DNAME) above child does not speak for
        // names below it: they belong to another zone (RFC 6840 §4.1).
        if (child.is_subdomain_of(*owner) && !owner->equals(parent)) {
            const auto ns = bitmap_has(bitmap, type::NS), soa = bitmap_has(bitmap, type::SOA),
                       dname = bitmap_has(bitmap, type::DNAME);
            if ((*ns && !*soa) || *dname) {
                return make_error(at + " is a delegation above " + c + "; it proves nothing about names below it");
            }
        }
        if (auto s = check(*owner); !s) {
            failure = at + " (covering " + c + ") is not signed by " + parent.to_string() + "'s keys: " +
                      s.error().message;
            continue;
        }
        return Proof::Proven;
    }
    if (!failure.empty()) return make_error(failure);
    return Proof::NotFound;
}

struct Nsec3 {
    Name owner;
    Hash hash;     // of the owner, from its first label
    Bytes next;    // next hashed owner, 20 octets
    Bytes bitmap;
    bool opt_out;
};

// RFC 5155 §8: NODATA (an NSEC3 matching child), or a closest-encloser proof
// whose next closer name is covered (NXDOMAIN, or opt-out: §8.6).
Result<Proof> nsec3_denial(const Name& child, const Name& parent, const std::vector<Bytes>& keys,
                           const std::vector<WireRecord>& authority, std::int64_t now) {
    const std::string c = child.to_string(), p = parent.to_string();
    std::vector<Nsec3> chain;
    Bytes salt;
    std::uint16_t iterations = 0;
    const unsigned hashed_labels = parent.label_count() + 1;
    for (const auto& r : authority) {
        if (r.type != type::NSEC3 || r.rclass != rrclass::IN || !well_formed(r.owner)) continue;
        auto owner = Name::from_wire(r.owner);
        // Only hashed owners directly under the parent belong to its chain.
        if (!owner || owner->label_count() != hashed_labels || !owner->is_subdomain_of(parent)) continue;
        const auto hash = nsec3_label_hash(owner->data());
        if (!hash) continue;
        const std::string at = "NSEC3 at " + owner->to_string();
        // RFC 5155 §3.2: algorithm, flags, iterations, salt, hash, bitmap.
        Bytes rd = r.rdata;
        if (rd.size() < 6 || rd.size() < 6u + rd[4] || rd.size() < 6u + rd[4] + rd[5 + rd[4]]) {
            return make_error("malformed " + at);
        }
        if (rd[1] > kOptOut) continue;  // RFC 5155 §8.2: unknown flags
        if (rd[0] != 1) {
            return make_error(at + " uses hash algorithm " + std::to_string(rd[0]) +
                              "; only 1 (SHA-1) is supported (RFC 5155 §8.1)");
        }
        const Bytes this_salt = rd.subspan(5, rd[4]);
        const std::uint16_t this_iterations = load16(rd.data() + 2);
        if (chain.empty()) {
            salt = this_salt;
            iterations = this_iterations;
        } else if (this_iterations != iterations ||
                   !std::equal(salt.begin(), salt.end(), this_salt.begin(), this_salt.end())) {
            return make_error("the NSEC3 records use different parameters (salt, iterations)");
        }
        const std::size_t hash_len = rd[5 + rd[4]];
        if (hash_len != 20) {
            return make_error(at + " has a next hashed owner of " + std::to_string(hash_len) + " octets");
        }
        const Bytes bitmap = rd.subspan(6 + rd[4] + hash_len);
        if (!bitmap_has(bitmap, type::DS)) return make_error(at + " has a malformed type bitmap");
        chain.push_back({*owner, *hash, rd.subspan(6 + rd[4], hash_len), bitmap, (rd[1] & kOptOut) != 0});
    }
    if (chain.empty()) return Proof::NotFound;
    if (iterations > kMaxIterations) {
        return make_error("the NSEC3 records use " + std::to_string(iterations) +
                          " iterations, above the limit of " + std::to_string(kMaxIterations) + " (RFC 5155 §10.3)");
    }

    auto hash_of = [&](const std::uint8_t* name, std::size_t len) {
        std::uint8_t lc[kMaxNameLen];
        wn::lower_copy(name, len, lc);
        return nsec3_hash(lc, len, salt, iterations);
    };
    auto matching = [&](const Hash& h) -> const Nsec3* {
        for (const auto& n : chain) {
            if (n.hash == h) return &n;
        }
        return nullptr;
    };
    // Owner hash < h < next hash; the last NSEC3 wraps to the first (RFC 5155 §3.1.7).
    auto covering = [&](const Hash& h) -> const Nsec3* {
        for (const auto& n : chain) {
            const bool after_owner = std::memcmp(n.hash.data(), h.data(), 20) < 0;
            const bool before_next = std::memcmp(h.data(), n.next.data(), 20) < 0;
            const bool wraps = std::memcmp(n.hash.data(), n.next.data(), 20) >= 0;
            if (wraps ? after_owner || before_next : after_owner && before_next) return &n;
        }
        return nullptr;
    };
    auto check = [&](const Nsec3& n) {
        return check_signed(rrset_at(authority, n.owner, type::NSEC3), authority, parent, keys, keys_of(parent),
                            now);
    };

    // NODATA (RFC 5155 §8.5, §8.6).
    if (const Nsec3* m = matching(hash_of(child.data(), child.size()))) {
        const std::string at = "NSEC3 at " + m->owner.to_string() + " (matching " + c + ")";
        if (auto s = check(*m); !s) {
            return make_error(at + " is not signed by " + p + "'s keys: " + s.error().message);
        }
        if (*bitmap_has(m->bitmap, type::DS)) {
            return make_error(at + " lists DS: " + c + " has a DS RRset, left out of the answer");
        }
        return Proof::Proven;
    }

    // Closest encloser: the deepest ancestor of child, at or below parent,
    // that an NSEC3 matches (RFC 5155 §8.3, §7.2.1).
    std::uint8_t offsets[kMaxLabels + 1];
    const unsigned depth = wn::label_offsets(child.data(), offsets) - parent.label_count();
    for (unsigned k = 1; k <= depth; ++k) {
        const std::uint8_t* ce = child.data() + offsets[k];
        const Nsec3* m = matching(hash_of(ce, child.size() - offsets[k]));
        if (!m) continue;
        const std::string ce_text = wn::to_string(ce);
        // At a delegation or DNAME the names below belong elsewhere.
        if (k < depth && ((*bitmap_has(m->bitmap, type::NS) && !*bitmap_has(m->bitmap, type::SOA)) ||
                          *bitmap_has(m->bitmap, type::DNAME))) {
            return make_error("the closest encloser " + ce_text + " of " + c + " is a delegation; " + p +
                              " does not hold " + c + "'s DS");
        }
        const std::uint8_t* next_closer = child.data() + offsets[k - 1];
        const Nsec3* cover = covering(hash_of(next_closer, child.size() - offsets[k - 1]));
        if (!cover) {
            return make_error("no NSEC3 covers the next closer name " + wn::to_string(next_closer) +
                              " (closest encloser " + ce_text + ", RFC 5155 §8.3)");
        }
        for (const Nsec3* n : {m, cover}) {
            if (auto s = check(*n); !s) {
                return make_error("NSEC3 at " + n->owner.to_string() + " is not signed by " + p +
                                  "'s keys: " + s.error().message);
            }
        }
        return Proof::Proven;  // NXDOMAIN, or with opt-out an insecure delegation: no DS either way
    }
    return make_error("no NSEC3 matches " + c + " or an ancestor of it (no closest encloser, RFC 5155 §8.3)");
}

}  // namespace

Status add_trust_anchor(TrustAnchor& anchor, std::string_view line) {
    const std::string text(line);
    auto fail = [&](const std::string& why) { return make_error("trust anchor \"" + text + "\": " + why); };
    if (text.find_first_not_of(" \t\r") == std::string::npos) return fail("empty");
    if (text.find('\n') != std::string::npos || text.find('$') != std::string::npos) {
        return fail("must be one DS or DNSKEY record on one line");
    }
    auto parsed = parse_records(text, Name());
    if (!parsed) {
        std::string why = parsed.error().message;
        const std::string prefix = "'" + text + "': ";  // parse_records names the line; so do we
        if (why.rfind(prefix, 0) == 0) why.erase(0, prefix.size());
        return fail("not a DS or DNSKEY record: " + why);
    }
    if (parsed->size() != 1) return fail("must be exactly one DS or DNSKEY record");
    const RecordRef& r = (*parsed)[0];
    auto owner = Name::from_wire({parsed->owner(r), r.owner_len});
    if (!owner) return fail(owner.error().message);
    if (r.rclass != rrclass::IN) return fail("class is not IN");
    const Bytes rd = parsed->rdata(r);
    if (r.type == type::DS) {
        // RFC 4034 §5.1; digest types 1 (RFC 4034), 2 (RFC 4509), 4 (RFC 6605).
        if (rd.size() < 5) return fail("DS is too short");
        if (!supported_algorithm(rd[2])) {
            return fail("algorithm " + std::to_string(rd[2]) + " is not supported (8, 10, 13, 14 or 15)");
        }
        const std::size_t want = rd[3] == 1 ? 20 : rd[3] == 2 ? 32 : rd[3] == 4 ? 48 : 0;
        if (want == 0) {
            return fail("digest type " + std::to_string(rd[3]) +
                        " is not supported (1 SHA-1, 2 SHA-256 or 4 SHA-384)");
        }
        if (rd.size() - 4 != want) {
            return fail("the digest has " + std::to_string(rd.size() - 4) + " octets; digest type " +
                        std::to_string(rd[3]) + " has " + std::to_string(want) + " (" + std::to_string(2 * want) +
                        " hex digits)");
        }
    } else if (r.type == type::DNSKEY) {
        if (rd.size() < 5) return fail("DNSKEY is too short");
        const unsigned flags = load16(rd.data());
        if (rd[2] != 3) return fail("protocol is " + std::to_string(rd[2]) + "; RFC 4034 §2.1.2 requires 3");
        if (flags & kRevoke) return fail("the key is revoked (flags " + std::to_string(flags) + ", RFC 5011)");
        if (!(flags & kZoneKey)) {
            return fail("flags " + std::to_string(flags) + " lack the zone key bit (RFC 4034 §2.1.1: 256 or 257)");
        }
        if (!supported_algorithm(rd[3])) {
            return fail("algorithm " + std::to_string(rd[3]) + " is not supported (8, 10, 13, 14 or 15)");
        }
        if (auto s = check_public_key(rd[3], rd.subspan(4)); !s) return fail(s.error().message);
    } else {
        return fail("type " + type_to_string(r.type) + " is not DS or DNSKEY");
    }
    if (anchor.ds.empty() && anchor.dnskey.empty() && anchor.zone.label_count() == 0) {
        anchor.zone = *owner;
    } else if (!owner->equals(anchor.zone)) {
        return fail("it is for " + owner->to_string() + ", but the anchor is for " + anchor.zone.to_string());
    }
    (r.type == type::DS ? anchor.ds : anchor.dnskey).emplace_back(rd.begin(), rd.end());
    return {};
}

Result<std::vector<std::vector<std::uint8_t>>> validated_dnskeys(const TrustAnchor& anchor,
                                                                const ResponseRecords& response,
                                                                std::int64_t now) {
    const std::string zone = anchor.zone.to_string();
    if (anchor.ds.empty() && anchor.dnskey.empty()) return make_error("the trust anchor for " + zone + " is empty");
    if (response.rcode != rcode::NOERROR) {
        return make_error("no DNSKEY answer for " + zone + " (rcode " + std::to_string(response.rcode) + ")");
    }
    const RrsetView set = rrset_at(response.answer, anchor.zone, type::DNSKEY);
    if (set.rdatas.empty()) return make_error("no DNSKEY RRset for " + zone + " in the answer");

    std::vector<Bytes> trusted;
    std::string refused;
    for (Bytes key : set.rdatas) {
        if (key.size() < 5 || !anchored(anchor, key)) continue;
        const std::string tag = std::to_string(key_tag(key));
        const unsigned flags = load16(key.data());
        if (flags & kRevoke) {
            refused = "key " + tag + " matches the trust anchor but is revoked (flags " + std::to_string(flags) +
                      ", RFC 5011 §2.1)";
        } else if (!is_zone_key(key)) {
            refused = "key " + tag + " matches the trust anchor but is not a zone key (flags " +
                      std::to_string(flags) + ", protocol " + std::to_string(key[2]) + "; RFC 4034 §2.1)";
        } else {
            trusted.push_back(key);
        }
    }
    if (trusted.empty()) {
        if (!refused.empty()) return make_error(refused);
        std::string anchor_tags;
        auto tag = [&](std::uint16_t t) { anchor_tags += (anchor_tags.empty() ? "" : ", ") + std::to_string(t); };
        for (const auto& ds : anchor.ds) {
            if (ds.size() >= 2) tag(load16(ds.data()));
        }
        for (const auto& k : anchor.dnskey) tag(key_tag(k));
        return make_error("no DNSKEY of " + zone + " matches the trust anchor (keys in the answer: " +
                          tags_text(set.rdatas) + "; anchor names: " + anchor_tags + ")");
    }
    if (auto s = check_signed(set, response.answer, anchor.zone, trusted, "the keys the trust anchor names", now); !s) {
        return make_error("no valid signature over " + zone + " DNSKEY by a key the trust anchor names: " +
                          s.error().message);
    }
    std::vector<std::vector<std::uint8_t>> out;
    out.reserve(set.rdatas.size());
    for (Bytes key : set.rdatas) out.emplace_back(key.begin(), key.end());
    return out;
}

Result<DsProof> validated_ds(const Name& child, const Name& parent,
                             const std::vector<std::vector<std::uint8_t>>& keys,
                             const ResponseRecords& response, std::int64_t now) {
    const std::string c = child.to_string(), p = parent.to_string();
    if (!child.is_subdomain_of(parent) || child.equals(parent)) return make_error(c + " is not below " + p);
    std::vector<Bytes> zone_keys;
    for (const auto& k : keys) {
        if (is_zone_key(k)) zone_keys.emplace_back(k);
    }
    if (zone_keys.empty()) return make_error("no zone key of " + p + " to check the answer with");
    if (response.rcode != rcode::NOERROR && response.rcode != rcode::NXDOMAIN) {
        return make_error("the answer has rcode " + std::to_string(response.rcode));
    }

    // A DS RRset that is there must validate; its absence is never assumed.
    const RrsetView ds = rrset_at(response.answer, child, type::DS);
    if (!ds.rdatas.empty()) {
        if (response.rcode != rcode::NOERROR) return make_error("an NXDOMAIN answer carries a DS RRset");
        if (auto s = check_signed(ds, response.answer, parent, zone_keys, keys_of(parent), now); !s) {
            return make_error("DS RRset not signed by the parent's keys: " + s.error().message);
        }
        DsProof proof;
        proof.present = true;
        for (Bytes rd : ds.rdatas) proof.ds.emplace_back(rd.begin(), rd.end());
        return proof;
    }

    bool nsec_seen = false;
    auto nsec = nsec_denial(child, parent, zone_keys, response.authority, now, nsec_seen);
    if (!nsec) return nsec.error();
    if (*nsec == Proof::NotFound) {
        auto nsec3 = nsec3_denial(child, parent, zone_keys, response.authority, now);
        if (!nsec3) return nsec3.error();
        if (*nsec3 == Proof::NotFound) {
            std::string detail;
            if (nsec_seen) {
                detail = ": the NSEC records in the answer neither match nor cover it";
            } else if (response.answer.empty() && response.authority.empty()) {
                detail = ": the answer is empty";
            } else {
                detail = ": the answer has neither DS nor NSEC/NSEC3 records for it";
            }
            return make_error("no NSEC/NSEC3 proof that " + c + " has no DS" + detail);
        }
    }
    return DsProof{};
}

}  // namespace satellite::dns
