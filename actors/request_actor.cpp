#include "actors/request_actor.hpp"

#include <algorithm>
#include <caf/all.hpp>
#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include "actors/instrumented.hpp"
#include "actors/messages/atoms.hpp"
#include "actors/messages/scheduler_messages.hpp"
#include "actors/messages/tokenizer_messages.hpp"
#include "pipeline/openai/api_context.hpp"
#include "pipeline/output/output_processor.hpp"
#include "pipeline/sampling/logit_rules.hpp"

namespace troupe {

namespace {

using Clock = std::chrono::steady_clock;

struct RequestState {
  static inline const char* name = "troupe.request";
  RequestActorConfig cfg;
  std::vector<SeqId> sequences;                    // one per choice
  std::unordered_map<SeqId, int> choice_of;
  // The tokenized prompts (one, or a completions batch); choice c belongs to prompt c / n.
  std::vector<std::shared_ptr<const std::vector<int32_t>>> prompts;
  int prompts_pending = 0;
  // The structured-output constraint compiled by the tokenizer actor (null: unconstrained).
  std::shared_ptr<const structured_output::CompiledGrammar> grammar;
  std::optional<int32_t> grammar_after;  // the token the grammar starts after (a reasoning model's)
  bool reasoning_opened = false;         // the chat prompt ended inside an opened reasoning block
  // The request's logit rules with its bad words tokenized (tokenizer actor); null: those of the
  // parsed request's sampling parameters are used as they are.
  std::shared_ptr<const LogitRules> logit_rules;
  std::vector<int64_t> cached_by_prompt;           // prefix-cache hits, per prompt
  std::vector<OutputProcessor> outputs;            // one per choice
  std::vector<bool> done;                          // choice finished
  std::vector<FinishReason> reasons;
  int64_t prompt_tokens = 0;
  int64_t cached_prompt_tokens = 0;
  int64_t max_tokens = 0;
  Clock::time_point first_token{};
  Clock::time_point last_token{};
  bool ended = false;
  int engine = 0;
  caf::actor scheduler;                     // the engine this request runs on
  std::shared_ptr<ServingMetrics> metrics;  // that engine's
  RequestTimeline* timeline = nullptr;      // the request's (owned by cfg.request)
};

using Self = instrumented<caf::stateful_actor<RequestState>>;

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// What troupe_requests_total{outcome} records for a request that ended this way.
std::string_view outcome_of(const std::optional<ApiError>& error, FinishReason overall) {
  if (!error) return overall == FinishReason::Abort ? "aborted" : "success";
  if (error->status == 503) return "overloaded";
  if (error->status >= 500) return "error";
  if (error->param == "max_tokens" || error->message.find("maximum context length") != std::string::npos) return "too_long";
  return "invalid";
}

// Ends the request: metrics first, then the last event to the sink (an error, or `last`), exit.
// Metrics come first so that a client who has its whole response already finds the request
// counted in /metrics. The timeline gets its Ended instant and the engine's facts; the request is
// reported once the HTTP session is done with it too (RequestTimeline::finish_part).
void end_request(Self* self, std::optional<ApiError> error, FinishReason overall,
                 std::optional<GenerationEvent> last = std::nullopt) {
  using Instant = RequestTimeline::Instant;
  auto& st = self->state;
  if (st.ended) return;
  st.ended = true;
  const auto now = Clock::now();
  const GenerationRequest& req = *st.cfg.request;
  RequestTimeline& timeline = *st.timeline;
  timeline.mark(Instant::Ended, now);
  int64_t generated = 0;
  for (const auto& o : st.outputs) generated += o.num_tokens();
  const std::string_view outcome = outcome_of(error, overall);
  st.metrics->count_request(req.tenant, outcome, st.prompt_tokens, generated);
  if (req.auto_tools_as_text) st.metrics->count_auto_tools_as_text();
  if (st.prompt_tokens > 0) {
    ServingMetrics::RequestTimes t;
    t.ttft = st.first_token == Clock::time_point{} ? -1.0 : seconds_between(req.arrival, st.first_token);
    t.e2e = seconds_between(req.arrival, now);
    t.prompt_tokens = st.prompt_tokens;
    t.generation_tokens = generated;
    t.max_tokens = st.max_tokens;
    t.n = req.n;
    for (const auto& o : st.outputs) t.max_generated = std::max(t.max_generated, o.num_tokens());
    if (const auto first_scheduled = timeline.at(Instant::FirstScheduled)) {
      t.queue = seconds_between(req.arrival, *first_scheduled);
      if (st.first_token != Clock::time_point{}) {
        t.prefill = seconds_between(*first_scheduled, st.first_token);
        t.decode = seconds_between(st.first_token, st.last_token);
        t.inference = seconds_between(*first_scheduled, st.last_token);
      }
    }
    st.metrics->finish_request(std::string(finish_reason_name(overall)), t);
  }
  RequestTimeline::Facts& facts = timeline.facts();
  facts.engine = st.engine;
  facts.prompt_tokens = st.prompt_tokens;
  facts.completion_tokens = generated;
  facts.cached_prompt_tokens = st.cached_prompt_tokens;
  facts.finish_reason = std::string(finish_reason_name(overall));
  facts.outcome = std::string(outcome);
  if (error) {
    GenerationEvent ev;
    ev.error = std::move(error);
    ev.done = true;
    st.cfg.sink->push(std::move(ev));
  } else if (last) {
    st.cfg.sink->push(std::move(*last));
  }
  if (st.cfg.on_exit) st.cfg.on_exit();
  timeline.finish_part();
  self->quit();
}

// A request stopped before it finished: troupe_request_aborts_total{stage, reason}, and the stage
// and reason in its log line.
void count_abort(Self* self, AbortReason reason) {
  auto& st = self->state;
  const RequestTimeline::Phase phase = st.timeline->phase();
  st.metrics->count_abort(RequestTimeline::phase_name(phase), abort_reason_name(reason));
  auto& facts = st.timeline->facts();
  facts.abort_phase = phase;
  facts.abort_reason = std::string(abort_reason_name(reason));
}

// Aborts whatever sequences of this request are still running in the scheduler.
void abort_unfinished(Self* self) {
  auto& st = self->state;
  std::vector<uint64_t> ids;
  for (std::size_t i = 0; i < st.sequences.size(); ++i) {
    if (!st.done[i]) ids.push_back(st.sequences[i]);
  }
  if (!ids.empty()) self->send(st.scheduler, atoms::abort_seqs::value, std::move(ids));
}

ApiError bad_request(std::string message, std::optional<std::string> param = std::nullopt) {
  return ApiError{400, "invalid_request_error", std::move(message), std::move(param), 0};
}

// Prompt length against the context: vLLM's messages, naming both lengths.
std::optional<ApiError> check_lengths(const GenerationRequest& req, int64_t prompt, int64_t max_model_len, int64_t& max_tokens) {
  const char* where = req.endpoint == Endpoint::ChatCompletions ? "messages" : "prompt";
  if (prompt == 0) return bad_request("the prompt is empty", std::string(where == std::string("messages") ? "messages" : "prompt"));
  if (prompt >= max_model_len) {
    return bad_request("This model's maximum context length is " + std::to_string(max_model_len) +
                           " tokens. However, your request has " + std::to_string(prompt) + " input tokens (" +
                           std::to_string(prompt) + " in the " + where +
                           "), which leaves no room for output. Please reduce the length of the " + where + ".",
                       std::string(where));
  }
  const int64_t room = max_model_len - prompt;
  if (req.stop.max_tokens == kMaxTokensFromContext) {
    max_tokens = room;
  } else if (req.stop.max_tokens > room) {
    return bad_request("This model's maximum context length is " + std::to_string(max_model_len) +
                           " tokens. However, you requested " + std::to_string(prompt + req.stop.max_tokens) +
                           " tokens (" + std::to_string(prompt) + " in the " + where + ", " +
                           std::to_string(req.stop.max_tokens) + " in the completion). Please reduce the length of the " +
                           where + " or completion.",
                       std::string("max_tokens"));
  } else {
    max_tokens = req.stop.max_tokens;
  }
  return std::nullopt;
}

// Every prompt id must name a token of the model, whatever the request's shape (token ids sent by
// the client, or a tokenizer whose added tokens outgrow the embedding): the backend would refuse
// the step. vLLM's check and message.
std::optional<ApiError> check_vocabulary(const GenerationRequest& req, const std::vector<int32_t>& prompt, int64_t vocab) {
  if (vocab <= 0) return std::nullopt;
  const auto bad = std::find_if(prompt.begin(), prompt.end(), [vocab](int32_t id) { return id < 0 || id >= vocab; });
  if (bad == prompt.end()) return std::nullopt;
  return bad_request("Token id " + std::to_string(*bad) + " is out of vocabulary: this model's token ids are 0 to " +
                         std::to_string(vocab - 1) + ".",
                     std::string(req.endpoint == Endpoint::ChatCompletions ? "messages" : "prompt"));
}

// The logit rules once the bad words are tokens: a bad word with a token the model cannot produce
// (an added token past the logit row) is vLLM's 400, with its message; and an allowed list whose
// every id is a one-token bad word (banned at every step) would leave nothing to generate.
std::optional<ApiError> check_logit_rules(const LogitRules* rules, int64_t vocab) {
  if (rules == nullptr) return std::nullopt;
  std::string bad;
  std::unordered_set<int32_t> always_banned;
  for (const auto& word : rules->bad_words) {
    if (word.size() == 1) always_banned.insert(word.front());
    for (int32_t id : word) {
      if (vocab <= 0 || (id >= 0 && id < vocab)) continue;
      bad += (bad.empty() ? "" : ", ") + std::to_string(id);
    }
  }
  if (!bad.empty()) {
    return bad_request("The model vocabulary size is " + std::to_string(vocab) +
                           ", but the following tokens were specified as bad: [" + bad +
                           "]. All token id values should be integers satisfying: 0 <= token_id <= " +
                           std::to_string(vocab - 1) + ".",
                       std::string("bad_words"));
  }
  const auto& allowed = rules->allowed_token_ids;
  if (!allowed.empty() && std::all_of(allowed.begin(), allowed.end(), [&](int32_t id) { return always_banned.contains(id); })) {
    return bad_request("allowed_token_ids and bad_words together exclude every token: each allowed token is a bad word.",
                       std::string("allowed_token_ids"));
  }
  return std::nullopt;
}

void on_outputs(Self* self, SequenceOutputs& out) {
  auto& st = self->state;
  if (st.ended) return;
  GenerationEvent ev;
  std::vector<uint64_t> to_abort;
  bool got_token = false;
  for (const PromptLogprobsChunk& chunk : out.prompt_logprobs) {
    if (auto it = st.choice_of.find(chunk.id); it != st.choice_of.end()) {
      st.outputs[static_cast<std::size_t>(it->second)].add_prompt_logprobs(chunk.first_position, chunk.tokens);
    }
  }
  for (std::size_t i = 0; i < out.updates.size(); ++i) {
    SequenceUpdate& u = out.updates[i];
    auto it = st.choice_of.find(u.id);
    if (it == st.choice_of.end()) continue;
    const int c = it->second;
    if (st.done[c]) continue;
    if (u.first_token) {
      // vLLM counts a sequence's whole prompt in vllm:prompt_tokens_total when its prefill ends,
      // cache hits included (and splits it by source).
      const std::size_t p = static_cast<std::size_t>(c / st.cfg.request->n);
      st.metrics->add_prefilled_prompt(static_cast<int64_t>(st.prompts[p]->size()), u.num_cached_prompt_tokens);
      st.cached_by_prompt[p] = std::max(st.cached_by_prompt[p], u.num_cached_prompt_tokens);
      st.cached_prompt_tokens = 0;
      for (int64_t cached : st.cached_by_prompt) st.cached_prompt_tokens += cached;
    }
    if (u.preempted && u.new_tokens.empty() && !u.finished) continue;
    got_token = got_token || !u.new_tokens.empty();
    std::vector<std::optional<TokenLogprobs>> lps;
    if (i < out.logprobs.size()) {
      for (const auto& lp : out.logprobs[i])
        if (lp) lps.push_back(lp);
    }
    if (lps.size() != u.new_tokens.size()) lps.clear();
    OutputUpdate upd = st.outputs[c].push(u.new_tokens, lps, u.finished, u.stop_token);
    if (upd.abort_sequence) to_abort.push_back(u.id);
    if (upd.delta.finish) {
      st.done[c] = true;
      st.reasons[c] = *upd.delta.finish;
    }
    if (!upd.delta.text.empty() || !upd.delta.token_ids.empty() || upd.delta.finish) ev.choices.push_back(std::move(upd.delta));
  }
  if (!to_abort.empty()) self->send(st.scheduler, atoms::abort_seqs::value, std::move(to_abort));
  if (out.aborted) count_abort(self, *out.aborted);  // the engine ended this request's sequences
  const auto now = Clock::now();
  if (got_token) {
    if (st.first_token == Clock::time_point{}) {
      st.first_token = now;
      st.timeline->mark(RequestTimeline::Instant::FirstToken, now);
    } else {
      st.metrics->observe_inter_token(seconds_between(st.last_token, now));
    }
    st.last_token = now;
  }
  if (out.error) {
    // The executor failed: every choice still open ends with an error.
    count_abort(self, AbortReason::Error);
    for (std::size_t c = 0; c < st.done.size(); ++c) {
      if (!st.done[c]) {
        st.done[c] = true;
        st.reasons[c] = FinishReason::Error;
      }
    }
    abort_unfinished(self);
    end_request(self, ApiError{500, "server_error", "generation failed: " + *out.error, std::nullopt, 0}, FinishReason::Error);
    return;
  }
  const bool all_done = std::all_of(st.done.begin(), st.done.end(), [](bool d) { return d; });
  if (all_done) {
    int64_t generated = 0;
    for (const auto& o : st.outputs) generated += o.num_tokens();
    ev.usage = Usage{st.prompt_tokens, generated, st.cached_prompt_tokens};
    ev.prompt_tokens = st.prompt_tokens;
    ev.done = true;
  }
  if (all_done) {
    FinishReason overall = FinishReason::Stop;
    for (FinishReason r : st.reasons) {
      if (r == FinishReason::Length && overall == FinishReason::Stop) overall = FinishReason::Length;
      if (r == FinishReason::Abort) overall = FinishReason::Abort;
    }
    end_request(self, std::nullopt, overall, std::move(ev));
  } else if (!ev.choices.empty()) {
    st.cfg.sink->push(std::move(ev));
  }
}

void submit_to_scheduler(Self* self, int engine) {
  auto& st = self->state;
  st.engine = engine;
  st.scheduler = st.cfg.schedulers.at(static_cast<std::size_t>(engine));
  st.metrics = st.cfg.engine_metrics.at(static_cast<std::size_t>(engine));
  const GenerationRequest& req = *st.cfg.request;
  st.prompt_tokens = 0;
  int64_t max_tokens = 0;
  for (const auto& prompt : st.prompts) {
    const auto length = static_cast<int64_t>(prompt->size());
    st.prompt_tokens += length;
    int64_t prompt_max_tokens = 0;
    if (auto err = check_lengths(req, length, st.cfg.max_model_len, prompt_max_tokens)) {
      end_request(self, std::move(err), FinishReason::Error);
      return;
    }
    max_tokens = std::max(max_tokens, prompt_max_tokens);
  }
  for (const auto& prompt : st.prompts) {
    if (auto err = check_vocabulary(req, *prompt, st.cfg.vocab_size)) {
      end_request(self, std::move(err), FinishReason::Error);
      return;
    }
  }
  if (auto err = check_logit_rules(st.logit_rules.get(), st.cfg.vocab_size)) {
    end_request(self, std::move(err), FinishReason::Error);
    return;
  }
  st.max_tokens = max_tokens;
  st.cached_by_prompt.assign(st.prompts.size(), 0);
  SubmitSequences submit;
  submit.request_id = req.id;
  submit.timeline = req.timeline;
  for (std::size_t p = 0; p < st.prompts.size(); ++p) {
    int64_t prompt_max_tokens = 0;
    check_lengths(req, static_cast<int64_t>(st.prompts[p]->size()), st.cfg.max_model_len, prompt_max_tokens);
    for (int j = 0; j < req.n; ++j) {
      const int c = static_cast<int>(p) * req.n + j;  // OpenAI numbers a batch's choices prompt by prompt
      SequenceRequest seq;
      seq.id = st.cfg.next_sequence_id->fetch_add(1);
      seq.prompt = st.prompts[p];
      seq.sampling = choice_sampling(req.sampling, j);
      seq.sampling.grammar = st.grammar;
      seq.sampling.grammar_after = st.grammar_after;
      if (st.logit_rules) seq.sampling.logit_rules = st.logit_rules;
      seq.max_new_tokens = prompt_max_tokens;
      seq.min_tokens = req.stop.min_tokens;
      if (!req.stop.ignore_eos) seq.eos_token_ids = st.cfg.eos_token_ids;
      seq.stop_token_ids = req.stop.stop_token_ids;
      st.sequences.push_back(seq.id);
      st.choice_of[seq.id] = c;
      OutputOptions options = output_options_for(req, c, st.cfg.text->tokenizer, static_cast<int>(p));
      if (seq.sampling.prompt_logprobs) options.prompt_ids = *st.prompts[p];
      st.outputs.emplace_back(st.cfg.text->tokenizer, std::move(options));
      submit.sequences.push_back(std::move(seq));
    }
  }
  const std::size_t choices = static_cast<std::size_t>(req.n) * st.prompts.size();
  st.done.assign(choices, false);
  st.reasons.assign(choices, FinishReason::Stop);
  st.timeline->mark(RequestTimeline::Instant::SchedulerQueued);
  self->request(st.scheduler, caf::infinite, atoms::submit::value, std::move(submit))
      .then(
          [self](AdmissionResult admission) {
            auto& st = self->state;
            const Admission a = admission.outcome;
            if (a == Admission::Accepted) {
              GenerationEvent first;  // tells the session the request is running: headers may go out
              first.prompt_tokens = st.prompt_tokens;
              first.reasoning_opened = st.reasoning_opened;
              if (st.cfg.request->return_token_ids) {
                for (const auto& prompt : st.prompts) first.prompt_token_ids.push_back(*prompt);
              }
              st.cfg.sink->push(std::move(first));
              return;
            }
            std::fill(st.done.begin(), st.done.end(), true);
            if (a == Admission::QueueFull) {
              end_request(self,
                          ApiError{503, "server_overloaded", "the server is at capacity: too many requests are waiting; retry later",
                                   std::nullopt, std::max(1, admission.retry_after_seconds)},
                          FinishReason::Abort);
            } else {
              end_request(self, bad_request("the prompt does not fit in the KV cache of this server", std::string("messages")),
                          FinishReason::Error);
            }
          },
          [self](caf::error& e) {
            std::fill(self->state.done.begin(), self->state.done.end(), true);
            end_request(self, ApiError{500, "server_error", "the scheduler did not answer: " + caf::to_string(e), std::nullopt, 0},
                        FinishReason::Error);
          });
}

caf::behavior request_behavior(Self* self, RequestActorConfig config) {
  self->state.cfg = std::move(config);
  auto& st = self->state;
  st.scheduler = st.cfg.schedulers.front();
  st.metrics = st.cfg.engine_metrics.front();
  st.timeline = st.cfg.request->timeline.get();
  // A cancel or a late step output may reach a request that has just ended: drop it quietly.
  self->set_default_handler(caf::drop);
  st.timeline->mark(RequestTimeline::Instant::TokenizerQueued);
  // One tokenization per prompt (a completions batch has several); submit once all are back.
  const int num_prompts = st.cfg.request->num_prompts();
  st.prompts.resize(static_cast<std::size_t>(num_prompts));
  st.prompts_pending = num_prompts;
  for (int p = 0; p < num_prompts; ++p) {
    self->request(st.cfg.tokenizer, caf::infinite, atoms::tokenize::value, TokenizeJob{st.cfg.request, p})
        .then(
            [self, p](TokenizedPrompt& tp) {
              auto& st = self->state;
              if (st.ended) return;
              if (tp.error) {
                end_request(self, std::move(tp.error), FinishReason::Error);
                return;
              }
              st.prompts[static_cast<std::size_t>(p)] = std::move(tp.ids);
              if (tp.grammar) st.grammar = std::move(tp.grammar);
              if (tp.grammar_after) st.grammar_after = tp.grammar_after;
              st.reasoning_opened = st.reasoning_opened || tp.reasoning_opened;
              if (!tp.bad_words.empty()) {
                const std::shared_ptr<const LogitRules>& parsed = st.cfg.request->sampling.logit_rules;
                LogitRules rules = parsed ? *parsed : LogitRules{};
                rules.bad_words = std::move(tp.bad_words);
                st.logit_rules = std::make_shared<const LogitRules>(std::move(rules));
              }
              if (--st.prompts_pending > 0) return;
              if (!st.cfg.router) {
                submit_to_scheduler(self, 0);
                return;
              }
              // Data parallel: the router picks the least loaded engine.
              self->request(st.cfg.router, caf::infinite, atoms::route::value)
                  .then([self](int engine) { submit_to_scheduler(self, engine); },
                        [self](caf::error& e) {
                          end_request(self, ApiError{500, "server_error", "the router did not answer: " + caf::to_string(e),
                                                     std::nullopt, 0},
                                      FinishReason::Error);
                        });
            },
            [self](caf::error& e) {
              end_request(self, ApiError{500, "server_error", "the tokenizer did not answer: " + caf::to_string(e), std::nullopt, 0},
                          FinishReason::Error);
            });
  }
  return {
      [self](atoms::outputs, SequenceOutputs& out) { on_outputs(self, out); },
      [self](atoms::cancel, AbortReason reason) {
        // The client went away (or the server is stopping, or a deadline passed): free the KV
        // blocks now.
        auto& st = self->state;
        if (st.ended) return;
        count_abort(self, reason);
        abort_unfinished(self);
        std::fill(st.done.begin(), st.done.end(), true);
        GenerationEvent ev;
        ev.done = true;
        // A client still listening (the server is stopping) learns why its answer ends here: a
        // stream gets an error event before [DONE], a non-streamed request a 503.
        if (reason == AbortReason::Shutdown) {
          ev.error = ApiError{503, "server_error",
                              "The server is shutting down; this request was stopped before it finished.", std::nullopt, 1};
        }
        end_request(self, std::nullopt, FinishReason::Abort, std::move(ev));
      },
  };
}

}  // namespace

caf::actor spawn_request(caf::actor_system& system, ActorMetrics* metrics, RequestActorConfig config) {
  return spawn_instrumented(system, metrics, "troupe.request", request_behavior, std::move(config));
}

}  // namespace troupe
