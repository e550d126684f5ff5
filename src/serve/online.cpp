// Online signing for compact denial (RFC 9824) with a per-worker cache: a
// signature costs tens of microseconds, a cache hit a hash probe and a
// memcmp. Entries are keyed by (snapshot, owner, kind, type); the snapshot
// is held by weak_ptr and compared by control block, so an entry can never
// match a later snapshot (or key) even if one is allocated at the same
// address. Nothing here allocates after warm-up except OpenSSL's sign call
// (and the first Signer for a new key).
#include "serve/online.hpp"

#include <algorithm>
#include <cstring>

#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace satellite::serve {

namespace {

// Room for one cached NSEC RDATA plus its RRSIG RDATA. Fits every ECDSA and
// Ed25519 answer and RSA-2048 ones for names of common length; larger ones
// are signed each time instead of cached.
constexpr std::size_t kEntryData = 640;
constexpr std::size_t kMaxTypes = 256;
// Worst case of an NSEC type bitmap: 256 windows of 2 + 32 octets.
constexpr std::size_t kMaxBitmap = 256 * 34;

// RFC 4034 §4.1.2: the Type Bit Maps field for a sorted, duplicate-free
// list of types. Returns its length.
std::size_t put_bitmap(const std::uint16_t* types, std::size_t n, std::uint8_t* out) {
    std::size_t len = 0;
    std::size_t i = 0;
    while (i < n) {
        const std::uint8_t window = static_cast<std::uint8_t>(types[i] >> 8);
        std::uint8_t bits[32] = {};
        unsigned used = 0;
        for (; i < n && (types[i] >> 8) == window; ++i) {
            const unsigned low = types[i] & 0xff;
            bits[low / 8] |= static_cast<std::uint8_t>(0x80 >> (low % 8));
            used = low / 8 + 1;
        }
        out[len++] = window;
        out[len++] = static_cast<std::uint8_t>(used);
        std::memcpy(out + len, bits, used);
        len += used;
    }
    return len;
}

// The Next Domain Name of an online NSEC at `lc` (lower-cased, `len`
// octets), written to `out`; returns its length or 0.
//   RFC 9824 §3.1/§3.3, RFC 4470 §4: the immediate successor, "\000.<owner>".
//   RFC 9824 §3.4: at a delegation the next name must not be below the cut
//   (validators such as unbound reject it), so "<first label>\000.<rest>",
//   the first name after every descendant.
// Where the name is too long for either, the first label is incremented
// instead: a longer name could not exist anyway.
std::size_t next_name(const std::uint8_t* lc, std::size_t len, bool below_allowed,
                      std::uint8_t* out) {
    if (len < 2) return 0;  // the root is never such an owner
    const std::size_t label = lc[0];
    if (below_allowed && len + 2 <= dns::kMaxNameLen) {
        out[0] = 1;
        out[1] = 0;
        std::memcpy(out + 2, lc, len);
        return len + 2;
    }
    if (label < 63 && len + 1 <= dns::kMaxNameLen) {
        out[0] = static_cast<std::uint8_t>(label + 1);
        std::memcpy(out + 1, lc + 1, label);
        out[1 + label] = 0;
        std::memcpy(out + 2 + label, lc + 1 + label, len - 1 - label);
        return len + 1;
    }
    // Increment the last octet below 0xff and cut the label there.
    for (std::size_t i = label; i >= 1; --i) {
        std::uint8_t c = lc[i];
        if (c == 0xff) continue;
        c = static_cast<std::uint8_t>(c + 1);
        if (c >= 'A' && c <= 'Z') c = 'Z' + 1;  // canonical order compares lower case
        out[0] = static_cast<std::uint8_t>(i);
        std::memcpy(out + 1, lc + 1, i - 1);
        out[i] = c;
        std::memcpy(out + 1 + i, lc + 1 + label, len - 1 - label);
        return len - (label - i);
    }
    return 0;
}

}  // namespace

struct OnlineSigner::Entry {
    std::weak_ptr<const zone::Snapshot> zone;  // identity only: compared by owner
    std::uint32_t valid_from = 0;
    std::uint32_t reuse_until = 0;  // 0: empty
    std::uint16_t type = 0;
    std::uint16_t nsec_len = 0;
    std::uint16_t sig_len = 0;
    OnlineKind kind{};
    std::uint8_t name_len = 0;
    std::uint8_t name[dns::kMaxNameLen];
    std::uint8_t data[kEntryData];  // NSEC RDATA, then RRSIG RDATA
};

OnlineSigner::OnlineSigner(std::size_t entries) {
    std::size_t n = 2;
    while (n < entries) n <<= 1;
    entries_ = std::make_unique<Entry[]>(n);
    mask_ = n - 1;
    view_.rdatas.reserve(64);
    scratch_.reserve(16 * 1024);
    sig_.reserve(1024);
    nsec_.reserve(dns::kMaxNameLen + kMaxBitmap);
}

OnlineSigner::~OnlineSigner() = default;

OnlineSigner::Entry* OnlineSigner::lookup(const std::shared_ptr<const zone::Snapshot>& zone,
                                          const std::uint8_t* lc, std::size_t len,
                                          OnlineKind kind, std::uint16_t type, std::uint32_t now,
                                          Entry** victim) {
    std::uint64_t h = zone::name_hash(lc, len);
    h ^= (std::uint64_t(static_cast<std::uint8_t>(kind)) << 16 | type) * 0x9e3779b97f4a7c15ull;
    h ^= reinterpret_cast<std::uintptr_t>(zone.get()) >> 4;
    h ^= h >> 31;
    Entry* pair = &entries_[(h & mask_) & ~std::size_t(1)];
    *victim = nullptr;
    for (int i = 0; i < 2; ++i) {
        Entry& e = pair[i];
        const bool same_zone = !e.zone.owner_before(zone) && !zone.owner_before(e.zone);
        if (e.reuse_until != 0 && same_zone && e.kind == kind && e.type == type &&
            e.name_len == len && std::memcmp(e.name, lc, len) == 0) {
            if (e.valid_from <= now && now < e.reuse_until) return &e;
            *victim = &e;  // the same record, due for a fresh signature
            return nullptr;
        }
    }
    // Replace an empty or stale entry, else the one that expires first.
    auto stale = [&](const Entry& e) { return e.reuse_until <= now || e.zone.expired(); };
    if (stale(pair[0])) *victim = &pair[0];
    else if (stale(pair[1])) *victim = &pair[1];
    else *victim = pair[0].reuse_until <= pair[1].reuse_until ? &pair[0] : &pair[1];
    return nullptr;
}

dns::Signer* OnlineSigner::signer_for(const std::shared_ptr<const dns::SigningKey>& key) {
    for (auto& s : signers_) {
        if (s && &s->key() == key.get()) return s.get();
    }
    // A key this worker has not signed with yet (a new zone or a ZSK roll).
    auto& slot = signers_[next_signer_++ % kSigners];
    slot = std::make_unique<dns::Signer>(key);
    return slot.get();
}

bool OnlineSigner::sign(const zone::Snapshot& zone, const dns::RrsetView& view,
                        std::uint32_t ttl, std::uint32_t now) {
    if (budget_ != 0 && budget_applies_) {
        if (now != budget_second_) {
            budget_second_ = now;
            budget_used_ = 0;
        }
        if (budget_used_ >= budget_) {
            declined_ = true;
            ++declines_;
            return false;
        }
        ++budget_used_;
    }
    const zone::OnlineSigning& on = *zone.online();
    const dns::RrsigTimes times{now > on.inception_offset ? now - on.inception_offset : 0,
                                now + on.validity};
    sig_.clear();
    if (!dns::sign_rrset(*signer_for(on.zsk), on.key_tag, zone.origin(), view, ttl, times,
                         scratch_, sig_)) {
        return false;
    }
    ++signed_;
    return true;
}

bool OnlineSigner::finish(const std::shared_ptr<const zone::Snapshot>& zone,
                          const std::uint8_t* lc, std::size_t len, OnlineKind kind,
                          std::uint16_t type, std::uint32_t now, Entry* victim,
                          std::span<const std::uint8_t> nsec, OnlineRecord& out) {
    if (!victim || nsec.size() + sig_.size() > kEntryData) {
        out = {nsec, sig_};
        return true;
    }
    // Reused while at least half the validity is left.
    const zone::OnlineSigning& on = *zone->online();
    Entry& e = *victim;
    e.zone = zone;
    e.valid_from = now > on.inception_offset ? now - on.inception_offset : 0;
    e.reuse_until = now + on.validity / 2;
    if (e.reuse_until == 0) e.reuse_until = 1;
    e.kind = kind;
    e.type = type;
    e.name_len = static_cast<std::uint8_t>(len);
    std::memcpy(e.name, lc, len);
    e.nsec_len = static_cast<std::uint16_t>(nsec.size());
    e.sig_len = static_cast<std::uint16_t>(sig_.size());
    if (!nsec.empty()) std::memcpy(e.data, nsec.data(), nsec.size());
    std::memcpy(e.data + nsec.size(), sig_.data(), sig_.size());
    out = {{e.data, e.nsec_len}, {e.data + e.nsec_len, e.sig_len}};
    return true;
}

bool OnlineSigner::nsec(const std::shared_ptr<const zone::Snapshot>& zone,
                        const std::uint8_t* lc, std::size_t len, OnlineKind kind,
                        std::span<const std::uint16_t> types, std::uint32_t now,
                        OnlineRecord& out) {
    const zone::OnlineSigning* on = zone ? zone->online() : nullptr;
    if (!on || !on->zsk || kind == OnlineKind::RrsetSig) return false;
    Entry* victim = nullptr;
    if (Entry* e = lookup(zone, lc, len, kind, 0, now, &victim)) {
        ++hits_;
        out = {{e->data, e->nsec_len}, {e->data + e->nsec_len, e->sig_len}};
        return true;
    }
    // The type list: RFC 9824 §3.1 "RRSIG NSEC NXNAME" for a name that does
    // not exist; otherwise the name's types plus NSEC and RRSIG.
    std::uint16_t list[kMaxTypes + 3];
    std::size_t n = 0;
    if (kind != OnlineKind::NxName) {
        if (types.size() > kMaxTypes) return false;
        for (std::uint16_t t : types) list[n++] = t;
    }
    list[n++] = dns::type::RRSIG;
    list[n++] = dns::type::NSEC;
    if (kind == OnlineKind::NxName) list[n++] = dns::type::NXNAME;
    std::sort(list, list + n);
    n = static_cast<std::size_t>(std::unique(list, list + n) - list);

    nsec_.resize(dns::kMaxNameLen + kMaxBitmap);  // within the reserved capacity
    std::size_t next = next_name(lc, len, kind != OnlineKind::Delegation, nsec_.data());
    if (next == 0) return false;
    nsec_.resize(next + put_bitmap(list, n, nsec_.data() + next));

    view_.owner = lc;
    view_.owner_len = len;
    view_.type = dns::type::NSEC;
    view_.rdatas.clear();
    view_.rdatas.push_back(nsec_);
    if (!sign(*zone, view_, on->nsec_ttl, now)) return false;
    return finish(zone, lc, len, kind, 0, now, victim, nsec_, out);
}

bool OnlineSigner::rrset_signature(const std::shared_ptr<const zone::Snapshot>& zone,
                                   const std::uint8_t* lc, std::size_t len,
                                   const zone::Rrset& rrset, std::uint32_t now,
                                   OnlineRecord& out) {
    const zone::OnlineSigning* on = zone ? zone->online() : nullptr;
    if (!on || !on->zsk) return false;
    Entry* victim = nullptr;
    if (Entry* e = lookup(zone, lc, len, OnlineKind::RrsetSig, rrset.type, now, &victim)) {
        ++hits_;
        out = {{}, {e->data, e->sig_len}};
        return true;
    }
    view_.owner = lc;
    view_.owner_len = len;
    view_.type = rrset.type;
    view_.rdatas.clear();
    const std::uint8_t* p = rrset.rdata();
    for (std::uint16_t i = 0; i < rrset.rr_count; ++i) {
        const std::uint16_t rdlen = dns::load16(p);
        view_.rdatas.emplace_back(p + 2, rdlen);
        p += 2 + rdlen;
    }
    if (!sign(*zone, view_, rrset.ttl, now)) return false;
    return finish(zone, lc, len, OnlineKind::RrsetSig, rrset.type, now, victim, {}, out);
}

}  // namespace satellite::serve
