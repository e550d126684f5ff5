// Multi-signer consistency (RFC 8901 §8, model 2): every provider of the
// zone must serve a DNSKEY RRset holding our keys (each provider publishes
// the others' ZSKs, and here their KSKs too) and the same CDS and CDNSKEY
// RRsets (they name every provider's KSK: the parent's DS set). A provider
// that lost our ZSK makes its resolvers' cached DNSKEY RRset useless for our
// signatures; a stale CDS may make the parent drop a provider's DS. This
// compares what a provider serves with what we serve; the daemon asks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zone/snapshot.hpp"

namespace satellite::modes {

using Rdatas = std::vector<std::vector<std::uint8_t>>;

// The apex RRsets the providers must agree on.
struct ApexKeySets {
    Rdatas dnskey, cds, cdnskey;
};

// Our served version's apex DNSKEY, CDS and CDNSKEY RDATAs.
ApexKeySets apex_key_sets(const zone::Snapshot& z);

// What one provider serves, against ours: one sentence per disagreement
// ("lacks our ZSK 12345 in its DNSKEY RRset", "CDS differs: lacks ...,
// has ... we do not"); empty when consistent. `own` are our own keys'
// DNSKEY RDATAs (only those we publish are expected at the provider).
std::vector<std::string> provider_disagreements(const ApexKeySets& ours, const Rdatas& own,
                                                const ApexKeySets& theirs);

// One provider's state as the API and /metrics show it.
struct ProviderCheck {
    std::string server;           // "addr:port" from the zone's `peers`
    bool answered = false;        // all three questions answered
    std::string error;            // why not, when !answered
    std::vector<std::string> problems;  // provider_disagreements
    bool consistent() const { return answered && problems.empty(); }
};

}  // namespace satellite::modes
