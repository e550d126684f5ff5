// The refresh policy of a secondary zone (RFC 1034 §4.3.5, RFC 1995 §4,
// RFC 5936): what to do next, as a function of what the primaries said so
// far. No sockets, no clocks: the daemon performs each step and reports back.
//
//   start ──► (no data, or retransfer) ───────────────────────────► AXFR(p)
//     │
//     └────► SOA(p) ──┬── newer serial ─► IXFR(p) ──┬─ diff/whole zone, newer ─► install
//              ▲      │                     │       ├─ one SOA, same serial ───► current
//              │      │                     │       └─ older or equal zone ────► refused ─┐
//              │      │                     └─ fails ─► AXFR(p) ─┬─ newer ─────► install  │
//              │      │                                          └─ fails/older ─────────┤
//              │      ├── same serial ─────────────────────────────────────────► current  │
//              │      └── older serial, or no answer ─────────────────────────────────────┤
//              └───────────────────────── next primary p+1 ◄──────────────────────────────┘
//                                         none left ─► give up (retry after SOA retry)
//
// Never installs a serial older than or equal to the served one, except on
// retransfer (the operator's "take the primary's zone as it is"), which says
// that it went backwards.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "xfr/transfer.hpp"

namespace satellite::xfr {

struct RefreshStep {
    enum class Do {
        AskSoa,    // query `primary` for the zone's SOA
        Transfer,  // `kind` from `primary`
        Install,   // the transfer's data is to be served (`backwards`: older than served, retransfer)
        Current,   // `primary` confirmed the served serial: a successful check
        GiveUp,    // every primary failed: `error` says the last reason
    };
    Do what = Do::GiveUp;
    std::size_t primary = 0;
    TransferKind kind = TransferKind::Axfr;
    bool backwards = false;
    std::string error;
};

class RefreshPolicy {
public:
    // `primaries`: their addresses as logged; `served`: the serial we serve
    // (none when we have no data); `retransfer`: AXFR whatever the serials.
    RefreshPolicy(std::string zone, std::vector<std::string> primaries, std::optional<std::uint32_t> served,
                  bool retransfer);

    RefreshStep start();
    RefreshStep soa_answered(std::size_t primary, std::uint32_t serial);
    RefreshStep soa_failed(std::size_t primary, const std::string& why);
    // The transfer ended well: `outcome` and the serial it brought.
    RefreshStep transferred(std::size_t primary, TransferKind kind, TransferClient::Outcome outcome,
                            std::uint32_t serial);
    // The transfer failed, or its data was refused by the mode pipeline.
    RefreshStep transfer_failed(std::size_t primary, TransferKind kind, const std::string& why);

    // Lines worth an operator's warning, said while deciding (an older
    // serial, a refused transfer); taken (and cleared) by the caller.
    std::vector<std::string> take_notes();

private:
    RefreshStep next_primary(std::size_t failed, std::string why);
    RefreshStep older(std::size_t primary, std::uint32_t serial);
    RefreshStep first_step(std::size_t primary) const;

    std::string zone_;
    std::vector<std::string> primaries_;
    std::optional<std::uint32_t> served_;
    bool retransfer_;
    std::vector<std::string> notes_;
};

// When to look again, in seconds from now. After a success: SOA refresh,
// spread down by up to 10% so zones loaded together do not refresh in
// lockstep; after a failure: SOA retry (±10%), or, with no data yet, 5 s
// doubling per failure up to 300 s. Timers under 10 s are not spread.
std::int64_t refresh_delay(std::uint32_t soa_refresh, std::mt19937& rng);
std::int64_t retry_delay(std::optional<std::uint32_t> soa_retry, std::uint32_t failures, std::mt19937& rng);

}  // namespace satellite::xfr
