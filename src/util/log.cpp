#include "util/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdio>
#include <memory>
#include <string>

namespace satellite::log {

namespace {

void append_escaped(std::string_view text, spdlog::memory_buf_t& dest) {
    for (char c : text) {
            switch (c) {
                case '"': dest.append(std::string_view("\\\"")); break;
                case '\\': dest.append(std::string_view("\\\\")); break;
                case '\n': dest.append(std::string_view("\\n")); break;
                case '\t': dest.append(std::string_view("\\t")); break;
                default:
                    if (static_cast<unsigned char>(c) < 0x20) {
                        char esc[8];
                        std::snprintf(esc, sizeof esc, "\\u%04x", c);
                        dest.append(std::string_view(esc));
                    } else {
                        dest.push_back(c);
                    }
            }
    }
}

// %* : the message as a JSON string body (quotes, backslashes and control
// characters escaped), so every line of the json format parses.
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        append_escaped(std::string_view(msg.payload.data(), msg.payload.size()), dest);
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<JsonEscapedMessage>();
    }
};

// The zone a message is about: "zone NAME: ..." or "zone NAME ..." (the
// daemon's convention), NAME absolute (with its final dot).
std::string_view zone_of(std::string_view m) {
    if (!m.starts_with("zone ")) return {};
    m.remove_prefix(5);
    std::size_t end = m.find_first_of(" :");
    if (end == std::string_view::npos) end = m.size();
    std::string_view name = m.substr(0, end);
    if (name.empty() || name.back() != '.') return {};
    return name;
}

// The first ADDRESS:PORT (IPv4) or [ADDRESS]:PORT (IPv6) in a message: the
// primary (or peer) it names.
std::string_view endpoint_of(std::string_view m) {
    auto digits = [&](std::size_t i) {
        std::size_t j = i;
        while (j < m.size() && std::isdigit(static_cast<unsigned char>(m[j]))) ++j;
        return j - i;
    };
    for (std::size_t i = 0; i < m.size(); ++i) {
        if (i > 0 && m[i - 1] != ' ' && m[i - 1] != '(') continue;  // a token's start
        if (m[i] == '[') {
            std::size_t close = m.find("]:", i);
            if (close == std::string_view::npos || close - i > 46) continue;
            std::string_view inner = m.substr(i + 1, close - i - 1);
            if (inner.find(':') == std::string_view::npos || inner.find(' ') != std::string_view::npos) continue;
            std::size_t port = digits(close + 2);
            if (port > 0 && port <= 5) return m.substr(i, close + 2 + port - i);
            continue;
        }
        std::size_t j = i;
        int dots = 0;
        bool ok = true;
        for (int part = 0; part < 4 && ok; ++part) {
            std::size_t n = digits(j);
            if (n == 0 || n > 3) ok = false;
            j += n;
            if (ok && part < 3) {
                if (j < m.size() && m[j] == '.') {
                    ++j;
                    ++dots;
                } else {
                    ok = false;
                }
            }
        }
        if (!ok || dots != 3 || j >= m.size() || m[j] != ':') continue;
        std::size_t port = digits(j + 1);
        if (port > 0 && port <= 5) return m.substr(i, j + 1 + port - i);
    }
    return {};
}

// %Z : `"zone":"...",` and `"primary":"...",` when the message names them.
class JsonFields final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        std::string_view m(msg.payload.data(), msg.payload.size());
        if (auto z = zone_of(m); !z.empty()) {
            dest.append(std::string_view("\"zone\":\""));
            append_escaped(z, dest);
            dest.append(std::string_view("\","));
        }
        if (auto p = endpoint_of(m); !p.empty()) {
            dest.append(std::string_view("\"primary\":\""));
            append_escaped(p, dest);
            dest.append(std::string_view("\","));
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonFields>(); }
};

}  // namespace

Status setup(std::string_view level, std::string_view format) {
    auto lvl = spdlog::level::from_str(std::string(level));
    if (lvl == spdlog::level::off && level != "off") {
        return make_error("unknown log level '" + std::string(level) + "'");
    }
    if (format != "json" && format != "text") return make_error("unknown log format '" + std::string(format) + "'");
    auto logger = spdlog::get("satellite");
    const bool fresh = !logger;
    if (fresh) logger = spdlog::stderr_logger_mt("satellite");
    if (format == "json") {
        auto f = std::make_unique<spdlog::pattern_formatter>();
        f->add_flag<JsonEscapedMessage>('*').add_flag<JsonFields>('Z').set_pattern(
            R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","thread":%t,%Z"msg":"%*"})");
        logger->set_formatter(std::move(f));  // under each sink's lock
    } else {
        logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
    }
    logger->set_level(lvl);  // atomic
    if (fresh) spdlog::set_default_logger(logger);
    return {};
}

}  // namespace satellite::log
