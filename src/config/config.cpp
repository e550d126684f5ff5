// TOML → plain structs, refusing anything doubtful at start-up with
// "file:line:col: sentence" so the operator sees what to fix (DESIGN.md §2).
// toml++ is compiled here only (header-only); nothing else sees its types.
#include "config/config.hpp"

#define TOML_HEADER_ONLY 1
#include <arpa/inet.h>
#include <toml++/toml.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <unordered_set>
#include <sstream>
#include <string_view>
#include <utility>

#include "dns/acl.hpp"
#include "dns/name.hpp"
#include "dns/validate.hpp"

namespace satellite::config {
namespace {

namespace fs = std::filesystem;
using Names = std::initializer_list<std::string_view>;

constexpr std::uint16_t kDefaultDnsPort = 53;

std::string quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// "a", "b" or "c" — for messages that list the accepted values.
std::string list_choices(Names choices) {
    std::string out;
    std::size_t i = 0;
    for (auto choice : choices) {
        if (i > 0) out += (i + 1 == choices.size()) ? " or " : ", ";
        out += quote(choice);
        ++i;
    }
    return out;
}

// Levenshtein distance, to suggest the key the operator probably meant.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string_view a_type(toml::node_type type) {
    switch (type) {
        case toml::node_type::none:
            return "nothing";
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
    }
    return "an unknown type";
}

bool before(const toml::source_position& a, const toml::source_position& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
}

// --- value syntax (no positions; callers prefix the key and the place) ----

bool is_ipv4(const std::string& text) {
    in_addr addr{};
    return ::inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

bool is_ipv6(const std::string& text) {
    in6_addr addr{};
    return ::inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

enum class PortRule { Required, Optional };  // Optional: 53 when omitted

// "192.0.2.1:53", "[2001:db8::1]:53", and with PortRule::Optional also
// "192.0.2.1" and "[2001:db8::1]". Host names are refused: nothing here
// resolves names, so an address is what the operator must write.
Result<Endpoint> parse_endpoint(std::string_view text, PortRule rule) {
    const std::string example = rule == PortRule::Required
                                    ? R"(write "192.0.2.1:53" or "[2001:db8::1]:53")"
                                    : R"(write "192.0.2.1", "192.0.2.1:53" or "[2001:db8::1]:53")";
    if (text.empty()) return make_error("is empty; " + example);

    Endpoint ep;
    std::string_view port_text;
    bool has_port = false;
    if (text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) {
            return make_error(quote(text) + " has no closing \"]\"; " + example);
        }
        ep.host = std::string(text.substr(1, close - 1));
        auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                return make_error(quote(text) + " has text after \"]\" that is not \":port\"; " +
                                  example);
            }
            port_text = rest.substr(1);
            has_port = true;
        }
        if (!is_ipv6(ep.host)) {
            return make_error(quote(text) + " has " + quote(ep.host) +
                              " in brackets, which is not an IPv6 address; brackets are for IPv6 "
                              "only, " +
                              example);
        }
    } else {
        auto colons = std::count(text.begin(), text.end(), ':');
        if (colons > 1) {
            return make_error(quote(text) +
                              " looks like an IPv6 address without brackets; put the address in "
                              "brackets and the port after them, e.g. \"[2001:db8::1]:53\"");
        }
        auto colon = text.find(':');
        ep.host = std::string(text.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = text.substr(colon + 1);
            has_port = true;
        }
        if (!is_ipv4(ep.host)) {
            return make_error(quote(text) +
                              " does not start with an IP address (host names are "
                              "not resolved); " +
                              example);
        }
    }

    if (!has_port) {
        if (rule == PortRule::Required) {
            return make_error(quote(text) + " has no port; add one, e.g. " +
                              quote(Endpoint{ep.host, 5353}.to_string()));
        }
        ep.port = kDefaultDnsPort;
        return ep;
    }
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec == std::errc::invalid_argument ||
        end != port_text.data() + port_text.size()) {
        return make_error(quote(text) + " has port " + quote(port_text) +
                          ", which is not a number; " + example);
    }
    if (ec == std::errc::result_out_of_range || port < 1 || port > 65535) {
        return make_error(quote(text) + " has port " + std::string(port_text) +
                          ", which is out of range; use a port from 1 to 65535");
    }
    ep.port = static_cast<std::uint16_t>(port);
    return ep;
}

// Checks a zone or key name against RFC 1035 §2.3.4 (labels ≤ 63 octets, the
// name ≤ 255 octets in wire form) and returns it with its final dot.
Result<std::string> normalise_dns_name(std::string_view text) {
    if (text.empty()) return make_error("is empty; write a domain name such as \"example.com.\"");
    if (text == ".") return std::string(".");
    std::string_view body = text.back() == '.' ? text.substr(0, text.size() - 1) : text;
    std::size_t wire_length = 1;  // the root label
    std::size_t start = 0;
    while (start <= body.size()) {
        auto dot = body.find('.', start);
        if (dot == std::string_view::npos) dot = body.size();
        auto label = body.substr(start, dot - start);
        if (label.empty()) {
            return make_error(quote(text) + " has an empty label; remove the extra dot");
        }
        if (label.size() > 63) {
            return make_error(quote(text) + " has a label of " + std::to_string(label.size()) +
                              " octets; labels are at most 63 (RFC 1035 §2.3.4)");
        }
        for (unsigned char c : label) {
            // '/' for RFC 2317 classless reverse zones, '_' for service labels.
            if (!std::isalnum(c) && c != '-' && c != '_' && c != '/') {
                std::string shown = std::isprint(c) ? std::string(1, static_cast<char>(c))
                                                    : "byte " + std::to_string(c);
                return make_error(quote(text) + " contains " + quote(shown) +
                                  "; use letters, digits, \"-\", \"_\" or \"/\" in names");
            }
        }
        wire_length += label.size() + 1;
        start = dot + 1;
    }
    if (wire_length > 255) {
        return make_error(quote(text) + " is " + std::to_string(wire_length) +
                          " octets in wire form; names are at most 255 (RFC 1035 §2.3.4)");
    }
    return std::string(body) + ".";
}

// Strict RFC 4648 §4 base64, padded, no whitespace (what tsig-keygen prints).
Result<std::vector<std::uint8_t>> decode_base64(std::string_view text) {
    const std::string fix = "; paste the secret exactly as tsig-keygen or keymgr printed it";
    if (text.empty()) return make_error("is empty" + fix);
    if (text.size() % 4 != 0) {
        return make_error("is not valid base64 (its length is not a multiple of 4)" + fix);
    }
    auto value_of = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::size_t padding = 0;
    if (text.back() == '=') ++padding;
    if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
    std::vector<std::uint8_t> out;
    out.reserve(text.size() / 4 * 3);
    std::uint32_t bits = 0;
    int bit_count = 0;
    for (std::size_t i = 0; i < text.size() - padding; ++i) {
        int v = value_of(text[i]);
        if (v < 0) {
            return make_error("is not valid base64 (it contains " + quote(std::string(1, text[i])) +
                              ")" + fix);
        }
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            out.push_back(static_cast<std::uint8_t>((bits >> bit_count) & 0xff));
        }
    }
    return out;
}

bool is_hex(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](unsigned char c) { return std::isxdigit(c) != 0; });
}

// 604800 → "7d": durations in messages read the way the operator wrote them.
std::string format_duration(std::uint32_t seconds) {
    if (seconds == 0) return "0";
    for (auto [unit, size] : std::initializer_list<std::pair<char, std::uint32_t>>{
             {'d', 86400}, {'h', 3600}, {'m', 60}}) {
        if (seconds % size == 0) return std::to_string(seconds / size) + unit;
    }
    return std::to_string(seconds) + "s";
}

// --- the reader -----------------------------------------------------------

// Walks the parsed document in a fixed order and stops at the first problem.
class Reader {
public:
    Reader(std::string path, fs::path base_dir)
        : path_(std::move(path)), base_dir_(std::move(base_dir)) {}

    Result<Config> read(const toml::table& root) {
        Config cfg;
        cfg.path = path_;
        if (auto s = only_keys(root, "the top level", {"server", "api", "log", "tsig_key", "zone", "catalog"});
            !s) {
            return s.error();
        }
        if (auto s = read_server(root, cfg.server); !s) return s.error();
        if (auto s = read_api(root, cfg); !s) return s.error();
        if (auto s = read_log(root, cfg.log); !s) return s.error();
        if (auto s = read_tsig_keys(root, cfg.tsig_keys); !s) return s.error();
        if (const auto* server = root.get("server"); server && server->is_table()) {
            if (const auto* node = server->as_table()->get("provide_xfr")) {
                auto acl = as_provide_xfr(*node, "server.provide_xfr", cfg.tsig_keys);
                if (!acl) return acl.error();
                cfg.server.provide_xfr = std::move(*acl);
            }
        }
        if (auto s = read_zones(root, cfg); !s) return s.error();
        if (auto s = read_catalogs(root, cfg); !s) return s.error();
        return cfg;
    }

private:
    Error at(const toml::source_region& where, std::string_view message) const {
        auto line = where.begin.line == 0 ? 1 : where.begin.line;
        auto column = where.begin.column == 0 ? 1 : where.begin.column;
        return make_error(path_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                          std::string(message));
    }
    Error at(const toml::node& node, std::string_view message) const {
        return at(node.source(), message);
    }

    // Refuses keys outside `known`, pointing at the first one in the file.
    Status only_keys(const toml::table& table, std::string_view where, Names known) const {
        const toml::key* first = nullptr;
        for (auto&& [key, node] : table) {
            if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
            if (!first || before(key.source().begin, first->source().begin)) first = &key;
        }
        if (!first) return {};
        std::string_view best;
        std::size_t best_distance = 3;  // suggest only close misspellings
        for (auto name : known) {
            auto d = edit_distance(lower(first->str()), name);
            if (d < best_distance) {
                best = name;
                best_distance = d;
            }
        }
        std::string message = "unknown key " + quote(first->str()) + " in " + std::string(where);
        if (!best.empty()) {
            message += "; did you mean " + quote(best) + "?";
        } else {
            std::string names;
            for (auto name : known) names += (names.empty() ? "" : ", ") + std::string(name);
            message += "; remove it (the keys allowed here are " + names + ")";
        }
        return at(first->source(), message);
    }

    // A required key that is absent: point at the table that lacks it.
    Status require(const toml::table& table, std::string_view key, std::string_view where,
                   std::string_view example) const {
        if (table.contains(key)) return {};
        return at(table, std::string(where) + " has no " + std::string(key) + "; add " +
                             std::string(example));
    }

    Error type_error(const toml::node& node, std::string_view name, std::string_view expected,
                     std::string_view hint = {}) const {
        std::string message = std::string(name) + " must be " + std::string(expected) + ", not " +
                              std::string(a_type(node.type()));
        if (!hint.empty()) message += "; " + std::string(hint);
        return at(node, message);
    }

    Result<std::string> as_string(const toml::node& node, std::string_view name) const {
        if (const auto* v = node.as_string()) return v->get();
        return type_error(node, name, "a string", "put the value in double quotes");
    }

    Result<std::string> as_nonempty_string(const toml::node& node, std::string_view name) const {
        auto s = as_string(node, name);
        if (s && s->empty()) return at(node, std::string(name) + " is empty; give it a value");
        return s;
    }

    Result<bool> as_bool(const toml::node& node, std::string_view name) const {
        if (const auto* v = node.as_boolean()) return v->get();
        return type_error(node, name, "true or false", "write it without quotes");
    }

    Result<std::int64_t> as_integer(const toml::node& node, std::string_view name, std::int64_t min,
                                    std::int64_t max) const {
        const auto* v = node.as_integer();
        if (!v) return type_error(node, name, "an integer", "write a whole number without quotes");
        if (v->get() < min || v->get() > max) {
            return at(node, std::string(name) + " is " + std::to_string(v->get()) +
                                ", which is out of range; use a value from " + std::to_string(min) +
                                " to " + std::to_string(max));
        }
        return v->get();
    }

    // A duration string ("14d") or a plain integer number of seconds.
    Result<std::uint32_t> as_duration(const toml::node& node, std::string_view name) const {
        if (const auto* v = node.as_integer()) {
            if (v->get() < 0 || v->get() > std::numeric_limits<std::uint32_t>::max()) {
                return at(node, std::string(name) + " is " + std::to_string(v->get()) +
                                    " seconds, which is out of range; use 0 to 4294967295 "
                                    "seconds or a duration such as \"14d\"");
            }
            return static_cast<std::uint32_t>(v->get());
        }
        const auto* text = node.as_string();
        if (!text) {
            return type_error(node, name, "a duration", "write e.g. \"14d\", \"12h\" or \"30m\"");
        }
        auto seconds = parse_duration(text->get());
        if (!seconds) return at(node, std::string(name) + " " + seconds.error().message);
        return *seconds;
    }

    // One of a fixed set of words (log.level, zone.mode, ...).
    Result<std::string> as_choice(const toml::node& node, std::string_view name,
                                  Names choices) const {
        auto text = as_string(node, name);
        if (!text) return text;
        if (std::find(choices.begin(), choices.end(), *text) != choices.end()) return text;
        return at(node, std::string(name) + " " + quote(*text) + " is unknown; use " +
                            list_choices(choices));
    }

    Result<const toml::table*> as_table(const toml::node& node, std::string_view name,
                                        std::string_view hint) const {
        if (const auto* t = node.as_table()) return t;
        return type_error(node, name, "a table", hint);
    }

    Result<const toml::array*> as_array(const toml::node& node, std::string_view name,
                                        std::string_view hint) const {
        if (const auto* a = node.as_array()) return a;
        return type_error(node, name, "an array", hint);
    }

    // The tables of an array of tables ([[zone]]); absent = none.
    Result<std::vector<const toml::table*>> tables_of(const toml::table& parent,
                                                      std::string_view key,
                                                      std::string_view name) const {
        std::vector<const toml::table*> out;
        const toml::node* node = parent.get(key);
        if (!node) return out;
        const std::string hint = "write each one as [[" + std::string(name) + "]]";
        const auto* array = node->as_array();
        if (array && array->empty()) return out;
        if (!array || !array->is_array_of_tables()) {
            const toml::node& bad = array ? *std::find_if(array->begin(), array->end(),
                                                          [](auto& n) { return !n.is_table(); })
                                          : *node;
            return type_error(bad, name, "an array of tables", hint);
        }
        for (const auto& element : *array) out.push_back(element.as_table());
        return out;
    }

    // An address to listen on (port required) or a primary (port 53 by default).
    Result<Endpoint> as_endpoint(const toml::node& node, std::string_view name,
                                 PortRule rule) const {
        auto text = as_string(node, name);
        if (!text) return text.error();
        auto ep = parse_endpoint(*text, rule);
        if (!ep) return at(node, std::string(name) + " " + ep.error().message);
        return ep;
    }

    // provide_xfr: each entry a prefix, optionally "key NAME" naming a
    // [[tsig_key]] (written back with the key's own spelling). An empty
    // list is allowed: nobody may transfer.
    Result<std::vector<std::string>> as_provide_xfr(const toml::node& node, std::string_view name,
                                                    const std::vector<TsigKey>& keys) const {
        auto array = as_array(node, name, R"(write e.g. ["192.0.2.0/24", "2001:db8::/32 key xfr-key"])");
        if (!array) return array.error();
        std::vector<std::string> out;
        for (const auto& element : **array) {
            auto text = as_string(element, name);
            if (!text) return text.error();
            auto entry = dns::parse_xfr_acl(*text);
            if (!entry) return at(element, std::string(name) + " " + quote(*text) + ": " + entry.error().message);
            std::string value = *text;
            if (!entry->key.empty()) {
                auto wanted = normalise_dns_name(entry->key);
                auto match = std::find_if(keys.begin(), keys.end(), [&](const TsigKey& k) {
                    auto n = normalise_dns_name(k.name);
                    return wanted && n && lower(*n) == lower(*wanted);
                });
                if (match == keys.end()) {
                    return at(element, std::string(name) + " " + quote(*text) + " names key " +
                                           quote(entry->key) + ", which is no [[tsig_key]]; define it or fix the name");
                }
                std::istringstream words(*text);
                std::string prefix;
                words >> prefix;
                value = prefix + " key " + match->name;
            }
            out.push_back(std::move(value));
        }
        return out;
    }

    // Each element of an array of endpoints; refuses an empty list and repeats.
    Result<std::vector<Endpoint>> as_endpoints(const toml::node& node, std::string_view name,
                                               PortRule rule) const {
        auto array = as_array(node, name, R"(write e.g. ["192.0.2.1:53"])");
        if (!array) return array.error();
        if ((*array)->empty()) {
            return at(node, std::string(name) + " is empty; list at least one address");
        }
        std::vector<Endpoint> out;
        for (const auto& element : **array) {
            auto ep = as_endpoint(element, name, rule);
            if (!ep) return ep.error();
            for (const auto& seen : out) {
                if (seen.host == ep->host && seen.port == ep->port) {
                    return at(element, std::string(name) + " lists " + quote(ep->to_string()) +
                                           " twice; remove one");
                }
            }
            out.push_back(*ep);
        }
        return out;
    }

    // Relative to the config file's directory, lexically normalised.
    std::string resolve(std::string_view text) const {
        fs::path p(text);
        if (!p.is_absolute()) p = base_dir_ / p;
        p = p.lexically_normal();
        if (!p.has_filename() && p != p.root_path()) p = p.parent_path();
        return p.string();
    }

    Status read_server(const toml::table& root, Server& out) const {
        static const toml::table kNoServerTable;  // a missing [server] means all defaults
        const toml::table* table = &kNoServerTable;
        if (const auto* node = root.get("server")) {
            auto t = as_table(*node, "server", "write it as one [server] table");
            if (!t) return t.error();
            table = *t;
        }
        if (auto s = only_keys(*table, "[server]",
                               {"listen", "threads", "state_dir", "tcp_max_connections",
                                "tcp_max_connections_per_client", "tcp_idle_timeout_ms",
                                "udp_max_payload", "rrl", "provide_xfr", "catalog", "cookies", "online_signing_budget",
                                "cookie_secret", "cookie_secret_previous", "nsid", "identity", "version"});
            !s) {
            return s;
        }

        if (const auto* node = table->get("listen")) {
            auto listen = as_endpoints(*node, "server.listen", PortRule::Required);
            if (!listen) return listen.error();
            out.listen = std::move(*listen);
        } else {
            out.listen = {Endpoint{"127.0.0.1", 5353}};
        }
        if (const auto* node = table->get("threads")) {
            // 256: the readers a published catalog tracks (util/published.hpp).
            auto v = as_integer(*node, "server.threads", 0, 256);
            if (!v) return v.error();
            out.threads = static_cast<unsigned>(*v);
        }
        if (const auto* node = table->get("state_dir")) {
            auto v = as_nonempty_string(*node, "server.state_dir");
            if (!v) return v.error();
            out.state_dir = *v;
        }
        out.state_dir = resolve(out.state_dir);
        if (const auto* node = table->get("tcp_max_connections")) {
            auto v = as_integer(*node, "server.tcp_max_connections", 1, 1'000'000);
            if (!v) return v.error();
            out.tcp_max_connections = static_cast<unsigned>(*v);
        }
        if (const auto* node = table->get("tcp_max_connections_per_client")) {
            auto v = as_integer(*node, "server.tcp_max_connections_per_client", 1, 1'000'000);
            if (!v) return v.error();
            out.tcp_max_connections_per_client = static_cast<unsigned>(*v);
        }
        if (const auto* node = table->get("tcp_idle_timeout_ms")) {
            auto v = as_integer(*node, "server.tcp_idle_timeout_ms", 1, 3'600'000);
            if (!v) return v.error();
            out.tcp_idle_timeout_ms = static_cast<unsigned>(*v);
        }
        if (const auto* node = table->get("catalog")) {
            auto name = as_string(*node, "server.catalog");
            if (!name) return name.error();
            auto normal = normalise_dns_name(*name);
            if (!normal) return at(*node, "server.catalog " + normal.error().message);
            out.catalog = *normal;
        }
        // Printable ASCII that fits one TXT string (and an NSID option):
        // what a resolver's operator reads in dig +nsid or a CHAOS query.
        for (auto [key, field] : {std::pair{"nsid", &out.nsid}, std::pair{"identity", &out.identity},
                                  std::pair{"version", &out.version}}) {
            const auto* node = table->get(key);
            if (!node) continue;
            const std::string where = std::string("server.") + key;
            auto v = as_string(*node, where);
            if (!v) return v.error();
            if (v->size() > 128) return at(*node, where + " is longer than 128 characters");
            for (char c : *v) {
                if (c < 0x20 || c > 0x7e) return at(*node, where + " must be printable ASCII");
            }
            *field = *v;
        }
        if (const auto* node = table->get("udp_max_payload")) {
            // 512 is the RFC 1035 minimum; above 4096 fragments on most paths.
            auto v = as_integer(*node, "server.udp_max_payload", 512, 4096);
            if (!v) return v.error();
            out.udp_max_payload = static_cast<unsigned>(*v);
        }
        if (const auto* node = table->get("online_signing_budget")) {
            auto v = as_integer(*node, "server.online_signing_budget", 0, 10'000'000);
            if (!v) return v.error();
            out.online_signing_budget = static_cast<unsigned>(*v);
        }
        if (const auto* node = table->get("cookies")) {
            auto v = as_bool(*node, "server.cookies");
            if (!v) return v.error();
            out.cookies = *v;
        }
        // RFC 9018 §4.4: the SipHash-2-4 key is 128 bits.
        for (auto [key, dest] : {std::pair{"cookie_secret", &out.cookie_secret},
                                 std::pair{"cookie_secret_previous", &out.cookie_secret_previous}}) {
            const auto* node = table->get(key);
            if (!node) continue;
            const std::string name = std::string("server.") + key;
            auto v = as_string(*node, name);
            if (!v) return v.error();
            if (v->size() != 32 || !is_hex(*v)) {
                return at(*node, name + " must be 32 hex digits (a 128-bit SipHash key, RFC 9018 §4.4), e.g. "
                                        "from `openssl rand -hex 16`");
            }
            *dest = *v;
        }
        if (!out.cookie_secret_previous.empty() && out.cookie_secret.empty()) {
            return at(*table->get("cookie_secret_previous"),
                      "server.cookie_secret_previous needs server.cookie_secret (the secret it was rolled to)");
        }
        if (const auto* node = table->get("rrl")) {
            auto t = as_table(*node, "server.rrl", "write it as one [server.rrl] table");
            if (!t) return t.error();
            if (auto s = only_keys(**t, "[server.rrl]", {"rate", "slip", "exempt"}); !s) return s;
            out.rrl.rate = 20;  // DESIGN.md §2: on, 20 a second, when the table is there
            if (const auto* n = (*t)->get("rate")) {
                auto v = as_integer(*n, "server.rrl.rate", 0, 1'000'000);
                if (!v) return v.error();
                out.rrl.rate = static_cast<unsigned>(*v);
            }
            if (const auto* n = (*t)->get("slip")) {
                auto v = as_integer(*n, "server.rrl.slip", 0, 10);
                if (!v) return v.error();
                out.rrl.slip = static_cast<unsigned>(*v);
            }
            if (const auto* n = (*t)->get("exempt")) {
                auto arr = as_array(*n, "server.rrl.exempt", R"(write e.g. ["127.0.0.0/8", "2001:db8::/32"])");
                if (!arr) return arr.error();
                for (const auto& element : **arr) {
                    auto text = as_string(element, "server.rrl.exempt");
                    if (!text) return text.error();
                    const std::string& p = *text;
                    const auto slash = p.find('/');
                    const std::string addr = p.substr(0, slash);
                    const bool v4 = is_ipv4(addr);
                    bool ok = v4 || is_ipv6(addr);
                    if (ok && slash != std::string::npos) {
                        const std::string len = p.substr(slash + 1);
                        ok = !len.empty() && len.size() <= 3 &&
                             std::all_of(len.begin(), len.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                             std::stoi(len) <= (v4 ? 32 : 128);
                    }
                    if (!ok) {
                        return at(element, "server.rrl.exempt " + quote(p) +
                                               " is not an address or prefix (e.g. \"192.0.2.0/24\")");
                    }
                    out.rrl.exempt.push_back(p);
                }
            }
        }
        return {};
    }

    Status read_api(const toml::table& root, Config& cfg) const {
        const toml::node* api_node = root.get("api");
        if (!api_node) return {};
        auto table = as_table(*api_node, "api", "write it as one [api] table");
        if (!table) return table.error();
        if (auto s = only_keys(**table, "[api]", {"listen", "token", "tls_cert", "tls_key", "allow_plaintext"}); !s) {
            return s;
        }
        Api& out = cfg.api;
        for (auto [key, dest] : {std::pair{"tls_cert", &out.tls_cert}, std::pair{"tls_key", &out.tls_key}}) {
            if (const auto* node = (*table)->get(key)) {
                auto v = as_nonempty_string(*node, std::string("api.") + key);
                if (!v) return v.error();
                *dest = resolve(*v);
            }
        }
        if (out.tls_cert.empty() != out.tls_key.empty()) {
            const char* set = out.tls_cert.empty() ? "tls_key" : "tls_cert";
            return at(*(*table)->get(set), std::string("api.") + set +
                                               " needs its partner: set both tls_cert and tls_key for HTTPS");
        }
        if (const auto* node = (*table)->get("allow_plaintext")) {
            auto v = as_bool(*node, "api.allow_plaintext");
            if (!v) return v.error();
            out.allow_plaintext = *v;
        }

        if (const auto* node = (*table)->get("listen")) {
            auto ep = as_endpoint(*node, "api.listen", PortRule::Required);
            if (!ep) return ep.error();
            for (const auto& dns : cfg.server.listen) {
                if (dns.host == ep->host && dns.port == ep->port) {
                    return at(*node, "api.listen " + quote(ep->to_string()) +
                                         " is also in server.listen; give the API another port");
                }
            }
            out.listen = *ep;
            // Bearer tokens in clear only where nobody else can listen.
            const bool loopback = ep->host == "::1" || ep->host.rfind("127.", 0) == 0;
            if (!loopback && !out.tls() && !out.allow_plaintext) {
                return at(*node, "api.listen " + quote(ep->to_string()) +
                                     " is not a loopback address and the API has no TLS: set tls_cert and "
                                     "tls_key (HTTPS), or allow_plaintext = true to send tokens in clear anyway");
            }
        }

        auto tokens = tables_of(**table, "token", "api.token");
        if (!tokens) return tokens.error();
        for (const toml::table* t : *tokens) {
            if (auto s = only_keys(*t, "[[api.token]]", {"name", "secret", "permissions"}); !s) {
                return s;
            }
            if (auto s = require(*t, "name", "[[api.token]]", "name = \"ops\""); !s) return s;
            if (auto s = require(*t, "secret", "[[api.token]]", "secret = \"...\""); !s) return s;
            if (auto s =
                    require(*t, "permissions", "[[api.token]]", "permissions = [\"zone:read\"]");
                !s) {
                return s;
            }
            ApiToken token;
            auto name = as_nonempty_string(*t->get("name"), "api.token.name");
            if (!name) return name.error();
            token.name = *name;
            auto secret = as_nonempty_string(*t->get("secret"), "api.token.secret");
            if (!secret) return secret.error();
            token.secret = *secret;
            for (const auto& other : out.tokens) {
                if (other.name == token.name) {
                    return at(*t->get("name"), "api.token.name " + quote(token.name) +
                                                   " is used by two tokens; give each a "
                                                   "different name");
                }
                if (other.secret == token.secret) {
                    return at(*t->get("secret"), "api.token.secret of " + quote(token.name) +
                                                     " is the same as " + quote(other.name) +
                                                     "'s; give each token its own secret");
                }
            }
            auto perms = as_array(*t->get("permissions"), "api.token.permissions",
                                  R"(write e.g. ["zone:read", "dnssec:read"])");
            if (!perms) return perms.error();
            for (const auto& element : **perms) {
                auto p = as_choice(element, "api.token.permissions",
                                   {"zone:read", "zone:refresh", "dnssec:read", "dnssec:enable",
                                    "dnssec:disable", "dnssec:rotate", "dnssec:peer-keys"});
                if (!p) return p.error();
                token.permissions.push_back(*p);
            }
            out.tokens.push_back(std::move(token));
        }
        return {};
    }

    Status read_log(const toml::table& root, Log& out) const {
        const toml::node* log_node = root.get("log");
        if (!log_node) return {};
        auto table = as_table(*log_node, "log", "write it as one [log] table");
        if (!table) return table.error();
        if (auto s = only_keys(**table, "[log]", {"level", "format"}); !s) return s;
        if (const auto* node = (*table)->get("level")) {
            auto v = as_choice(*node, "log.level", {"trace", "debug", "info", "warn", "error"});
            if (!v) return v.error();
            out.level = *v;
        }
        if (const auto* node = (*table)->get("format")) {
            auto v = as_choice(*node, "log.format", {"text", "json"});
            if (!v) return v.error();
            out.format = *v;
        }
        return {};
    }

    Status read_tsig_keys(const toml::table& root, std::vector<TsigKey>& out) const {
        auto tables = tables_of(root, "tsig_key", "tsig_key");
        if (!tables) return tables.error();
        std::map<std::string, std::size_t> seen;  // normalised lower-case name → line
        for (const toml::table* t : *tables) {
            if (auto s = only_keys(*t, "[[tsig_key]]", {"name", "algorithm", "secret"}); !s) {
                return s;
            }
            if (auto s = require(*t, "name", "[[tsig_key]]", "name = \"xfr-key\""); !s) return s;
            if (auto s = require(*t, "algorithm", "[[tsig_key]]", "algorithm = \"hmac-sha256\"");
                !s) {
                return s;
            }
            if (auto s = require(*t, "secret", "[[tsig_key]]", "secret = \"<base64>\""); !s) {
                return s;
            }
            TsigKey key;
            const toml::node& name_node = *t->get("name");
            auto name = as_string(name_node, "tsig_key.name");
            if (!name) return name.error();
            auto normal = normalise_dns_name(*name);
            if (!normal) return at(name_node, "tsig_key.name " + normal.error().message);
            auto [it, fresh] = seen.emplace(lower(*normal), name_node.source().begin.line);
            if (!fresh) {
                return at(name_node, "tsig_key.name " + quote(*name) +
                                         " is already defined at line " +
                                         std::to_string(it->second) + "; remove one of them");
            }
            key.name = *name;

            auto algorithm = as_choice(*t->get("algorithm"), "tsig_key.algorithm",
                                       {"hmac-sha256", "hmac-sha384", "hmac-sha512"});
            if (!algorithm) return algorithm.error();
            key.algorithm = *algorithm;

            const toml::node& secret_node = *t->get("secret");
            auto secret = as_string(secret_node, "tsig_key.secret");
            if (!secret) return secret.error();
            auto bytes = decode_base64(*secret);
            if (!bytes) return at(secret_node, "tsig_key.secret " + bytes.error().message);
            key.secret = *secret;
            key.secret_bytes = std::move(*bytes);
            out.push_back(std::move(key));
        }
        return {};
    }

    Status read_zones(const toml::table& root, Config& cfg) const {
        auto tables = tables_of(root, "zone", "zone");
        if (!tables) return tables.error();
        std::map<std::string, std::size_t> seen;  // normalised lower-case name → line
        cfg.zones.reserve(tables->size());
        for (const toml::table* t : *tables) {
            Zone zone;
            if (auto s = read_zone(*t, cfg.tsig_keys, zone); !s) return s;
            if (!t->contains("provide_xfr")) zone.provide_xfr = cfg.server.provide_xfr;
            if (!cfg.server.catalog.empty() && lower(zone.name) == lower(cfg.server.catalog)) {
                return at(*t->get("name"), "zone " + quote(zone.name) +
                                               " is also server.catalog, the catalog Satellite produces; "
                                               "rename one of them");
            }
            const toml::node& name_node = *t->get("name");
            auto [it, fresh] = seen.emplace(lower(zone.name), name_node.source().begin.line);
            if (!fresh) {
                return at(name_node, "zone " + quote(zone.name) + " is already defined at line " +
                                         std::to_string(it->second) + "; remove one of them");
            }
            cfg.zones.push_back(std::move(zone));
        }
        return {};
    }

    // [[catalog]] blocks (RFC 9432 consumer). Each template is read as a
    // [[zone]] block would be (the same checks and messages), with a
    // placeholder name and the catalog's primaries and key where it has none.
    Status read_catalogs(const toml::table& root, Config& cfg) const {
        auto tables = tables_of(root, "catalog", "catalog");
        if (!tables) return tables.error();
        std::map<std::string, std::size_t> seen;
        for (const auto& z : cfg.zones) seen.emplace(lower(z.name), 0);
        for (const toml::table* t : *tables) {
            if (auto s = only_keys(*t, "[[catalog]]",
                                   {"name", "primaries", "tsig_key", "notify_allow", "member_grace", "group"});
                !s) {
                return s;
            }
            if (auto s = require(*t, "name", "[[catalog]]", "name = \"catalog.example.\""); !s) return s;
            if (auto s = require(*t, "primaries", "[[catalog]]", "primaries = [\"192.0.2.1:53\"]"); !s) return s;
            Catalog c;
            const toml::node& name_node = *t->get("name");
            auto name = as_string(name_node, "catalog.name");
            if (!name) return name.error();
            auto normal = normalise_dns_name(*name);
            if (!normal) return at(name_node, "catalog.name " + normal.error().message);
            c.name = *normal;
            // The catalog zone itself: a presigned secondary zone.
            Zone zone;
            if (auto s = read_zone(toml::table{}, cfg.tsig_keys, zone, t); !s) return s;
            c.primaries = zone.primaries;
            c.tsig_key = zone.tsig_key;
            c.notify_allow = zone.notify_allow;
            if (!cfg.server.catalog.empty() && lower(c.name) == lower(cfg.server.catalog)) {
                return at(name_node, "catalog " + quote(c.name) +
                                         " is also server.catalog, the catalog Satellite produces; rename one");
            }
            auto [it, fresh] = seen.emplace(lower(c.name), name_node.source().begin.line);
            if (!fresh) {
                return at(name_node, "catalog " + quote(c.name) + " is already " +
                                         (it->second ? "defined at line " + std::to_string(it->second)
                                                     : std::string("a [[zone]]")) +
                                         "; remove one of them");
            }
            if (const auto* node = t->get("member_grace")) {
                auto v = as_duration(*node, "catalog.member_grace");
                if (!v) return v.error();
                c.member_grace = *v;
            }
            auto read_template = [&](const toml::table& body, Zone& out) -> Status {
                if (auto s = read_zone(body, cfg.tsig_keys, out, t); !s) return s;
                if (!body.contains("provide_xfr")) out.provide_xfr = cfg.server.provide_xfr;
                out.name.clear();
                return {};
            };
            if (auto s = read_template(toml::table{}, c.member); !s) return s;
            if (const auto* node = t->get("group")) {
                auto groups = as_table(*node, "catalog.group", "write each as [catalog.group.NAME]");
                if (!groups) return groups.error();
                for (auto&& [key, value] : **groups) {
                    const std::string name(key.str());
                    if (name.empty() || name.find_first_of("\"\\") != std::string::npos) {
                        return at(key.source(), "catalog.group " + quote(name) +
                                                    " is not a group name; use a non-empty name without quotes");
                    }
                    auto body = as_table(value, "catalog.group." + name, "write it as [catalog.group." + name + "]");
                    if (!body) return body.error();
                    for (std::string_view bad : {"name", "file", "parent_trust_anchor"}) {
                        if ((*body)->contains(bad)) {
                            return at(*(*body)->get(bad), "catalog.group." + name + "." + std::string(bad) +
                                                              " is not allowed in a template; a member's name and "
                                                              "data come from the catalog");
                        }
                    }
                    Zone tmpl;
                    if (auto s = read_template(**body, tmpl); !s) return s;
                    c.groups.emplace_back(name, std::move(tmpl));
                }
            }
            cfg.catalogs.push_back(std::move(c));
        }
        return {};
    }

    // `inherit` (a [[catalog]] table): a template for its members, which has
    // no name and takes primaries, tsig_key and notify_allow from there
    // when it has no primaries of its own.
    Status read_zone(const toml::table& t, const std::vector<TsigKey>& keys, Zone& out,
                     const toml::table* inherit = nullptr) const {
        if (auto s = only_keys(t, "[[zone]]",
                               {"name", "primaries", "file", "tsig_key", "notify_allow", "mode",
                                "allow_nsec3", "signing", "max_zone_records", "max_zone_bytes", "presigned_verify",
                                "expiry_warning", "signature_safety_margin", "transfer_timeout",
                                "transfer_idle_timeout", "peers", "peer_keys_from_primary", "parent_ds_check",
                                "parent_ds_check_interval", "parent_trust_anchor", "provide_xfr", "notify",
                                "catalog_group"});
            !s) {
            return s;
        }
        const toml::node* primaries = t.get("primaries");
        const toml::node* file = t.get("file");
        auto inherited = [&](const char* key) -> const toml::node* {
            return inherit && !t.contains("primaries") ? inherit->get(key) : nullptr;
        };
        const toml::node* tsig_node = t.contains("tsig_key") ? t.get("tsig_key") : inherited("tsig_key");
        const toml::node* notify_allow_node = t.contains("notify_allow") ? t.get("notify_allow") : inherited("notify_allow");
        if (!primaries && inherit) primaries = inherit->get("primaries");
        if (inherit) {
            out.name = "member.invalid.";
        } else {
            if (auto s = require(t, "name", "[[zone]]", "name = \"example.com.\""); !s) return s;
            const toml::node& name_node = *t.get("name");
            auto name = as_string(name_node, "zone.name");
            if (!name) return name.error();
            auto normal = normalise_dns_name(*name);
            if (!normal) return at(name_node, "zone.name " + normal.error().message);
            out.name = *normal;
        }
        if (!primaries && !file) {
            return at(t, "zone " + quote(out.name) +
                             " has neither primaries nor file; add primaries = [\"192.0.2.1\"] "
                             "for a secondary zone or file = \"path\" for a local zone file");
        }
        if (primaries && file) {
            const toml::node& later =
                before(primaries->source().begin, file->source().begin) ? *file : *primaries;
            return at(later, "zone " + quote(out.name) +
                                 " has both primaries and file; keep primaries for a secondary "
                                 "zone or file for a local zone file, not both");
        }
        if (primaries) {
            auto eps = as_endpoints(*primaries, "zone.primaries", PortRule::Optional);
            if (!eps) return eps.error();
            out.primaries = std::move(*eps);
        } else {
            auto text = as_nonempty_string(*file, "zone.file");
            if (!text) return text.error();
            out.file = resolve(*text);
            if (auto s = check_readable_file(*file, out.file); !s) return s;
        }

        // tsig_key and notify_allow only mean something for transfers.
        for (std::string_view key : {"tsig_key", "notify_allow"}) {
            if (file && t.contains(key)) {
                return at(*t.get(key), "zone." + std::string(key) +
                                           " only applies to zones with primaries; remove it "
                                           "from this file zone");
            }
        }
        if (const auto* node = tsig_node) {
            auto ref = as_nonempty_string(*node, "zone.tsig_key");
            if (!ref) return ref.error();
            // Key names are DNS names: compare case-insensitively, final dot optional.
            auto same_name = [](const std::string& a, const std::string& b) {
                auto na = normalise_dns_name(a);
                auto nb = normalise_dns_name(b);
                return na && nb && lower(*na) == lower(*nb);
            };
            auto match = std::find_if(keys.begin(), keys.end(),
                                      [&](const TsigKey& k) { return same_name(k.name, *ref); });
            if (match == keys.end()) {
                return at(*node, "zone.tsig_key " + quote(*ref) +
                                     " names no [[tsig_key]]; define it or fix the name");
            }
            out.tsig_key = match->name;
        }
        if (const auto* node = notify_allow_node) {
            auto array = as_array(*node, "zone.notify_allow", R"(write e.g. ["192.0.2.1"])");
            if (!array) return array.error();
            for (const auto& element : **array) {
                auto address = as_string(element, "zone.notify_allow");
                if (!address) return address.error();
                if (!is_ipv4(*address) && !is_ipv6(*address)) {
                    return at(element, "zone.notify_allow " + quote(*address) +
                                           " is not an IP address; list bare addresses such as "
                                           "\"192.0.2.1\" or \"2001:db8::1\" (no port, no prefix)");
                }
                out.notify_allow.push_back(*address);
            }
        } else {
            for (const auto& p : out.primaries) {
                if (std::find(out.notify_allow.begin(), out.notify_allow.end(), p.host) ==
                    out.notify_allow.end()) {
                    out.notify_allow.push_back(p.host);
                }
            }
        }

        if (const auto* node = t.get("provide_xfr")) {
            auto acl = as_provide_xfr(*node, "zone.provide_xfr", keys);
            if (!acl) return acl.error();
            out.provide_xfr = std::move(*acl);
        }
        if (const auto* node = t.get("catalog_group")) {
            auto group = as_nonempty_string(*node, "zone.catalog_group");
            if (!group) return group.error();
            if (group->find_first_of("\"\\") != std::string::npos) {
                return at(*node, "zone.catalog_group " + quote(*group) + " may not hold quotes or backslashes");
            }
            out.catalog_group = *group;
        }
        if (const auto* node = t.get("notify")) {
            auto eps = as_endpoints(*node, "zone.notify", PortRule::Optional);
            if (!eps) return eps.error();
            out.notify = std::move(*eps);
        }

        if (const auto* node = t.get("mode")) {
            auto mode = as_choice(*node, "zone.mode", {"presigned", "live", "multi-signer"});
            if (!mode) return mode.error();
            out.mode = *mode == "live"           ? Mode::Live
                       : *mode == "multi-signer" ? Mode::MultiSigner
                                                 : Mode::Presigned;
        }
        // RFC 8901 key exchange settings mean nothing outside multi-signer.
        for (std::string_view key : {"peers", "peer_keys_from_primary"}) {
            if (out.mode != Mode::MultiSigner && t.contains(key)) {
                return at(*t.get(key), "zone." + std::string(key) +
                                           " only applies to mode = \"multi-signer\"; remove it or "
                                           "change the zone's mode");
            }
        }
        for (std::string_view key : {"parent_ds_check", "parent_ds_check_interval", "parent_trust_anchor"}) {
            if (out.mode == Mode::Presigned && t.contains(key)) {
                return at(*t.get(key), "zone." + std::string(key) +
                                           " only applies to live and multi-signer zones (the primary signs a "
                                           "presigned zone and owns its DS)");
            }
        }
        if (const auto* node = t.get("parent_ds_check")) {
            auto eps = as_endpoints(*node, "zone.parent_ds_check", PortRule::Optional);
            if (!eps) return eps.error();
            out.parent_ds_check = std::move(*eps);
        }
        if (const auto* node = t.get("parent_ds_check_interval")) {
            auto v = as_duration(*node, "zone.parent_ds_check_interval");
            if (!v) return v.error();
            if (*v == 0) return at(*node, "zone.parent_ds_check_interval is 0; give a time such as \"10m\"");
            out.parent_ds_check_interval = *v;
        }
        if (const auto* node = t.get("parent_trust_anchor")) {
            if (out.parent_ds_check.empty()) {
                return at(*node, "zone.parent_trust_anchor needs parent_ds_check (the servers it checks)");
            }
            auto array = as_array(*node, "zone.parent_trust_anchor",
                                  R"(write e.g. ["example. DS 12345 13 2 <hex>"])");
            if (!array) return array.error();
            dns::TrustAnchor anchor;
            for (const auto& element : **array) {
                auto line = as_string(element, "zone.parent_trust_anchor");
                if (!line) return line.error();
                if (auto s = dns::add_trust_anchor(anchor, *line); !s) {
                    return at(element, "zone.parent_trust_anchor: " + s.error().message);
                }
                out.parent_trust_anchor.push_back(*line);
            }
            auto zone = dns::Name::from_text(out.name);
            if (out.parent_trust_anchor.empty()) {
                return at(*node, "zone.parent_trust_anchor is empty; give the parent's DS or DNSKEY records");
            }
            if (zone && (!zone->is_subdomain_of(anchor.zone) || zone->equals(anchor.zone))) {
                return at(*node, "zone.parent_trust_anchor is for " + anchor.zone.to_string() + ", which is not "
                                 "above " + out.name + "; give the anchor of the zone that holds its DS");
            }
        }
        if (const auto* node = t.get("peers")) {
            auto eps = as_endpoints(*node, "zone.peers", PortRule::Optional);
            if (!eps) return eps.error();
            out.peers = std::move(*eps);
        }
        if (const auto* node = t.get("peer_keys_from_primary")) {
            auto v = as_bool(*node, "zone.peer_keys_from_primary");
            if (!v) return v.error();
            if (*v && out.primaries.empty()) {
                return at(*node, "zone.peer_keys_from_primary needs primaries; this zone is read from a file");
            }
            out.peer_keys_from_primary = *v;
        }
        if (const auto* node = t.get("presigned_verify")) {
            auto v = as_choice(*node, "zone.presigned_verify", {"keys", "full", "off"});
            if (!v) return v.error();
            out.presigned_verify = *v;
        }
        if (const auto* node = t.get("expiry_warning")) {
            auto v = as_duration(*node, "zone.expiry_warning");
            if (!v) return v.error();
            out.expiry_warning = *v;
        }
        const toml::node* margin_node = t.get("signature_safety_margin");
        if (margin_node) {
            auto v = as_duration(*margin_node, "zone.signature_safety_margin");
            if (!v) return v.error();
            out.signature_safety_margin = *v;
        }
        if (const auto* node = t.get("max_zone_records")) {
            auto v = as_integer(*node, "zone.max_zone_records", 1, 100'000'000);
            if (!v) return v.error();
            out.max_zone_records = static_cast<std::size_t>(*v);
        }
        if (const auto* node = t.get("max_zone_bytes")) {
            // Below 4 GiB: a version's data is addressed with 32-bit offsets.
            auto v = as_integer(*node, "zone.max_zone_bytes", 1024, 3'221'225'472);
            if (!v) return v.error();
            out.max_zone_bytes = static_cast<std::uint64_t>(*v);
        }
        if (const auto* node = t.get("transfer_timeout")) {
            auto v = as_integer(*node, "zone.transfer_timeout", 1, 86'400);
            if (!v) return v.error();
            out.transfer_timeout = static_cast<std::uint32_t>(*v);
        }
        if (const auto* node = t.get("transfer_idle_timeout")) {
            auto v = as_integer(*node, "zone.transfer_idle_timeout", 1, 86'400);
            if (!v) return v.error();
            out.transfer_idle_timeout = static_cast<std::uint32_t>(*v);
        }
        if (const auto* node = t.get("allow_nsec3")) {
            auto v = as_bool(*node, "zone.allow_nsec3");
            if (!v) return v.error();
            out.allow_nsec3 = *v;
        }
        if (const auto* node = t.get("signing")) {
            auto table = as_table(*node, "zone.signing", "write it as [zone.signing]");
            if (!table) return table.error();
            Signing signing;
            if (auto s = read_signing(**table, signing); !s) return s;
            if (out.mode == Mode::Presigned) {
                return at(*node,
                          "[zone.signing] only applies to live and multi-signer zones; "
                          "remove it from this presigned zone");
            }
            out.signing = signing;
        }
        if (out.mode != Mode::Presigned) {
            // Our own signatures are re-made (signature_validity - refresh)
            // before they expire: the margin must fall inside that window.
            const Signing sc = out.signing.value_or(Signing{});
            const std::uint32_t window = sc.signature_validity - sc.signature_refresh;
            if (!margin_node) {
                out.signature_safety_margin = std::min<std::uint32_t>(3600, window / 2);
            } else if (out.signature_safety_margin >= window) {
                return at(*margin_node, "zone.signature_safety_margin (" +
                                            format_duration(out.signature_safety_margin) +
                                            ") must be shorter than signature_validity - signature_refresh (" +
                                            format_duration(window) +
                                            "), or the zone would stop being served before it is re-signed");
            }
        }
        return {};
    }

    // Zone files mostly share a few directories: each file is checked
    // relative to its directory, opened once (a 100,000-zone config spent
    // most of its reading time walking every file's whole path twice).
    Status check_readable_file(const toml::node& node, const std::string& path) const {
        switch (file_problem(path)) {
            case FileProblem::None: return {};
            case FileProblem::Missing:
                return at(node, "zone.file " + quote(path) +
                                    " does not exist; check the path (relative paths start at the "
                                    "config file's directory)");
            case FileProblem::NotRegular:
                return at(node, "zone.file " + quote(path) +
                                    " is not a regular file; point it at a "
                                    "zone file");
            case FileProblem::Unreadable:
                return at(node, "zone.file " + quote(path) + " cannot be read (" +
                                    std::strerror(errno) + "); fix its permissions");
        }
        return {};
    }

public:
    enum class FileProblem { None, Missing, NotRegular, Unreadable };
    FileProblem file_problem(const std::string& path) const {
        int dfd = AT_FDCWD;
        const char* leaf = path.c_str();
        if (const auto slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
            const std::string_view dir(path.data(), slash);
            if (dir_.path != dir || dir_.fd < 0) {
                dir_.reset();
                dir_.path = dir;
                dir_.fd = ::open(dir_.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
            }
            if (dir_.fd >= 0) {
                dfd = dir_.fd;
                leaf = path.c_str() + slash + 1;
            }
        }
        struct stat st{};
        if (::fstatat(dfd, leaf, &st, 0) != 0) return FileProblem::Missing;
        if (!S_ISREG(st.st_mode)) return FileProblem::NotRegular;
        if (::faccessat(dfd, leaf, R_OK, 0) != 0) return FileProblem::Unreadable;
        return FileProblem::None;
    }

private:

    Status read_signing(const toml::table& t, Signing& out) const {
        if (auto s = only_keys(
                t, "[zone.signing]",
                {"enabled", "algorithm", "denial", "nsec3_iterations", "nsec3_salt", "nsec3_opt_out",
                 "signature_validity", "signature_refresh", "zsk_lifetime", "ksk_lifetime",
                 "propagation_delay", "parent_ds_ttl", "peer_publish_delay", "standby_ksk"});
            !s) {
            return s;
        }
        if (const auto* node = t.get("enabled")) {
            auto v = as_bool(*node, "zone.signing.enabled");
            if (!v) return v.error();
            out.enabled = *v;
        }
        if (const auto* node = t.get("standby_ksk")) {
            auto v = as_bool(*node, "zone.signing.standby_ksk");
            if (!v) return v.error();
            out.standby_ksk = *v;
        }
        if (const auto* node = t.get("algorithm")) {
            // RFC 8624 §3.1: the algorithms worth signing with today.
            auto v = as_integer(*node, "zone.signing.algorithm", 0, 255);
            if (!v) return v.error();
            constexpr int kAlgorithms[] = {8, 10, 13, 14, 15};
            if (std::find(std::begin(kAlgorithms), std::end(kAlgorithms), *v) ==
                std::end(kAlgorithms)) {
                return at(*node, "zone.signing.algorithm " + std::to_string(*v) +
                                     " is not supported; use 8, 10, 13, 14 or 15");
            }
            out.algorithm = static_cast<int>(*v);
        }
        if (const auto* node = t.get("denial")) {
            auto v = as_choice(*node, "zone.signing.denial", {"nsec", "nsec3", "compact"});
            if (!v) return v.error();
            out.denial = *v == "nsec"    ? Denial::Nsec
                         : *v == "nsec3" ? Denial::Nsec3
                                         : Denial::Compact;
        }
        // Compact denial signs at query time: only the fast algorithms, so a
        // random-subdomain flood cannot cost an RSA signature per query.
        if (out.denial == Denial::Compact && out.algorithm != 13 && out.algorithm != 15) {
            const toml::node* where = t.get("algorithm") ? t.get("algorithm") : t.get("denial");
            return at(*where, "zone.signing.denial = \"compact\" signs at query time and needs algorithm 13 "
                              "(ECDSA P-256) or 15 (Ed25519), not " + std::to_string(out.algorithm) +
                              "; use nsec or nsec3 with this algorithm");
        }
        for (std::string_view key : {"nsec3_iterations", "nsec3_salt", "nsec3_opt_out"}) {
            if (t.contains(key) && out.denial != Denial::Nsec3) {
                return at(*t.get(key), "zone.signing." + std::string(key) +
                                           " only applies with denial = \"nsec3\"; remove it");
            }
        }
        if (const auto* node = t.get("nsec3_iterations")) {
            // RFC 9276 §3.2: validators may treat more than 100 as insecure.
            auto v = as_integer(*node, "zone.signing.nsec3_iterations", 0, 100);
            if (!v) return v.error();
            out.nsec3_iterations = static_cast<unsigned>(*v);
        }
        if (const auto* node = t.get("nsec3_opt_out")) {
            auto v = as_bool(*node, "zone.signing.nsec3_opt_out");
            if (!v) return v.error();
            out.nsec3_opt_out = *v;
        }
        if (const auto* node = t.get("nsec3_salt")) {
            auto v = as_string(*node, "zone.signing.nsec3_salt");
            if (!v) return v.error();
            std::string salt = *v == "-" ? "" : *v;
            if (!is_hex(salt) || salt.size() % 2 != 0 || salt.size() > 2 * 255) {
                return at(*node, "zone.signing.nsec3_salt " + quote(*v) +
                                     " is not a salt; write an even number of hex digits (at most "
                                     "510), or \"\" for none (RFC 9276 recommends none)");
            }
            out.nsec3_salt = salt;
        }
        struct DurationField {
            std::string_view key;
            std::uint32_t& out;
        };
        for (auto [key, field] : {DurationField{"signature_validity", out.signature_validity},
                                  DurationField{"signature_refresh", out.signature_refresh},
                                  DurationField{"zsk_lifetime", out.zsk_lifetime},
                                  DurationField{"ksk_lifetime", out.ksk_lifetime},
                                  DurationField{"propagation_delay", out.propagation_delay},
                                  DurationField{"parent_ds_ttl", out.parent_ds_ttl},
                                  DurationField{"peer_publish_delay", out.peer_publish_delay}}) {
            if (const auto* node = t.get(key)) {
                auto v = as_duration(*node, "zone.signing." + std::string(key));
                if (!v) return v.error();
                field = *v;
            }
        }
        if (out.signature_validity == 0) {
            return at(*t.get("signature_validity"),
                      "zone.signing.signature_validity is 0; signatures need a validity such "
                      "as \"14d\"");
        }
        if (out.signature_refresh >= out.signature_validity) {
            const toml::node* where = t.get("signature_refresh");
            if (!where) where = t.get("signature_validity");
            return at(*where, "zone.signing.signature_refresh (" +
                                  format_duration(out.signature_refresh) +
                                  ") must be shorter than signature_validity (" +
                                  format_duration(out.signature_validity) +
                                  "); signatures must be refreshed before they expire");
        }
        return {};
    }

    std::string path_;
    fs::path base_dir_;
    struct OpenDir {
        std::string path;
        int fd = -1;
        void reset() {
            if (fd >= 0) ::close(fd);
            fd = -1;
        }
        ~OpenDir() { reset(); }
    };
    mutable OpenDir dir_;  // check_readable_file's last directory
};

fs::path directory_of(const std::string& path) {
    std::error_code ec;
    fs::path absolute = fs::absolute(fs::path(path), ec);
    if (ec) absolute = fs::path(path);
    return absolute.parent_path();
}

}  // namespace

const Zone* Catalog::template_for(const std::string& group) const {
    if (group.empty()) return &member;
    for (const auto& [name, z] : groups) {
        if (name == group) return &z;
    }
    return nullptr;
}

std::string Endpoint::to_string() const {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

Result<std::uint32_t> parse_duration(const std::string& text) {
    const std::string how =
        "; write a whole number of seconds, or one followed by s, m, h or d (e.g. \"14d\")";
    if (text.empty()) return make_error("is empty" + how);
    std::string_view digits = text;
    std::uint64_t unit = 1;
    switch (text.back()) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        default:
            unit = 0;
            break;
    }
    if (unit != 0) {
        digits.remove_suffix(1);
    } else {
        unit = 1;
    }
    std::uint64_t number = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (digits.empty() || ec == std::errc::invalid_argument ||
        end != digits.data() + digits.size()) {
        return make_error(quote(text) + " is not a duration" + how);
    }
    if (ec == std::errc::result_out_of_range ||
        number > std::numeric_limits<std::uint32_t>::max() / unit) {
        return make_error(quote(text) +
                          " is too long; durations are at most 4294967295 seconds "
                          "(about 136 years)");
    }
    return static_cast<std::uint32_t>(number * unit);
}

namespace {

// --- [[zone]] blocks, for reloads ------------------------------------------
// A reload of 100,000 zones spent seconds parsing and checking blocks that
// had not changed. The text is split at its table headers, by lines: a
// [[zone]] block runs from its header to the next header that is not a
// [zone.*] sub-table. Only text without multi-line strings is split (no
// other TOML construct lets a header-like line sit inside a value).

std::uint64_t digest(std::string_view text, std::uint64_t h = 1469598103934665603ull) {
    for (unsigned char c : text) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
    return v;
}

struct ZoneBlocks {
    struct Block {
        std::size_t begin = 0, end = 0;  // byte range in the text
        std::uint64_t digest = 0;
        std::string name;  // from a plain `name = "..."` line; "" if none
    };
    bool usable = false;
    std::uint64_t outside = 0;  // digest of the text outside the blocks
    std::vector<Block> zones;
};

ZoneBlocks split_zone_blocks(std::string_view text, const std::string& path, const fs::path& base_dir) {
    ZoneBlocks out;
    if (text.find("\"\"\"") != std::string_view::npos || text.find("'''") != std::string_view::npos) return out;
    const std::uint64_t seed = digest(base_dir.string(), digest(path));
    bool in_zone = false, in_sub = false;
    for (std::size_t pos = 0; pos < text.size();) {
        const std::size_t eol = text.find('\n', pos);
        const std::size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
        const std::string_view line = trim(text.substr(pos, (eol == std::string_view::npos ? next : eol) - pos));
        if (!line.empty() && line.front() == '[') {
            const bool array = line.size() > 1 && line[1] == '[';
            const std::size_t open = array ? 2 : 1;
            const std::size_t close = line.find(array ? "]]" : "]");
            if (close == std::string_view::npos) return out;  // toml++ will say what is wrong
            const std::string_view inner = trim(line.substr(open, close - open));
            const bool zone_header = array && inner == "zone";
            const bool zone_part = !zone_header && inner.substr(0, 4) == "zone";
            if (zone_part && !in_zone) return out;  // e.g. [zone.signing] after another table: not split
            if (zone_header || !zone_part) {
                if (in_zone) out.zones.back().end = pos;
                in_zone = zone_header;
                in_sub = false;
                if (zone_header) out.zones.push_back({pos, 0, 0, {}});
            } else {
                in_sub = true;
            }
        } else if (in_zone && !in_sub && out.zones.back().name.empty() && line.substr(0, 4) == "name") {
            // A plain `name = "..."`: the name to ask the running config about.
            std::string_view rest = trim(line.substr(4));
            if (!rest.empty() && rest.front() == '=') {
                rest = trim(rest.substr(1));
                const std::size_t q =
                    rest.size() > 1 && rest.front() == '"' ? rest.find('"', 1) : std::string_view::npos;
                if (q != std::string_view::npos) {
                    const std::string_view value = rest.substr(1, q - 1);
                    const std::string_view after = trim(rest.substr(q + 1));
                    if (value.find('\\') == std::string_view::npos && (after.empty() || after.front() == '#')) {
                        out.zones.back().name = std::string(value);
                    }
                }
            }
        }
        pos = next;
    }
    if (in_zone) out.zones.back().end = text.size();
    // Each block's digest, and one of everything between the blocks, joined
    // (whole lines; where it sits among the blocks does not change its
    // meaning, and adding or removing a block must not change it).
    std::uint64_t outside = seed;
    std::size_t from = 0;
    for (auto& b : out.zones) {
        b.digest = digest(text.substr(b.begin, b.end - b.begin), seed);
        outside = digest(text.substr(from, b.begin - from), outside);
        from = b.end;
    }
    out.outside = digest(text.substr(from), outside);
    out.usable = true;
    return out;
}

// The offset of the first byte that is not well-formed UTF-8 (RFC 3629: no
// overlongs, surrogates or code points past U+10FFFF), or of a non-ASCII
// character outside a string or comment (never valid TOML there), or npos.
// toml++ 3.3's whitespace test reaches TOML_UNREACHABLE (undefined
// behaviour) on some code points met between tokens (found by fuzz_config:
// U+03DF, U+FEDF), so it never sees them there.
std::size_t unsafe_text(std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    enum { Normal, Comment, Basic, Literal, MultiBasic, MultiLiteral } state = Normal;
    auto at = [&](std::size_t i, const char* s) { return text.substr(i, std::strlen(s)) == s; };
    for (std::size_t i = 0; i < n;) {
        const unsigned c = p[i];
        if (c >= 0x80) {
            if (state == Normal && !(i == 0 && at(0, "\xef\xbb\xbf"))) return i;  // a BOM may start the file
            std::size_t len;
            unsigned lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
            if (c >= 0xc2 && c <= 0xdf) {
                len = 2;
            } else if (c >= 0xe0 && c <= 0xef) {
                len = 3;
                if (c == 0xe0) lo = 0xa0;
                if (c == 0xed) hi = 0x9f;
            } else if (c >= 0xf0 && c <= 0xf4) {
                len = 4;
                if (c == 0xf0) lo = 0x90;
                if (c == 0xf4) hi = 0x8f;
            } else {
                return i;
            }
            if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return i;
            for (std::size_t k = 2; k < len; ++k) {
                if (p[i + k] < 0x80 || p[i + k] > 0xbf) return i;
            }
            i += len;
            continue;
        }
        switch (state) {
            case Normal:
                if (c == '#') state = Comment;
                else if (at(i, "\"\"\"")) state = MultiBasic, i += 2;
                else if (at(i, "'''")) state = MultiLiteral, i += 2;
                else if (c == '"') state = Basic;
                else if (c == '\'') state = Literal;
                break;
            case Comment:
                if (c == '\n') state = Normal;
                break;
            case Basic:
                if (c == '\\') ++i;  // the escaped character is the string's
                else if (c == '"' || c == '\n') state = Normal;
                break;
            case Literal:
                if (c == '\'' || c == '\n') state = Normal;
                break;
            case MultiBasic:
                if (c == '\\') ++i;
                else if (at(i, "\"\"\"")) state = Normal, i += 2;
                break;
            case MultiLiteral:
                if (at(i, "'''")) state = Normal, i += 2;
                break;
        }
        ++i;
    }
    return std::string_view::npos;
}

Result<Config> parse_with_reader(const std::string& text, const std::string& path, Reader& reader) {
    if (const std::size_t bad = unsafe_text(text); bad != std::string_view::npos) {
        const std::size_t line_start = text.rfind('\n', bad == 0 ? 0 : bad - 1);
        const std::size_t line = 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + bad, '\n'));
        const std::size_t column = line_start == std::string::npos || bad == 0 ? bad + 1 : bad - line_start;
        return make_error(path + ":" + std::to_string(line) + ":" + std::to_string(column) +
                          ": not valid UTF-8, or a non-ASCII character outside a string or comment (byte " +
                          std::to_string(bad) + ")");
    }
    toml::table root;
    try {
        root = toml::parse(text, std::string_view{path});
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        return make_error(path + ":" + std::to_string(where.line == 0 ? 1 : where.line) + ":" +
                          std::to_string(where.column == 0 ? 1 : where.column) +
                          ": invalid TOML: " + std::string(e.description()));
    }
    return reader.read(root);
}

}  // namespace

Result<Config> parse(const std::string& text, const std::string& path) {
    const fs::path base = directory_of(path);
    Reader reader(path, base);
    auto cfg = parse_with_reader(text, path, reader);
    if (!cfg) return cfg;
    // Each zone remembers its block, for a later reload.
    const ZoneBlocks blocks = split_zone_blocks(text, path, base);
    if (blocks.usable && blocks.zones.size() == cfg->zones.size()) {
        for (std::size_t i = 0; i < blocks.zones.size(); ++i) cfg->zones[i].block_digest = blocks.zones[i].digest;
        cfg->outside_zones_digest = blocks.outside;
    }
    return cfg;
}

namespace {

Result<std::string> read_config_text(const std::string& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        return make_error(path + ":1:1: is a directory; pass the path of the config file");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return make_error(path + ":1:1: cannot open the config file (" + std::strerror(errno) +
                          "); check the path and its permissions");
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        return make_error(path + ":1:1: cannot read the config file (" + std::strerror(errno) +
                          "); check the file");
    }
    return std::move(text).str();
}

}  // namespace

Result<Config> load(const std::string& path) {
    auto text = read_config_text(path);
    if (!text) return text.error();
    return parse(*text, path);
}

Result<Config> reload(const std::string& path, const Config& previous, const ConfiguredZone& configured) {
    auto text = read_config_text(path);
    if (!text) return text.error();
    const fs::path base = directory_of(path);
    const ZoneBlocks blocks = split_zone_blocks(*text, path, base);
    if (!blocks.usable || previous.outside_zones_digest == 0 || blocks.outside != previous.outside_zones_digest) {
        return parse(*text, path);
    }
    // The unchanged blocks are left out; the rest is parsed and checked as
    // always. Any refusal comes from a full parse, so its line numbers and
    // message are load()'s.
    std::vector<const Zone*> kept(blocks.zones.size(), nullptr);
    std::string reduced;
    reduced.reserve(text->size());
    std::size_t from = 0, parsed_blocks = 0;
    for (std::size_t i = 0; i < blocks.zones.size(); ++i) {
        const auto& b = blocks.zones[i];
        const Zone* z = b.name.empty() ? nullptr : configured(b.name);
        if (!z || z->block_digest != b.digest) {
            ++parsed_blocks;
            continue;
        }
        kept[i] = z;
        reduced.append(*text, from, b.begin - from);
        from = b.end;
    }
    reduced.append(*text, from, std::string::npos);
    Reader reader(path, base);
    auto cfg = parse_with_reader(reduced, path, reader);
    if (!cfg || cfg->zones.size() != parsed_blocks) return parse(*text, path);
    std::vector<Zone> zones;
    zones.reserve(blocks.zones.size());
    std::unordered_set<std::string> names;
    names.reserve(blocks.zones.size());
    for (std::size_t i = 0, p = 0; i < blocks.zones.size(); ++i) {
        if (kept[i]) {
            // A zone file that went missing is refused with load()'s message.
            if (!kept[i]->file.empty() && reader.file_problem(kept[i]->file) != Reader::FileProblem::None) {
                return parse(*text, path);
            }
            zones.push_back(*kept[i]);
        } else {
            zones.push_back(std::move(cfg->zones[p++]));
            zones.back().block_digest = blocks.zones[i].digest;
        }
        // A name defined twice: load() says where.
        if (!names.insert(lower(zones.back().name)).second) return parse(*text, path);
    }
    cfg->zones = std::move(zones);
    cfg->outside_zones_digest = blocks.outside;
    return cfg;
}

}  // namespace satellite::config
