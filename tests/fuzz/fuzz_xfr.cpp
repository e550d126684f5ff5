// Fuzz target for the transfer-stream parser: the input is a TCP stream of
// length-framed messages from a "primary". The first byte picks AXFR or IXFR
// (and whether message IDs are patched to match the request, so the fuzzer
// gets past the ID check). Whatever the stream holds, TransferClient must
// return an error or a result, never crash; a result must survive
// apply_deltas/build_snapshot (which may refuse it) without a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "dns/zonefile.hpp"
#include "xfr/transfer.hpp"
#include "zone/snapshot.hpp"

namespace {

using namespace satellite;

const dns::Name& origin() {
    static const dns::Name o = *dns::Name::from_text("example.com.");
    return o;
}

// The zone an IXFR applies to (serial 5).
const dns::RecordList& base() {
    static const dns::RecordList r = *dns::parse_records(
        "example.com. 300 IN SOA ns1.example.com. host.example.com. 5 3600 600 86400 300\n"
        "example.com. 300 IN NS ns1.example.com.\n"
        "ns1.example.com. 300 IN A 192.0.2.1\n"
        "www.example.com. 300 IN A 192.0.2.2\n",
        origin());
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t mode = data[0];
    const auto kind = (mode & 1) ? xfr::TransferKind::Ixfr : xfr::TransferKind::Axfr;
    const bool patch_id = (mode & 2) == 0;
    xfr::TransferLimits limits;
    limits.max_records = 2000;
    xfr::TransferClient client(origin(), kind, 5, nullptr, limits);
    std::vector<std::uint8_t> q = client.request(0x4242, 1000);
    if (q.size() < 12) std::abort();

    std::size_t pos = 1;
    bool done = false, failed = false;
    std::vector<std::uint8_t> msg;
    while (pos + 2 <= size && !done && !failed) {
        std::size_t len = (std::size_t(data[pos]) << 8) | data[pos + 1];
        pos += 2;
        if (len > size - pos) len = size - pos;
        msg.assign(data + pos, data + pos + len);
        pos += len;
        if (patch_id && msg.size() >= 2) {
            msg[0] = 0x42;
            msg[1] = 0x42;
        }
        auto step = client.consume(msg, 1000);
        if (!step) {
            failed = true;
        } else if (*step == xfr::TransferClient::Step::Done) {
            done = true;
        }
    }
    if (!done) return 0;
    switch (client.outcome()) {
        case xfr::TransferClient::Outcome::Full: {
            auto snap = zone::build_snapshot(origin(), client.full());
            if (snap && (*snap)->record_count() > client.full().size()) std::abort();
            break;
        }
        case xfr::TransferClient::Outcome::Incremental: {
            auto applied = zone::apply_deltas(base(), client.deltas());
            if (applied) (void)zone::build_snapshot(origin(), *applied);
            break;
        }
        case xfr::TransferClient::Outcome::UpToDate:
            break;
    }
    return 0;
}

#ifdef SATELLITE_FUZZ_REPLAY
#include "fuzz/replay_main.hpp"
#endif
