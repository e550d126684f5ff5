// Reads a consumed catalog zone (RFC 9432 §4) into a member list, and keeps
// the last good list on disk (zone/consumed_catalog.hpp).
#include "zone/consumed_catalog.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "dns/types.hpp"
#include "util/file_io.hpp"
#include "zone/store.hpp"

namespace satellite::zone {

namespace {

// The labels of `owner` above `suffix` (owner strictly below it), lower-cased,
// leftmost first; nullopt when owner is not below suffix.
std::optional<std::vector<std::string>> labels_below(const std::uint8_t* owner, const dns::Name& suffix) {
    const std::size_t len = dns::wire_name::length(owner, dns::kMaxNameLen);
    if (len == 0 || len <= suffix.size() || !dns::wire_name::is_subdomain(owner, len, suffix.data(), suffix.size())) {
        return std::nullopt;
    }
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < len - suffix.size()) {
        const std::size_t l = owner[pos];
        std::string label;
        for (std::size_t i = 1; i <= l; ++i) label += static_cast<char>(dns::ascii_lower(owner[pos + i]));
        out.push_back(std::move(label));
        pos += l + 1;
    }
    if (pos != len - suffix.size()) return std::nullopt;  // cannot happen: the suffix is whole labels
    return out;
}

// A TXT RDATA's character-strings, joined.
std::string txt_text(std::span<const std::uint8_t> rdata) {
    std::string out;
    for (std::size_t pos = 0; pos < rdata.size();) {
        const std::size_t l = rdata[pos];
        if (pos + 1 + l > rdata.size()) break;
        out.append(reinterpret_cast<const char*>(rdata.data() + pos + 1), l);
        pos += 1 + l;
    }
    return out;
}

std::string printable(const std::string& text) {
    std::string out;
    for (char c : text) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
}

// Group names in the state file: bytes outside '!'..'~' and '%' as %XX.
std::string escape(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (c > ' ' && c < 0x7f && c != '%') {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

std::optional<std::string> unescape(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) return std::nullopt;
        unsigned v = 0;
        if (std::sscanf(text.substr(i + 1, 2).c_str(), "%2x", &v) != 1) return std::nullopt;
        out += static_cast<char>(v);
        i += 2;
    }
    return out;
}

}  // namespace

const CatalogEntry* MemberList::find(const dns::Name& zone) const {
    for (const auto& m : members) {
        if (m.zone.equals(zone)) return &m;
    }
    return nullptr;
}

Result<MemberList> read_catalog(const dns::Name& catalog, const dns::RecordList& records) {
    const std::string c = catalog.to_string();
    auto zones = dns::Name::from_text("zones." + c);
    auto version_owner = dns::Name::from_text("version." + c);
    if (!zones || !version_owner) return make_error("catalog name " + c + " is too long");
    MemberList out;
    bool have_soa = false;
    std::vector<std::string> versions;
    struct Seen {
        std::optional<dns::Name> zone;
        int ptrs = 0;
        std::vector<std::string> groups;
        std::vector<dns::Name> coos;
    };
    std::map<std::string, Seen> by_id;
    for (const auto& r : records.refs()) {
        const std::uint8_t* owner = records.owner(r);
        const std::size_t olen = dns::wire_name::length(owner, dns::kMaxNameLen);
        if (r.type == dns::type::SOA && olen == catalog.size() && dns::wire_name::equal_ci(owner, catalog.data())) {
            auto rd = records.rdata(r);
            const std::size_t m = dns::wire_name::length(rd.data(), rd.size());
            const std::size_t n = m ? dns::wire_name::length(rd.data() + m, rd.size() - m) : 0;
            if (n && m + n + 4 <= rd.size()) {
                const std::uint8_t* s = rd.data() + m + n;
                out.serial =
                    (std::uint32_t(s[0]) << 24) | (std::uint32_t(s[1]) << 16) | (std::uint32_t(s[2]) << 8) | s[3];
                have_soa = true;
            }
            continue;
        }
        if (r.type == dns::type::TXT && olen == version_owner->size() &&
            dns::wire_name::equal_ci(owner, version_owner->data())) {
            versions.push_back(txt_text(records.rdata(r)));
            continue;
        }
        auto labels = labels_below(owner, *zones);
        if (!labels) continue;
        if (labels->size() == 1 && r.type == dns::type::PTR) {
            Seen& s = by_id[(*labels)[0]];
            ++s.ptrs;
            auto target = dns::Name::from_wire(records.rdata(r));
            if (!target) return make_error("member " + (*labels)[0] + " has a malformed PTR target");
            s.zone = *target;
        } else if (labels->size() == 2 && (*labels)[0] == "group" && r.type == dns::type::TXT) {
            by_id[(*labels)[1]].groups.push_back(txt_text(records.rdata(r)));
        } else if (labels->size() == 2 && (*labels)[0] == "coo" && r.type == dns::type::PTR) {
            auto target = dns::Name::from_wire(records.rdata(r));
            if (!target) return make_error("coo of member " + (*labels)[1] + " has a malformed PTR target");
            by_id[(*labels)[1]].coos.push_back(*target);
        }
        // RFC 9432 §4.4: other properties (ext.*, ones we do not know) are ignored.
    }
    if (!have_soa) return make_error("catalog " + c + " has no SOA record at its apex");
    // RFC 9432 §4.2: exactly one version record; we read schema version 2.
    if (versions.empty()) return make_error("catalog " + c + " has no version." + c + " TXT record (RFC 9432 §4.2)");
    if (versions.size() > 1)
        return make_error("catalog " + c + " has " + std::to_string(versions.size()) +
                          " version TXT records; it must have exactly one");
    if (versions[0] != "2") {
        return make_error("catalog " + c + " has schema version \"" + printable(versions[0]) +
                          "\"; only version \"2\" (RFC 9432) is understood");
    }
    std::map<std::string, std::string> id_of;  // lower-cased member name → its ID
    for (auto& [id, s] : by_id) {
        if (!s.zone) continue;  // properties of no member: ignored
        if (s.ptrs > 1)
            return make_error("member ID " + id + " has " + std::to_string(s.ptrs) +
                              " PTR records; RFC 9432 §4.1 allows exactly one");
        if (s.groups.size() > 1)
            return make_error("member " + s.zone->to_string() + " has " + std::to_string(s.groups.size()) +
                              " group properties; at most one is allowed");
        if (s.coos.size() > 1)
            return make_error("member " + s.zone->to_string() + " has " + std::to_string(s.coos.size()) +
                              " coo properties; at most one is allowed");
        if (s.zone->equals(catalog)) return make_error("catalog " + c + " lists itself as a member");
        const std::string key = s.zone->lowered().to_string();
        auto [it, fresh] = id_of.emplace(key, id);
        if (!fresh) {
            return make_error("member " + s.zone->to_string() + " is listed twice (IDs " + it->second + " and " + id +
                              "); RFC 9432 §4.1 allows each zone once");
        }
        CatalogEntry e{*s.zone, id, s.groups.empty() ? std::string() : s.groups[0], std::nullopt};
        if (!s.coos.empty()) e.coo = s.coos[0];
        out.members.push_back(std::move(e));
    }
    return out;
}

std::string consumer_state_path(const std::string& dir, const dns::Name& catalog) {
    // The stored-copy naming (one safe file name per zone), in its own folder.
    std::string p = stored_zone_path(dir, catalog);
    const std::string leaf = std::filesystem::path(p).filename().string();
    return dir + "/catalogs/" + leaf.substr(0, leaf.size() - 4) + "members";
}

Status save_consumer_state(const std::string& dir, const dns::Name& catalog, const ConsumerState& state) {
    std::ostringstream text;
    text << "satellite-catalog-members 1\n";
    if (state.members) {
        text << "serial " << state.members->serial << "\n";
        for (const auto& m : state.members->members) {
            text << "member " << m.zone.to_string() << " " << escape(m.id) << " "
                 << (m.group.empty() ? "-" : "=" + escape(m.group)) << " " << (m.coo ? m.coo->to_string() : "-")
                 << "\n";
        }
    }
    for (const auto& r : state.removed) text << "removed " << r.zone.to_string() << " " << r.purge_at << "\n";
    text << "end\n";
    const std::string path = consumer_state_path(dir, catalog);
    const std::string parent = std::filesystem::path(path).parent_path().string();
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return make_error("cannot create " + parent + ": " + ec.message());
    const std::string tmp = path + ".tmp";
    const std::string body = text.str();
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return make_error("cannot write " + tmp + ": " + std::strerror(errno));
    bool ok = true;
    for (std::size_t done = 0; ok && done < body.size();) {
        ssize_t n = ::write(fd, body.data() + done, body.size() - done);
        if (n < 0 && errno == EINTR) continue;
        ok = n > 0;
        if (ok) done += static_cast<std::size_t>(n);
    }
    ok = ok && ::fsync(fd) == 0;
    const int e = errno;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        return make_error("cannot write " + path + ": " + std::strerror(ok ? errno : e));
    }
    return {};
}

Result<ConsumerState> load_consumer_state(const std::string& dir, const dns::Name& catalog) {
    const std::string path = consumer_state_path(dir, catalog);
    auto text = read_text_nofollow(path);
    ConsumerState out;
    if (!text) {
        if (errno == ENOENT) return out;
        return make_error("cannot read " + path + ": " + std::strerror(errno));
    }
    std::istringstream in(*text);
    std::string line;
    int n = 0;
    bool ended = false;
    auto damaged = [&] { return make_error(path + ":" + std::to_string(n) + ": damaged line"); };
    while (std::getline(in, line)) {
        ++n;
        std::istringstream words(line);
        std::string what;
        words >> what;
        if (n == 1) {
            if (line != "satellite-catalog-members 1") return damaged();
            continue;
        }
        if (what == "end") {
            ended = true;
            break;
        }
        if (what == "serial") {
            if (!out.members) out.members.emplace();
            if (!(words >> out.members->serial)) return damaged();
        } else if (what == "member") {
            std::string zone, id, group, coo;
            if (!(words >> zone >> id >> group >> coo) || !out.members) return damaged();
            auto z = dns::Name::from_text(zone);
            auto i = unescape(id);
            auto g = group == "-"      ? std::optional<std::string>("")
                     : group[0] == '=' ? unescape(group.substr(1))
                                       : std::nullopt;
            if (!z || !i || !g) return damaged();
            CatalogEntry e{*z, *i, *g, std::nullopt};
            if (coo != "-") {
                auto cn = dns::Name::from_text(coo);
                if (!cn) return damaged();
                e.coo = *cn;
            }
            out.members->members.push_back(std::move(e));
        } else if (what == "removed") {
            std::string zone;
            std::int64_t at = 0;
            if (!(words >> zone >> at)) return damaged();
            auto z = dns::Name::from_text(zone);
            if (!z) return damaged();
            out.removed.push_back({*z, at});
        } else {
            return damaged();
        }
    }
    if (!ended) return make_error(path + " is cut short (no end line)");
    return out;
}

}  // namespace satellite::zone
