// troupe: the command-line entry point. Subcommands live in their own files (generate_command.cpp,
// ...); this file only dispatches.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <iostream>
#include <string_view>
#include <vector>

#include "app/commands.hpp"
#include "common/error.hpp"
#include "model/model_files.hpp"

int main(int argc, char** argv) {
  // Logs go to stderr: stdout carries what a command produces (generated text, the ready line).
  spdlog::set_default_logger(spdlog::stderr_color_mt("troupe"));
  CLI::App app{"troupe: an LLM inference server built as an actor-model runtime"};
  app.set_version_flag("--version", std::string("troupe ") + TROUPE_VERSION);
  app.require_subcommand(1);
  troupe::app::add_generate_command(app);
  troupe::app::add_serve_command(app);
  // vLLM's multi-letter short flags, which CLI11 cannot name: spelled out before parsing.
  std::vector<char*> args(argv, argv + argc);
  for (char*& a : args) {
    if (std::string_view(a) == "-tp") a = const_cast<char*>("--tensor-parallel-size");
    if (std::string_view(a) == "-dp") a = const_cast<char*>("--data-parallel-size");
  }
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const troupe::ModelError& e) {
    std::cerr << "troupe: " << e.what() << "\n";
    return 2;
  } catch (const troupe::ConfigError& e) {
    std::cerr << "troupe: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "troupe: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
