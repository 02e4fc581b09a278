#pragma once
// Each troupe subcommand registers itself on the CLI here; its code lives in <name>_command.cpp.
#include <CLI/CLI.hpp>

namespace troupe::app {

// --cpu-float-activations, shared by serve and generate.
inline constexpr const char* kCpuFloatActivationsHelp =
    "CPU backend: multiply weights by the exact float32 activations instead of int8-quantized ones "
    "(the model's own distribution, for evaluations and logprob scoring: within 1e-4 of transformers; "
    "Q4_0/Q4_1/Q8_0 blocks stay packed, other GGUF types are widened to float32; slower)";

void add_generate_command(CLI::App& app);
void add_serve_command(CLI::App& app);

}  // namespace troupe::app
