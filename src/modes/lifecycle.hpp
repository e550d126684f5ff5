// A live zone's DNSSEC lifecycle (DESIGN.md §4): the zone's status and each
// key's state, moved by operator calls (enable, disable, rotate, confirm DS)
// and by time (RFC 7583 timings: a key is used only once the caches that
// matter have seen what they need). Pure: time comes in as `now`; the state
// is saved beside the keys and survives restarts, so a rollover resumes
// where it stopped. Crash safety: a key file is written before the state
// names it and deleted only after a saved state no longer does, so a crash
// at any point leaves at worst a key file the state does not name (ignored
// on load), never a state naming a file that is gone.
//
//   disabled ─enable─► pending_ds ─confirm-ds─► active ─rotate-zsk─► rotating_zsk ─(old ZSK gone)─► active
//                         │                       │  └─rotate-ksk─► rotating_ksk ─confirm-ds─► active
//                         └─disable─► disabled    └─disable─► pending_disabled ─confirm-ds-removed, DS TTL─► disabled
//
//   ZSK (pre-publication, RFC 7583 §3.2): publish ─(DNSKEY TTL + delay)─► active; old: retire ─(max TTL + delay)─► dead
//   KSK (double-KSK, §3.3): publish ─(DNSKEY TTL + delay)─► ds_submit ─confirm─► ds_publish ─(DS TTL + delay)─► active;
//                           old: retire ─(DNSKEY TTL + delay)─► dead
//   Standby KSK (RFC 7583 §3.3.1 double-DS, kept ready; OpenDNSSEC's states): its DS goes to the
//   parent before its DNSKEY goes in the zone, so a roll needs no wait on the parent:
//     ds_submit ─confirm─► ds_publish ─(DS TTL + delay)─► ds_ready ─rotate-ksk─► key_publish
//     ─(DNSKEY TTL + delay)─► active; the old KSK retires, and a new standby starts in ds_submit.
//   A standby is in CDS/CDNSKEY (the DS set the parent should hold, RFC 7344 §3) but not in DNSKEY.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "modes/keys.hpp"
#include "util/result.hpp"

namespace satellite::modes {

enum class DnssecStatus { Disabled, PendingDs, Active, RotatingZsk, RotatingKsk, PendingDisabled };
const char* to_string(DnssecStatus s);

enum class KeyState { Publish, Ready, Active, Retire, Dead, DsSubmit, DsPublish, DsReady, KeyPublish };
const char* to_string(KeyState s);

struct ManagedKey {
    ZoneKey key;
    KeyState state = KeyState::Active;
    std::int64_t published_at = 0;
    std::int64_t active_at = 0;
    std::int64_t retire_at = 0;
    std::int64_t next_transition = 0;  // 0: waits for an operator (or nothing)
    bool standby = false;  // a standby KSK: DS at the parent, DNSKEY not yet in the zone
};

struct LifecycleTiming {
    std::uint32_t dnskey_ttl = 3600;
    std::uint32_t max_zone_ttl = 86400;
    std::uint32_t propagation_delay = 3600;
    std::uint32_t parent_ds_ttl = 86400;
    std::uint32_t zsk_lifetime = 90 * 86400;  // 0: roll only on request
    std::uint32_t ksk_lifetime = 0;
    std::uint32_t peer_publish_delay = 0;  // multi-signer: a new ZSK waits for the peers too
    bool standby_ksk = false;  // keep a standby KSK whose DS is already at the parent
};

// Multi-signer: whether every other provider now serves this key of ours in
// its DNSKEY RRset. Empty: no one to wait for.
using PeersPublish = std::function<bool(const ZoneKey&)>;

struct DsRecord {
    std::uint16_t key_tag = 0;
    std::uint8_t algorithm = 0;
    std::uint8_t digest_type = 0;
    std::vector<std::uint8_t> digest;
};

// An operator call's result in HTTP terms: 200, 400 (bad input), 409
// (not allowed in this state), 500 (disk or crypto failure).
// Why a lifecycle request was refused, in the lifecycle's own terms (the
// API maps these to HTTP statuses; DESIGN.md §5).
enum class Refusal {
    None,      // done
    Invalid,   // the request is wrong (an unsupported algorithm, DS records that do not match)
    Conflict,  // not in this state (already enabled, a roll under way)
    Storage,   // the state or a key could not be written
};

struct Outcome {
    Refusal refused = Refusal::None;
    std::string message;
    bool ok() const { return refused == Refusal::None; }
};

class Lifecycle {
public:
    // Reads <state_dir>/keys/<zone>/state and the key files it names. With
    // no state file: key files from an earlier build are adopted
    // (pending_ds); otherwise the zone starts disabled. Key files the state
    // does not name are left alone and reported in warnings().
    static Result<Lifecycle> load(const std::string& state_dir, const dns::Name& zone);
    // Writes the state (atomically, synced), then deletes the key files of
    // keys it no longer holds.
    Status save();
    // What load found and worked around (key files the state does not name,
    // an enable cut short): worth a log line, not a failure.
    const std::vector<std::string>& warnings() const { return warnings_; }

    DnssecStatus status() const { return status_; }
    // When the status last changed (unix seconds); 0 when DNSSEC was never
    // enabled on the zone (seed 000's `"modified_on": null`).
    std::int64_t modified_on() const { return modified_on_; }
    int algorithm() const { return algorithm_; }
    const std::vector<ManagedKey>& keys() const { return keys_; }
    bool signs() const { return status_ != DnssecStatus::Disabled; }
    // What a look at the parent's DS RRset could settle now: a KSK waiting
    // for its DS (pending_ds, rotating_ksk, a standby in ds_submit), or
    // pending_disabled not yet told the DS is gone.
    bool awaiting_ds() const;
    // A double-KSK roll whose new KSK is still being published: from when
    // its DS may be at the parent (DNSKEY TTL + propagation delay after
    // rotate-ksk); 0 otherwise. confirm-ds-published is refused before then.
    std::int64_t ds_publish_after() const;
    bool awaiting_ds_removal() const { return status_ == DnssecStatus::PendingDisabled && unsign_at_ == 0; }
    // False when nothing was on disk: the config's `enabled` sets the start.
    bool stored() const { return stored_; }
    // The keys and their roles for the signer (valid while signs()).
    ZoneKeys signing_keys() const;
    // The DS records (digest 2) the parent should have for the KSKs in CDS.
    std::vector<DsRecord> ds_records() const;

    Outcome enable(int algorithm, std::int64_t now);
    Outcome disable(std::int64_t now);
    Outcome rotate_zsk(std::int64_t now, const LifecycleTiming& t);
    Outcome rotate_ksk(std::int64_t now, const LifecycleTiming& t);
    Outcome confirm_ds_published(const std::vector<DsRecord>& ds, std::int64_t now, const LifecycleTiming& t);
    // The zone stays signed (delete CDS) until the parent's DS has left
    // the caches (parent_ds_ttl + propagation_delay), then goes unsigned.
    Outcome confirm_ds_removed(std::int64_t now, const LifecycleTiming& t);

    // Makes the timed moves due at `now` (and starts a ZSK roll when the
    // active ZSK has outlived zsk_lifetime; creates a standby KSK when
    // t.standby_ksk asks for one and none is there, drops it when not). A new ZSK that `peers_publish`
    // says the peers lack stays published but unused. True when what is
    // signed changed.
    bool advance(std::int64_t now, const LifecycleTiming& t, const PeersPublish& peers_publish = {});
    // Our new ZSK is due to sign but waits for the peers: its key, or null.
    const ManagedKey* awaiting_peers(std::int64_t now) const;
    // The standby KSK (any standby state), or null.
    const ManagedKey* standby() const;
    // The earliest timed move, or 0.
    std::int64_t next_event(const LifecycleTiming& t) const;

private:
    Lifecycle() = default;
    Result<ManagedKey> make_key(KeyRole role, std::int64_t now);
    Outcome roll_to_standby(ManagedKey& k, std::int64_t now, const LifecycleTiming& t);
    void remove_dead();
    bool keep_standby(std::int64_t now, const LifecycleTiming& t);
    std::string state_dir_;
    dns::Name zone_;
    std::string dir_;
    DnssecStatus status_ = DnssecStatus::Disabled;
    int algorithm_ = 13;
    std::vector<ManagedKey> keys_;
    bool stored_ = false;
    std::int64_t unsign_at_ = 0;  // pending_disabled: when the DS is surely gone
    std::int64_t modified_on_ = 0;  // the last status change
    void set_status(DnssecStatus s, std::int64_t now);
    bool enabling_ = false;  // saved before enable makes key files; cleared once they are named
    std::vector<std::string> retired_files_;  // key files of dropped keys: deleted by the next save
    std::vector<std::string> warnings_;
};

}  // namespace satellite::modes
