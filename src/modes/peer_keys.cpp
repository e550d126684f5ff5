#include "modes/peer_keys.hpp"
#include "util/file_io.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dns/dnssec.hpp"
#include "dns/records.hpp"
#include "dns/zonefile.hpp"

namespace satellite::modes {

namespace {

constexpr const char* kFileName = "peer-keys";

bool supported_algorithm(int alg) { return alg == 8 || alg == 10 || alg == 13 || alg == 14 || alg == 15; }

std::string hex(std::span<const std::uint8_t> in) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(in.size() * 2);
    for (std::uint8_t b : in) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

bool unhex(const std::string& text, std::vector<std::uint8_t>& out) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    if (text.size() % 2) return false;
    out.clear();
    for (std::size_t i = 0; i < text.size(); i += 2) {
        int hi = nibble(text[i]), lo = nibble(text[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
    }
    return true;
}

bool same(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace

Status check_peer_key(std::span<const std::uint8_t> rd, int algorithm,
                      const std::vector<std::vector<std::uint8_t>>& ours) {
    if (rd.size() < 5) return make_error("the DNSKEY is too short");
    const unsigned flags = static_cast<unsigned>(rd[0] << 8 | rd[1]);
    const int protocol = rd[2], alg = rd[3];
    if (protocol != 3) return make_error("protocol is " + std::to_string(protocol) + "; RFC 4034 §2.1.2 requires 3");
    if (flags & 0x0080) return make_error("the key is revoked (flags " + std::to_string(flags) + ", RFC 5011)");
    if (flags != 256 && flags != 257) {
        return make_error("flags " + std::to_string(flags) +
                          " are not those of a zone signing key (256) or key signing key (257)");
    }
    if (!supported_algorithm(alg)) {
        return make_error("algorithm " + std::to_string(alg) + " is not supported (8, 10, 13, 14 or 15)");
    }
    if (alg != algorithm) {
        return make_error("algorithm " + std::to_string(alg) + " differs from the zone's algorithm " +
                          std::to_string(algorithm) +
                          "; every provider must sign with the same algorithm (RFC 8901 §7, RFC 4035 §2.2)");
    }
    if (auto s = dns::check_public_key(static_cast<std::uint8_t>(alg), rd.subspan(4)); !s) return s;
    for (const auto& o : ours) {
        if (same(o, rd)) return make_error("key " + std::to_string(dns::key_tag(rd)) + " is this server's own key");
    }
    return {};
}

Result<std::vector<std::uint8_t>> parse_peer_dnskey(const std::string& text, const dns::Name& zone,
                                                    int algorithm,
                                                    const std::vector<std::vector<std::uint8_t>>& ours) {
    if (text.find('\n') != std::string::npos || text.find('$') != std::string::npos) {
        return make_error("\"" + text + "\" must be one DNSKEY record on one line");
    }
    auto parsed = dns::parse_records(text, zone);
    if (!parsed) return make_error("\"" + text + "\" is not a DNSKEY record: " + parsed.error().message);
    if (parsed->size() != 1) return make_error("\"" + text + "\" must be exactly one DNSKEY record");
    const dns::RecordRef& r = (*parsed)[0];
    if (r.type != dns::type::DNSKEY) return make_error("\"" + text + "\" is not a DNSKEY record");
    if (r.rclass != 1) return make_error("\"" + text + "\" is not of class IN");
    auto owner = dns::Name::from_wire({parsed->owner(r), r.owner_len});
    if (!owner || !owner->equals(zone)) {
        return make_error("owner " + (owner ? owner->to_string() : std::string("?")) + " is not the zone " +
                          zone.to_string());
    }
    auto rd = parsed->rdata(r);
    if (auto s = check_peer_key(rd, algorithm, ours); !s) {
        return make_error("key " + std::to_string(rd.size() >= 4 ? dns::key_tag(rd) : 0) + ": " + s.error().message);
    }
    return std::vector<std::uint8_t>(rd.begin(), rd.end());
}

std::string dnskey_text(const dns::Name& zone, std::uint32_t ttl, std::span<const std::uint8_t> rd) {
    if (rd.size() < 4) return {};
    const unsigned flags = static_cast<unsigned>(rd[0] << 8 | rd[1]);
    return zone.to_string() + " " + std::to_string(ttl) + " IN DNSKEY " + std::to_string(flags) + " " +
           std::to_string(rd[2]) + " " + std::to_string(rd[3]) + " " +
           base64(std::vector<std::uint8_t>(rd.begin() + 4, rd.end()));
}

Result<PeerKeys> PeerKeys::load(const std::string& state_dir, const dns::Name& zone) {
    PeerKeys out;
    out.state_dir_ = state_dir;
    out.zone_ = zone;
    out.path_ = key_directory(state_dir, zone) + "/" + kFileName;
    auto in = open_nofollow(out.path_);
    if (!in) {
        if (errno == ENOENT) return out;
        return make_error("cannot read " + out.path_ + ": " + std::strerror(errno));
    }
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.empty() || line[0] == ';') continue;
        std::istringstream words(line);
        std::string word, rdata_hex;
        PeerKey k;
        words >> word >> k.source >> k.added_at >> rdata_hex;
        if (word != "peer" || (k.source != "api" && k.source != "primary") || !unhex(rdata_hex, k.dnskey) ||
            k.dnskey.size() < 5) {
            return make_error(out.path_ + ":" + std::to_string(n) + ": damaged line \"" + line +
                              "\"; fix or remove it (the peers' keys can be imported again)");
        }
        k.tag = dns::key_tag(k.dnskey);
        out.keys_.push_back(std::move(k));
    }
    return out;
}

Status PeerKeys::save() const {
    if (auto dir = prepare_key_directory(state_dir_, zone_); !dir) return dir.error();
    std::ostringstream out;
    out << "; Satellite multi-signer peer keys: source, added (unix time), DNSKEY RDATA in hex.\n"
        << "; Written by satellited; change them through the API.\n";
    for (const auto& k : keys_) {
        out << "peer " << k.source << " " << k.added_at << " " << hex(k.dnskey) << " ; tag " << k.tag << "\n";
    }
    return write_private_file(path_, out.str());
}

std::size_t PeerKeys::add(const std::vector<std::vector<std::uint8_t>>& rdatas, const std::string& source,
                          std::int64_t now) {
    std::size_t added = 0;
    for (const auto& rd : rdatas) {
        if (std::any_of(keys_.begin(), keys_.end(), [&](const PeerKey& k) { return same(k.dnskey, rd); })) continue;
        keys_.push_back({rd, dns::key_tag(rd), source, now});
        ++added;
    }
    return added;
}

std::size_t PeerKeys::remove_tag(std::uint16_t tag) {
    const std::size_t before = keys_.size();
    std::erase_if(keys_, [&](const PeerKey& k) { return k.tag == tag; });
    return before - keys_.size();
}

std::size_t PeerKeys::remove(std::span<const std::uint8_t> rdata) {
    const std::size_t before = keys_.size();
    std::erase_if(keys_, [&](const PeerKey& k) { return same(k.dnskey, rdata); });
    return before - keys_.size();
}

bool PeerKeys::set_from_primary(const std::vector<std::vector<std::uint8_t>>& rdatas, std::int64_t now) {
    const std::size_t before = keys_.size();
    std::erase_if(keys_, [&](const PeerKey& k) {
        return k.source == "primary" &&
               std::none_of(rdatas.begin(), rdatas.end(), [&](const auto& rd) { return same(rd, k.dnskey); });
    });
    const bool removed = keys_.size() != before;
    return add(rdatas, "primary", now) > 0 || removed;
}

void PeerKeys::add_to(ZoneKeys& out) const {
    for (const auto& k : keys_) {
        ZoneKey zk;
        zk.role = k.is_ksk() ? KeyRole::Ksk : KeyRole::Zsk;
        zk.dnskey = k.dnskey;
        zk.tag = k.tag;
        zk.created = k.added_at;
        zk.published = true;
        zk.signing = false;
        zk.in_cds = k.is_ksk();
        out.keys.push_back(std::move(zk));
    }
}

}  // namespace satellite::modes
