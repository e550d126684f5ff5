// Catalog construction and longest-match lookup.
#include "zone/catalog.hpp"

#include <cstring>

namespace satellite::zone {

namespace wn = dns::wire_name;

Catalog::Catalog(std::vector<ServedZone> zones, std::shared_ptr<ZoneStats> stats)
    : zones_(std::move(zones)), stats_(std::move(stats)) {
    for (auto& z : zones_) {
        z.stats_slot = stats_ ? stats_->acquire(z.origin) : 0;
        if (!z.slot) z.slot = std::make_shared<ZoneSlot>(std::move(z.snapshot));
        z.snapshot.reset();
    }
    std::size_t cap = 16;
    while (cap < zones_.size() * 2 + 2) cap *= 2;
    table_.assign(cap, 0);
    mask_ = cap - 1;
    std::size_t bytes = 0;
    for (const auto& z : zones_) bytes += z.origin.size();
    lc_.reserve(bytes);
    lc_at_.reserve(zones_.size() + 1);
    lc_at_.push_back(0);
    for (std::uint32_t i = 0; i < zones_.size(); ++i) {
        dns::Name l = zones_[i].origin.lowered();
        lc_.insert(lc_.end(), l.data(), l.data() + l.size());
        lc_at_.push_back(static_cast<std::uint32_t>(lc_.size()));
        depths_.set(l.label_count());
        std::uint64_t h = name_hash(l.data(), l.size()) & mask_;
        while (table_[h] != 0) h = (h + 1) & mask_;
        table_[h] = i + 1;
    }
}

Catalog::~Catalog() {
    // Published<> destroys a catalog only once no query worker can hold it,
    // so no worker still counts into the slots given back here.
    if (stats_) {
        for (const auto& z : zones_) stats_->release(z.stats_slot);
    }
}

const ServedZone* Catalog::find(const std::uint8_t* lc, std::size_t len) const {
    std::uint8_t offsets[dns::kMaxLabels + 1];
    unsigned labels = wn::label_offsets(lc, offsets);
    // From the longest suffix (the name itself) to the root.
    for (unsigned i = 0; i <= labels; ++i) {
        unsigned depth = labels - i;
        if (!depths_.test(depth)) continue;
        const std::uint8_t* suffix = lc + offsets[i];
        std::size_t slen = len - offsets[i];
        std::uint64_t h = name_hash(suffix, slen) & mask_;
        for (;;) {
            std::uint32_t slot = table_[h];
            if (slot == 0) break;
            const std::span<const std::uint8_t> key = origin_lc(slot - 1);
            if (key.size() == slen && std::memcmp(key.data(), suffix, slen) == 0) {
                return &zones_[slot - 1];
            }
            h = (h + 1) & mask_;
        }
    }
    return nullptr;
}

const ServedZone* Catalog::exact(const dns::Name& origin) const {
    dns::Name l = origin.lowered();
    for (std::size_t i = 0; i < zones_.size(); ++i) {
        const std::span<const std::uint8_t> key = origin_lc(i);
        if (key.size() == l.size() && std::memcmp(key.data(), l.data(), l.size()) == 0) {
            return &zones_[i];
        }
    }
    return nullptr;
}

}  // namespace satellite::zone
