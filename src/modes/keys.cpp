#include "modes/keys.hpp"
#include "util/file_io.hpp"

#include <dirent.h>
#include <fcntl.h>

#include <cstdio>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace satellite::modes {

namespace {

const char* role_name(KeyRole r) { return r == KeyRole::Ksk ? "ksk" : "zsk"; }


std::string errno_text() { return std::strerror(errno); }

Status make_private_dir(const std::string& path) {
    if (::mkdir(path.c_str(), 0700) == 0) {
        // A new directory's name lives in its parent: sync that too.
        if (auto s = fsync_directory(path.substr(0, path.rfind('/'))); !s) return s;
    } else if (errno != EEXIST) {
        return make_error("cannot create " + path + ": " + errno_text());
    }
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return make_error(path + " is not a directory");
    }
    if ((st.st_mode & 077) != 0 && ::chmod(path.c_str(), 0700) != 0) {
        return make_error("cannot make " + path + " private (0700): " + errno_text());
    }
    return {};
}

ZoneKey make_key(KeyRole role, std::shared_ptr<const dns::SigningKey> k, std::int64_t now) {
    ZoneKey zk;
    zk.role = role;
    zk.key = std::move(k);
    zk.dnskey = zk.key->dnskey_rdata(role == KeyRole::Ksk ? 257 : 256);
    zk.tag = dns::key_tag(zk.dnskey);
    zk.created = now;
    return zk;
}

}  // namespace

Status fsync_directory(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return make_error("cannot open " + dir + ": " + errno_text());
    // EINVAL: a file system that cannot sync directories; nothing more to do.
    const bool failed = ::fsync(fd) != 0 && errno != EINVAL;
    const std::string why = failed ? errno_text() : "";
    ::close(fd);
    if (failed) return make_error("cannot sync " + dir + ": " + why);
    return {};
}

std::string base64(const std::vector<std::uint8_t>& in) {
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), in.data(), static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string key_directory(const std::string& state_dir, const dns::Name& zone) {
    std::string name = zone.lowered().to_string();
    if (name.size() > 1) name.pop_back();
    else name = "root";
    // One path level per zone, and two zones never share one: '/' and the
    // escape character '%' become %2F and %25 (so "a/b." and "a_b." differ,
    // reversibly); every other name maps to itself, as it always did.
    std::string dir;
    for (char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '/' || c == '%') {
            char esc[4];
            std::snprintf(esc, sizeof esc, "%%%02X", u);
            dir += esc;
        } else {
            dir += c;
        }
    }
    if (dir == "." || dir == "..") dir = "%2E" + dir.substr(1);
    return state_dir + "/keys/" + dir;
}

Result<ZoneKey> read_key_file(const std::string& path, const dns::Name& zone) {
    auto f = open_nofollow(path);
    if (!f) return make_error("cannot read key file " + path + ": " + errno_text());
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string text = ss.str();
    auto damaged = [&](const std::string& why) {
        return make_error("key file " + path + " is damaged: " + why +
                          "; restore it from a backup (a new key would break the chain of trust)");
    };
    std::string zone_text, role_text, pem;
    long algorithm = -1, tag = -1;
    long long created = -1;
    std::string public_b64;
    std::istringstream lines(text);
    std::string line;
    bool in_pem = false;
    while (std::getline(lines, line)) {
        if (in_pem || line.rfind("-----BEGIN", 0) == 0) {
            in_pem = true;
            pem += line + "\n";
            continue;
        }
        if (line.empty() || line[0] == ';') continue;
        auto colon = line.find(": ");
        if (colon == std::string::npos) return damaged("unexpected line \"" + line + "\"");
        std::string key = line.substr(0, colon), value = line.substr(colon + 2);
        try {
            if (key == "zone") zone_text = value;
            else if (key == "role") role_text = value;
            else if (key == "algorithm") algorithm = std::stol(value);
            else if (key == "tag") tag = std::stol(value);
            else if (key == "created") created = std::stoll(value);
            else if (key == "public") public_b64 = value;
            else return damaged("unknown field \"" + key + "\"");
        } catch (const std::exception&) {
            return damaged("field \"" + key + "\" is not a number");
        }
    }
    auto zname = dns::Name::from_text(zone_text);
    if (!zname || !zname->equals(zone)) return damaged("it names zone \"" + zone_text + "\"");
    if (role_text != "ksk" && role_text != "zsk") return damaged("role is \"" + role_text + "\"");
    if (algorithm < 0 || algorithm > 255 || tag < 0 || created < 0 || public_b64.empty() || pem.empty()) {
        return damaged("a header field or the private key is missing");
    }
    auto key = dns::SigningKey::from_pem(pem, static_cast<std::uint8_t>(algorithm));
    if (!key) return damaged(key.error().message);
    ZoneKey zk = make_key(role_text == "ksk" ? KeyRole::Ksk : KeyRole::Zsk, *key, created);
    zk.path = path;
    if (base64(zk.key->public_key()) != public_b64) {
        return damaged("the private key does not match the public key recorded beside it");
    }
    if (zk.tag != tag) return damaged("key tag " + std::to_string(zk.tag) + " differs from the recorded " + std::to_string(tag));
    return zk;
}

Status write_key_file(const std::string& path, const dns::Name& zone, const ZoneKey& k) {
    std::ostringstream out;
    out << "; Satellite DNSSEC private key. Keep it private (mode 0600); do not edit.\n"
        << "zone: " << zone.to_string() << "\n"
        << "role: " << role_name(k.role) << "\n"
        << "algorithm: " << int(k.key->algorithm()) << "\n"
        << "tag: " << k.tag << "\n"
        << "created: " << k.created << "\n"
        << "public: " << base64(k.key->public_key()) << "\n"
        << k.key->to_pem();
    return write_private_file(path, out.str());
}

Status write_private_file(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    ::unlink(tmp.c_str());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return make_error("cannot create " + tmp + ": " + errno_text());
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            std::string why = errno_text();
            ::close(fd);
            ::unlink(tmp.c_str());
            return make_error("cannot write " + tmp + ": " + why);
        }
        done += static_cast<std::size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    std::string why = synced ? "" : errno_text();
    if (::close(fd) != 0 && synced) why = errno_text();
    if (!why.empty()) {
        ::unlink(tmp.c_str());
        return make_error("cannot write " + tmp + ": " + why);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        why = errno_text();
        ::unlink(tmp.c_str());
        return make_error("cannot rename " + tmp + ": " + why);
    }
    return fsync_directory(path.substr(0, path.rfind('/')));
}

Result<std::string> prepare_key_directory(const std::string& state_dir, const dns::Name& zone) {
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec) return make_error("cannot create " + state_dir + ": " + ec.message());
    if (auto s = make_private_dir(state_dir + "/keys"); !s) return s.error();
    const std::string dir = key_directory(state_dir, zone);
    if (auto s = make_private_dir(dir); !s) return s.error();
    return dir;
}

Result<ZoneKey> generate_key(const std::string& dir, const dns::Name& zone, KeyRole role,
                             std::uint8_t algorithm, std::int64_t now) {
    auto k = dns::SigningKey::generate(algorithm);
    if (!k) return k.error();
    ZoneKey zk = make_key(role, *k, now);
    zk.path = dir + "/" + role_name(role) + "-" + std::to_string(algorithm) + "-" + std::to_string(zk.tag) + ".key";
    struct stat st{};
    if (::stat(zk.path.c_str(), &st) == 0) {  // a tag collision with a key we hold: make another
        return generate_key(dir, zone, role, algorithm, now);
    }
    if (auto s = write_key_file(zk.path, zone, zk); !s) return s.error();
    return zk;
}

Result<ZoneKeys> load_or_create_keys(const std::string& state_dir, const dns::Name& zone,
                                     std::uint8_t algorithm, std::int64_t now) {
    auto prepared = prepare_key_directory(state_dir, zone);
    if (!prepared) return prepared.error();
    const std::string dir = *prepared;

    std::vector<std::string> files;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n.size() > 4 && n.compare(n.size() - 4, 4, ".key") == 0) files.push_back(dir + "/" + n);
        }
        ::closedir(d);
    } else {
        return make_error("cannot list " + dir + ": " + errno_text());
    }
    std::optional<ZoneKey> ksk, zsk;
    for (const auto& path : files) {
        auto k = read_key_file(path, zone);
        if (!k) return k.error();
        auto& slot = k->role == KeyRole::Ksk ? ksk : zsk;
        if (slot) {
            return make_error(dir + " holds more than one " + role_name(k->role) + " (" + slot->path + ", " +
                              path + "); remove the one not in use");
        }
        if (k->key->algorithm() != algorithm) {
            return make_error("key " + path + " is algorithm " + std::to_string(k->key->algorithm()) +
                              " but zone.signing.algorithm is " + std::to_string(algorithm) +
                              "; an algorithm rollover is not supported yet: keep the algorithm");
        }
        slot = std::move(*k);
    }
    if (ksk && zsk) {
        ZoneKeys keys;
        keys.keys.push_back(std::move(*ksk));
        keys.keys.push_back(std::move(*zsk));
        return keys;
    }
    if (ksk || zsk) {
        return make_error(dir + " has a " + std::string(ksk ? "KSK" : "ZSK") + " but no " +
                          (ksk ? "ZSK" : "KSK") + "; restore the missing key file (a new key would "
                          "break the chain of trust)");
    }
    // A zone signed for the first time: both keys, KSK first.
    ZoneKeys keys;
    for (KeyRole role : {KeyRole::Ksk, KeyRole::Zsk}) {
        auto zk = generate_key(dir, zone, role, algorithm, now);
        if (!zk) return zk.error();
        keys.keys.push_back(std::move(*zk));
    }
    return keys;
}

}  // namespace satellite::modes
