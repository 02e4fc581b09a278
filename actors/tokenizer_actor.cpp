#include "actors/tokenizer_actor.hpp"

#include <caf/all.hpp>
#include <chrono>
#include <thread>

#include "actors/instrumented.hpp"
#include "actors/messages/atoms.hpp"
#include "actors/messages/tokenizer_messages.hpp"
#include "pipeline/chat_template/chat_template_error.hpp"
#include "pipeline/sampling/bad_words.hpp"
#include "pipeline/tool_calls/thinking_parser.hpp"  // grammar_start_token

namespace troupe {

namespace {

ApiError template_error(const std::exception& e) {
  ApiError err;
  err.status = 400;
  err.message = std::string("the chat template could not render these messages: ") + e.what();
  err.param = "messages";
  return err;
}

// A chat prompt's ids, as a chat completion and /tokenize both render it.
std::vector<int32_t> encode_chat(const ModelText& text, const boost::json::array& messages,
                                 const std::optional<boost::json::array>& tools, const boost::json::object& kwargs,
                                 bool add_generation_prompt, bool continue_final_message, bool add_special_tokens) {
  ChatTemplateOptions options;
  options.tools = tools;
  options.extra_context = kwargs;
  options.add_generation_prompt = add_generation_prompt;
  options.continue_final_message = continue_final_message;
  options.bos_token = text.bos_token;
  options.eos_token = text.eos_token;
  return text.tokenizer.encode(text.chat_template->render(messages, options), add_special_tokens);
}

std::vector<int32_t> encode_untruncated(const ModelText& text, const GenerationRequest& r, int prompt) {
  if (r.endpoint == Endpoint::ChatCompletions) {
    // The template writes every special token the model expects (Llama 3's BOS included): none added.
    return encode_chat(text, r.messages, r.tools, r.chat_template_kwargs, r.add_generation_prompt,
                       r.continue_final_message, false);
  }
  const PromptInput input = r.prompt_at(prompt);
  if (!input.ids.empty()) return input.ids;
  return text.tokenizer.encode(input.text, /*add_special_tokens=*/true);
}

// The prompt's ids, only its last truncate_prompt_tokens when the request asks (vLLM cuts from the
// left, keeping what is nearest to the reply).
std::vector<int32_t> encode(const ModelText& text, const GenerationRequest& r, int prompt) {
  std::vector<int32_t> ids = encode_untruncated(text, r, prompt);
  const auto keep = static_cast<std::size_t>(r.truncate_prompt_tokens);
  if (keep > 0 && ids.size() > keep) ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(keep));
  return ids;
}

// The request field a constraint error is about.
std::string_view structured_output_param(const GenerationRequest& r) {
  return r.structured_output && r.structured_output->kind == StructuredOutputRequest::Kind::JsonObject ? "response_format"
                                                                                                     : "structured_outputs";
}

}  // namespace

namespace {

caf::behavior tokenizer_behavior(instrumented<caf::event_based_actor>* self, TokenizerActorConfig config) {
  (void)self;
  return {
      [config](atoms::tokenize, const TokenizeJob& job) -> TokenizedPrompt {
        RequestTimeline* timeline = job.request->timeline.get();
        if (timeline != nullptr) timeline->mark(RequestTimeline::Instant::TokenizeStarted);
        if (config.artificial_delay_ms > 0) {
          std::this_thread::sleep_for(std::chrono::milliseconds(config.artificial_delay_ms));
        }
        TokenizedPrompt out;
        try {
          out.ids = std::make_shared<const std::vector<int32_t>>(encode(*config.text, *job.request, job.prompt));
          const Tokenizer& text_tokenizer = config.text->tokenizer;
          out.reasoning_opened = prompt_opens_reasoning(job.request->tool_calls.reasoning, *out.ids, [&](std::span<const int32_t> ids) {
            return text_tokenizer.decode(ids, /*skip_special_tokens=*/false);
          });
          // Compiling a new constraint takes tens of milliseconds: here, off the executor thread,
          // and once per distinct constraint (the compiler caches).
          if (job.request->structured_output && config.grammars) {
            out.grammar = config.grammars->compile(*job.request->structured_output);
            const Tokenizer& tokenizer = config.text->tokenizer;
            out.grammar_after = grammar_start_token(
                job.request->tool_calls.reasoning, tokenizer.token_id(reasoning_end(job.request->tool_calls.reasoning)), *out.ids,
                [&](std::span<const int32_t> ids) { return tokenizer.decode(ids, /*skip_special_tokens=*/false); });
          }
          // Once per request, not per prompt of a batch: the words are the request's.
          if (job.prompt == 0 && !job.request->bad_words.empty()) {
            out.bad_words = bad_words_token_ids(config.text->tokenizer, job.request->bad_words);
          }
        } catch (const BadWordsError& e) {
          out.error = ApiError{400, "invalid_request_error", e.what(), std::string("bad_words"), 0};
        } catch (const structured_output::GrammarError& e) {
          out.error = ApiError{400, "invalid_request_error", std::string("structured output: ") + e.what(),
                               std::string(structured_output_param(*job.request)), 0};
        } catch (const ChatTemplateError& e) {
          out.error = template_error(e);
        } catch (const std::exception& e) {
          out.error = ApiError{400, "invalid_request_error", std::string("cannot tokenize the prompt: ") + e.what(),
                               std::nullopt, 0};
        }
        // A batch's prompts are tokenized one job each: the request is tokenized when the last is.
        if (timeline != nullptr) timeline->mark_latest(RequestTimeline::Instant::Tokenized);
        return out;
      },
      [config](atoms::tokenize, const TokenizeText& job) -> TokenizedPrompt {
        TokenizedPrompt out;
        const TokenizeRequest& r = job.request;
        try {
          std::vector<int32_t> ids;
          if (r.use_messages) {
            ids = encode_chat(*config.text, r.messages, r.tools, r.chat_template_kwargs, r.add_generation_prompt,
                              r.continue_final_message, r.add_special_tokens);
          } else {
            ids = config.text->tokenizer.encode(r.prompt, r.add_special_tokens);
          }
          out.ids = std::make_shared<const std::vector<int32_t>>(std::move(ids));
        } catch (const ChatTemplateError& e) {
          out.error = template_error(e);
        } catch (const std::exception& e) {
          out.error = ApiError{400, "invalid_request_error", std::string("cannot tokenize: ") + e.what(), std::nullopt, 0};
        }
        return out;
      },
      [config](atoms::detok, const std::vector<int32_t>& ids) -> std::string {
        return config.text->tokenizer.decode(ids, /*skip_special_tokens=*/false);
      },
  };
}

}  // namespace

caf::actor spawn_tokenizer(caf::actor_system& system, ActorMetrics* metrics, TokenizerActorConfig config) {
  return spawn_instrumented(system, metrics, "troupe.tokenizer", tokenizer_behavior, std::move(config));
}

}  // namespace troupe
