// satellitectl's logic, apart from main() so tests can run it: argument
// parsing, the HTTP exchange with the REST API, and human-readable output.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace satellite::ctl {

// Exit codes (DESIGN.md §1 tools contract).
constexpr int kExitOk = 0;
constexpr int kExitApiError = 1;   // the API answered 4xx/5xx, or something unusable
constexpr int kExitUsage = 2;      // a bad command line, or an input file that cannot be used
constexpr int kExitNoServer = 3;   // cannot connect, or the connection failed

constexpr const char* kDefaultServer = "http://127.0.0.1:8053";

// Defaults from the environment: SATELLITE_API and SATELLITE_TOKEN ("" = unset).
struct Env {
    std::string server;
    std::string token;
};

// Where the API is: http[s]://HOST[:PORT][/PREFIX]; PORT defaults to 8053.
struct ServerUrl {
    std::string host;  // without brackets
    std::string port;
    std::string prefix;  // "" or "/something", prepended to every path
    bool tls = false;    // https: the server's certificate is verified for `host`
    std::string ca_file;  // https: trust this PEM file (--ca-file) instead of the system's CAs
};
Result<ServerUrl> parse_server_url(const std::string& url);

struct Options {
    std::string server = kDefaultServer;
    std::string token;
    std::string ca_file;  // --ca-file: the CA (or self-signed certificate) an https server's is checked against
    bool json = false;
    bool help = false;
    std::optional<int> algorithm;      // dnssec enable --algorithm N
    std::vector<std::string> ds;       // dnssec confirm-ds --ds "TAG ALG DIGESTTYPE HEX"
    bool from_parent = false;          // dnssec confirm-ds --from-parent: ask the parent's servers
    std::vector<std::string> parents;  // --parent ADDR[:PORT] (one each), with --from-parent
    std::vector<std::string> words;    // the command and its NAME
};
Result<Options> parse_args(const std::vector<std::string>& args, const Env& env);

// A parent server given as --parent: an IP address, optionally with a
// port ("192.0.2.1", "192.0.2.1:5300", "[2001:db8::1]:53", "2001:db8::1").
struct ParentServer {
    std::string host;
    std::uint16_t port = 53;
};
Result<ParentServer> parse_parent(const std::string& text);

// What one parent server says the DS RRset of a zone is ("TAG ALG TYPE HEX",
// the digest in upper case), or why it gave no usable answer.
struct ParentDs {
    std::string server;  // "host:port" as given
    bool answered = false;
    std::vector<std::string> ds;
    std::string error;
};
// Asks every server for `zone`'s DS RRset over TCP (in parallel, 5 s each).
std::vector<ParentDs> ask_parents(const std::string& zone, const std::vector<ParentServer>& servers);

struct HttpReply {
    unsigned status = 0;
    std::string body;
};

// One request over one connection; an error means no usable answer (exit 3).
Result<HttpReply> http_call(const ServerUrl& server, const std::string& token, const std::string& method,
                            const std::string& path, const std::string& body);

std::string usage();

// The whole program: parses `args` (without argv[0]), talks to the API,
// prints to `out`/`err`, reads `in` for a "-" file; returns the exit code.
int run(const std::vector<std::string>& args, const Env& env, std::ostream& out, std::ostream& err,
        std::istream& in);
// The same with standard input as `in`.
int run(const std::vector<std::string>& args, const Env& env, std::ostream& out, std::ostream& err);

// The body of `dnssec peer-keys add|remove` from a file's text: a JSON object
// (a GET .../peer-keys body, as `export` prints it) goes as it is, a JSON list
// as {"keys": list}, anything else is read as DNSKEY records in presentation
// form, one a line (or spread over lines in parentheses), `;` comments and
// blank lines skipped, and goes as {"keys": ["<record>", ...]}. `source`
// names the input in messages.
Result<std::string> peer_keys_body(const std::string& text, const std::string& source);

}  // namespace satellite::ctl
