#pragma once
// The tokenizer actors: a small pool, each rendering chat templates and encoding prompts, so that a
// long prompt never holds up the scheduler or another request. Stateless apart from the shared,
// immutable ModelText.
#include <memory>

#include <caf/fwd.hpp>

#include "pipeline/model_text.hpp"
#include "pipeline/structured_output/structured_output_grammar.hpp"
#include "telemetry/actor_metrics.hpp"

namespace troupe {

struct TokenizerActorConfig {
  std::shared_ptr<const ModelText> text;
  // Compiles structured-output constraints (shared by the pool: one cache of compiled grammars).
  std::shared_ptr<structured_output::GrammarCompiler> grammars;
  // Test-only: sleep this long per job, to provoke a tokenizer backlog (telemetry tests).
  int artificial_delay_ms = 0;
};

caf::actor spawn_tokenizer(caf::actor_system& system, ActorMetrics* metrics, TokenizerActorConfig config);

}  // namespace troupe
