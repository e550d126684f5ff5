// systemd's readiness protocol (sd_notify(3)): one datagram to
// $NOTIFY_SOCKET. A no-op outside systemd.
#pragma once

#include <string_view>

namespace satellite {

// Sends e.g. "READY=1" or "STATUS=..."; returns false if it could not.
bool sd_notify(std::string_view state);

}  // namespace satellite
