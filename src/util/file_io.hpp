// Reading state files without following a symbolic link in their last
// component (O_NOFOLLOW): state_dir is ours, and a link planted there must
// not make us read (or, on write, clobber) a file elsewhere.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <sstream>
#include <string>

namespace satellite {

// The file's whole text, or nullopt (errno set: ENOENT, ELOOP for a link...).
inline std::optional<std::string> read_text_nofollow(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return std::nullopt;
    std::string text;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            errno = e;
            return std::nullopt;
        }
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return text;
}

// An input stream over the file (failed, like an ifstream, when it cannot be read).
inline std::istringstream open_nofollow(const std::string& path) {
    auto text = read_text_nofollow(path);
    std::istringstream in(text ? *text : std::string());
    if (!text) in.setstate(std::ios::failbit);
    return in;
}

}  // namespace satellite
