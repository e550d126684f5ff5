// satellitectl: parse the command, make one or two REST calls, print a
// table (or the raw JSON with --json), exit 0/1/2/3 (ctl.hpp).
#include "ctl.hpp"

#include "dns/name.hpp"
#include "dns/types.hpp"
#include "xfr/driver.hpp"

#include <cstdio>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <ostream>
#include <sstream>

#include <openssl/ssl.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

namespace satellite::ctl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using asio::ip::tcp;

namespace {

constexpr auto kTimeout = std::chrono::seconds(30);

std::optional<int> to_int(std::string_view s) {
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

std::vector<std::string> split_words(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

// RFC 3986 §2.3: everything but unreserved characters is percent-encoded.
std::string path_segment(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// seed 003: domain_id = the zone name without the final dot.
std::string domain_id(const std::string& name) {
    if (name.size() > 1 && name.back() == '.') return name.substr(0, name.size() - 1);
    return name;
}

std::string algorithm_name(std::int64_t alg) {
    static const std::map<std::int64_t, std::string> names = {{8, "RSASHA256"},
                                                              {10, "RSASHA512"},
                                                              {13, "ECDSAP256SHA256"},
                                                              {14, "ECDSAP384SHA384"},
                                                              {15, "ED25519"}};
    auto it = names.find(alg);
    return std::to_string(alg) + (it == names.end() ? "" : " (" + it->second + ")");
}

// A member of a JSON object; null when it is missing or `v` is no object.
const json::value& member(const json::value& v, std::string_view key) {
    static const json::value null;
    const json::object* o = v.if_object();
    const json::value* f = o ? o->if_contains(key) : nullptr;
    return f ? *f : null;
}

// "KEYTAG ALG DIGESTTYPE HEX..." or a whole DS record ("example.com. 3600 IN DS
// KEYTAG ALG DIGESTTYPE HEX"), as the API's DS object; nullopt when malformed.
std::optional<json::object> parse_ds_arg(const std::string& text) {
    auto w = split_words(text);
    auto ds = std::find_if(w.begin(), w.end(), [](const std::string& s) {
        return s.size() == 2 && std::toupper(static_cast<unsigned char>(s[0])) == 'D' &&
               std::toupper(static_cast<unsigned char>(s[1])) == 'S';
    });
    if (ds != w.end()) w.erase(w.begin(), ds + 1);
    if (w.size() < 4) return std::nullopt;
    auto tag = to_int(w[0]), alg = to_int(w[1]), type = to_int(w[2]);
    if (!tag || !alg || !type) return std::nullopt;
    json::object d;
    d["key_tag"] = *tag;
    d["algorithm"] = *alg;
    d["digest_type"] = *type;
    std::string digest;
    for (std::size_t i = 3; i < w.size(); ++i) digest += w[i];
    d["digest"] = digest;
    return d;
}

// A field of a JSON object as text: strings as they are, null or missing as "-".
std::string field(const json::value& v, std::string_view key) {
    const json::value* f = &member(v, key);
    if (f->is_null()) return "-";
    if (f->is_string()) return f->as_string().empty() ? "-" : std::string(f->as_string());
    if (f->is_bool()) return f->as_bool() ? "yes" : "no";
    return json::serialize(*f);
}

const json::array& array_field(const json::value& v, std::string_view key) {
    static const json::array empty;
    const json::value& f = member(v, key);
    return f.is_array() ? f.as_array() : empty;
}

// Columns separated by two spaces; the last column is not padded.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width;
    for (const auto& row : rows) {
        width.resize(std::max(width.size(), row.size()));
        for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
        }
        out << line << "\n";
    }
}

void print_fields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [k, v] : fields) rows.push_back({k, v});
    print_table(out, rows);
}

std::string key_summary(const json::value& key) {
    if (!key.is_object()) return "-";
    return field(key, "key_type") + " " + field(key, "key_tag") + " (algorithm " + field(key, "algorithm") +
           ", " + field(key, "state") + ")";
}

void print_keys(std::ostream& out, const json::value& state) {
    std::vector<std::vector<std::string>> rows = {
        {"TYPE", "TAG", "ALG", "STATE", "ACTIVE", "CREATED", "EXPIRES", "NEXT CHANGE"}};
    for (const char* list : {"ksk", "zsk"}) {
        for (const auto& k : array_field(state, list)) {
            std::string state = field(k, "state");
            if (field(k, "standby") == "yes") state += " (standby)";
            rows.push_back({field(k, "key_type"), field(k, "key_tag"), field(k, "algorithm"), state, field(k, "active"), field(k, "created_at"), field(k, "expires_at"),
                            field(k, "next_transition")});
        }
    }
    if (rows.size() == 1) {
        out << "no keys\n";
    } else {
        print_table(out, rows);
    }
}

// DS records in presentation form, ready to hand to a registrar.
void print_ds(std::ostream& out, const std::string& zone, const json::array& ds) {
    for (const auto& d : ds) {
        out << zone << " IN DS " << field(d, "key_tag") << " " << field(d, "algorithm") << " "
            << field(d, "digest_type") << " " << field(d, "digest") << "\n";
    }
}

// One DNSKEY of a peer-keys body as a presentation line with its key tag,
// type and, for an imported key, where it came from as a comment.
void print_peer_keys(std::ostream& out, const json::array& keys, bool imported) {
    if (keys.empty()) out << "none\n";
    for (const auto& k : keys) {
        out << field(k, "dnskey") << "  ; " << field(k, "key_type") << ", key tag " << field(k, "key_tag");
        if (imported) out << ", source " << field(k, "source") << ", added " << field(k, "added_at");
        out << "\n";
    }
}

// A key tag given on the command line: decimal 0-65535 (RFC 4034 §5.1).
std::optional<int> key_tag_arg(const std::string& s) {
    auto v = to_int(s);
    if (!v || *v < 0 || *v > 65535) return std::nullopt;
    return v;
}

bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// The text of FILE, or of `in` for "-".
Result<std::string> read_input(const std::string& path, std::istream& in) {
    if (path == "-") {
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (in.bad()) return make_error("cannot read standard input");
        return text;
    }
    std::ifstream file(path, std::ios::binary);
    if (!file) return make_error("cannot read " + path + ": " + std::strerror(errno));
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (file.bad()) return make_error("cannot read " + path + ": " + std::strerror(errno));
    return text;
}

struct Call {
    std::string method;
    std::string path;
    std::string body;
};

class Program {
public:
    Program(const Options& o, const ServerUrl& url, std::ostream& out, std::ostream& err, std::istream& in)
        : o_(o), url_(url), out_(out), err_(err), in_(in) {}

    int run();

private:
    // Makes the call; on success leaves the parsed body in `body`. Otherwise
    // prints why and returns the exit code to use.
    std::optional<int> call(const Call& c, json::value& body, bool print_raw, std::string* raw = nullptr);

    int zone_list();
    int zone_show(const std::string& name);
    int status();
    int zone_refresh(const std::string& name, bool full);
    int dnssec(const std::string& action, const std::string& name);
    int confirm_ds(const std::string& name);
    int peer_keys(const std::string& action, const std::string& name, const std::string& arg);

    const Options& o_;
    const ServerUrl& url_;
    std::ostream& out_;
    std::ostream& err_;
    std::istream& in_;
};

std::optional<int> Program::call(const Call& c, json::value& body, bool print_raw, std::string* raw) {
    auto reply = http_call(url_, o_.token, c.method, c.path, c.body);
    if (!reply) {
        err_ << "satellitectl: " << reply.error().message << "\n";
        return kExitNoServer;
    }
    if (raw) *raw = reply->body;
    if (print_raw && o_.json) out_ << reply->body << (reply->body.ends_with('\n') ? "" : "\n");
    boost::system::error_code ec;
    body = json::parse(reply->body, ec);
    if (reply->status >= 400) {
        std::string message = !ec && body.is_object() && body.as_object().contains("error")
                                  ? field(body, "error")
                                  : reply->body.substr(0, 200);
        err_ << "satellitectl: HTTP " << reply->status << ": " << message << "\n";
        if (reply->status == 401 && o_.token.empty()) {
            err_ << "satellitectl: give a token with --token or SATELLITE_TOKEN\n";
        }
        return kExitApiError;
    }
    if (ec) {
        err_ << "satellitectl: HTTP " << reply->status << " with a body that is not JSON: "
             << reply->body.substr(0, 200) << "\n";
        return kExitApiError;
    }
    return std::nullopt;
}

int Program::zone_list() {
    json::value v;
    if (auto code = call({"GET", "/api/v1/zones", ""}, v, true)) return *code;
    if (o_.json) return kExitOk;
    if (!v.is_array() || v.as_array().empty()) {
        out_ << "no zones\n";
        return kExitOk;
    }
    std::vector<std::vector<std::string>> rows = {
        {"NAME", "KIND", "MODE", "PHASE", "SERIAL", "SERVING", "LAST TRANSFER", "NEXT REFRESH", "DNSSEC",
         "LAST ERROR"}};
    for (const auto& z : v.as_array()) {
        rows.push_back({field(z, "name"), field(z, "kind"), field(z, "mode"), field(z, "phase"), field(z, "serial"),
                        field(z, "serving"), field(z, "last_transfer"), field(z, "next_refresh"),
                        field(z, "dnssec_status"), field(z, "last_error")});
    }
    print_table(out_, rows);
    return kExitOk;
}

int Program::zone_show(const std::string& name) {
    json::value z;
    if (auto code = call({"GET", "/api/v1/zones/" + path_segment(name), ""}, z, true)) return *code;
    if (o_.json) return kExitOk;
    std::string primaries;
    for (const auto& p : array_field(z, "primaries")) {
        primaries += (primaries.empty() ? "" : ", ") + std::string(p.is_string() ? p.as_string() : "?");
    }
    // A running (or the last) transfer / signing pass, in one line each.
    auto number = [](const json::value& o, std::string_view key) {
        const json::value& f = member(o, key);
        return f.is_number() ? f.to_number<double>() : 0.0;
    };
    auto progress = [&](std::string_view key, bool transfer) -> std::string {
        const json::value& p = member(z, key);
        if (!p.is_object()) return "-";
        const bool running = member(p, "running").is_bool() && member(p, "running").as_bool();
        char buf[200];
        if (transfer) {
            std::snprintf(buf, sizeof buf, "%s%.0f records, %.1f MB, %.0f records/s, %.1f s",
                          running ? "running: " : "done: ", number(p, "records"), number(p, "bytes") / 1e6,
                          number(p, "records_per_second"), number(p, "seconds"));
        } else {
            const double total = number(p, "total"), done = number(p, "done");
            std::snprintf(buf, sizeof buf, "%s%.0f of %.0f signatures (%.0f%%), %.0f/s, %.1f s", running ? "running: " : "done: ",
                          done, total, total > 0 ? 100 * done / total : 0.0, number(p, "per_second"), number(p, "seconds"));
        }
        std::string out = buf;
        if (running && member(p, "eta_seconds").is_number()) {
            out += ", about " + json::serialize(member(p, "eta_seconds")) + " s left";
        }
        return out;
    };
    std::vector<std::pair<std::string, std::string>> fields = {{"zone", field(z, "name")},
                        {"kind", field(z, "kind")},
                        {"mode", field(z, "mode")},
                        {"phase", field(z, "phase")},
                        {"serial", field(z, "serial")},
                        {"stored serial", field(z, "stored_serial")},
                        {"notified serial", field(z, "notified_serial")},
                        {"serving", field(z, "serving")},
                        {"records", field(z, "records")},
                        {"source", field(z, "source")},
                        {"primaries", primaries.empty() ? "-" : primaries},
                        {"last transfer", field(z, "last_transfer")},
                        {"transfer kind", field(z, "last_transfer_kind")},
                        {"transfer", progress("transfer_progress", true)},
                        {"signing", progress("signing_progress", false)},
                        {"last check", field(z, "last_check")},
                        {"last attempt", field(z, "last_attempt")},
                        {"last failure", field(z, "last_failure")},
                        {"last error", field(z, "last_error")},
                        {"failures in a row", field(z, "failures")},
                        {"transfers ok", field(z, "transfers_ok")},
                        {"transfers failed", field(z, "transfers_failed")},
                        {"next refresh", field(z, "next_refresh")},
                        {"expires at", field(z, "expires_at")},
                        {"dnssec", field(z, "dnssec_status")},
                        {"signature expiry", field(z, "signature_expiry")},
                        {"signature RRset", field(z, "signature_expiry_rrset")},
                        {"effective expiry", field(z, "effective_expiry")},
                        {"ready", field(z, "ready")},
                        {"not ready", field(z, "not_ready")}};
    // Multi-signer (RFC 8901 §8): each provider as the last check saw it.
    if (const json::value* ms = z.is_object() ? z.as_object().if_contains("multi_signer") : nullptr;
        ms && ms->is_object()) {
        for (const auto& p : array_field(*ms, "providers")) {
            std::string line = field(p, "server") + ": ";
            const json::value* consistent = p.is_object() ? p.as_object().if_contains("consistent") : nullptr;
            const json::value* answered = p.is_object() ? p.as_object().if_contains("answered") : nullptr;
            if (answered && answered->is_bool() && !answered->as_bool()) {
                line += "no answer (" + field(p, "error") + ")";
            } else if (consistent && consistent->is_bool() && consistent->as_bool()) {
                line += "consistent";
            } else {
                std::string problems;
                for (const auto& q : array_field(p, "problems")) {
                    problems += (problems.empty() ? "" : "; ") + std::string(q.is_string() ? q.as_string() : "?");
                }
                line += "DISAGREES: " + problems;
            }
            fields.emplace_back("provider", std::move(line));
        }
    }
    print_fields(out_, fields);
    return kExitOk;
}

// GET /readyz: "ready" (exit 0), or each zone that is not and why (exit 1).
int Program::status() {
    auto reply = http_call(url_, o_.token, "GET", "/readyz", "");
    if (!reply) {
        err_ << "satellitectl: " << reply.error().message << "\n";
        return kExitNoServer;
    }
    boost::system::error_code ec;
    json::value v = json::parse(reply->body, ec);
    if (ec || !v.is_object() || (reply->status != 200 && reply->status != 503)) {
        err_ << "satellitectl: HTTP " << reply->status << ": " << reply->body.substr(0, 200) << "\n";
        return kExitApiError;
    }
    if (o_.json) {
        out_ << reply->body << (reply->body.ends_with('\n') ? "" : "\n");
    } else if (reply->status == 200) {
        out_ << "ready: " << field(v, "zones") << " zones served, none expired or expiring\n";
    } else {
        const auto& zones = array_field(v, "not_ready");
        out_ << "not ready: " << zones.size() << " of " << field(v, "zones") << " zones\n";
        std::vector<std::vector<std::string>> rows = {{"ZONE", "REASON"}};
        for (const auto& z : zones) rows.push_back({field(z, "zone"), field(z, "reason")});
        print_table(out_, rows);
    }
    return reply->status == 200 ? kExitOk : kExitApiError;
}

int Program::zone_refresh(const std::string& name, bool full) {
    json::value v;
    const std::string path = "/api/v1/zones/" + path_segment(name) + (full ? "/retransfer" : "/refresh");
    if (auto code = call({"POST", path, ""}, v, true)) return *code;
    if (!o_.json) out_ << field(v, "zone") << ": " << field(v, "message") << "\n";
    return kExitOk;
}

int Program::dnssec(const std::string& action, const std::string& name) {
    const std::string id = domain_id(name);
    const std::string zone = id == "." ? id : id + ".";
    const std::string base = "/api/v1/domains/" + path_segment(id) + "/dnssec";
    if (action == "confirm-ds") return confirm_ds(name);

    Call c{"POST", base + "/" + action, ""};
    if (action == "status") c = {"GET", base, ""};
    if (action == "enable" && o_.algorithm) {
        json::object body;
        body["algorithm"] = *o_.algorithm;
        c.body = json::serialize(body);
    }
    json::value v;
    if (auto code = call(c, v, true)) return *code;
    if (o_.json) return kExitOk;

    if (action == "status" || action == "sync") {
        print_fields(out_, {{"zone", zone},
                            {"enabled", field(v, "enabled")},
                            {"status", field(v, "status")},
                            {"modified on", field(v, "modified_on")},
                            {"algorithm", member(v, "algorithm").is_int64() && member(v, "algorithm").get_int64() != 0
                                              ? algorithm_name(member(v, "algorithm").get_int64())
                                              : "-"}});
        out_ << "\n";
        print_keys(out_, v);
        const auto& ds = array_field(v, "ds_records");
        if (!ds.empty()) {
            out_ << "\nDS records for the parent zone:\n";
            print_ds(out_, zone, ds);
        }
    } else if (action == "enable") {
        out_ << zone << ": " << field(v, "message") << "\n";
        out_ << "KSK: " << key_summary(member(v, "ksk")) << "\n";
        out_ << "ZSK: " << key_summary(member(v, "zsk")) << "\n";
        out_ << "\nPublish these DS records at the parent; once it serves them, run `satellitectl dnssec "
                "confirm-ds "
             << id << " --ds \"KEYTAG ALG DIGESTTYPE HEX\"` with what `dig DS " << id << "` shows:\n";
        print_ds(out_, zone, array_field(v, "ds_records"));
    } else if (action == "rotate-zsk" || action == "rotate-ksk") {
        if (!member(v, "message").is_null()) out_ << zone << ": " << field(v, "message") << "\n";
        out_ << "old key: " << key_summary(member(v, "old_key")) << "\n";
        out_ << "new key: " << key_summary(member(v, "new_key")) << "\n";
        if (action == "rotate-ksk") {
            out_ << "\nPublish the new DS record at the parent; once it serves it, run `satellitectl dnssec "
                    "confirm-ds "
                 << id << " --ds \"KEYTAG ALG DIGESTTYPE HEX\"`:\n";
            print_ds(out_, zone, array_field(v, "ds_records"));
        }
    } else {
        out_ << zone << ": " << field(v, "message") << "\n";
        if (action == "disable") {
            out_ << "Remove the DS records at the parent; when they are gone, run `satellitectl dnssec "
                    "confirm-ds-removed "
                 << id << "`.\n";
        }
    }
    return kExitOk;
}

// confirm-ds NAME --ds ...: the DS records the parent publishes, as the
// operator read them there; the server checks they match our KSKs.
//
// confirm-ds NAME --from-parent --parent ADDR ...: the DS records every
// given parent server serves that are also ours (the DS of a KSK the GET
// lists); nothing is confirmed unless each server answered and at least
// one of our DS is at all of them (RFC 7344 §4.1: all servers agree).
int Program::confirm_ds(const std::string& name) {
    const std::string id = domain_id(name);
    const std::string base = "/api/v1/domains/" + path_segment(id) + "/dnssec";
    json::array ds;  // parse_args made sure there is at least one --ds, or --from-parent
    for (const auto& text : o_.ds) {
        if (auto d = parse_ds_arg(text)) ds.push_back(std::move(*d));  // parse_args checked them
    }
    if (o_.from_parent) {
        json::value state;
        if (auto code = call({"GET", base, ""}, state, false)) return *code;
        auto ours = [](const json::value& d) {
            std::string digest = field(d, "digest");
            for (auto& ch : digest) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            return field(d, "key_tag") + " " + field(d, "algorithm") + " " + field(d, "digest_type") + " " + digest;
        };
        std::vector<std::string> wanted;
        for (const auto& d : array_field(state, "ds_records")) wanted.push_back(ours(d));
        std::vector<ParentServer> servers;
        for (const auto& p : o_.parents) servers.push_back(*parse_parent(p));  // parse_args checked them
        const auto answers = ask_parents(id == "." ? id : id + ".", servers);
        bool all_answered = true;
        for (const auto& a : answers) {
            if (!a.answered) {
                err_ << "satellitectl: " << a.server << ": " << a.error << "\n";
                all_answered = false;
                continue;
            }
            if (!o_.json) {
                out_ << a.server << ": " << (a.ds.empty() ? "no DS" : std::to_string(a.ds.size()) + " DS") << "\n";
                for (const auto& d : a.ds) {
                    const bool mine = std::find(wanted.begin(), wanted.end(), d) != wanted.end();
                    out_ << "  " << id << ". DS " << d << (mine ? "  (ours)" : "  (not one of our KSKs)") << "\n";
                }
            }
        }
        if (!all_answered) {
            err_ << "satellitectl: not confirmed: every parent server must answer\n";
            return kExitApiError;
        }
        for (const auto& d : array_field(state, "ds_records")) {
            const std::string text = ours(d);
            const bool everywhere = std::all_of(answers.begin(), answers.end(), [&](const ParentDs& a) {
                return std::find(a.ds.begin(), a.ds.end(), text) != a.ds.end();
            });
            if (everywhere) ds.push_back(d);
        }
        if (ds.empty()) {
            err_ << "satellitectl: not confirmed: no DS of our KSKs is published by every parent server given (ours: "
                 << (wanted.empty() ? std::string("none") : [&] {
                        std::string s;
                        for (const auto& w : wanted) s += (s.empty() ? "" : "; ") + w;
                        return s;
                    }())
                 << ")\n";
            return kExitApiError;
        }
    }
    json::object body;
    body["ds_records"] = ds;
    json::value v;
    if (auto code = call({"POST", base + "/confirm-ds-published", json::serialize(body)}, v, true)) return *code;
    if (!o_.json) {
        out_ << id << ".: " << field(v, "message") << " (" << ds.size() << " DS record" << (ds.size() == 1 ? "" : "s")
             << ")\n";
    }
    return kExitOk;
}

// dnssec peer-keys list|export|add|remove: the multi-signer key exchange
// (RFC 8901 §2.1.2 model 2). `export` on one provider feeds `add` on another.
int Program::peer_keys(const std::string& action, const std::string& name, const std::string& arg) {
    const std::string id = domain_id(name);
    const std::string base = "/api/v1/domains/" + path_segment(id) + "/dnssec/peer-keys";
    Call c{"GET", base, ""};
    if (action == "add" || (action == "remove" && !all_digits(arg))) {
        auto text = read_input(arg, in_);
        if (!text) {
            err_ << "satellitectl: " << text.error().message << "\n";
            return kExitUsage;
        }
        auto body = peer_keys_body(*text, arg == "-" ? "standard input" : arg);
        if (!body) {
            err_ << "satellitectl: " << body.error().message << "\n";
            return kExitUsage;
        }
        c = {action == "add" ? "POST" : "DELETE", base, *body};
    } else if (action == "remove") {
        c = {"DELETE", base + "/" + arg, ""};  // parse_args checked the key tag
    }
    json::value v;
    std::string raw;
    if (auto code = call(c, v, action != "export", &raw)) return *code;
    if (action == "export") {
        out_ << raw << (raw.ends_with('\n') ? "" : "\n");
        return kExitOk;
    }
    if (o_.json) return kExitOk;

    const std::string zone = member(v, "zone").is_string() ? field(v, "zone") : id + ".";
    if (action == "list") {
        print_fields(out_, {{"zone", zone},
                            {"algorithm", member(v, "algorithm").is_int64() && member(v, "algorithm").get_int64() != 0
                                              ? algorithm_name(member(v, "algorithm").get_int64())
                                              : "-"}});
        out_ << "\nOur keys (give them to the other providers: satellitectl dnssec peer-keys export " << id
             << "):\n";
        print_peer_keys(out_, array_field(v, "keys"), false);
    } else {
        out_ << zone << ": " << field(v, "message") << "\n";
    }
    out_ << "\nPeer keys (the other providers' keys we publish):\n";
    print_peer_keys(out_, array_field(v, "peer_keys"), true);
    return kExitOk;
}

int Program::run() {
    const auto& w = o_.words;
    auto need = [&](std::size_t n) { return w.size() == n; };
    if (w[0] == "status" && need(1)) return status();
    if (w[0] == "zone" && w.size() >= 2) {
        if (w[1] == "list" && need(2)) return zone_list();
        if (w[1] == "show" && need(3)) return zone_show(w[2]);
        if ((w[1] == "refresh" || w[1] == "retransfer") && need(3)) return zone_refresh(w[2], w[1] == "retransfer");
    }
    if (w[0] == "dnssec" && w.size() >= 4 && w[1] == "peer-keys") {
        return peer_keys(w[2], w[3], w.size() > 4 ? w[4] : std::string());
    }
    if (w[0] == "dnssec" && need(3)) return dnssec(w[1], w[2]);
    return kExitUsage;  // parse_args has checked the shape already
}

}  // namespace

Result<ParentServer> parse_parent(const std::string& text) {
    ParentServer out;
    std::string port;
    if (text.starts_with("[")) {  // [2001:db8::1]:53
        const auto close = text.find(']');
        if (close == std::string::npos) return make_error("--parent " + text + ": missing ']'");
        out.host = text.substr(1, close - 1);
        const std::string after = text.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') return make_error("--parent " + text + ": expected ':PORT' after ']'");
            port = after.substr(1);
        }
    } else if (std::count(text.begin(), text.end(), ':') == 1) {  // 192.0.2.1:5300
        out.host = text.substr(0, text.find(':'));
        port = text.substr(text.find(':') + 1);
    } else {
        out.host = text;  // an address alone (IPv4, or IPv6 without a port)
    }
    boost::system::error_code ec;
    asio::ip::make_address(out.host, ec);
    if (ec) return make_error("--parent " + text + ": '" + out.host + "' is not an IP address");
    if (!port.empty()) {
        auto p = to_int(port);
        if (!p || *p < 1 || *p > 65535) return make_error("--parent " + text + ": bad port '" + port + "'");
        out.port = static_cast<std::uint16_t>(*p);
    }
    return out;
}

std::vector<ParentDs> ask_parents(const std::string& zone, const std::vector<ParentServer>& servers) {
    std::vector<ParentDs> out(servers.size());
    std::vector<xfr::PrimaryAddress> addresses;
    for (std::size_t i = 0; i < servers.size(); ++i) {
        addresses.push_back({servers[i].host, servers[i].port});
        out[i].server = addresses.back().to_string();
    }
    auto name = dns::Name::from_text(zone);
    if (!name) {
        for (auto& o : out) o.error = "zone name " + zone + ": " + name.error().message;
        return out;
    }
    asio::io_context io;
    xfr::ask_all(io, addresses, *name, dns::type::DS, std::chrono::seconds(5), [&](xfr::Answers round) {
        for (std::size_t i = 0; i < out.size(); ++i) {
            out[i].answered = i < round.answered.size() && round.answered[i];
            if (!out[i].answered) {
                for (const auto& why : round.problems) {
                    if (why.starts_with(out[i].server + ": ")) out[i].error = why.substr(out[i].server.size() + 2);
                }
                if (out[i].error.empty()) out[i].error = "no usable answer";
                continue;
            }
            for (const auto& rd : round.rdatas[i]) {
                if (rd.size() < 5) continue;
                static const char* hex = "0123456789ABCDEF";
                std::string digest;
                for (std::size_t k = 4; k < rd.size(); ++k) {
                    digest += hex[rd[k] >> 4];
                    digest += hex[rd[k] & 15];
                }
                out[i].ds.push_back(std::to_string((rd[0] << 8) | rd[1]) + " " + std::to_string(rd[2]) + " " +
                                    std::to_string(rd[3]) + " " + digest);
            }
        }
    });
    io.run();
    return out;
}

Result<ServerUrl> parse_server_url(const std::string& url) {
    std::string rest = url;
    ServerUrl out;
    if (rest.starts_with("https://")) {
        out.tls = true;
        rest = rest.substr(8);
    } else if (rest.starts_with("http://")) {
        rest = rest.substr(7);
    }
    if (rest.find("://") != std::string::npos) {
        return make_error("--server " + url + ": only http:// and https:// are supported");
    }
    auto slash = rest.find('/');
    if (slash != std::string::npos) {
        out.prefix = rest.substr(slash);
        while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
        rest = rest.substr(0, slash);
    }
    std::string port;
    if (rest.starts_with("[")) {  // [::1]:8053
        auto close = rest.find(']');
        if (close == std::string::npos) return make_error("--server " + url + ": missing ']'");
        out.host = rest.substr(1, close - 1);
        std::string after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') return make_error("--server " + url + ": expected ':PORT' after ']'");
            port = after.substr(1);
        }
    } else {
        auto colon = rest.rfind(':');
        if (colon != std::string::npos && rest.find(':') != colon) {
            return make_error("--server " + url + ": write an IPv6 address in brackets, e.g. http://[::1]:8053");
        }
        out.host = rest.substr(0, colon);
        if (colon != std::string::npos) port = rest.substr(colon + 1);
    }
    if (out.host.empty()) return make_error("--server " + url + ": no host");
    if (port.empty()) port = "8053";
    auto p = to_int(port);
    if (!p || *p < 1 || *p > 65535) return make_error("--server " + url + ": bad port '" + port + "'");
    out.port = port;
    return out;
}

Result<Options> parse_args(const std::vector<std::string>& args, const Env& env) {
    Options o;
    if (!env.server.empty()) o.server = env.server;
    o.token = env.token;
    bool algorithm_given = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        // --opt VALUE or --opt=VALUE
        auto value = [&](const std::string& name) -> std::optional<std::string> {
            if (a == name) {
                if (i + 1 < args.size()) return args[++i];
                return std::nullopt;
            }
            return a.substr(name.size() + 1);
        };
        auto is = [&](const std::string& name) { return a == name || a.starts_with(name + "="); };
        if (a == "-h" || a == "--help" || a == "help") {
            o.help = true;
        } else if (a == "--json") {
            o.json = true;
        } else if (a == "--from-parent") {
            o.from_parent = true;
        } else if (is("--server") || is("--token") || is("--token-file") || is("--algorithm") || is("--ds") ||
                   is("--ca-file") || is("--parent")) {
            const std::string name = a.substr(0, a.find('='));
            auto v = value(name);
            if (!v) return make_error(name + " needs a value");
            if (name == "--server") o.server = *v;
            if (name == "--token") o.token = *v;
            if (name == "--ca-file") o.ca_file = *v;
            if (name == "--token-file") {
                // The secret stays out of the process list (ps shows --token's value).
                std::ifstream f(*v);
                if (!f) return make_error("--token-file " + *v + ": cannot read it");
                std::string t;
                std::getline(f, t);
                while (!t.empty() && (t.back() == '\r' || t.back() == ' ' || t.back() == '\t')) t.pop_back();
                if (t.empty()) return make_error("--token-file " + *v + ": the first line is empty");
                o.token = t;
            }
            if (name == "--ds") o.ds.push_back(*v);
            if (name == "--parent") o.parents.push_back(*v);
            if (name == "--algorithm") {
                o.algorithm = to_int(*v);
                if (!o.algorithm) return make_error("--algorithm needs a number, e.g. 13");
                algorithm_given = true;
            }
        } else if (a.starts_with("-") && a.size() > 1) {
            return make_error("unknown option " + a);
        } else {
            o.words.push_back(a);
        }
    }
    if (o.help) return o;
    const auto& w = o.words;
    if (w.empty()) return make_error("no command given");
    if (w[0] == "status") {
        if (w.size() != 1) return make_error("status takes no arguments");
        return o;
    }
    if (w[0] == "zone") {
        if (w.size() < 2) return make_error("zone needs a command: list, show, refresh, retransfer");
        if (w[1] == "list") {
            if (w.size() != 2) return make_error("zone list takes no NAME");
        } else if (w[1] == "show" || w[1] == "refresh" || w[1] == "retransfer") {
            if (w.size() != 3) return make_error("zone " + w[1] + " needs exactly one zone NAME");
        } else {
            return make_error("unknown zone command '" + w[1] + "'");
        }
    } else if (w[0] == "dnssec" && w.size() >= 2 && w[1] == "peer-keys") {
        if (w.size() < 3) return make_error("dnssec peer-keys needs a command: list, export, add, remove");
        const std::string& sub = w[2];
        if (sub == "list" || sub == "export") {
            if (w.size() != 4) return make_error("dnssec peer-keys " + sub + " needs exactly one zone NAME");
        } else if (sub == "add") {
            if (w.size() != 5) return make_error("dnssec peer-keys add needs a zone NAME and a FILE (- for stdin)");
        } else if (sub == "remove") {
            if (w.size() != 5) {
                return make_error("dnssec peer-keys remove needs a zone NAME and a KEYTAG (or a FILE of records, "
                                  "- for stdin)");
            }
            if (all_digits(w[4]) && !key_tag_arg(w[4])) {
                return make_error("key tag " + w[4] + " is out of range; key tags are 0 to 65535");
            }
        } else {
            return make_error("unknown dnssec peer-keys command '" + sub + "'");
        }
    } else if (w[0] == "dnssec") {
        static const std::vector<std::string> actions = {"status",     "enable",     "disable",
                                                         "rotate-zsk", "rotate-ksk", "confirm-ds",
                                                         "confirm-ds-removed", "sync"};
        if (w.size() < 2) return make_error("dnssec needs a command: status, enable, disable, rotate-zsk, ...");
        if (std::find(actions.begin(), actions.end(), w[1]) == actions.end()) {
            return make_error("unknown dnssec command '" + w[1] + "'");
        }
        if (w.size() != 3) return make_error("dnssec " + w[1] + " needs exactly one zone NAME");
        // Confirming our own DS list back would confirm nothing: the DS
        // must come from what the parent publishes.
        if (w[1] == "confirm-ds" && o.ds.empty() && !o.from_parent) {
            return make_error("dnssec confirm-ds needs the DS records the parent now publishes: --ds \"KEYTAG ALG "
                              "DIGESTTYPE HEX\" (one --ds each; e.g. from `dig +short DS " + w[2] +
                              "`), or --from-parent --parent ADDR[:PORT] to ask the parent's servers");
        }
        if (w[1] == "confirm-ds" && o.from_parent && !o.ds.empty()) {
            return make_error("dnssec confirm-ds takes either --ds or --from-parent, not both");
        }
        if (w[1] == "confirm-ds" && o.from_parent && o.parents.empty()) {
            return make_error("dnssec confirm-ds --from-parent needs the parent zone's servers: --parent ADDR[:PORT] "
                              "(one --parent each, e.g. from `dig +short NS` of the parent zone)");
        }
    } else {
        return make_error("unknown command '" + w[0] + "'");
    }
    const std::string command = w[0] + " " + w[1];
    if (algorithm_given && command != "dnssec enable") return make_error("--algorithm goes with dnssec enable");
    if (!o.ds.empty() && command != "dnssec confirm-ds") return make_error("--ds goes with dnssec confirm-ds");
    if (o.from_parent && command != "dnssec confirm-ds") {
        return make_error("--from-parent goes with dnssec confirm-ds");
    }
    if (!o.parents.empty() && !o.from_parent) return make_error("--parent goes with dnssec confirm-ds --from-parent");
    for (const auto& p : o.parents) {
        if (auto s = parse_parent(p); !s) return s.error();
    }
    for (const auto& d : o.ds) {
        if (!parse_ds_arg(d)) return make_error("--ds \"" + d + "\": write \"KEYTAG ALGORITHM DIGESTTYPE HEXDIGEST\"");
    }
    return o;
}

namespace {

// One request over `stream` (connected and, for https, after the handshake).
template <class Stream>
void exchange(Stream& stream, http::request<http::string_body>& req, beast::flat_buffer& buffer,
              http::response<http::string_body>& res,
              const std::function<void(const std::string&, const beast::error_code&)>& fail) {
    beast::get_lowest_layer(stream).expires_after(kTimeout);
    http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
        if (ec) return fail("lost the connection to", ec);
        beast::get_lowest_layer(stream).expires_after(kTimeout);
        http::async_read(stream, buffer, res, [&](beast::error_code ec, std::size_t) {
            if (ec) return fail("no answer from", ec);
            beast::error_code ignored;
            beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
        });
    });
}

}  // namespace

Result<HttpReply> http_call(const ServerUrl& server, const std::string& token, const std::string& method,
                            const std::string& path, const std::string& body) {
    const std::string where = (server.tls ? "https://" : "http://") +
                              (server.host.find(':') != std::string::npos ? "[" + server.host + "]" : server.host) +
                              ":" + server.port;
    asio::io_context io;
    tcp::resolver resolver(io);
    http::request<http::string_body> req(http::string_to_verb(method), server.prefix + path, 11);
    req.set(http::field::host, server.host);
    req.set(http::field::user_agent, "satellitectl");
    req.set(http::field::accept, "application/json");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.keep_alive(false);
    req.prepare_payload();
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    std::optional<Error> failure;
    std::function<void(const std::string&, const beast::error_code&)> fail = [&](const std::string& what,
                                                                                 const beast::error_code& ec) {
        failure = make_error(what + " " + where + ": " +
                             (ec == beast::error::timeout ? "no answer within 30 s" : ec.message()));
    };

    // https: the server's certificate must chain to the system's CAs (or
    // --ca-file) and name the host (RFC 6125), over TLS 1.2 or later.
    asio::ssl::context tls(asio::ssl::context::tls_client);
    if (server.tls) {
        SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
        beast::error_code ec;
        if (server.ca_file.empty()) {
            tls.set_default_verify_paths(ec);
        } else {
            tls.load_verify_file(server.ca_file, ec);
        }
        if (ec) return make_error("--ca-file " + server.ca_file + ": " + ec.message());
        tls.set_verify_mode(asio::ssl::verify_peer);
    }
    beast::tcp_stream plain(io);
    beast::ssl_stream<beast::tcp_stream> secure(io, tls);
    if (server.tls) {
        secure.set_verify_callback(asio::ssl::host_name_verification(server.host));
        boost::system::error_code ec;
        asio::ip::make_address(server.host, ec);
        if (ec) SSL_set_tlsext_host_name(secure.native_handle(), server.host.c_str());  // SNI for names only
    }

    resolver.async_resolve(server.host, server.port, [&](beast::error_code ec, tcp::resolver::results_type hosts) {
        if (ec) return fail("cannot resolve", ec);
        beast::tcp_stream& transport = server.tls ? beast::get_lowest_layer(secure) : plain;
        transport.expires_after(kTimeout);
        transport.async_connect(hosts, [&](beast::error_code ec, const tcp::endpoint&) {
            if (ec) return fail("cannot connect to", ec);
            if (!server.tls) return exchange(plain, req, buffer, res, fail);
            beast::get_lowest_layer(secure).expires_after(kTimeout);
            secure.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code ec) {
                if (ec) return fail("TLS handshake with", ec);
                exchange(secure, req, buffer, res, fail);
            });
        });
    });
    io.run();
    if (failure) return *failure;
    return HttpReply{res.result_int(), std::move(res.body())};
}

std::string usage() {
    return R"(usage: satellitectl [options] COMMAND

Commands:
  status                         ready (every zone served, none expired or expiring) or
                                 the zones that are not and why (GET /readyz; exit 1)
  zone list                      zones with serial, mode, last transfer, next refresh
  zone show NAME                 one zone in detail
  zone refresh NAME              queue a refresh (SOA check, then IXFR/AXFR if newer)
  zone retransfer NAME           transfer the whole zone again by AXFR (POST .../retransfer)
  dnssec status NAME             DNSSEC state, keys and DS records
  dnssec enable NAME [--algorithm N]
                                 generate keys and sign (8 10 13 14 15; server default 13)
  dnssec disable NAME            start going unsigned (remove the DS at the parent first)
  dnssec rotate-zsk NAME         start a ZSK rollover
  dnssec rotate-ksk NAME         start a KSK rollover; prints the new DS to publish
  dnssec confirm-ds NAME --ds "KEYTAG ALG DIGESTTYPE HEX" [--ds ...]
                                 say these DS records (as `dig DS NAME` shows them at the
                                 parent) are published; they must match a key of ours
  dnssec confirm-ds NAME --from-parent --parent ADDR[:PORT] [--parent ...]
                                 ask each of the parent zone's servers for NAME's DS and
                                 confirm ours only when every server serves it
  dnssec confirm-ds-removed NAME say the parent no longer has our DS (ends disabling)
  dnssec sync NAME               re-read the DNSSEC state and show it
  dnssec peer-keys list NAME     multi-signer: our DNSKEYs and the other providers' keys we publish
  dnssec peer-keys export NAME   print the JSON to give the other providers (their `peer-keys add`)
  dnssec peer-keys add NAME FILE|-
                                 publish the other providers' keys: FILE (- = stdin) holds their
                                 `export` JSON or DNSKEY records, one a line (; comments)
  dnssec peer-keys remove NAME KEYTAG|FILE|-
                                 stop publishing a peer key, by key tag or the records in FILE

Options:
  --server URL   the REST API, http://HOST[:PORT] or https://HOST[:PORT] (default $SATELLITE_API,
                 else http://127.0.0.1:8053)
  --ca-file F    https: check the server's certificate against F (a CA, or the server's own
                 self-signed certificate) instead of the system's CAs
  --token-file F bearer token: the first line of F (preferred)
  --token T      bearer token (default $SATELLITE_TOKEN); visible to other users in `ps`,
                 so prefer SATELLITE_TOKEN or --token-file
  --json         print the API's JSON as it is
  -h, --help     this text

Exit status: 0 ok, 1 the API refused (its message is printed), 2 usage or an unusable input
file, 3 cannot reach the API.
)";
}

Result<std::string> peer_keys_body(const std::string& text, const std::string& source) {
    const std::size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return make_error(source + " is empty; give DNSKEY records or an export");
    if (text[first] == '{' || text[first] == '[') {
        boost::system::error_code ec;
        json::value v = json::parse(text, ec);
        if (ec) return make_error(source + " is not valid JSON: " + ec.message());
        if (v.is_object()) return text;  // as `export` printed it: the server takes it as it is
        json::object body;
        body["keys"] = std::move(v);
        return json::serialize(body);
    }
    // DNSKEY records in presentation form (RFC 1035 §5.1): ';' starts a
    // comment, parentheses continue a record over lines.
    json::array keys;
    std::istringstream lines(text);
    std::string line, record;
    int depth = 0;
    std::size_t number = 0, start = 0;
    while (std::getline(lines, line)) {
        ++number;
        line = line.substr(0, line.find(';'));
        for (char& ch : line) {
            if (ch == '(') ++depth;
            if (ch == ')') --depth;
            if (ch == '(' || ch == ')') ch = ' ';
        }
        if (depth < 0) return make_error(source + " line " + std::to_string(number) + ": ')' without '('");
        if (record.empty()) start = number;
        record += " " + line;
        if (depth > 0) continue;
        auto words = split_words(record);
        record.clear();
        if (words.empty()) continue;
        bool is_dnskey = std::any_of(words.begin(), words.end(), [](std::string w) {
            for (char& ch : w) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            return w == "DNSKEY";
        });
        std::string joined;
        for (const auto& w : words) joined += (joined.empty() ? "" : " ") + w;
        if (!is_dnskey) {
            return make_error(source + " line " + std::to_string(start) + ": not a DNSKEY record: " +
                              joined.substr(0, 80));
        }
        keys.push_back(json::value(joined));
    }
    if (depth > 0) return make_error(source + " line " + std::to_string(start) + ": '(' is never closed");
    if (keys.empty()) return make_error(source + " has no DNSKEY records");
    json::object body;
    body["keys"] = std::move(keys);
    return json::serialize(body);
}

int run(const std::vector<std::string>& args, const Env& env, std::ostream& out, std::ostream& err) {
    return run(args, env, out, err, std::cin);
}

int run(const std::vector<std::string>& args, const Env& env, std::ostream& out, std::ostream& err,
        std::istream& in) {
    auto options = parse_args(args, env);
    if (!options) {
        err << "satellitectl: " << options.error().message << "\n";
        if (args.empty()) {
            err << "\n" << usage();
        } else {
            err << "run `satellitectl --help` for the commands and options\n";
        }
        return kExitUsage;
    }
    if (options->help) {
        out << usage();
        return kExitOk;
    }
    auto url = parse_server_url(options->server);
    if (!url) {
        err << "satellitectl: " << url.error().message << "\n";
        return kExitUsage;
    }
    url->ca_file = options->ca_file;
    return Program(*options, *url, out, err, in).run();
}

}  // namespace satellite::ctl
