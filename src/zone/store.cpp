// Binary zone file: "SATZONE2", header fields (flags last), records, SHA-256
// trailer. "SATZONE1" files (no flags) are still read.
#include "zone/store.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "dns/wire.hpp"

namespace satellite::zone {

namespace {

constexpr char kMagicV1[8] = {'S', 'A', 'T', 'Z', 'O', 'N', 'E', '1'};
constexpr char kMagic[8] = {'S', 'A', 'T', 'Z', 'O', 'N', 'E', '2'};
constexpr std::size_t kDigest = 32;
constexpr std::uint32_t kFlagSignedByUs = 1;

void sha256(const std::uint8_t* p, std::size_t n, std::uint8_t* out) {
    unsigned len = 0;
    EVP_Digest(p, n, out, &len, EVP_sha256(), nullptr);
}

class Out {
public:
    void bytes(const void* p, std::size_t n) {
        auto b = static_cast<const std::uint8_t*>(p);
        buf.insert(buf.end(), b, b + n);
    }
    void u16(std::uint16_t v) {
        std::uint8_t b[2];
        dns::store16(b, v);
        bytes(b, 2);
    }
    void u32(std::uint32_t v) {
        std::uint8_t b[4];
        dns::store32(b, v);
        bytes(b, 4);
    }
    void u64(std::uint64_t v) {
        u32(static_cast<std::uint32_t>(v >> 32));
        u32(static_cast<std::uint32_t>(v));
    }
    std::vector<std::uint8_t> buf;
};

class In {
public:
    In(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}
    bool bytes(void* out, std::size_t n) {
        if (pos_ + n > n_) return false;
        std::memcpy(out, p_ + pos_, n);
        pos_ += n;
        return true;
    }
    const std::uint8_t* take(std::size_t n) {
        if (pos_ + n > n_) return nullptr;
        const std::uint8_t* r = p_ + pos_;
        pos_ += n;
        return r;
    }
    bool u16(std::uint16_t& v) {
        auto p = take(2);
        if (p) v = dns::load16(p);
        return p != nullptr;
    }
    bool u32(std::uint32_t& v) {
        auto p = take(4);
        if (p) v = dns::load32(p);
        return p != nullptr;
    }
    bool u64(std::uint64_t& v) {
        std::uint32_t hi, lo;
        if (!u32(hi) || !u32(lo)) return false;
        v = (std::uint64_t(hi) << 32) | lo;
        return true;
    }
    bool done() const { return pos_ == n_; }
    std::size_t pos() const { return pos_; }

private:
    const std::uint8_t* p_;
    std::size_t n_;
    std::size_t pos_ = 0;
};

void put_records(Out& o, const dns::RecordList& records) {
    o.u64(records.size());
    for (const auto& r : records.refs()) {
        o.bytes(&r.owner_len, 1);
        o.bytes(records.owner(r), r.owner_len);
        o.u16(r.type);
        o.u16(r.rclass);
        o.u32(r.ttl);
        o.u16(r.rdata_len);
        auto rd = records.rdata(r);
        o.bytes(rd.data(), rd.size());
    }
}

bool get_records(In& in, dns::RecordList& out) {
    std::uint64_t count;
    if (!in.u64(count)) return false;
    for (std::uint64_t i = 0; i < count; ++i) {
        std::uint8_t nlen;
        std::uint16_t type, rclass, rdlen;
        std::uint32_t ttl;
        if (!in.bytes(&nlen, 1)) return false;
        const std::uint8_t* owner = in.take(nlen);
        if (!owner || !in.u16(type) || !in.u16(rclass) || !in.u32(ttl) || !in.u16(rdlen)) {
            return false;
        }
        const std::uint8_t* rd = in.take(rdlen);
        if (!rd || dns::wire_name::length(owner, nlen) != nlen) return false;
        out.add({owner, nlen}, type, rclass, ttl, {rd, rdlen});
    }
    return true;
}

std::vector<std::uint8_t> read_file(const std::string& path, int* err) {
    std::vector<std::uint8_t> buf;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        *err = errno;
        return buf;
    }
    struct stat st{};
    ::fstat(fd, &st);
    buf.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < buf.size()) {
        ssize_t r = ::read(fd, buf.data() + got, buf.size() - got);
        if (r <= 0) break;
        got += static_cast<std::size_t>(r);
    }
    ::close(fd);
    buf.resize(got);
    *err = 0;
    return buf;
}

std::string journal_path(const std::string& dir, const dns::Name& origin) {
    std::string p = stored_zone_path(dir, origin);
    return p.substr(0, p.size() - 4) + "journal";
}

constexpr char kJournalMagic[4] = {'S', 'A', 'T', 'J'};

Status write_all(int fd, const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return make_error(std::strerror(errno));
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return {};
}

// Crash safety: a rename or a new file is durable only once its directory
// is synced. EINVAL: a file system that cannot sync directories.
Status fsync_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return make_error("cannot open " + dir + ": " + std::strerror(errno));
    const bool failed = ::fsync(fd) != 0 && errno != EINVAL;
    const int err = errno;
    ::close(fd);
    if (failed) return make_error("cannot sync " + dir + ": " + std::strerror(err));
    return {};
}

}  // namespace

std::string stored_zone_path(const std::string& dir, const dns::Name& origin) {
    std::string name = origin.lowered().to_string();
    std::string safe;
    for (char c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
            safe += c;
        } else {
            char esc[4];
            std::snprintf(esc, sizeof esc, "%%%02X", static_cast<unsigned char>(c));
            safe += esc;
        }
    }
    if (safe == ".") safe = "root.";
    return dir + "/zones/" + safe + "zone";
}

Status save_zone(const std::string& dir, const dns::Name& origin, const StoredZone& z) {
    Out o;
    o.buf.reserve(64 + z.records.size() * 48);
    o.bytes(kMagic, sizeof kMagic);
    o.u16(static_cast<std::uint16_t>(origin.size()));
    o.bytes(origin.data(), origin.size());
    o.u32(z.serial);
    o.u64(static_cast<std::uint64_t>(z.last_check));
    o.u64(static_cast<std::uint64_t>(z.last_transfer));
    o.u16(static_cast<std::uint16_t>(std::min<std::size_t>(z.source.size(), 65535)));
    o.bytes(z.source.data(), std::min<std::size_t>(z.source.size(), 65535));
    o.u32(z.signed_by_us ? kFlagSignedByUs : 0);
    put_records(o, z.records);
    std::uint8_t digest[kDigest];
    sha256(o.buf.data(), o.buf.size(), digest);
    o.bytes(digest, kDigest);

    std::string path = stored_zone_path(dir, origin);
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    if (ec) return make_error("cannot create " + std::filesystem::path(path).parent_path().string() + ": " + ec.message());
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return make_error("cannot write " + tmp + ": " + std::strerror(errno));
    Status s = write_all(fd, o.buf.data(), o.buf.size());
    if (s && ::fsync(fd) != 0) s = make_error(std::strerror(errno));
    ::close(fd);
    if (!s) {
        ::unlink(tmp.c_str());
        return make_error("cannot write " + tmp + ": " + s.error().message);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        return make_error("cannot rename " + tmp + ": " + why);
    }
    return fsync_dir(std::filesystem::path(path).parent_path().string());
}

Result<std::optional<StoredZone>> load_zone(const std::string& dir, const dns::Name& origin) {
    std::string path = stored_zone_path(dir, origin);
    int err = 0;
    std::vector<std::uint8_t> buf = read_file(path, &err);
    if (err == ENOENT) return std::optional<StoredZone>();
    if (err != 0) return make_error(path + ": " + std::strerror(err));
    const std::size_t got = buf.size();
    auto damaged = [&](const std::string& why) {
        return make_error(path + " is damaged (" + why + ")");
    };
    if (got != buf.size() || buf.size() < sizeof kMagic + kDigest) return damaged("truncated");
    std::uint8_t digest[kDigest];
    sha256(buf.data(), buf.size() - kDigest, digest);
    if (std::memcmp(digest, buf.data() + buf.size() - kDigest, kDigest) != 0) {
        return damaged("checksum mismatch");
    }
    In in(buf.data(), buf.size() - kDigest);
    char magic[8];
    if (!in.bytes(magic, 8)) return damaged("not a Satellite zone file");
    const bool v1 = std::memcmp(magic, kMagicV1, 8) == 0;
    if (!v1 && std::memcmp(magic, kMagic, 8) != 0) return damaged("not a Satellite zone file");
    StoredZone z;
    std::uint16_t olen;
    if (!in.u16(olen)) return damaged("truncated header");
    const std::uint8_t* on = in.take(olen);
    if (!on || !dns::wire_name::equal_ci(on, origin.data())) return damaged("holds another zone");
    std::uint64_t lc, lt;
    std::uint16_t slen;
    if (!in.u32(z.serial) || !in.u64(lc) || !in.u64(lt) || !in.u16(slen)) return damaged("truncated header");
    z.last_check = static_cast<std::int64_t>(lc);
    z.last_transfer = static_cast<std::int64_t>(lt);
    const std::uint8_t* src = in.take(slen);
    if (!src) return damaged("truncated header");
    z.source.assign(reinterpret_cast<const char*>(src), slen);
    std::uint32_t flags = 0;  // version 1 has no flags: not signed by us
    if (!v1 && !in.u32(flags)) return damaged("truncated header");
    z.signed_by_us = (flags & kFlagSignedByUs) != 0;
    z.records.reserve(0, buf.size());
    if (!get_records(in, z.records)) return damaged("bad record");
    if (!in.done()) return damaged("trailing data");
    return std::optional<StoredZone>(std::move(z));
}

}  // namespace satellite::zone

namespace satellite::zone {

Status append_journal(const std::string& dir, const dns::Name& origin,
                      const std::vector<ZoneDelta>& deltas) {
    Out o;
    for (const ZoneDelta& d : deltas) {
        Out payload;
        payload.u32(d.from);
        payload.u32(d.to);
        put_records(payload, d.removed);
        put_records(payload, d.added);
        std::uint8_t digest[kDigest];
        sha256(payload.buf.data(), payload.buf.size(), digest);
        o.bytes(kJournalMagic, sizeof kJournalMagic);
        o.u32(static_cast<std::uint32_t>(payload.buf.size()));
        o.bytes(payload.buf.data(), payload.buf.size());
        o.bytes(digest, kDigest);
    }
    std::string path = journal_path(dir, origin);
    const std::string parent = std::filesystem::path(path).parent_path().string();
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return make_error("cannot create " + parent + ": " + ec.message());
    const bool created = ::access(path.c_str(), F_OK) != 0;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return make_error("cannot write " + path + ": " + std::strerror(errno));
    Status s = write_all(fd, o.buf.data(), o.buf.size());
    if (s && ::fsync(fd) != 0) s = make_error(std::strerror(errno));
    ::close(fd);
    if (!s) return make_error("cannot write " + path + ": " + s.error().message);
    // A new journal's name must survive a crash as well as its content.
    return created ? fsync_dir(parent) : Status{};
}

Result<JournalRead> load_journal(const std::string& dir, const dns::Name& origin) {
    std::string path = journal_path(dir, origin);
    int err = 0;
    std::vector<std::uint8_t> buf = read_file(path, &err);
    JournalRead out;
    if (err == ENOENT) return out;
    if (err != 0) return make_error(path + ": " + std::strerror(err));
    In in(buf.data(), buf.size());
    std::size_t entry = 0;
    std::size_t whole = 0;  // bytes up to the end of the last whole entry
    while (!in.done()) {
        ++entry;
        char magic[4];
        std::uint32_t len = 0;
        const std::uint8_t* payload = nullptr;
        const std::uint8_t* digest = nullptr;
        bool ok = in.bytes(magic, 4) && std::memcmp(magic, kJournalMagic, 4) == 0 && in.u32(len) &&
                  (payload = in.take(len)) != nullptr && (digest = in.take(kDigest)) != nullptr;
        std::uint8_t check[kDigest];
        if (ok) {
            sha256(payload, len, check);
            ok = std::memcmp(check, digest, kDigest) == 0;
        }
        ZoneDelta d;
        if (ok) {
            In p(payload, len);
            ok = p.u32(d.from) && p.u32(d.to) && get_records(p, d.removed) &&
                 get_records(p, d.added) && p.done();
        }
        if (!ok) {
            out.warning = path + ": entry " + std::to_string(entry) +
                          " is damaged (torn write?); using the " + std::to_string(entry - 1) +
                          " entries before it";
            // Appends go to the end of the file: cut the damaged tail off, or
            // every entry appended after it would be lost behind it too.
            int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
            const bool cut = fd >= 0 && ::ftruncate(fd, static_cast<off_t>(whole)) == 0 && ::fsync(fd) == 0;
            const int err = errno;
            if (fd >= 0) ::close(fd);
            out.warning += cut ? "; the damaged tail is cut off"
                               : "; cannot cut the damaged tail off: " + std::string(std::strerror(err));
            break;
        }
        out.deltas.push_back(std::move(d));
        whole = in.pos();
    }
    return out;
}

void remove_journal(const std::string& dir, const dns::Name& origin) {
    ::unlink(journal_path(dir, origin).c_str());
}

std::uint64_t journal_size(const std::string& dir, const dns::Name& origin) {
    struct stat st{};
    if (::stat(journal_path(dir, origin).c_str(), &st) != 0) return 0;
    return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace satellite::zone
