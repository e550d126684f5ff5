// satellitectl: command-line client of satellited's REST API (see ctl.hpp).
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "ctl.hpp"

int main(int argc, char** argv) {
    satellite::ctl::Env env;
    if (const char* s = std::getenv("SATELLITE_API")) env.server = s;
    if (const char* t = std::getenv("SATELLITE_TOKEN")) env.token = t;
    std::vector<std::string> args(argv + 1, argv + argc);
    return satellite::ctl::run(args, env, std::cout, std::cerr);
}
