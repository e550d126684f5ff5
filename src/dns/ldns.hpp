// The one way into ldns from C++. <ldns/ldns.h> defines true/false as macros
// unless <stdbool.h> came first (STYLE.md, known traps). Include only from
// .cpp files.
#pragma once

#include <stdbool.h>  // NOLINT: must precede ldns
#include <ldns/ldns.h>

#include <memory>

namespace satellite::dns {

struct LdnsRrDeleter {
    void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};
struct LdnsRdfDeleter {
    void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
struct LdnsZoneDeleter {
    void operator()(ldns_zone* z) const { ldns_zone_deep_free(z); }
};
struct LdnsBufferDeleter {
    void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
};
using LdnsRr = std::unique_ptr<ldns_rr, LdnsRrDeleter>;
using LdnsRdf = std::unique_ptr<ldns_rdf, LdnsRdfDeleter>;
using LdnsZone = std::unique_ptr<ldns_zone, LdnsZoneDeleter>;
using LdnsBuffer = std::unique_ptr<ldns_buffer, LdnsBufferDeleter>;

}  // namespace satellite::dns
