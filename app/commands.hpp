#pragma once
// Each troupe subcommand registers itself on the CLI here; its code lives in <name>_command.cpp.
#include <CLI/CLI.hpp>

namespace troupe::app {

void add_generate_command(CLI::App& app);
void add_serve_command(CLI::App& app);

}  // namespace troupe::app
