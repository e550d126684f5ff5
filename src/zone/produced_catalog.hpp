// The catalog zone Satellite produces (RFC 9432, schema version 2) from its
// own zone list, for downstream Knot and BIND to provision themselves:
//   <catalog>                    SOA, NS invalid.
//   version.<catalog>            TXT "2"
//   <id>.zones.<catalog>         PTR <member>
//   group.<id>.zones.<catalog>   TXT "<catalog_group>"   (when set)
// <id> is a hash of the lower-cased member name, so a member keeps its ID
// across restarts and list changes (RFC 9432 §4.1: the ID is opaque, stable).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "util/result.hpp"
#include "zone/snapshot.hpp"

namespace satellite::zone {

struct CatalogMember {
    dns::Name zone;
    std::string group;  // "" = no group property
};

// The member's unique ID label (16 hex digits).
std::string catalog_member_id(const dns::Name& zone);

Result<std::shared_ptr<const Snapshot>> build_produced_catalog(const dns::Name& catalog, std::uint32_t serial,
                                                               const std::vector<CatalogMember>& members);

}  // namespace satellite::zone
