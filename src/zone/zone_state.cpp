#include "zone/zone_state.hpp"
#include "util/file_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dns/serial.hpp"
#include "zone/store.hpp"

namespace satellite::zone {

const char* to_string(Phase p) {
    switch (p) {
        case Phase::Ok: return "ok";
        case Phase::Refreshing: return "refreshing";
        case Phase::Expired: return "expired";
    }
    return "?";
}

void ZoneState::succeeded(std::int64_t now) {
    last_check = last_attempt = now;
    failures = 0;
    last_error.clear();
    last_error_at = 0;
    if (served) {
        phase = Phase::Ok;
        expired_by_signatures = false;
    }
    if (notified && served && !dns::serial_newer(*notified, *served)) notified.reset();
}

void ZoneState::failed(std::int64_t now, std::string why) {
    last_attempt = now;
    ++failures;
    last_error = std::move(why);
    last_error_at = now;
    if (phase == Phase::Ok) phase = Phase::Refreshing;
}

bool ZoneState::notify(std::optional<std::uint32_t> serial) {
    if (!serial) return true;
    if (served && !dns::serial_newer(*serial, *served) && phase != Phase::Expired) return false;
    if (!notified || dns::serial_newer(*serial, *notified)) notified = serial;
    return true;
}

std::string zone_state_path(const std::string& dir, const dns::Name& origin) {
    const std::string p = stored_zone_path(dir, origin);
    return p.substr(0, p.size() - 4) + "state";
}

namespace {

std::string legacy_path(const std::string& dir, const dns::Name& origin) {
    return stored_zone_path(dir, origin) + ".checked";
}

// Error messages and sources are one line each in the file.
std::string one_line(std::string s) {
    for (auto& c : s) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return s;
}

}  // namespace

std::uint64_t durable_fields(const ZoneState& s) {
    // FNV-1a over the fields, each with a presence marker.
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&h](std::uint64_t v) {
        for (int i = 0; i < 8; ++i) {
            h ^= (v >> (8 * i)) & 0xff;
            h *= 1099511628211ull;
        }
    };
    for (const auto* serial : {&s.served, &s.stored, &s.notified}) mix(*serial ? (1ull << 32) | **serial : 0);
    mix(static_cast<std::uint64_t>(s.phase));
    mix(s.failures);
    mix(s.last_error.size());
    for (unsigned char c : s.last_error) mix(c);
    return h;
}

Status save_zone_state(const std::string& dir, const dns::Name& origin, const ZoneState& s, bool durable) {
    std::ostringstream o;
    o << "satellite-zone-state 1\n";
    if (s.served) o << "served " << *s.served << "\n";
    if (s.stored) o << "stored " << *s.stored << "\n";
    if (s.notified) o << "notified " << *s.notified << "\n";
    o << "phase " << to_string(s.phase) << "\n"
      << "last_check " << s.last_check << "\n"
      << "last_transfer " << s.last_transfer << "\n"
      << "last_attempt " << s.last_attempt << "\n"
      << "failures " << s.failures << "\n";
    if (s.primary_expire) o << "primary_expire " << *s.primary_expire << "\n";
    if (s.signature_expiry != 0) o << "signature_expiry " << s.signature_expiry << " " << one_line(s.signature_rrset) << "\n";
    if (s.effective_expiry != 0) o << "effective_expiry " << s.effective_expiry << (s.phase == Phase::Expired && s.expired_by_signatures ? " signatures" : "") << "\n";
    if (!s.last_error.empty()) o << "last_error " << s.last_error_at << " " << one_line(s.last_error) << "\n";
    const std::string text = o.str();

    const std::string path = zone_state_path(dir, origin);
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return make_error("cannot create " + parent.string() + ": " + ec.message());
    const std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return make_error("cannot write " + tmp + ": " + std::strerror(errno));
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t w = ::write(fd, text.data() + done, text.size() - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += static_cast<std::size_t>(w);
    }
    const bool ok = done == text.size() && (!durable || ::fsync(fd) == 0);
    const int saved_errno = errno;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = ok ? errno : saved_errno;
        ::unlink(tmp.c_str());
        return make_error("cannot write " + path + ": " + std::strerror(e));
    }
    ::unlink(legacy_path(dir, origin).c_str());
    return {};
}

Result<std::optional<ZoneState>> load_zone_state(const std::string& dir, const dns::Name& origin) {
    const std::string path = zone_state_path(dir, origin);
    auto f = open_nofollow(path);
    if (!f) {
        auto legacy = open_nofollow(legacy_path(dir, origin));
        std::int64_t t = 0;
        if (legacy >> t) {
            ZoneState s;
            s.last_check = t;
            return std::optional<ZoneState>(s);
        }
        return std::optional<ZoneState>();
    }
    std::string line;
    if (!std::getline(f, line) || line != "satellite-zone-state 1") {
        return make_error(path + ": not a zone state file (first line \"" + line.substr(0, 40) + "\")");
    }
    ZoneState s;
    unsigned n = 1;
    while (std::getline(f, line)) {
        ++n;
        std::istringstream in(line);
        std::string key;
        in >> key;
        auto bad = [&] { return make_error(path + ":" + std::to_string(n) + ": cannot read \"" + line + "\""); };
        auto serial = [&](std::optional<std::uint32_t>& out) {
            std::uint64_t v = 0;
            if (!(in >> v) || v > 0xffff'ffffu) return false;
            out = static_cast<std::uint32_t>(v);
            return true;
        };
        bool ok = true;
        if (key == "served") {
            ok = serial(s.served);
        } else if (key == "stored") {
            ok = serial(s.stored);
        } else if (key == "notified") {
            ok = serial(s.notified);
        } else if (key == "phase") {
            std::string p;
            in >> p;
            if (p == "ok") s.phase = Phase::Ok;
            else if (p == "refreshing") s.phase = Phase::Refreshing;
            else if (p == "expired") s.phase = Phase::Expired;
            else ok = false;
        } else if (key == "last_check") {
            ok = static_cast<bool>(in >> s.last_check);
        } else if (key == "primary_expire") {
            ok = serial(s.primary_expire);
        } else if (key == "last_transfer") {
            ok = static_cast<bool>(in >> s.last_transfer);
        } else if (key == "last_attempt") {
            ok = static_cast<bool>(in >> s.last_attempt);
        } else if (key == "failures") {
            ok = static_cast<bool>(in >> s.failures);
        } else if (key == "last_error") {
            ok = static_cast<bool>(in >> s.last_error_at);
            std::getline(in >> std::ws, s.last_error);
        } else if (key == "signature_expiry") {
            ok = static_cast<bool>(in >> s.signature_expiry);
            std::getline(in >> std::ws, s.signature_rrset);
        } else if (key == "effective_expiry") {
            ok = static_cast<bool>(in >> s.effective_expiry);
            std::string why;
            s.expired_by_signatures = (in >> why) && why == "signatures";
        }  // unknown keys: written by a newer Satellite; ignored
        if (!ok) return bad();
    }
    return std::optional<ZoneState>(std::move(s));
}

}  // namespace satellite::zone
