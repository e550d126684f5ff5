// NOTIFY intake (RFC 1996): checks the sender against the zone's
// notify_allow list and TSIG key (both published in the catalog), answers,
// and hands the news to the zone's event sequence through a NotifySink.
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "zone/catalog.hpp"

namespace satellite::serve {

class NotifySink {
public:
    virtual ~NotifySink() = default;
    // Called on a worker thread: must only enqueue.
    virtual void notify(const dns::Name& zone, std::optional<std::uint32_t> serial,
                        const std::string& from) = 0;
};

inline bool is_notify(std::span<const std::uint8_t> msg) {
    return msg.size() >= 4 && ((msg[2] >> 3) & 0xf) == 4 && !(msg[2] & 0x80);
}

// Answers a NOTIFY message from `peer`. Returns the response length.
std::size_t answer_notify(const zone::Catalog& catalog, std::span<const std::uint8_t> msg,
                          const sockaddr* peer, std::int64_t now, NotifySink* sink,
                          std::span<std::uint8_t> out);

// Refused NOTIFYs (spoofed ones can come at line rate): counted per reason
// for /metrics, and logged at most once a second as one summary line by
// report(), which the query workers call from their timer, never per packet.
class NotifyRefusals {
public:
    enum Reason { NotSecondary, NotAllowed, BadTsig, Malformed, kReasons };
    static NotifyRefusals& instance();

    void refused(Reason why, const std::string& zone, const std::string& from, const std::string& detail);
    // Logs "N NOTIFYs refused since the last report: <up to 4 distinct
    // examples>" when some were refused since the last line and a second
    // has passed; returns whether it logged.
    bool report(std::int64_t now);
    // Refusals since the last line, waiting to be reported.
    bool pending() const { return unreported_.load(std::memory_order_relaxed) > 0; }
    std::uint64_t count(Reason why) const { return counts_[why].load(std::memory_order_relaxed); }
    static const char* label(Reason why);

private:
    std::array<std::atomic<std::uint64_t>, kReasons> counts_{};
    std::atomic<std::uint64_t> unreported_{0};
    std::atomic<std::int64_t> last_report_{0};
    static constexpr std::size_t kSamples = 4;
    std::atomic_flag sample_busy_ = ATOMIC_FLAG_INIT;
    // The first distinct refusals since the last line, as text (under sample_busy_).
    std::array<std::array<char, 240>, kSamples> samples_{};
    std::size_t n_samples_ = 0;
};

// "192.0.2.1" / "2001:db8::1" → the 16-octet form used in notify_allow.
std::optional<std::array<std::uint8_t, 16>> parse_address(const std::string& text);
std::string address_text(const sockaddr* peer);

}  // namespace satellite::serve
