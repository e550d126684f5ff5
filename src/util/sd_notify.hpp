// systemd's readiness protocol (sd_notify(3)), through libsystemd: one
// datagram to $NOTIFY_SOCKET. A no-op outside systemd.
#pragma once

#include <string_view>

namespace satellite {

// Sends e.g. "READY=1", "RELOADING=1", "STOPPING=1" or "STATUS=...", several
// joined by newlines. True when sent, or when there is no $NOTIFY_SOCKET;
// false if it could not be sent.
bool sd_notify(std::string_view state);

}  // namespace satellite
