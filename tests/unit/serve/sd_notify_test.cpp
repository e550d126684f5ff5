// sd_notify() (util/sd_notify.hpp, over libsystemd): a no-op without
// $NOTIFY_SOCKET, one datagram with the state to a path or abstract socket,
// false when the socket cannot be reached. (util has no test binary of its
// own; the listeners' daemon is the one that notifies.)
#include "util/sd_notify.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace satellite {
namespace {

// systemd's side: a unix datagram socket at `path` ("@name": abstract).
class NotifySocket {
public:
    explicit NotifySocket(const std::string& path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::memcpy(a.sun_path, path.data(), path.size());
        if (path[0] == '@') a.sun_path[0] = '\0';
        auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
        bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0;
        timeval tv{2, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (path[0] != '@') path_ = path;
    }
    ~NotifySocket() {
        ::close(fd_);
        if (!path_.empty()) ::unlink(path_.c_str());
    }
    bool bound() const { return bound_; }
    std::string receive() {
        char buf[4096];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        return n < 0 ? std::string("<nothing>") : std::string(buf, static_cast<std::size_t>(n));
    }

private:
    int fd_ = -1;
    bool bound_ = false;
    std::string path_;
};

class SdNotify : public ::testing::Test {
protected:
    void TearDown() override { ::unsetenv("NOTIFY_SOCKET"); }
    static std::string unique(const std::string& stem) {
        return stem + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name();
    }
};

TEST_F(SdNotify, WithoutNotifySocketIsANoOp) {
    ::unsetenv("NOTIFY_SOCKET");
    EXPECT_TRUE(sd_notify("READY=1"));
}

TEST_F(SdNotify, SendsTheStateToThePath) {
    const std::string path = ::testing::TempDir() + unique("satellite-notify-");
    NotifySocket sock(path);
    ASSERT_TRUE(sock.bound()) << path;
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
    EXPECT_TRUE(sd_notify("READY=1\nSTATUS=serving 3 zones"));
    EXPECT_EQ(sock.receive(), "READY=1\nSTATUS=serving 3 zones");
    for (const char* state : {"RELOADING=1", "READY=1", "STOPPING=1"}) {
        EXPECT_TRUE(sd_notify(state));
        EXPECT_EQ(sock.receive(), state);
    }
}

TEST_F(SdNotify, SendsToAnAbstractSocket) {
    const std::string name = "@" + unique("satellite-notify-");
    NotifySocket sock(name);
    ASSERT_TRUE(sock.bound()) << name;
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
    EXPECT_TRUE(sd_notify("STOPPING=1"));
    EXPECT_EQ(sock.receive(), "STOPPING=1");
}

TEST_F(SdNotify, UnreachableSocketIsAnError) {
    ::setenv("NOTIFY_SOCKET", "/nonexistent/satellite/notify.sock", 1);
    EXPECT_FALSE(sd_notify("READY=1"));
}

}  // namespace
}  // namespace satellite
