// A catalog zone we consume (RFC 9432, schema version 2): its records read
// into a member list, and the last good list kept in state_dir so member
// zones are served again after a restart without waiting for the catalog.
//   version.<catalog>              TXT "2"           exactly one
//   <id>.zones.<catalog>           PTR <member>      one per ID, each member once
//   group.<id>.zones.<catalog>     TXT "<group>"     at most one (chooses the template)
//   coo.<id>.zones.<catalog>       PTR <catalog>     at most one (§5.6 change of ownership)
// Anything else under zones. (ext.*, properties we do not know) is ignored.
// A catalog breaking a rule is refused as a whole: the list before it stays.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "dns/records.hpp"
#include "util/result.hpp"

namespace satellite::zone {

struct CatalogEntry {
    dns::Name zone;                // the member zone
    std::string id;                // its unique ID label (lower-cased)
    std::string group;             // "" = no group property
    std::optional<dns::Name> coo;  // the catalog it is moving to, if any
};

struct MemberList {
    std::uint32_t serial = 0;           // of the catalog version it came from
    std::vector<CatalogEntry> members;  // in the order of their IDs
    const CatalogEntry* find(const dns::Name& zone) const;
};

Result<MemberList> read_catalog(const dns::Name& catalog, const dns::RecordList& records);

// A member removed from the catalog: its keys and state stay in state_dir
// until `purge_at` (unix time), so re-adding it soon finds them again.
struct RemovedMember {
    dns::Name zone;
    std::int64_t purge_at = 0;
};

struct ConsumerState {
    std::optional<MemberList> members;  // nullopt: no good list yet
    std::vector<RemovedMember> removed;
};

// state_dir/catalogs/<catalog>members: written to a temporary file, fsynced
// and renamed over the old one. load: an empty state when there is none.
Status save_consumer_state(const std::string& dir, const dns::Name& catalog, const ConsumerState& state);
Result<ConsumerState> load_consumer_state(const std::string& dir, const dns::Name& catalog);
std::string consumer_state_path(const std::string& dir, const dns::Name& catalog);

}  // namespace satellite::zone
