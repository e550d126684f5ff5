// Fuzz target for TSIG-signed transfer streams (RFC 8945 §5.3.1): like
// fuzz_xfr, a stream of length-framed messages from a "primary", but the
// transfer is requested with a key and the fuzzer chooses which messages
// the primary signs (second byte: bit i signs message i, i mod 8), so both
// the verified path and every way a stream can break its chain are reached.
// Whatever the stream holds, TransferClient returns an error or a result;
// a result builds (or is refused) without a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "dns/tsig.hpp"
#include "dns/zonefile.hpp"
#include "xfr/transfer.hpp"
#include "zone/snapshot.hpp"

namespace {

using namespace satellite;

const dns::Name& origin() {
    static const dns::Name o = *dns::Name::from_text("example.com.");
    return o;
}

const dns::TsigKey& key() {
    static const dns::TsigKey k = [] {
        dns::TsigKey k;
        k.name = *dns::Name::from_text("xfr-key.");
        k.algorithm = dns::TsigAlgorithm::HmacSha256;
        k.secret = std::vector<std::uint8_t>(32, 0x42);
        return k;
    }();
    return k;
}

const dns::RecordList& base() {
    static const dns::RecordList r = *dns::parse_records(
        "example.com. 300 IN SOA ns1.example.com. host.example.com. 5 3600 600 86400 300\n"
        "example.com. 300 IN NS ns1.example.com.\n"
        "ns1.example.com. 300 IN A 192.0.2.1\n",
        origin());
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    constexpr std::int64_t kNow = 1'700'000'000;
    const std::uint8_t mode = data[0], signed_mask = data[1];
    const auto kind = (mode & 1) ? xfr::TransferKind::Ixfr : xfr::TransferKind::Axfr;
    xfr::TransferLimits limits;
    limits.max_records = 2000;
    xfr::TransferClient client(origin(), kind, 5, &key(), limits);
    std::vector<std::uint8_t> request = client.request(0x4242, kNow);
    auto request_mac = dns::tsig_verify_request(request, key(), kNow);
    if (!request_mac) std::abort();  // our own signed request must verify
    dns::TsigStreamSigner signer(key(), *request_mac);

    std::size_t pos = 2;
    unsigned index = 0;
    std::vector<std::uint8_t> msg;
    while (pos + 2 <= size) {
        std::size_t len = (std::size_t(data[pos]) << 8) | data[pos + 1];
        pos += 2;
        if (len > size - pos) len = size - pos;
        msg.assign(data + pos, data + pos + len);
        pos += len;
        if (msg.size() >= 12) {
            msg[0] = 0x42;  // the request's ID, to get past the ID check
            msg[1] = 0x42;
            if (signed_mask & (1u << (index % 8))) signer.sign(msg, kNow + (mode >> 4));
        }
        ++index;
        auto step = client.consume(msg, kNow);
        if (!step) return 0;
        if (*step != xfr::TransferClient::Step::Done) continue;
        if (client.outcome() == xfr::TransferClient::Outcome::Full) {
            (void)zone::build_snapshot(origin(), client.full());
        } else if (client.outcome() == xfr::TransferClient::Outcome::Incremental) {
            auto applied = zone::apply_deltas(base(), client.deltas());
            if (applied) (void)zone::build_snapshot(origin(), *applied);
        }
        return 0;
    }
    return 0;
}

#ifdef SATELLITE_FUZZ_REPLAY
#include "fuzz/replay_main.hpp"
#endif
