// NOTIFY out (RFC 1996): after each new served version, every target in the
// zone's `notify` list is told, over UDP, until it answers or the tries run
// out (RFC 1996 §3.6: retry with a growing interval). NotifyPolicy is the
// socket-free part (who is due when, on a caller's clock); NotifySender is
// the thin Asio driver.
//
// Coalescing: one NOTIFY is outstanding per (zone, target). A version that
// arrives while one is outstanding replaces its serial and restarts the
// tries, but the next send waits for the retry interval since the last one,
// so a target is never sent more than one NOTIFY per first_wait however
// fast versions come.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "dns/tsig.hpp"
#include "util/clock.hpp"

namespace satellite::xfr {

struct NotifyCounters {
    std::uint64_t sent = 0;          // messages sent (retries included)
    std::uint64_t acknowledged = 0;  // versions the target answered for
    std::uint64_t failed = 0;        // versions given up on (tries exhausted or refused)
};

class NotifyPolicy {
public:
    using Ms = std::int64_t;  // a monotonic time in milliseconds
    struct Options {
        unsigned tries = 5;
        Ms first_wait = 2000;  // doubled after each try: 2 s, 4 s, 8 s, 16 s
    };
    NotifyPolicy() = default;
    explicit NotifyPolicy(Options o) : options_(o) {}

    // A new served version of `zone`: notify `target` of `serial`.
    void version(const std::string& zone, const std::string& target, std::uint32_t serial, Ms now);
    struct Send {
        std::string zone, target;
        std::uint32_t serial;
        unsigned attempt;  // 1-based
    };
    // The messages due at `now` (each counted as sent); gives up on targets
    // that used every try.
    std::vector<Send> due(Ms now);
    // The target answered a NOTIFY for the zone: done with this version
    // (`ok` false: it refused, which no retry will change).
    void answered(const std::string& zone, const std::string& target, bool ok);
    // When due() next has something, or -1.
    Ms next_due() const;
    // Counters by (zone, target).
    const std::map<std::pair<std::string, std::string>, NotifyCounters>& counters() const { return counters_; }
    bool pending(const std::string& zone, const std::string& target) const;

private:
    struct Entry {
        bool active = false;
        std::uint32_t serial = 0;
        unsigned tries = 0;
        Ms due = 0;
        Ms last_sent = -1;
    };
    Options options_;
    std::map<std::pair<std::string, std::string>, Entry> entries_;
    std::map<std::pair<std::string, std::string>, NotifyCounters> counters_;
};

struct NotifyTarget {
    std::string host;  // address text, no brackets
    std::uint16_t port = 53;
    std::shared_ptr<const dns::TsigKey> key;  // sign with it when set
    std::string to_string() const;
};

class NotifySender {
public:
    NotifySender(boost::asio::io_context& io, const Clock& clock, NotifyPolicy::Options options = {});
    ~NotifySender();
    NotifySender(const NotifySender&) = delete;
    NotifySender& operator=(const NotifySender&) = delete;

    // Control thread: `zone` serves `serial` now; tell each target.
    void new_version(const dns::Name& zone, std::uint32_t serial, const std::vector<NotifyTarget>& targets);
    // NOTIFYs wait until this is called (the listeners are open): a
    // target told before then would find nobody to transfer from.
    void release();
    // The per-target counters in Prometheus text format.
    std::string metrics_text() const;

private:
    struct Pending {
        dns::Name zone;
        NotifyTarget target;
    };
    void pump();
    void send(const NotifyPolicy::Send& s);
    void receive(boost::asio::ip::udp::socket& sock);
    boost::asio::ip::udp::socket& socket_for(const boost::asio::ip::address& a);

    boost::asio::io_context& io_;
    const Clock& clock_;
    NotifyPolicy policy_;
    boost::asio::steady_timer timer_;
    std::unique_ptr<boost::asio::ip::udp::socket> v4_, v6_;
    std::map<std::pair<std::string, std::string>, Pending> targets_;  // (zone, target) → what to send
    struct Outstanding {
        std::string zone, target;
        std::vector<std::uint8_t> mac;  // request MAC when signed
    };
    std::map<std::uint16_t, Outstanding> ids_;  // message ID → what it was for
    std::uint16_t next_id_;
    bool held_ = true;
    std::shared_ptr<bool> alive_;
    std::array<std::uint8_t, 4096> buf_{};
    boost::asio::ip::udp::endpoint from_;
};

}  // namespace satellite::xfr
