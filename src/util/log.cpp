#include "util/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace satellite::log {

Status setup(std::string_view level, std::string_view format) {
    auto lvl = spdlog::level::from_str(std::string(level));
    if (lvl == spdlog::level::off && level != "off") {
        return make_error("unknown log level '" + std::string(level) + "'");
    }
    spdlog::drop("satellite");
    auto logger = spdlog::stderr_logger_mt("satellite");
    if (format == "json") {
        // One JSON object per line; %v is escaped by the callers that log
        // untrusted text (names are printed in presentation format).
        logger->set_pattern(
            R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","thread":%t,"msg":"%v"})");
    } else if (format == "text") {
        logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
    } else {
        return make_error("unknown log format '" + std::string(format) + "'");
    }
    logger->set_level(lvl);
    spdlog::set_default_logger(logger);
    return {};
}

}  // namespace satellite::log
