// The catalog zone we produce (RFC 9432; zone/produced_catalog.hpp): rebuilt
// when the zone list or a member's group changes, with a serial that only
// moves forward, and served beside the zones it lists under the server's
// provide_xfr.
#include <spdlog/spdlog.h>

#include "daemon/zone.hpp"
#include "zone/produced_catalog.hpp"

namespace satellite::daemon {

void ZoneManager::add_produced_catalog(std::vector<zone::ServedZone>& served) {
    if (produced_catalog_.empty()) {
        produced_catalog_slot_.reset();
        produced_catalog_members_.clear();
        return;
    }
    auto origin = dns::Name::from_text(produced_catalog_);
    if (!origin) return;
    std::vector<zone::CatalogMember> members;
    std::string fingerprint = produced_catalog_ + "\n";
    for (const auto& [k, z] : zones_) {  // by lower-cased name: a stable order
        if (z->consumed_catalog) continue;   // a catalog we consume is no zone to provision
        members.push_back({z->origin, z->cfg.catalog_group});
        fingerprint += k + " " + z->cfg.catalog_group + "\n";
    }
    if (!produced_catalog_slot_ || fingerprint != produced_catalog_members_) {
        auto now = static_cast<std::uint32_t>(now_unix());
        // RFC 1982: the serial only grows (by the clock, or by one when it did not move).
        std::uint32_t serial = produced_catalog_serial_ == 0 || dns::serial_newer(now, produced_catalog_serial_)
                                   ? now
                                   : produced_catalog_serial_ + 1;
        auto snap = zone::build_produced_catalog(*origin, serial, members);
        if (!snap) {
            spdlog::error("catalog {}: cannot build: {}", produced_catalog_, snap.error().message);
            return;
        }
        if (!produced_catalog_slot_) {
            produced_catalog_slot_ = std::make_shared<zone::ZoneSlot>(*snap);
        } else {
            catalog_.retire(produced_catalog_slot_->swap(*snap));
        }
        produced_catalog_serial_ = serial;
        produced_catalog_members_ = std::move(fingerprint);
        spdlog::info("catalog {}: serial {}, {} member zones", produced_catalog_, serial, members.size());
    }
    zone::ServedZone s;
    s.origin = *origin;
    s.slot = produced_catalog_slot_;
    s.provide_xfr = xfr_allow(produced_catalog_acl_);
    served.push_back(std::move(s));
}

}  // namespace satellite::daemon
