// Clock: everything that waits takes a Clock& so tests can move time.
#pragma once

#include <chrono>
#include <cstdint>

namespace satellite {

class Clock {
public:
    virtual ~Clock() = default;
    // Wall-clock seconds since the epoch (for SOA timers, signatures).
    virtual std::int64_t now_unix() const = 0;
    // Monotonic time for intervals.
    virtual std::chrono::steady_clock::time_point now_steady() const = 0;
};

class SystemClock final : public Clock {
public:
    std::int64_t now_unix() const override {
        return std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    std::chrono::steady_clock::time_point now_steady() const override {
        return std::chrono::steady_clock::now();
    }
};

// A clock the test moves by hand.
class ManualClock final : public Clock {
public:
    explicit ManualClock(std::int64_t unix_now = 1'700'000'000) : unix_(unix_now) {}
    std::int64_t now_unix() const override { return unix_; }
    std::chrono::steady_clock::time_point now_steady() const override {
        return std::chrono::steady_clock::time_point(std::chrono::seconds(unix_));
    }
    void advance(std::int64_t seconds) { unix_ += seconds; }

private:
    std::int64_t unix_;
};

}  // namespace satellite
