#include "app/model_resolver.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "common/error.hpp"

namespace troupe::app {

namespace fs = std::filesystem;

namespace {

// The fetch script, found next to the sources this binary was built from, or where
// $TROUPE_FETCH_SCRIPT says.
fs::path fetch_script() {
  if (const char* env = std::getenv("TROUPE_FETCH_SCRIPT")) return env;
  return fs::path(TROUPE_SOURCE_DIR) / "tools" / "fetch_default_model.sh";
}

std::string run_and_capture(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw ConfigError("cannot run " + command);
  std::string out;
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe.get()) != nullptr) out += buf.data();
  const int status = pclose(pipe.release());
  if (status != 0) throw ConfigError("fetching the default model failed (" + command + ")");
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

fs::path resolve_model(const std::string& model) {
  if (model == "smollm2") {
    const fs::path script = fetch_script();
    if (!fs::exists(script)) {
      throw ConfigError("the alias smollm2 needs " + script.string() +
                        " (set TROUPE_FETCH_SCRIPT, or pass the path of a model)");
    }
    fs::path path = run_and_capture("'" + script.string() + "'");
    if (!fs::exists(path)) throw ConfigError("the fetch script did not produce " + path.string());
    return path;
  }
  const fs::path path(model);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw ConfigError("model '" + model +
                      "' is neither an existing path (a model directory or a .gguf file) nor a known alias (smollm2)");
  }
  return path;
}

}  // namespace troupe::app
