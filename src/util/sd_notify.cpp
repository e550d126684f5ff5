#include "util/sd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace satellite {

bool sd_notify(std::string_view state) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || !*path) return true;
    std::size_t plen = std::strlen(path);
    sockaddr_un addr{};
    if (plen >= sizeof addr.sun_path) return false;
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path, plen);
    if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + plen);
    ssize_t n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                         reinterpret_cast<const sockaddr*>(&addr), len);
    ::close(fd);
    return n == static_cast<ssize_t>(state.size());
}

}  // namespace satellite
