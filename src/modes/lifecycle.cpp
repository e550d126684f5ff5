#include "modes/lifecycle.hpp"
#include "util/file_io.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "modes/expiry.hpp"

namespace satellite::modes {

namespace {

constexpr const char* kStatusNames[] = {"disabled", "pending_ds", "active", "rotating_zsk", "rotating_ksk",
                                        "pending_disabled"};
constexpr const char* kStateNames[] = {"publish", "ready",      "active",   "retire",     "dead",
                                       "ds_submit", "ds_publish", "ds_ready", "key_publish"};

template <typename E, std::size_t N>
bool parse_enum(const std::string& text, const char* const (&names)[N], E& out) {
    for (std::size_t i = 0; i < N; ++i) {
        if (text == names[i]) {
            out = static_cast<E>(i);
            return true;
        }
    }
    return false;
}

std::string file_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

bool is_key_file(const std::string& name) {
    return name.size() > 4 && name.compare(name.size() - 4, 4, ".key") == 0;
}

// How a key's state maps to what the signer does with it.
void apply_flags(ManagedKey& k) {
    ZoneKey& z = k.key;
    switch (k.state) {
        case KeyState::Publish:
        case KeyState::Ready:
            z.published = true;
            // Double-KSK: a new KSK signs the DNSKEY RRset from the start;
            // a pre-published ZSK does not sign yet.
            z.signing = z.role == KeyRole::Ksk;
            z.in_cds = false;
            break;
        case KeyState::Active:
            z.published = z.signing = z.in_cds = true;
            break;
        case KeyState::DsSubmit:
        case KeyState::DsPublish:
        case KeyState::DsReady:
            // A standby KSK is offered to the parent only: its DNSKEY stays
            // out of the zone until a roll needs it.
            z.published = z.signing = !k.standby;
            z.in_cds = true;
            break;
        case KeyState::KeyPublish:
            // The standby's DS is in every cache: its DNSKEY goes in and it
            // signs the DNSKEY RRset beside the old KSK.
            z.published = z.signing = z.in_cds = true;
            break;
        case KeyState::Retire:
            z.published = true;
            z.signing = z.role == KeyRole::Ksk;  // the old KSK keeps signing DNSKEY while it is there
            z.in_cds = false;
            break;
        case KeyState::Dead:
            z.published = z.signing = z.in_cds = false;
            break;
    }
}

}  // namespace

const char* to_string(DnssecStatus s) { return kStatusNames[static_cast<int>(s)]; }
const char* to_string(KeyState s) { return kStateNames[static_cast<int>(s)]; }

Result<Lifecycle> Lifecycle::load(const std::string& state_dir, const dns::Name& zone) {
    Lifecycle lc;
    lc.state_dir_ = state_dir;
    lc.zone_ = zone;
    lc.dir_ = key_directory(state_dir, zone);
    const std::string path = lc.dir_ + "/state";
    auto f = open_nofollow(path);
    if (!f) {
        // No lifecycle yet. Key files from an earlier build (a KSK and a ZSK
        // signed the zone): adopt them, DS not confirmed.
        if (::access(lc.dir_.c_str(), F_OK) != 0) return lc;
        DIR* d = ::opendir(lc.dir_.c_str());
        bool any = false;
        if (d) {
            while (dirent* e = ::readdir(d)) any |= is_key_file(e->d_name);
            ::closedir(d);
        }
        if (!any) return lc;
        auto keys = load_or_create_keys(state_dir, zone, 0, 0);  // algorithm checked below
        if (!keys && keys.error().message.find("algorithm rollover") == std::string::npos) return keys.error();
        // Read them without the algorithm check: whatever they are is what signs.
        std::vector<ManagedKey> found;
        d = ::opendir(lc.dir_.c_str());
        if (d) {
            while (dirent* e = ::readdir(d)) {
                std::string n = e->d_name;
                if (!is_key_file(n)) continue;
                auto k = read_key_file(lc.dir_ + "/" + n, zone);
                if (!k) {
                    ::closedir(d);
                    return k.error();
                }
                ManagedKey mk;
                mk.key = std::move(*k);
                mk.state = mk.key.role == KeyRole::Ksk ? KeyState::DsSubmit : KeyState::Active;
                mk.published_at = mk.active_at = mk.key.created;
                found.push_back(std::move(mk));
            }
            ::closedir(d);
        }
        lc.keys_ = std::move(found);
        lc.stored_ = !lc.keys_.empty();
        if (!lc.keys_.empty()) {
            lc.algorithm_ = lc.keys_.front().key.key->algorithm();
            lc.status_ = DnssecStatus::PendingDs;
            lc.modified_on_ = lc.keys_.front().key.created;
        }
        return lc;
    }
    lc.stored_ = true;
    auto damaged = [&](const std::string& why) {
        return make_error("DNSSEC state " + path + " is damaged: " + why + "; restore it from a backup");
    };
    std::string line;
    std::vector<std::string> named;
    bool enabling = false;
    while (std::getline(f, line)) {
        if (line.empty() || line[0] == ';') continue;
        std::istringstream in(line);
        std::string word;
        in >> word;
        if (word == "enabling") {
            enabling = true;
        } else if (word == "status") {
            std::string v;
            in >> v;
            if (!parse_enum(v, kStatusNames, lc.status_)) return damaged("unknown status \"" + v + "\"");
        } else if (word == "algorithm") {
            in >> lc.algorithm_;
        } else if (word == "unsign_at") {
            in >> lc.unsign_at_;
        } else if (word == "modified_on") {
            in >> lc.modified_on_;
        } else if (word == "key") {
            std::string file, state;
            ManagedKey mk;
            in >> file >> state >> mk.published_at >> mk.active_at >> mk.retire_at >> mk.next_transition;
            if (!in) return damaged("bad key line \"" + line + "\"");
            if (!parse_enum(state, kStateNames, mk.state)) return damaged("unknown key state \"" + state + "\"");
            std::string flag;
            if (in >> flag) {
                if (flag != "standby") return damaged("unknown key flag \"" + flag + "\"");
                mk.standby = true;
            }
            // A name from the state file becomes a path: one plain file in
            // the zone's key directory, nothing else.
            if (!is_key_file(file) || file.find('/') != std::string::npos || file.find("..") != std::string::npos ||
                file.front() == '.') {
                return damaged("key file name \"" + file + "\" is not a plain key file name");
            }
            auto k = read_key_file(lc.dir_ + "/" + file, zone);
            if (!k) return k.error();
            mk.key = std::move(*k);
            apply_flags(mk);
            lc.keys_.push_back(std::move(mk));
            named.push_back(file);
        } else {
            return damaged("unexpected line \"" + line + "\"");
        }
    }
    if (lc.modified_on_ == 0 && lc.status_ != DnssecStatus::Disabled) {
        // A state written before modified_on was kept: its last write is the
        // best estimate of the last status change.
        struct stat st{};
        if (::stat(path.c_str(), &st) == 0) lc.modified_on_ = st.st_mtim.tv_sec;
    }
    if (enabling) {
        // The process stopped inside enable(): nothing was decided, so the
        // config's `enabled` may start it again.
        lc.stored_ = false;
        lc.warnings_.push_back("DNSSEC enable of " + zone.to_string() +
                               " did not finish (the process stopped); the zone starts disabled");
    }
    // A key file the state does not name was made just before a crash (the
    // state naming it was not saved), or its key was dropped just before one
    // (the state was saved, the file not yet deleted). It signs nothing.
    if (DIR* d = ::opendir(lc.dir_.c_str())) {
        while (dirent* e = ::readdir(d)) {
            const std::string n = e->d_name;
            if (!is_key_file(n) || std::find(named.begin(), named.end(), n) != named.end()) continue;
            lc.warnings_.push_back("key file " + lc.dir_ + "/" + n + " is not named by " + path +
                                   " (left by an interrupted key change); it is not used: delete it once "
                                   "no backup needs it");
        }
        ::closedir(d);
    }
    return lc;
}

Status Lifecycle::save() {
    auto dir = prepare_key_directory(state_dir_, zone_);
    if (!dir) return dir.error();
    std::ostringstream out;
    out << "; Satellite DNSSEC state of " << zone_.to_string() << " Written by satellited; do not edit.\n"
        << "status " << to_string(status_) << "\n"
        << "algorithm " << algorithm_ << "\n";
    if (enabling_) out << "enabling\n";
    if (unsign_at_) out << "unsign_at " << unsign_at_ << "\n";
    if (modified_on_) out << "modified_on " << modified_on_ << "\n";
    for (const auto& k : keys_) {
        out << "key " << file_name(k.key.path) << " " << to_string(k.state) << " " << k.published_at << " "
            << k.active_at << " " << k.retire_at << " " << k.next_transition << (k.standby ? " standby" : "") << "\n";
    }
    if (auto s = write_private_file(dir_ + "/state", out.str()); !s) return s;
    if (retired_files_.empty()) return {};
    // Only now that the state on disk no longer names them (see lifecycle.hpp).
    for (const auto& path : retired_files_) {
        const bool held = std::any_of(keys_.begin(), keys_.end(), [&](const auto& k) { return k.key.path == path; });
        if (!held) ::unlink(path.c_str());
    }
    retired_files_.clear();
    return fsync_directory(*dir);
}

ZoneKeys Lifecycle::signing_keys() const {
    ZoneKeys out;
    for (const auto& k : keys_) {
        if (k.state != KeyState::Dead) out.keys.push_back(k.key);
    }
    out.cds_delete = status_ == DnssecStatus::PendingDisabled;
    return out;
}

std::vector<DsRecord> Lifecycle::ds_records() const {
    std::vector<DsRecord> out;
    for (const auto& k : keys_) {
        if (k.key.role != KeyRole::Ksk || !k.key.in_cds) continue;
        auto rd = dns::ds_rdata(zone_, k.key.dnskey, 2);
        if (rd.size() < 4) continue;
        out.push_back({k.key.tag, rd[2], rd[3], {rd.begin() + 4, rd.end()}});
    }
    return out;
}

Result<ManagedKey> Lifecycle::make_key(KeyRole role, std::int64_t now) {
    auto dir = prepare_key_directory(state_dir_, zone_);
    if (!dir) return dir.error();
    auto k = generate_key(*dir, zone_, role, static_cast<std::uint8_t>(algorithm_), now);
    if (!k) return k.error();
    ManagedKey mk;
    mk.key = std::move(*k);
    mk.published_at = now;
    return mk;
}

void Lifecycle::set_status(DnssecStatus s, std::int64_t now) {
    if (s == status_) return;
    status_ = s;
    modified_on_ = now;
}

Outcome Lifecycle::enable(int algorithm, std::int64_t now) {
    if (status_ != DnssecStatus::Disabled) {
        return {Refusal::Conflict, std::string("DNSSEC is already enabled (status ") + to_string(status_) + ")"};
    }
    constexpr int kAlgorithms[] = {8, 10, 13, 14, 15};
    if (std::find(std::begin(kAlgorithms), std::end(kAlgorithms), algorithm) == std::end(kAlgorithms)) {
        return {Refusal::Invalid, "algorithm " + std::to_string(algorithm) + " is not supported; use 8, 10, 13, 14 or 15"};
    }
    // Leftovers of an earlier life of this zone are not ours any more.
    for (const auto& k : keys_) retired_files_.push_back(k.key.path);
    keys_.clear();
    algorithm_ = algorithm;
    unsign_at_ = 0;
    // "enabling" is on disk before the first new key file, so a crash in
    // between leaves key files the state does not name, not what would look
    // like an earlier build's keys to adopt.
    enabling_ = true;
    if (auto s = save(); !s) return {Refusal::Storage, s.error().message};
    // The zone is not yet secure at the parent: both keys can sign at once.
    std::vector<ManagedKey> made;
    for (KeyRole role : {KeyRole::Ksk, KeyRole::Zsk}) {
        auto mk = make_key(role, now);
        if (!mk) {
            for (const auto& k : made) ::unlink(k.key.path.c_str());  // no state names it
            return {Refusal::Storage, mk.error().message};
        }
        mk->state = role == KeyRole::Ksk ? KeyState::DsSubmit : KeyState::Active;
        mk->active_at = now;
        apply_flags(*mk);
        made.push_back(std::move(*mk));
    }
    keys_ = std::move(made);
    enabling_ = false;
    set_status(DnssecStatus::PendingDs, now);
    stored_ = true;
    if (auto s = save(); !s) return {Refusal::Storage, s.error().message};
    return {Refusal::None, "DNSSEC enabled"};
}

Outcome Lifecycle::disable(std::int64_t now) {
    (void)now;
    if (status_ == DnssecStatus::PendingDs) {
        // No DS was ever confirmed at the parent: nothing to wait for.
        for (const auto& k : keys_) retired_files_.push_back(k.key.path);
        keys_.clear();
        set_status(DnssecStatus::Disabled, now);
        if (auto s = save(); !s) return {Refusal::Storage, s.error().message};
        return {Refusal::None, "DNSSEC disabled"};
    }
    if (status_ != DnssecStatus::Active) {
        return {Refusal::Conflict, std::string("cannot disable DNSSEC while ") + to_string(status_) +
                         (status_ == DnssecStatus::Disabled ? "" : "; let the operation in progress finish first")};
    }
    set_status(DnssecStatus::PendingDisabled, now);
    if (auto s = save(); !s) return {Refusal::Storage, s.error().message};
    return {Refusal::None, "DNSSEC disable requested: the zone stays signed and CDS/CDNSKEY ask the parent to remove "
                 "the DS (RFC 8078); call confirm-ds-removed once the DS is gone"};
}

Outcome Lifecycle::rotate_zsk(std::int64_t now, const LifecycleTiming& t) {
    if (status_ != DnssecStatus::Active) {
        return {Refusal::Conflict, std::string("cannot rotate the ZSK while ") + to_string(status_)};
    }
    auto mk = make_key(KeyRole::Zsk, now);
    if (!mk) return {Refusal::Storage, mk.error().message};
    mk->state = KeyState::Publish;
    // RFC 7583 §3.2.1 Ipub; multi-signer adds the time the other providers
    // take to publish the new key too (RFC 8901 §8).
    mk->next_transition = now + t.dnskey_ttl + t.propagation_delay + t.peer_publish_delay;
    apply_flags(*mk);
    keys_.push_back(std::move(*mk));
    set_status(DnssecStatus::RotatingZsk, now);
    if (auto s = save(); !s) return {Refusal::Storage, s.error().message};
    return {Refusal::None, "ZSK rollover started: the new ZSK is published and becomes active once caches have seen it"};
}

Outcome Lifecycle::rotate_ksk(std::int64_t now, const LifecycleTiming& t) {
    if (status_ != DnssecStatus::Active) {
        return {Refusal::Conflict, std::string("cannot rotate the KSK while ") + to_string(status_)};
    }
    ManagedKey* spare = nullptr;
    for (auto& k : keys_) {
        if (k.key.role != KeyRole::Ksk) continue;
        if (k.standby) {
            spare = &k;
        } else if (k.state == KeyState::Retire || k.state == KeyState::DsPublish || k.state == KeyState::KeyPublish) {
            return {Refusal::Conflict, "the previous KSK rollover is still finishing (KSK " + std::to_string(k.key.tag) + " " +
                             to_string(k.state) + "); try again once it is done"};
        }
    }
    if (spare) return roll_to_standby(*spare, now, t);
    auto mk = make_key(KeyRole::Ksk, now);
    if (!mk) return {Refusal::Storage, mk.error().message};
    // Double-KSK (RFC 7583 §3.3.2): the new KSK's DNSKEY is published at
    // once; its DS may reach the parent (CDS names it, confirm-ds-published
    // accepts it) only once every cache holding the old DNSKEY RRset has
    // fetched the new one: DNSKEY TTL + propagation delay (Ipub). The old
    // KSK goes only after the parent's new DS set has propagated.
    mk->state = KeyState::Publish;
    mk->next_transition = now + t.dnskey_ttl + t.propagation_delay;
    apply_flags(*mk);
    const std::int64_t after = mk->next_transition;
    keys_.push_back(std::move(*mk));
    set_status(DnssecStatus::RotatingKsk, now);
    if (auto s = save(); !s) return {Refusal::Storage, s.error().message};
    return {Refusal::None, "KSK rollover started: the new KSK is published now; publish its DS at the parent "
                           "from " + utc_time(after) + " (DNSKEY TTL + propagation delay), then confirm it"};
}

// The standby KSK takes over. Its DS is at the parent (ds_ready), or on its
// way (ds_publish): its DNSKEY goes in now and it becomes the KSK once both
// have reached the caches. Not yet confirmed (ds_submit): it is published
// and the roll goes on as a double-KSK roll, waiting for its DS.
Outcome Lifecycle::roll_to_standby(ManagedKey& k, std::int64_t now, const LifecycleTiming& t) {
    const std::string tag = std::to_string(k.key.tag);
    std::string message;
    k.standby = false;
    k.published_at = now;
    if (k.state == KeyState::DsSubmit) {
        message = "KSK rollover started with the standby KSK " + tag +
                  ", whose DS is not confirmed yet: it is published now; publish its DS at the parent, then "
                  "confirm it";
    } else {
        const std::int64_t published = now + t.dnskey_ttl + t.propagation_delay;
        k.next_transition = k.state == KeyState::DsPublish ? std::max(k.next_transition, published) : published;
        k.state = KeyState::KeyPublish;
        message = "KSK rollover started with the standby KSK " + tag +
                  ": its DS is already at the parent; it is published now and becomes the KSK in " +
                  std::to_string(k.next_transition - now) + " s, once caches have its DNSKEY";
    }
    apply_flags(k);
    set_status(DnssecStatus::RotatingKsk, now);
    if (auto s = save(); !s) return {Refusal::Storage, s.error().message};
    return {Refusal::None, message};
}

Outcome Lifecycle::confirm_ds_published(const std::vector<DsRecord>& ds, std::int64_t now, const LifecycleTiming& t) {
    // Every DS given must match one of our KSKs (RFC 4034 §5.2 digest).
    ManagedKey* waiting = nullptr;
    for (auto& k : keys_) {
        if (k.key.role == KeyRole::Ksk && k.state == KeyState::DsSubmit) waiting = &k;
    }
    const bool for_standby = waiting && waiting->standby && status_ == DnssecStatus::Active;
    if (!waiting && status_ == DnssecStatus::RotatingKsk) {
        for (const auto& k : keys_) {
            if (k.key.role == KeyRole::Ksk && !k.standby && k.state == KeyState::Publish) {
                return {Refusal::Conflict, "the new KSK " + std::to_string(k.key.tag) +
                                               " is not yet in every cache's DNSKEY RRset: its DS may be "
                                               "published at the parent only from " +
                                               utc_time(k.next_transition) + "; confirm after that"};
            }
        }
    }
    if (!for_standby && status_ != DnssecStatus::PendingDs && (status_ != DnssecStatus::RotatingKsk || !waiting)) {
        return {Refusal::Conflict, std::string("nothing awaits a DS confirmation (status ") + to_string(status_) + ")"};
    }
    if (ds.empty()) return {Refusal::Invalid, "no DS records given"};
    bool names_waiting = false;
    for (const auto& d : ds) {
        bool matched = false;
        for (const auto& k : keys_) {
            if (k.key.role != KeyRole::Ksk || k.state == KeyState::Dead) continue;
            if (k.key.tag != d.key_tag || k.key.key->algorithm() != d.algorithm) continue;
            auto rd = dns::ds_rdata(zone_, k.key.dnskey, d.digest_type);
            if (rd.size() > 4 && std::equal(rd.begin() + 4, rd.end(), d.digest.begin(), d.digest.end())) {
                matched = true;
                names_waiting |= waiting && &k == waiting;
            }
        }
        if (!matched) {
            return {Refusal::Invalid, "DS " + std::to_string(d.key_tag) + " " + std::to_string(d.algorithm) + " " +
                             std::to_string(d.digest_type) + " does not match a KSK of this zone"};
        }
    }
    if (waiting && !names_waiting) {
        return {Refusal::Invalid, "the DS records do not include the KSK " + std::to_string(waiting->key.tag) +
                         " that awaits confirmation"};
    }
    if (for_standby) {
        // The standby is ready once the parent's new DS set is in the caches.
        waiting->state = KeyState::DsPublish;
        waiting->next_transition = now + t.parent_ds_ttl + t.propagation_delay;
        apply_flags(*waiting);
        if (auto s = save(); !s) return {Refusal::Storage, s.error().message};
        return {Refusal::None, "DS publication of the standby KSK " + std::to_string(waiting->key.tag) +
                         " confirmed; it is ready for a KSK rollover in " +
                         std::to_string(waiting->next_transition - now) + " s"};
    }
    if (status_ == DnssecStatus::PendingDs) {
        for (auto& k : keys_) {
            if (k.key.role == KeyRole::Ksk && k.state == KeyState::DsSubmit) {
                k.state = KeyState::Active;
                apply_flags(k);
            }
        }
    } else {
        // The new DS must reach the resolvers' caches before the old KSK goes.
        waiting->state = KeyState::DsPublish;
        waiting->next_transition = now + t.parent_ds_ttl + t.propagation_delay;
        apply_flags(*waiting);
    }
    set_status(DnssecStatus::Active, now);
    if (auto s = save(); !s) return {Refusal::Storage, s.error().message};
    return {Refusal::None, "DS publication confirmed"};
}

Outcome Lifecycle::confirm_ds_removed(std::int64_t now, const LifecycleTiming& t) {
    if (status_ != DnssecStatus::PendingDisabled || unsign_at_ != 0) {
        return {Refusal::Conflict, std::string("nothing awaits a DS removal (status ") + to_string(status_) +
                         (unsign_at_ ? ", removal already confirmed" : "") + ")"};
    }
    // Resolvers may hold the old DS for its TTL: stay signed until it is gone.
    unsign_at_ = now + t.parent_ds_ttl + t.propagation_delay;
    if (auto s = save(); !s) return {Refusal::Storage, s.error().message};
    return {Refusal::None, "DS removal confirmed: the zone goes unsigned and its keys are deleted in " +
                     std::to_string(unsign_at_ - now) + " s, once caches have dropped the DS"};
}

void Lifecycle::remove_dead() {
    for (auto it = keys_.begin(); it != keys_.end();) {
        if (it->state == KeyState::Dead) {
            retired_files_.push_back(it->key.path);  // deleted by the next save
            it = keys_.erase(it);
        } else {
            ++it;
        }
    }
}

bool Lifecycle::advance(std::int64_t now, const LifecycleTiming& t, const PeersPublish& peers_publish) {
    bool changed = false;
    if (status_ == DnssecStatus::PendingDisabled && unsign_at_ != 0 && unsign_at_ <= now) {
        for (const auto& k : keys_) retired_files_.push_back(k.key.path);
        keys_.clear();
        unsign_at_ = 0;
        set_status(DnssecStatus::Disabled, now);
        (void)save();
        return true;
    }
    for (std::size_t i = 0; i < keys_.size(); ++i) {
        ManagedKey& k = keys_[i];
        if (k.next_transition == 0 || k.next_transition > now) continue;
        switch (k.state) {
            case KeyState::Publish:
                // Multi-signer: not before every other provider serves it.
                if (k.key.role == KeyRole::Zsk && peers_publish && !peers_publish(k.key)) continue;
                if (k.key.role == KeyRole::Zsk) {
                    // The new ZSK is in every cache: it signs, the old one retires.
                    for (auto& old : keys_) {
                        if (&old != &k && old.key.role == KeyRole::Zsk && old.state == KeyState::Active) {
                            old.state = KeyState::Retire;
                            old.retire_at = now;
                            // Signatures by the old key stay in caches up to the largest TTL.
                            old.next_transition = now + t.max_zone_ttl + t.propagation_delay;
                            apply_flags(old);
                        }
                    }
                    k.state = KeyState::Active;
                    k.active_at = now;
                    k.next_transition = 0;
                } else {
                    // A new KSK's DNSKEY is in every cache: its DS may go to the parent now.
                    k.state = KeyState::DsSubmit;
                    k.next_transition = 0;
                }
                break;
            case KeyState::DsPublish:
                if (k.standby) {
                    k.state = KeyState::DsReady;
                    k.next_transition = 0;
                    break;
                }
                [[fallthrough]];
            case KeyState::KeyPublish:
                for (auto& old : keys_) {
                    if (&old != &k && old.key.role == KeyRole::Ksk && !old.standby &&
                        (old.state == KeyState::Active || old.state == KeyState::DsSubmit)) {
                        old.state = KeyState::Retire;
                        old.retire_at = now;
                        old.next_transition = now + t.dnskey_ttl + t.propagation_delay;
                        apply_flags(old);
                    }
                }
                k.state = KeyState::Active;
                k.active_at = now;
                k.next_transition = 0;
                break;
            case KeyState::Retire:
                k.state = KeyState::Dead;
                k.next_transition = 0;
                break;
            default:
                k.next_transition = 0;
                break;
        }
        apply_flags(k);
        changed = true;
    }
    if (changed) {
        remove_dead();
        if (status_ == DnssecStatus::RotatingZsk) {
            bool rolling = false;
            for (const auto& k : keys_) {
                rolling |= k.key.role == KeyRole::Zsk && k.state != KeyState::Active;
            }
            if (!rolling) set_status(DnssecStatus::Active, now);
        }
        if (status_ == DnssecStatus::RotatingKsk) {
            bool rolling = false;
            for (const auto& k : keys_) {
                rolling |= k.key.role == KeyRole::Ksk && !k.standby &&
                           (k.state == KeyState::Publish || k.state == KeyState::DsSubmit ||
                            k.state == KeyState::KeyPublish);
            }
            if (!rolling) set_status(DnssecStatus::Active, now);
        }
    }
    // Scheduled rollovers.
    if (status_ == DnssecStatus::Active && t.zsk_lifetime > 0) {
        for (const auto& k : keys_) {
            if (k.key.role == KeyRole::Zsk && k.state == KeyState::Active &&
                k.active_at + t.zsk_lifetime <= now) {
                changed |= rotate_zsk(now, t).ok();
                break;
            }
        }
    }
    if (status_ == DnssecStatus::Active && t.ksk_lifetime > 0) {
        for (const auto& k : keys_) {
            if (k.key.role == KeyRole::Ksk && k.state == KeyState::Active &&
                k.active_at + t.ksk_lifetime <= now) {
                changed |= rotate_ksk(now, t).ok();
                break;
            }
        }
    }
    changed |= keep_standby(now, t);
    if (changed) (void)save();
    return changed;
}

// standby_ksk: one standby KSK once the zone is active and no KSK roll is
// under way; without it, a standby that is not yet in use is dropped (its DS
// leaves CDS; a DS without its DNSKEY harms no validation).
bool Lifecycle::keep_standby(std::int64_t now, const LifecycleTiming& t) {
    if (!t.standby_ksk) {
        bool dropped = false;
        for (auto& k : keys_) {
            if (k.standby) {
                k.state = KeyState::Dead;
                dropped = true;
            }
        }
        if (dropped) remove_dead();
        return dropped;
    }
    if (status_ != DnssecStatus::Active || standby()) return false;
    for (const auto& k : keys_) {
        if (k.key.role == KeyRole::Ksk && k.state != KeyState::Active) return false;
    }
    auto mk = make_key(KeyRole::Ksk, now);
    if (!mk) return false;  // tried again at the next signing
    mk->state = KeyState::DsSubmit;
    mk->standby = true;
    apply_flags(*mk);
    keys_.push_back(std::move(*mk));
    return true;
}

const ManagedKey* Lifecycle::standby() const {
    for (const auto& k : keys_) {
        if (k.standby) return &k;
    }
    return nullptr;
}

std::int64_t Lifecycle::ds_publish_after() const {
    if (status_ != DnssecStatus::RotatingKsk) return 0;
    for (const auto& k : keys_) {
        if (k.key.role == KeyRole::Ksk && !k.standby && k.state == KeyState::Publish) return k.next_transition;
    }
    return 0;
}

bool Lifecycle::awaiting_ds() const {
    if (status_ != DnssecStatus::PendingDs && status_ != DnssecStatus::RotatingKsk &&
        status_ != DnssecStatus::Active) {
        return false;
    }
    for (const auto& k : keys_) {
        if (k.key.role == KeyRole::Ksk && k.state == KeyState::DsSubmit) return true;
    }
    return false;
}

const ManagedKey* Lifecycle::awaiting_peers(std::int64_t now) const {
    for (const auto& k : keys_) {
        if (k.key.role == KeyRole::Zsk && k.state == KeyState::Publish && k.next_transition != 0 &&
            k.next_transition <= now) {
            return &k;
        }
    }
    return nullptr;
}

std::int64_t Lifecycle::next_event(const LifecycleTiming& t) const {
    std::int64_t next = 0;
    auto consider = [&](std::int64_t when) {
        if (when > 0 && (next == 0 || when < next)) next = when;
    };
    consider(unsign_at_);
    for (const auto& k : keys_) {
        consider(k.next_transition);
        if (status_ == DnssecStatus::Active && k.state == KeyState::Active) {
            if (k.key.role == KeyRole::Zsk && t.zsk_lifetime > 0) consider(k.active_at + t.zsk_lifetime);
            if (k.key.role == KeyRole::Ksk && t.ksk_lifetime > 0) consider(k.active_at + t.ksk_lifetime);
        }
    }
    return next;
}

}  // namespace satellite::modes
