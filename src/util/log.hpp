// Logging set-up over spdlog: level and text|json format from the config.
#pragma once

#include <string_view>

#include "util/result.hpp"

namespace satellite::log {

// Configures the default spdlog logger (stderr). Returns an error for an
// unknown level or format.
Status setup(std::string_view level, std::string_view format);

}  // namespace satellite::log
