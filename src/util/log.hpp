// Logging set-up over spdlog: level and text|json format from the config.
#pragma once

#include <string_view>

#include "util/result.hpp"

namespace satellite::log {

// Configures the default spdlog logger (stderr). Returns an error for an
// unknown level or format. Called again (SIGHUP), it changes the running
// logger in place, so threads logging meanwhile keep a valid logger.
//
// The json format writes one object per line: time, level, thread, and
// `zone` and `primary` fields when the message names them (a message that
// starts "zone NAME:" and the first ADDRESS:PORT / [ADDRESS]:PORT in it),
// then msg.
Status setup(std::string_view level, std::string_view format);

}  // namespace satellite::log
