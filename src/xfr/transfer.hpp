// Incoming zone transfer as a socket-free state machine (RFC 5936 AXFR,
// RFC 1995 IXFR): request() gives the query to send, consume() takes each
// response message in turn and says whether more are expected. Nothing here
// touches the network or the served zone.
//
//   AXFR:  SOA(S) rr ... rr SOA(S)
//   IXFR:  SOA(new) ─┬─ (only record)            → up to date
//                    ├─ SOA(have) del… SOA(x) add… [SOA(x) del… SOA(y) add…]… SOA(new)
//                    │                           → incremental deltas
//                    └─ any other record         → a full zone, AXFR-style
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "dns/name.hpp"
#include "dns/records.hpp"
#include "dns/serial.hpp"
#include "util/result.hpp"
#include "zone/progress.hpp"
#include "zone/update.hpp"
#include "dns/tsig.hpp"

namespace satellite::xfr {

using IxfrDelta = zone::ZoneDelta;

enum class TransferKind { Axfr, Ixfr };

struct TransferLimits {
    std::size_t max_records = 5'000'000;  // records in the zone (the closing SOA not counted)
    // Wire bytes of the records (owner, fixed fields, RDATA), so a primary
    // sending huge records is stopped long before memory runs out.
    std::uint64_t max_bytes = 2'147'483'648;
};

class TransferClient {
public:
    enum class Step { More, Done };
    enum class Outcome { UpToDate, Full, Incremental };

    // For IXFR, `have_serial` is the serial we serve. The key is copied: a
    // reload may replace the configured one while the transfer runs.
    TransferClient(const dns::Name& zone, TransferKind kind, std::uint32_t have_serial,
                   const dns::TsigKey* key, TransferLimits limits = {});

    std::vector<std::uint8_t> request(std::uint16_t id, std::int64_t now);
    Result<Step> consume(std::span<const std::uint8_t> msg, std::int64_t now);

    Outcome outcome() const { return outcome_; }
    // RFC 7314 §3: the EXPIRE value of the first message carrying one (the
    // request asks for it), if any.
    std::optional<std::uint32_t> expire() const { return expire_; }
    std::uint32_t new_serial() const { return new_serial_; }
    dns::RecordList& full() { return full_; }
    std::vector<IxfrDelta>& deltas() { return deltas_; }
    std::size_t messages() const { return messages_; }
    std::size_t records() const { return records_; }
    std::uint64_t bytes() const { return bytes_; }
    // Records and bytes so far, for whoever watches (the API, a log line):
    // begun here, updated per message, ended at the last message or when
    // the client goes (a failed transfer).
    void set_progress(std::shared_ptr<zone::Progress> progress);
    ~TransferClient();

private:
    enum class State { First, Second, Body, Deleting, Adding, Done };
    Result<Step> consume_message(std::span<const std::uint8_t> msg, std::int64_t now);
    Status take(const std::uint8_t* owner, std::size_t owner_len, std::uint16_t type,
                std::uint16_t rclass, std::uint32_t ttl, std::span<const std::uint8_t> rdata,
                bool last_in_stream_message);

    dns::Name zone_;
    dns::Name zone_lc_;
    TransferKind kind_;
    std::uint32_t have_serial_;
    std::optional<dns::TsigKey> key_;
    TransferLimits limits_;
    std::optional<dns::TsigVerifier> verifier_;
    std::uint16_t id_ = 0;
    State state_ = State::First;
    Outcome outcome_ = Outcome::Full;
    std::uint32_t new_serial_ = 0;
    std::optional<std::uint32_t> expire_;
    dns::RecordList full_;
    std::vector<IxfrDelta> deltas_;
    // The record after the first SOA in an IXFR may be held until we know
    // whether the reply is incremental or a full zone.
    dns::RecordList first_soa_;
    std::size_t messages_ = 0;
    std::size_t records_ = 0;
    std::uint64_t bytes_ = 0;
    std::vector<std::uint8_t> rdata_buf_;
    std::shared_ptr<zone::Progress> progress_;
    std::uint64_t progress_run_ = 0;
};

}  // namespace satellite::xfr
