// What the API and /metrics read and change (api/control.hpp), on the control thread.
#include "daemon/zone.hpp"

#include <algorithm>

namespace satellite::daemon {

namespace {

std::string hex_upper(const std::vector<std::uint8_t>& in) {
    static const char* d = "0123456789ABCDEF";
    std::string out;
    for (std::uint8_t b : in) {
        out.push_back(d[b >> 4]);
        out.push_back(d[b & 15]);
    }
    return out;
}

bool parse_hex(const std::string& text, std::vector<std::uint8_t>& out) {
    if (text.empty() || text.size() % 2) return false;
    for (std::size_t i = 0; i < text.size(); i += 2) {
        auto v = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10; };
        if (!std::isxdigit(static_cast<unsigned char>(text[i])) || !std::isxdigit(static_cast<unsigned char>(text[i + 1]))) {
            return false;
        }
        out.push_back(static_cast<std::uint8_t>(v(text[i]) * 16 + v(text[i + 1])));
    }
    return true;
}

// The lifecycle's refusals as the API's statuses (seed 003).
int http_status(modes::Refusal r) {
    switch (r) {
        case modes::Refusal::None: return 200;
        case modes::Refusal::Invalid: return 400;
        case modes::Refusal::Conflict: return 409;
        case modes::Refusal::Storage: return 500;
    }
    return 500;
}

const char* mode_name(config::Mode m) {
    return m == config::Mode::Live ? "live" : m == config::Mode::MultiSigner ? "multi-signer" : "presigned";
}

}  // namespace

// The zone state fields of a zone's API body, and whether /readyz counts it.
void ZoneManager::fill_state(const Zone& z, api::ZoneInfo& i) const {
    const zone::ZoneState& s = z.state;
    i.phase = zone::to_string(s.phase);
    i.stored_serial = s.stored;
    i.notified_serial = s.notified;
    i.last_check = s.last_check;
    i.last_transfer = s.last_transfer;
    i.last_transfer_kind = z.last_transfer_kind;
    i.last_attempt = s.last_attempt;
    i.failures = s.failures;
    i.transfers_ok = s.transfers_ok;
    i.transfers_failed = s.transfers_failed;
    for (const auto& p : z.cfg.primaries) i.primaries.push_back(p.to_string());
    i.records = z.serving() ? z.snapshot->record_count() : 0;
    auto progress = [](const std::shared_ptr<zone::Progress>& p) -> std::optional<api::ProgressInfo> {
        if (!p || p->started_ms.load(std::memory_order_relaxed) == 0) return std::nullopt;
        const zone::ProgressView v = zone::read(*p);
        return api::ProgressInfo{v.running, v.done, v.total, v.bytes, v.seconds, v.rate, v.bytes_rate, v.eta_s};
    };
    i.transfer_progress = progress(z.transfer_progress);
    i.signing_progress = progress(z.sig().signing_progress);
    const std::int64_t now = now_unix();
    if (!z.snapshot) {
        i.not_ready = z.secondary ? "not served: no transfer has succeeded yet" : "not served: the zone did not load";
        if (!s.last_error.empty()) i.not_ready += " (" + s.last_error + ")";
    } else if (z.expired()) {
        i.not_ready = "expired: no primary has confirmed the zone within its SOA expire";
    } else if (z.secondary && z.expires_at > 0 && s.failures > 0 && s.last_check > 0 &&
               (z.expires_at - now) * 4 < z.expires_at - s.last_check) {
        // Three quarters of the SOA expire gone without a primary's answer:
        // time to take this server out of rotation before it SERVFAILs.
        i.not_ready = "expires in " + std::to_string(std::max<std::int64_t>(0, z.expires_at - now)) +
                      " s (SOA expire) unless a primary answers; " + std::to_string(s.failures) +
                      " refreshes failed in a row";
    } else if (z.signatures.expiration > 0 && z.signatures.expiration - now < std::int64_t(z.cfg.expiry_warning)) {
        // A signature expires within expiry_warning: validators will reject
        // the zone soon unless a fresher version comes.
        i.not_ready = "signatures expire in " + std::to_string(std::max<std::int64_t>(0, z.signatures.expiration - now)) +
                      " s (" + z.signatures.rrset + "), within expiry_warning (" +
                      std::to_string(z.cfg.expiry_warning) + " s)";
    }
}

std::vector<api::ZoneInfo> ZoneManager::api_zones() const {
    std::vector<api::ZoneInfo> out;
    for (const auto& [k, z] : zones_) {
        api::ZoneInfo i;
        i.name = z->origin.to_string();
        i.kind = z->secondary ? "secondary" : "file";
        i.mode = mode_name(z->cfg.mode);
        if (z->snapshot) i.serial = z->snapshot->serial();
        i.serving = z->serving();
        i.source = z->source_text();
        i.last_success = z->state.last_check;
        i.last_failure = z->state.last_error_at;
        i.last_error = z->state.last_error;
        i.next_refresh = z->secondary ? z->next_refresh : 0;
        i.expires_at = z->secondary ? z->expires_at : 0;
        if (z->cfg.mode != config::Mode::Presigned) {
            i.dnssec_status = z->lifecycle ? modes::to_string(z->lifecycle->status())
                                           : (z->cfg.signing && z->cfg.signing->enabled ? "pending_ds" : "disabled");
        }
        if (z->snapshot) {
            i.signature_expiry = z->signatures.expiration;
            i.signature_rrset = z->signatures.rrset;
            i.effective_expiry = z->state.effective_expiry;
        }
        if (z->cfg.mode == config::Mode::MultiSigner && !z->cfg.peers.empty()) {
            i.has_providers = true;
            i.providers_checked_at = z->sig().providers_checked_at;
            for (const auto& p : z->sig().providers) {
                i.providers.push_back({p.server, p.answered, p.consistent(), p.error, p.problems});
            }
        }
        if (!z->cfg.parent_ds_check.empty()) {
            i.has_parent_check = true;
            i.parent_checked_at = z->sig().parent_checked_at;
            for (const auto& p : z->sig().parent_servers) i.parent_servers.push_back({p.server, p.answered, p.our_ds, p.error});
        }
        fill_state(*z, i);
        out.push_back(std::move(i));
    }
    return out;
}

api::DnssecReply ZoneManager::api_dnssec(const std::string& zone_name, api::DnssecOp op,
                                         const api::DnssecRequest& req) {
    api::DnssecReply reply;
    auto origin = dns::Name::from_text(zone_name.empty() || zone_name.back() != '.' ? zone_name + "." : zone_name);
    auto it = origin ? zones_.find(origin->lowered().to_string()) : zones_.end();
    if (it == zones_.end()) {
        reply.http_status = 404;
        reply.message = "zone " + zone_name + " is not served here";
        return reply;
    }
    Zone& z = *it->second;
    if (!signs_here(z.cfg.mode)) {
        reply.http_status = 404;
        reply.message = "zone " + z.cfg.name + " is " + mode_name(z.cfg.mode) +
                        "; its DNSSEC is managed elsewhere (only live and multi-signer zones are signed here)";
        return reply;
    }
    const bool multi = z.cfg.mode == config::Mode::MultiSigner;
    if (op == api::DnssecOp::Sync) {
        z.lifecycle.reset();  // re-read what is stored
        z.peer_keys.reset();
    }
    if (auto s = ensure_lifecycle(z); !s) {
        reply.http_status = 500;
        reply.message = s.error().message;
        return reply;
    }
    if (multi) {
        if (auto s = ensure_peer_keys(z); !s) {
            reply.http_status = 500;
            reply.message = s.error().message;
            return reply;
        }
    }
    // Multi-signer: the DS set at the parent holds every provider's KSK
    // (RFC 8901 §8); the other providers' part is theirs to check.
    auto peer_ds = [&] {
        std::vector<modes::DsRecord> out;
        if (!multi) return out;
        for (const auto& k : z.peer_keys->keys()) {
            if (!k.is_ksk()) continue;
            auto rd = dns::ds_rdata(z.origin, k.dnskey, 2);
            out.push_back({k.tag, k.algorithm(), 2, std::vector<std::uint8_t>(rd.begin() + 4, rd.end())});
        }
        return out;
    };
    modes::Lifecycle& lc = *z.lifecycle;
    const std::int64_t now = now_unix();
    const modes::LifecycleTiming t = timing(z);
    const config::Signing sc = z.cfg.signing.value_or(config::Signing{});
    auto key_info = [&](const modes::ManagedKey& k) {
        api::KeyInfo ki;
        ki.key_tag = k.key.tag;
        ki.algorithm = k.key.key->algorithm();
        ki.public_key = modes::base64(k.key.key->public_key());
        ki.key_type = k.key.role == modes::KeyRole::Ksk ? "KSK" : "ZSK";
        ki.created_at = k.key.created;
        const std::uint32_t lifetime = k.key.role == modes::KeyRole::Ksk ? sc.ksk_lifetime : sc.zsk_lifetime;
        ki.expires_at = lifetime && k.active_at ? k.active_at + lifetime : 0;
        ki.active = k.state == modes::KeyState::Active ||
                    (k.key.role == modes::KeyRole::Ksk && !k.standby &&
                     (k.state == modes::KeyState::DsSubmit || k.state == modes::KeyState::DsPublish ||
                      k.state == modes::KeyState::KeyPublish));
        ki.standby = k.standby;
        ki.state = modes::to_string(k.state);
        ki.next_transition = k.next_transition;
        ki.published_at = k.published_at;
        ki.active_at = k.active_at;
        ki.retire_at = k.retire_at;
        return ki;
    };
    auto newest = [&](modes::KeyRole role) -> std::optional<api::KeyInfo> {
        const modes::ManagedKey* found = nullptr;
        for (const auto& k : lc.keys()) {
            if (k.key.role == role && (!found || k.key.created >= found->key.created)) found = &k;
        }
        if (!found) return std::nullopt;
        return key_info(*found);
    };
    auto signing_key = [&](modes::KeyRole role) -> std::optional<api::KeyInfo> {
        for (const auto& k : lc.keys()) {
            if (k.key.role == role && k.state == modes::KeyState::Active) return key_info(k);
        }
        return std::nullopt;
    };
    std::optional<api::KeyInfo> before;
    modes::Outcome out{modes::Refusal::None, ""};
    switch (op) {
        case api::DnssecOp::Get:
        case api::DnssecOp::Sync:
            break;
        case api::DnssecOp::Enable:
            out = lc.enable(req.algorithm.value_or(sc.algorithm), now);
            break;
        case api::DnssecOp::Disable:
            out = lc.disable(now);
            break;
        case api::DnssecOp::RotateZsk:
            before = signing_key(modes::KeyRole::Zsk);
            out = lc.rotate_zsk(now, t);
            break;
        case api::DnssecOp::RotateKsk:
            before = signing_key(modes::KeyRole::Ksk);
            out = lc.rotate_ksk(now, t);
            break;
        case api::DnssecOp::ConfirmDsPublished: {
            std::vector<modes::DsRecord> ds;
            for (const auto& d : req.ds_records) {
                modes::DsRecord r{d.key_tag, d.algorithm, d.digest_type, {}};
                if (!parse_hex(d.digest, r.digest)) {
                    out = {modes::Refusal::Invalid, "DS digest \"" + d.digest + "\" is not hex"};
                    break;
                }
                // A DS of another provider's KSK is expected; ours are checked.
                bool peers = false;
                if (multi) {
                    for (const auto& k : z.peer_keys->keys()) {
                        if (!k.is_ksk() || k.tag != r.key_tag || k.algorithm() != r.algorithm) continue;
                        auto rd = dns::ds_rdata(z.origin, k.dnskey, r.digest_type);
                        peers |= rd.size() > 4 && std::equal(rd.begin() + 4, rd.end(), r.digest.begin(), r.digest.end());
                    }
                }
                if (!peers) ds.push_back(std::move(r));
            }
            if (out.ok()) out = lc.confirm_ds_published(ds, now, t);
            break;
        }
        case api::DnssecOp::ConfirmDsRemoved:
            out = lc.confirm_ds_removed(now, t);
            break;
    }
    if (!out.ok()) {
        reply.http_status = http_status(out.refused);
        reply.message = out.message;
        spdlog::warn("zone {}: DNSSEC request refused ({}): {}", z.cfg.name, reply.http_status, out.message);
        return reply;
    }
    if (!z.cfg.parent_ds_check.empty() &&
        (op == api::DnssecOp::Enable || op == api::DnssecOp::RotateKsk || op == api::DnssecOp::Disable)) {
        out.message += "; parent_ds_check will confirm the parent's DS change by itself";
    }
    if (op != api::DnssecOp::Get) {
        spdlog::info("zone {}: {}; status {}, keys {}", z.cfg.name, out.message.empty() ? "DNSSEC sync" : out.message,
                     modes::to_string(lc.status()), describe_keys(lc));
        if (z.snapshot) resign(z, "DNSSEC change");  // serve what the new state says, now
    }
    reply.message = out.message;
    reply.enabled = lc.signs();
    reply.status = modes::to_string(lc.status());
    reply.algorithm = lc.signs() ? lc.algorithm() : 0;
    reply.publish_after = lc.ds_publish_after();
    reply.modified_on = lc.modified_on();
    for (const auto& k : lc.keys()) {
        (k.key.role == modes::KeyRole::Ksk ? reply.ksk : reply.zsk).push_back(key_info(k));
    }
    for (const auto& d : lc.ds_records()) reply.ds_records.push_back({d.key_tag, d.algorithm, d.digest_type, hex_upper(d.digest)});
    if (lc.signs() && lc.status() != modes::DnssecStatus::PendingDisabled) {
        for (const auto& d : peer_ds()) reply.ds_records.push_back({d.key_tag, d.algorithm, d.digest_type, hex_upper(d.digest)});
    }
    if (op == api::DnssecOp::Enable) {
        reply.new_ksk = newest(modes::KeyRole::Ksk);
        reply.new_zsk = newest(modes::KeyRole::Zsk);
    } else if (op == api::DnssecOp::RotateZsk || op == api::DnssecOp::RotateKsk) {
        const auto role = op == api::DnssecOp::RotateZsk ? modes::KeyRole::Zsk : modes::KeyRole::Ksk;
        reply.old_key = before;
        reply.new_key = newest(role);
        if (role == modes::KeyRole::Ksk && reply.new_key) {
            std::vector<api::DsInfo> only_new;
            for (const auto& d : reply.ds_records) {
                if (d.key_tag == reply.new_key->key_tag) only_new.push_back(d);
            }
            if (only_new.empty()) {
                // Not in CDS yet (its DNSKEY is still reaching the caches): the
                // DS to publish from publish_after on.
                for (const auto& k : lc.keys()) {
                    if (k.key.role != modes::KeyRole::Ksk || k.key.tag != reply.new_key->key_tag) continue;
                    auto rd = dns::ds_rdata(z.origin, k.key.dnskey, 2);
                    if (rd.size() > 4) {
                        only_new.push_back({k.key.tag, rd[2], rd[3],
                                            hex_upper(std::vector<std::uint8_t>(rd.begin() + 4, rd.end()))});
                    }
                }
            }
            reply.ds_records = only_new;
        }
    }
    return reply;
}

api::PeerKeysReply ZoneManager::api_peer_keys(const std::string& zone_name, api::PeerKeyOp op,
                                              const api::PeerKeysRequest& req) {
    api::PeerKeysReply reply;
    auto fail = [&](int status, std::string message) {
        reply.http_status = status;
        reply.message = std::move(message);
        if (status != 404) spdlog::warn("zone {}: peer-keys request refused ({}): {}", zone_name, status, reply.message);
        return reply;
    };
    auto origin = dns::Name::from_text(zone_name.empty() || zone_name.back() != '.' ? zone_name + "." : zone_name);
    auto it = origin ? zones_.find(origin->lowered().to_string()) : zones_.end();
    if (it == zones_.end()) return fail(404, "zone " + zone_name + " is not served here");
    Zone& z = *it->second;
    if (z.cfg.mode != config::Mode::MultiSigner) {
        return fail(404, "zone " + z.cfg.name + " is " + mode_name(z.cfg.mode) +
                             "; peer keys belong to multi-signer zones (mode = \"multi-signer\")");
    }
    if (auto s = ensure_lifecycle(z); !s) return fail(500, s.error().message);
    if (auto s = ensure_peer_keys(z); !s) return fail(500, s.error().message);
    auto [ours, algorithm] = own_keys(z);
    modes::PeerKeys& pk = *z.peer_keys;
    const std::int64_t now = now_unix();

    std::size_t changed = 0;
    if (op == api::PeerKeyOp::Add || (op == api::PeerKeyOp::Remove && !req.key_tag)) {
        // All or nothing: every record must be acceptable before one is taken.
        std::vector<std::vector<std::uint8_t>> rdatas;
        for (const auto& text : req.dnskeys) {
            auto rd = op == api::PeerKeyOp::Add ? modes::parse_peer_dnskey(text, z.origin, algorithm, ours)
                                                 : modes::parse_peer_dnskey(text, z.origin, algorithm, {});
            if (!rd) return fail(400, rd.error().message);
            rdatas.push_back(std::move(*rd));
        }
        if (rdatas.empty()) return fail(400, "no DNSKEY records given");
        if (op == api::PeerKeyOp::Add) {
            // Each key is signed into our DNSKEY RRset: a bounded number
            // (a few providers with a KSK, ZSK and a rollover's keys each).
            std::size_t fresh = 0;
            for (const auto& rd : rdatas) {
                fresh += std::none_of(pk.keys().begin(), pk.keys().end(),
                                      [&](const auto& k) { return k.dnskey == rd; });
            }
            if (pk.keys().size() + fresh > modes::kMaxPeerKeys) {
                return fail(409, "zone " + z.cfg.name + " would have " + std::to_string(pk.keys().size() + fresh) +
                                     " peer keys; at most " + std::to_string(modes::kMaxPeerKeys) +
                                     " (remove keys no provider uses first)");
            }
            changed = pk.add(rdatas, "api", now);
        } else {
            for (const auto& rd : rdatas) changed += pk.remove(rd);
            if (changed == 0) return fail(404, "none of these DNSKEY records is a peer key of " + z.cfg.name);
        }
    } else if (op == api::PeerKeyOp::Remove) {
        std::size_t n = 0;
        for (const auto& k : pk.keys()) n += k.tag == *req.key_tag;
        if (n == 0) return fail(404, "zone " + z.cfg.name + " has no peer key with tag " + std::to_string(*req.key_tag));
        if (n > 1) {
            return fail(409, std::to_string(n) + " peer keys have tag " + std::to_string(*req.key_tag) +
                                 "; remove the one you mean by its DNSKEY record");
        }
        changed = pk.remove_tag(*req.key_tag);
    }
    if (changed) {
        if (auto s = pk.save(); !s) {
            z.peer_keys.reset();  // what is on disk is the truth
            return fail(500, "cannot save peer keys: " + s.error().message);
        }
        spdlog::info("zone {}: {} {} peer key(s); now {}", z.cfg.name, op == api::PeerKeyOp::Add ? "added" : "removed",
                     changed, pk.keys().size());
        if (z.snapshot && z.lifecycle->signs()) resign(z, "peer keys changed");
    }

    reply.zone = z.origin.to_string();
    reply.algorithm = algorithm;
    reply.message = op == api::PeerKeyOp::Get      ? ""
                    : op == api::PeerKeyOp::Add    ? std::to_string(changed) + " peer key(s) added"
                                                   : std::to_string(changed) + " peer key(s) removed";
    (op == api::PeerKeyOp::Add ? reply.added : reply.removed) = changed;
    const std::uint32_t ttl = z.sig().dnskey_ttl;
    auto info = [&](const std::vector<std::uint8_t>& rd) {
        api::PeerKeyInfo ki;
        ki.dnskey = modes::dnskey_text(z.origin, ttl, rd);
        ki.key_tag = dns::key_tag(rd);
        ki.flags = static_cast<std::uint16_t>(rd[0] << 8 | rd[1]);
        ki.key_type = (ki.flags & 1) ? "KSK" : "ZSK";
        ki.protocol = rd[2];
        ki.algorithm = rd[3];
        ki.public_key = modes::base64(std::vector<std::uint8_t>(rd.begin() + 4, rd.end()));
        return ki;
    };
    if (z.lifecycle->signs()) {
        for (const auto& k : z.lifecycle->signing_keys().keys) {
            if (k.published) reply.keys.push_back(info(k.dnskey));
        }
    }
    for (const auto& k : pk.keys()) {
        api::PeerKeyInfo ki = info(k.dnskey);
        ki.source = k.source;
        ki.added_at = k.added_at;
        reply.peer_keys.push_back(std::move(ki));
    }
    return reply;
}

std::string ZoneManager::api_metrics() const {
    std::string out;
    auto label = [](const std::string& zone) { return "{zone=\"" + zone + "\"}"; };
    out += "# HELP satellite_zone_serial SOA serial of the zone as received from its primary.\n"
           "# TYPE satellite_zone_serial gauge\n";
    for (const auto& [k, z] : zones_) {
        if (z->snapshot) out += "satellite_zone_serial" + label(z->cfg.name) + " " + std::to_string(z->snapshot->serial()) + "\n";
    }
    out += "# HELP satellite_zone_serving 1 when the zone is answered from data, 0 when SERVFAIL.\n"
           "# TYPE satellite_zone_serving gauge\n";
    for (const auto& [k, z] : zones_) {
        out += "satellite_zone_serving" + label(z->cfg.name) + " " + (z->serving() ? "1" : "0") + "\n";
    }
    out += "# HELP satellite_transfers_total Zone transfers by outcome.\n# TYPE satellite_transfers_total counter\n";
    for (const auto& [k, z] : zones_) {
        if (!z->secondary) continue;
        out += "satellite_transfers_total{zone=\"" + z->cfg.name + "\",result=\"ok\"} " + std::to_string(z->state.transfers_ok) + "\n";
        out += "satellite_transfers_total{zone=\"" + z->cfg.name + "\",result=\"failed\"} " + std::to_string(z->state.transfers_failed) + "\n";
    }
    out += "# HELP satellite_signature_refresh_timestamp_seconds When the zone's earliest signature is re-signed.\n"
           "# TYPE satellite_signature_refresh_timestamp_seconds gauge\n";
    for (const auto& [k, z] : zones_) {
        if (z->lifecycle && z->lifecycle->signs() && z->sig().next_resign) {
            out += "satellite_signature_refresh_timestamp_seconds" + label(z->cfg.name) + " " + std::to_string(z->sig().next_resign) + "\n";
        }
    }
    // Issue 15: every signed zone, any mode.
    out += "# HELP satellite_zone_signature_expiry_timestamp_seconds The earliest RRSIG expiration in the served "
           "version.\n# TYPE satellite_zone_signature_expiry_timestamp_seconds gauge\n";
    for (const auto& [k, z] : zones_) {
        if (z->snapshot && z->signatures.expiration) {
            out += "satellite_zone_signature_expiry_timestamp_seconds" + label(z->cfg.name) + " " +
                   std::to_string(z->signatures.expiration) + "\n";
        }
    }
    out += "# HELP satellite_zone_effective_expiry_timestamp_seconds When the zone stops being served: the earlier "
           "of SOA expire and the earliest signature expiration less signature_safety_margin.\n"
           "# TYPE satellite_zone_effective_expiry_timestamp_seconds gauge\n";
    for (const auto& [k, z] : zones_) {
        if (z->snapshot && z->state.effective_expiry) {
            out += "satellite_zone_effective_expiry_timestamp_seconds" + label(z->cfg.name) + " " +
                   std::to_string(z->state.effective_expiry) + "\n";
        }
    }
    // RFC 8901 §8: providers whose DNSKEY/CDS/CDNSKEY disagree with ours.
    out += "# HELP satellite_multisigner_provider_consistent 1 when the provider serves our keys and the same "
           "CDS/CDNSKEY as we do, 0 when not (or it did not answer), as last asked.\n"
           "# TYPE satellite_multisigner_provider_consistent gauge\n";
    std::string inconsistent = "# HELP satellite_multisigner_inconsistent_providers Providers (zone `peers`) whose "
                               "DNSKEY, CDS or CDNSKEY disagree with ours, as last asked.\n"
                               "# TYPE satellite_multisigner_inconsistent_providers gauge\n";
    for (const auto& [k, z] : zones_) {
        if (z->cfg.mode != config::Mode::MultiSigner || z->cfg.peers.empty() || z->sig().providers_checked_at == 0) continue;
        std::size_t bad = 0;
        for (const auto& p : z->sig().providers) {
            out += "satellite_multisigner_provider_consistent{zone=\"" + z->cfg.name + "\",provider=\"" + p.server +
                   "\"} " + (p.consistent() ? "1" : "0") + "\n";
            bad += p.answered && !p.problems.empty();
        }
        inconsistent += "satellite_multisigner_inconsistent_providers" + label(z->cfg.name) + " " + std::to_string(bad) + "\n";
    }
    out += inconsistent;
    out += "# HELP satellite_dnssec_next_key_event_timestamp_seconds When the next timed key state change happens.\n"
           "# TYPE satellite_dnssec_next_key_event_timestamp_seconds gauge\n";
    for (const auto& [k, z] : zones_) {
        if (!z->lifecycle) continue;
        if (std::int64_t e = z->lifecycle->next_event(timing(*z)); e) {
            out += "satellite_dnssec_next_key_event_timestamp_seconds" + label(z->cfg.name) + " " + std::to_string(e) + "\n";
        }
    }
    // Issue 18: the running (or last) transfer and signing pass of each zone
    // that had one: a dashboard's progress bar and rate.
    out += "# HELP satellite_zone_transfer_progress_records Records received by the zone's running (or last) "
           "transfer.\n# TYPE satellite_zone_transfer_progress_records gauge\n"
           "# HELP satellite_zone_transfer_progress_bytes Bytes received by the zone's running (or last) transfer.\n"
           "# TYPE satellite_zone_transfer_progress_bytes gauge\n"
           "# HELP satellite_zone_transfer_running 1 while a transfer of the zone runs.\n"
           "# TYPE satellite_zone_transfer_running gauge\n"
           "# HELP satellite_zone_signing_progress_done Signatures made or kept by the zone's running (or last) "
           "signing pass.\n# TYPE satellite_zone_signing_progress_done gauge\n"
           "# HELP satellite_zone_signing_progress_total Signatures the zone's running (or last) signing pass makes "
           "or keeps in all.\n# TYPE satellite_zone_signing_progress_total gauge\n"
           "# HELP satellite_zone_signing_running 1 while a signing pass of the zone runs.\n"
           "# TYPE satellite_zone_signing_running gauge\n";
    for (const auto& [k, z] : zones_) {
        const std::string l = label(z->cfg.name);
        if (z->transfer_progress) {
            const zone::ProgressView v = zone::read(*z->transfer_progress);
            out += "satellite_zone_transfer_progress_records" + l + " " + std::to_string(v.done) + "\n" +
                   "satellite_zone_transfer_progress_bytes" + l + " " + std::to_string(v.bytes) + "\n" +
                   "satellite_zone_transfer_running" + l + " " + (v.running ? "1" : "0") + "\n";
        }
        if (z->sig().signing_progress) {
            const zone::ProgressView v = zone::read(*z->sig().signing_progress);
            out += "satellite_zone_signing_progress_done" + l + " " + std::to_string(v.done) + "\n" +
                   "satellite_zone_signing_progress_total" + l + " " + std::to_string(v.total) + "\n" +
                   "satellite_zone_signing_running" + l + " " + (v.running ? "1" : "0") + "\n";
        }
    }
    // The query workers' counters (serve/query_counters.hpp), through the
    // catalog we serve: it holds its zones' slots in them.
    if (const zone::ZoneStats* stats = catalog_.get()->stats()) out += stats->metrics_text();
    out += notify_out_.metrics_text();
    if (xfr_out_) {
        auto n = [](const std::atomic<std::uint64_t>& a) { return std::to_string(a.load(std::memory_order_relaxed)); };
        out += "# HELP satellite_xfr_out_total Outgoing AXFR/IXFR requests: started, completed, refused, dropped.\n"
               "# TYPE satellite_xfr_out_total counter\n"
               "satellite_xfr_out_total{result=\"started\"} " + n(xfr_out_->started) + "\n"
               "satellite_xfr_out_total{result=\"completed\"} " + n(xfr_out_->completed) + "\n"
               "satellite_xfr_out_total{result=\"refused\"} " + n(xfr_out_->refused) + "\n"
               "satellite_xfr_out_total{result=\"dropped\"} " + n(xfr_out_->dropped) + "\n"
               "# HELP satellite_xfr_out_running Outgoing transfers running now.\n# TYPE satellite_xfr_out_running gauge\n"
               "satellite_xfr_out_running " + std::to_string(xfr_out_->running.load(std::memory_order_relaxed)) + "\n";
    }
    return out;
}

}  // namespace satellite::daemon
