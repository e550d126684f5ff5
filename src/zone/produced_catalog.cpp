// Builds the produced catalog as zone text and parses it like any zone, so
// it is served and transferred with the same code as every other version.
#include "zone/produced_catalog.hpp"

#include <cstdio>

#include "dns/zonefile.hpp"

namespace satellite::zone {

std::string catalog_member_id(const dns::Name& zone) {
    dns::Name lc = zone.lowered();
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx",
                  static_cast<unsigned long long>(name_hash(lc.data(), lc.size())));
    return buf;
}

Result<std::shared_ptr<const Snapshot>> build_produced_catalog(const dns::Name& catalog, std::uint32_t serial,
                                                               const std::vector<CatalogMember>& members) {
    const std::string c = catalog.to_string();
    // RFC 9432 §4: TTLs are ignored by consumers; SOA timers as Knot writes them.
    std::string text = c + " 0 IN SOA invalid. invalid. " + std::to_string(serial) + " 3600 600 2147483646 0\n" +
                       c + " 0 IN NS invalid.\n" + "version." + c + " 0 IN TXT \"2\"\n";
    for (const auto& m : members) {
        std::string id = catalog_member_id(m.zone) + ".zones." + c;
        text += id + " 0 IN PTR " + m.zone.to_string() + "\n";
        if (!m.group.empty()) text += "group." + id + " 0 IN TXT \"" + m.group + "\"\n";
    }
    auto records = dns::parse_records(text, catalog);
    if (!records) return records.error();
    return build_snapshot(catalog, *records);
}

}  // namespace satellite::zone
