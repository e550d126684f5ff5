// JSON bodies of the REST API: key order as in seed 003, times as RFC 3339
// UTC, absent values as null; request parsing is strict about types.
#include "api/json.hpp"

#include <array>
#include <cmath>
#include <cctype>
#include <ctime>
#include <limits>

#include <boost/json.hpp>

namespace satellite::api {

namespace json = boost::json;

namespace {

json::value string_or_null(const std::string& s) {
    if (s.empty()) return nullptr;
    return json::value(s);
}

// The object of a request body, or an error saying what is wrong with it.
Result<json::object> parse_object(std::string_view body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) return make_error("request body is not valid JSON: " + ec.message());
    if (!v.is_object()) return make_error("request body must be a JSON object");
    return std::move(v.as_object());
}

// A JSON integer in [lo, hi]; doubles like 13.0 and strings like "13" are refused.
Result<std::int64_t> integer_field(const json::object& o, std::string_view key, std::int64_t lo,
                                   std::int64_t hi, std::string_view where) {
    const json::value* v = o.if_contains(key);
    if (!v) return make_error(std::string(where) + ": \"" + std::string(key) + "\" is missing");
    std::int64_t n = 0;
    if (v->is_int64()) {
        n = v->get_int64();
    } else if (v->is_uint64()) {
        n = std::numeric_limits<std::int64_t>::max();  // out of range below
    } else {
        return make_error(std::string(where) + ": \"" + std::string(key) + "\" must be an integer");
    }
    if (n < lo || n > hi) {
        return make_error(std::string(where) + ": \"" + std::string(key) + "\" must be from " +
                          std::to_string(lo) + " to " + std::to_string(hi));
    }
    return n;
}

// A DNSKEY record in presentation form, its surrounding blanks dropped.
std::string_view trimmed(std::string_view s) {
    const std::size_t first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// One element of "keys" (or the lone "dnskey") as a presentation record.
Result<std::string> peer_key_record(const json::value& item, std::string_view zone_with_dot,
                                    const std::string& where) {
    if (item.is_string()) {
        std::string_view text = trimmed(item.as_string());
        if (text.empty()) return make_error(where + " is an empty string; give a DNSKEY record");
        return std::string(text);
    }
    if (!item.is_object()) {
        return make_error(where + " must be a DNSKEY record (a string) or an object with \"dnskey\"");
    }
    const json::object& o = item.as_object();
    if (const json::value* dnskey = o.if_contains("dnskey")) {
        if (!dnskey->is_string()) return make_error(where + ": \"dnskey\" must be a string");
        std::string_view text = trimmed(dnskey->as_string());
        if (text.empty()) return make_error(where + ": \"dnskey\" is empty");
        return std::string(text);
    }
    // No record: compose it from the DNSKEY fields (RFC 4034 §2.2).
    auto flags = integer_field(o, "flags", 0, 65535, where);
    if (!flags) {
        return make_error(flags.error().message +
                          " (give \"dnskey\", or \"flags\", \"protocol\", \"algorithm\" and \"public_key\")");
    }
    auto protocol = integer_field(o, "protocol", 0, 255, where);
    if (!protocol) return protocol.error();
    auto algorithm = integer_field(o, "algorithm", 0, 255, where);
    if (!algorithm) return algorithm.error();
    const json::value* key = o.if_contains("public_key");
    if (!key || !key->is_string()) return make_error(where + ": \"public_key\" must be a base64 string");
    std::string_view public_key = trimmed(key->as_string());
    if (public_key.empty()) return make_error(where + ": \"public_key\" is empty");
    return std::string(zone_with_dot) + " 3600 IN DNSKEY " + std::to_string(*flags) + " " +
           std::to_string(*protocol) + " " + std::to_string(*algorithm) + " " + std::string(public_key);
}

}  // namespace

json::value time_json(std::int64_t unix_seconds) {
    if (unix_seconds == 0) return nullptr;
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    if (!gmtime_r(&t, &tm)) return nullptr;
    std::array<char, 32> buf{};
    std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json::value(json::string_view(buf.data(), n));
}

json::value zone_json(const ZoneInfo& z) {
    json::object o;
    o["name"] = z.name;
    o["kind"] = z.kind;
    o["mode"] = z.mode;
    o["serial"] = z.serial ? json::value(*z.serial) : json::value(nullptr);
    o["serving"] = z.serving;
    o["source"] = z.source;
    o["last_success"] = time_json(z.last_success);
    o["last_failure"] = time_json(z.last_failure);
    o["last_error"] = string_or_null(z.last_error);
    o["next_refresh"] = time_json(z.next_refresh);
    o["expires_at"] = time_json(z.expires_at);
    o["dnssec_status"] = string_or_null(z.dnssec_status);
    o["phase"] = z.phase;
    o["stored_serial"] = z.stored_serial ? json::value(*z.stored_serial) : json::value(nullptr);
    o["notified_serial"] = z.notified_serial ? json::value(*z.notified_serial) : json::value(nullptr);
    o["last_check"] = time_json(z.last_check);
    o["last_transfer"] = time_json(z.last_transfer);
    o["last_attempt"] = time_json(z.last_attempt);
    o["failures"] = z.failures;
    o["transfers_ok"] = z.transfers_ok;
    o["transfers_failed"] = z.transfers_failed;
    json::array primaries;
    for (const auto& p : z.primaries) primaries.push_back(json::value(p));
    o["primaries"] = std::move(primaries);
    o["records"] = z.records;
    o["ready"] = z.not_ready.empty();
    o["not_ready"] = string_or_null(z.not_ready);
    o["signature_expiry"] = time_json(z.signature_expiry);
    o["signature_expiry_rrset"] = string_or_null(z.signature_rrset);
    o["effective_expiry"] = time_json(z.effective_expiry);
    if (z.has_providers) {
        json::object pc;
        pc["checked_at"] = time_json(z.providers_checked_at);
        bool all = z.providers_checked_at != 0;
        json::array list;
        for (const auto& p : z.providers) {
            json::object e;
            e["server"] = p.server;
            e["answered"] = p.answered;
            e["consistent"] = p.consistent;
            e["error"] = string_or_null(p.error);
            json::array problems;
            for (const auto& s : p.problems) problems.push_back(json::value(s));
            e["problems"] = std::move(problems);
            list.push_back(std::move(e));
            all = all && p.consistent;
        }
        pc["consistent"] = all;
        pc["providers"] = std::move(list);
        o["multi_signer"] = std::move(pc);
    } else {
        o["multi_signer"] = nullptr;
    }
    if (z.has_parent_check) {
        json::object pc;
        pc["checked_at"] = time_json(z.parent_checked_at);
        json::array list;
        for (const auto& p : z.parent_servers) {
            json::object e;
            e["server"] = p.server;
            e["answered"] = p.answered;
            json::array tags;
            for (auto t : p.our_ds) tags.push_back(t);
            e["our_ds_key_tags"] = std::move(tags);
            e["error"] = string_or_null(p.error);
            list.push_back(std::move(e));
        }
        pc["servers"] = std::move(list);
        o["parent_ds"] = std::move(pc);
    } else {
        o["parent_ds"] = nullptr;
    }
    o["last_transfer_kind"] = z.last_transfer_kind.empty() ? json::value(nullptr) : json::value(z.last_transfer_kind);
    // A running (or the last) transfer: records and bytes so far, rates;
    // a signing pass: signatures done of the total, rate, seconds left.
    auto progress = [](const std::optional<ProgressInfo>& p, bool transfer) -> json::value {
        if (!p) return nullptr;
        json::object o;
        o["running"] = p->running;
        o["seconds"] = std::round(p->seconds * 10) / 10;
        if (transfer) {
            o["records"] = p->done;
            o["bytes"] = p->bytes;
            o["records_per_second"] = std::round(p->rate);
            o["bytes_per_second"] = std::round(p->bytes_rate);
        } else {
            o["done"] = p->done;
            o["total"] = p->total;
            o["per_second"] = std::round(p->rate);
            o["eta_seconds"] = p->eta_s < 0 ? json::value(nullptr) : json::value(p->eta_s);
        }
        return o;
    };
    o["transfer_progress"] = progress(z.transfer_progress, true);
    o["signing_progress"] = progress(z.signing_progress, false);
    return o;
}

json::value key_json(const KeyInfo& k) {
    json::object o;
    o["key_tag"] = k.key_tag;
    o["algorithm"] = k.algorithm;
    o["public_key"] = k.public_key;
    o["key_type"] = k.key_type;
    o["created_at"] = time_json(k.created_at);
    o["expires_at"] = time_json(k.expires_at);
    o["active"] = k.active;
    o["state"] = k.state;
    o["next_transition"] = time_json(k.next_transition);
    o["standby"] = k.standby;
    return o;
}

json::value ds_json(const DsInfo& d) {
    json::object o;
    o["key_tag"] = d.key_tag;
    o["algorithm"] = d.algorithm;
    o["digest_type"] = d.digest_type;
    o["digest"] = d.digest;
    return o;
}

std::string_view op_name(DnssecOp op) {
    switch (op) {
    case DnssecOp::Get: return "";
    case DnssecOp::Enable: return "enable";
    case DnssecOp::Disable: return "disable";
    case DnssecOp::RotateZsk: return "rotate-zsk";
    case DnssecOp::RotateKsk: return "rotate-ksk";
    case DnssecOp::ConfirmDsPublished: return "confirm-ds-published";
    case DnssecOp::ConfirmDsRemoved: return "confirm-ds-removed";
    case DnssecOp::Sync: return "sync";
    }
    return "";
}

json::value dnssec_json(std::string_view domain_id, DnssecOp op, const DnssecReply& r) {
    auto keys = [](const std::vector<KeyInfo>& ks) {
        json::array a;
        for (const auto& k : ks) a.push_back(key_json(k));
        return a;
    };
    auto ds_list = [](const std::vector<DsInfo>& ds) {
        json::array a;
        for (const auto& d : ds) a.push_back(ds_json(d));
        return a;
    };
    auto key_or_null = [](const std::optional<KeyInfo>& k) {
        return k ? key_json(*k) : json::value(nullptr);
    };
    auto message = [&](std::string_view fallback) {
        return json::value(r.message.empty() ? fallback : std::string_view(r.message));
    };

    json::object o;
    if (op == DnssecOp::Get || op == DnssecOp::Sync) {
        o["enabled"] = r.enabled;
        o["status"] = r.status;
        o["modified_on"] = time_json(r.modified_on);  // seed 000: null when never enabled
        o["algorithm"] = r.algorithm;
        o["ksk"] = keys(r.ksk);
        o["zsk"] = keys(r.zsk);
        o["ds_records"] = ds_list(r.ds_records);
        if (r.publish_after) o["publish_after"] = time_json(r.publish_after);
        return o;
    }
    o["domain_id"] = domain_id;
    o["action"] = op_name(op);
    switch (op) {
    case DnssecOp::Enable: {
        o["message"] = message("DNSSEC enabled");
        // The keys the call made; the first current key when the control did not single one out.
        auto first = [](const std::vector<KeyInfo>& ks) {
            return ks.empty() ? std::optional<KeyInfo>() : std::optional<KeyInfo>(ks.front());
        };
        o["ksk"] = key_or_null(r.new_ksk ? r.new_ksk : first(r.ksk));
        o["zsk"] = key_or_null(r.new_zsk ? r.new_zsk : first(r.zsk));
        o["ds_records"] = ds_list(r.ds_records);
        break;
    }
    case DnssecOp::Disable: o["message"] = message("DNSSEC disabled"); break;
    case DnssecOp::RotateZsk:
        o["message"] = message("ZSK rollover started");
        o["old_key"] = key_or_null(r.old_key);
        o["new_key"] = key_or_null(r.new_key);
        break;
    case DnssecOp::RotateKsk: {
        o["old_key"] = key_or_null(r.old_key);
        o["new_key"] = key_or_null(r.new_key);
        // Seed 003: "Returns the new DS record that needs to be published".
        std::vector<DsInfo> to_publish;
        for (const auto& d : r.ds_records) {
            if (!r.new_key || (d.key_tag == r.new_key->key_tag && d.algorithm == r.new_key->algorithm)) {
                to_publish.push_back(d);
            }
        }
        o["ds_records"] = ds_list(to_publish);
        // When the parent may serve it: once the new DNSKEY is in every cache.
        o["publish_after"] = time_json(r.publish_after);
        break;
    }
    case DnssecOp::ConfirmDsPublished: o["message"] = message("DS publication confirmed"); break;
    case DnssecOp::ConfirmDsRemoved: o["message"] = message("DS removal confirmed"); break;
    case DnssecOp::Get:
    case DnssecOp::Sync: break;
    }
    return o;
}

Result<DnssecRequest> parse_enable_body(std::string_view body) {
    DnssecRequest req;
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return req;  // no body: defaults
    auto o = parse_object(body);
    if (!o) return o.error();
    if (o->contains("algorithm")) {
        auto alg = integer_field(*o, "algorithm", 0, 255, "enable");
        if (!alg) return alg.error();
        req.algorithm = static_cast<int>(*alg);
    }
    return req;
}

Result<DnssecRequest> parse_confirm_ds_body(std::string_view body) {
    auto o = parse_object(body);
    if (!o) return o.error();
    const json::value* list = o->if_contains("ds_records");
    if (!list || !list->is_array()) {
        return make_error("request body needs \"ds_records\": a list of {key_tag, algorithm, "
                          "digest_type, digest} objects");
    }
    if (list->as_array().empty()) return make_error("\"ds_records\" is empty; list the DS records published");
    DnssecRequest req;
    std::size_t i = 0;
    for (const auto& item : list->as_array()) {
        const std::string where = "ds_records[" + std::to_string(i++) + "]";
        if (!item.is_object()) return make_error(where + " must be an object");
        const auto& ds = item.as_object();
        DsInfo d;
        auto tag = integer_field(ds, "key_tag", 0, 65535, where);
        if (!tag) return tag.error();
        auto alg = integer_field(ds, "algorithm", 0, 255, where);
        if (!alg) return alg.error();
        auto type = integer_field(ds, "digest_type", 0, 255, where);
        if (!type) return type.error();
        const json::value* digest = ds.if_contains("digest");
        if (!digest || !digest->is_string()) return make_error(where + ": \"digest\" must be a hex string");
        for (char c : digest->as_string()) {
            if (c == ' ' || c == '\t') continue;  // as pasted from a DS record's presentation form
            if (!std::isxdigit(static_cast<unsigned char>(c))) {
                return make_error(where + ": \"digest\" must be hexadecimal");
            }
            d.digest.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
        }
        if (d.digest.empty() || d.digest.size() % 2 != 0) {
            return make_error(where + ": \"digest\" must be a whole number of hex octets");
        }
        d.key_tag = static_cast<std::uint16_t>(*tag);
        d.algorithm = static_cast<std::uint8_t>(*alg);
        d.digest_type = static_cast<std::uint8_t>(*type);
        req.ds_records.push_back(std::move(d));
    }
    return req;
}

json::value peer_key_json(const PeerKeyInfo& k, bool imported) {
    json::object o;
    o["dnskey"] = k.dnskey;
    o["key_tag"] = k.key_tag;
    o["key_type"] = k.key_type;
    o["flags"] = k.flags;
    o["protocol"] = k.protocol;
    o["algorithm"] = k.algorithm;
    o["public_key"] = k.public_key;
    if (imported) {
        o["source"] = k.source;
        o["added_at"] = time_json(k.added_at);
    }
    return o;
}

json::value peer_keys_json(const PeerKeysReply& r, PeerKeyOp op) {
    auto list = [](const std::vector<PeerKeyInfo>& ks, bool imported) {
        json::array a;
        for (const auto& k : ks) a.push_back(peer_key_json(k, imported));
        return a;
    };
    auto count = [](std::size_t n, std::string_view done) {
        return std::to_string(n) + (n == 1 ? " peer key " : " peer keys ") + std::string(done);
    };
    json::object o;
    o["zone"] = r.zone;
    o["algorithm"] = r.algorithm;
    o["keys"] = list(r.keys, false);
    o["peer_keys"] = list(r.peer_keys, true);
    switch (op) {
    case PeerKeyOp::Get: break;
    case PeerKeyOp::Add:
        o["added"] = r.added;
        o["message"] = r.message.empty() ? count(r.added, "added") : r.message;
        break;
    case PeerKeyOp::Remove:
        o["removed"] = r.removed;
        o["message"] = r.message.empty() ? count(r.removed, "removed") : r.message;
        break;
    }
    return o;
}

Result<PeerKeysRequest> parse_peer_keys_body(std::string_view body, std::string_view zone_with_dot) {
    auto o = parse_object(body);
    if (!o) return o.error();
    const json::value* keys = o->if_contains("keys");
    const json::value* dnskey = o->if_contains("dnskey");
    if (keys && dnskey) return make_error("give either \"keys\" or \"dnskey\", not both");
    PeerKeysRequest req;
    if (dnskey) {
        if (!dnskey->is_string()) return make_error("\"dnskey\" must be a DNSKEY record (a string)");
        auto record = peer_key_record(*dnskey, zone_with_dot, "\"dnskey\"");
        if (!record) return record.error();
        req.dnskeys.push_back(std::move(*record));
        return req;
    }
    if (!keys) {
        return make_error("request body needs \"keys\": a list of DNSKEY records (strings or objects with "
                          "\"dnskey\"), or a single \"dnskey\"");
    }
    if (!keys->is_array()) return make_error("\"keys\" must be a list of DNSKEY records");
    if (keys->as_array().empty()) return make_error("\"keys\" is empty; list at least one DNSKEY record");
    std::size_t i = 0;
    for (const auto& item : keys->as_array()) {
        auto record = peer_key_record(item, zone_with_dot, "keys[" + std::to_string(i++) + "]");
        if (!record) return record.error();
        req.dnskeys.push_back(std::move(*record));
    }
    return req;
}

}  // namespace satellite::api
