// Our sd_notify() over libsystemd's: it handles the socket address forms
// (path, abstract "@name") and credentials the way systemd expects.
#include "util/sd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <string>

namespace satellite {

bool sd_notify(std::string_view state) {
    const std::string text(state);  // libsystemd takes a C string
    // 0: no $NOTIFY_SOCKET (not under systemd); > 0: sent; < 0: -errno.
    return ::sd_notify(0, text.c_str()) >= 0;
}

}  // namespace satellite
