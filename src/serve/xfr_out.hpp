// Outgoing zone transfers: AXFR (RFC 5936) and IXFR (RFC 1995) of the
// version a zone serves now, socket-free. start_xfr_out() decides what a
// transfer request gets (the `provide_xfr` ACL, TSIG, the zone's state);
// an XfrProducer then writes the reply one message at a time, holding its
// own reference to the version, so a long transfer keeps its snapshot alive
// after a newer one is published and never blocks the worker.
//
//   request ─► parse ─► zone? ─► served? ─► ACL + TSIG ─► IXFR current? ─► one SOA
//                │         │         │            │                  ├──► history reaches back: incremental
//                │         │         │            │                  └──► else full (AXFR-style)
//             FORMERR   NOTAUTH   SERVFAIL   REFUSED / NOTAUTH+TSIG error
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dns/acl.hpp"
#include "dns/tsig.hpp"
#include "dns/wire.hpp"
#include "zone/catalog.hpp"

namespace satellite::serve {

// True for a QUERY whose question asks for AXFR or IXFR, or for a
// TSIG-signed SOA query (a secondary's refresh probe, whose answer must be
// signed with the key it came with: RFC 8945 §5.3).
bool is_transfer_request(std::span<const std::uint8_t> msg);

// Writes a transfer reply message by message.
class XfrProducer {
public:
    enum class Kind { Full, SoaOnly, Incremental };
    XfrProducer(std::shared_ptr<const zone::Snapshot> version, Kind kind,
                std::span<const std::uint8_t> request, std::size_t question_end,
                std::optional<dns::TsigStreamSigner> signer);
    // An incremental reply (RFC 1995 §4): `history`'s differences from
    // delta `first` on, between the version's SOA at both ends.
    XfrProducer(std::shared_ptr<const zone::Snapshot> version, std::shared_ptr<const zone::IxfrHistory> history,
                std::size_t first, std::span<const std::uint8_t> request, std::size_t question_end,
                std::optional<dns::TsigStreamSigner> signer);
    bool incremental() const { return kind_ == Kind::Incremental; }

    // Writes the next message into `out` (replacing its content; no TCP
    // length prefix). Returns false once the stream is complete.
    bool next(std::vector<std::uint8_t>& out, std::int64_t now);
    bool failed() const { return failed_; }  // a record did not fit a message
    bool single() const { return kind_ == Kind::SoaOnly; }  // one message, the SOA
    std::uint32_t serial() const { return version_->serial(); }
    std::size_t messages() const { return messages_; }
    std::size_t records() const { return records_; }

    // Soft size of one message: small enough to stream progressively, large
    // enough that TSIG and headers cost little.
    static constexpr std::size_t kTargetSize = 16384;

private:
    bool write_rr(dns::Writer& w, const zone::Node& n, const zone::Rrset& r, const std::uint8_t* rr);
    bool write_listed(dns::Writer& w, const dns::RecordList& list, const dns::RecordRef& r);
    // Incremental: the differences' records after the first SOA; false when full.
    bool write_deltas(dns::Writer& w, unsigned& answers);

    std::shared_ptr<const zone::Snapshot> version_;
    Kind kind_;
    std::vector<std::uint8_t> header_question_;  // request header + question
    std::optional<dns::TsigStreamSigner> signer_;
    // Position in the version: 0 first SOA, 1 records, 2 closing SOA, 3 done.
    int phase_ = 0;
    zone::Snapshot::Cursor cursor_{};
    std::uint32_t rrset_ = 0, rr_ = 0, rr_offset_ = 0;
    std::size_t messages_ = 0, records_ = 0;
    bool failed_ = false;
    // Incremental: the delta, its part (0 removed, 1 added), the record in
    // it, and whether the part's SOA (which goes first) is written.
    std::shared_ptr<const zone::IxfrHistory> history_;
    std::size_t delta_ = 0, rec_ = 0;
    int part_ = 0;
    bool part_soa_ = false;
};

struct XfrOutStart {
    // The transfer to run, or (when null) `reply`: one refusal message.
    std::unique_ptr<XfrProducer> producer;
    std::vector<std::uint8_t> reply;
    std::string zone;     // the zone asked for, for logs ("" if unread)
    std::string refusal;  // why it was refused ("" = allowed)
    bool ixfr = false;
};

// Decides what the request from `peer` (16-octet form, IPv4 v4-mapped) gets.
// `soa_only`: answer with the SOA alone whatever was asked (UDP).
XfrOutStart start_xfr_out(const zone::Catalog& catalog, std::span<const std::uint8_t> request,
                          const dns::Address16& peer, std::int64_t now, bool soa_only = false);

// Over UDP: a TSIG-signed SOA query or IXFR from a secondary gets our SOA
// alone, signed (RFC 1995 §2: the client goes on over TCP when it is
// behind), or the refusal start_xfr_out() decides. Returns the reply's
// length in `out`, or 0 when `query` is none of these (answer() takes it).
std::size_t answer_signed_probe(const zone::Catalog& catalog, std::span<const std::uint8_t> query,
                                const dns::Address16& peer, std::int64_t now, std::span<std::uint8_t> out);

// A one-message reply to `request` with `rcode` (question echoed when
// readable), e.g. REFUSED when too many transfers run.
std::vector<std::uint8_t> xfr_refusal(std::span<const std::uint8_t> request, std::uint16_t rcode);

}  // namespace satellite::serve
