#pragma once
// request actor <-> tokenizer actor, and the engine's /tokenize and /detokenize calls.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

#include "pipeline/openai/tokenize_api.hpp"
#include "pipeline/request/generation_event.hpp"
#include "pipeline/request/generation_request.hpp"

namespace troupe {

// Ask: render (chat) and encode the prompt of a request.
struct TokenizeJob {
  std::shared_ptr<const GenerationRequest> request;
  int prompt = 0;  // which prompt of a completions batch
};

// Answer: the prompt's token ids, or an error for the client (a template that raised, say).
struct TokenizedPrompt {
  std::shared_ptr<const std::vector<int32_t>> ids;
  // The request's structured-output constraint compiled for the vocabulary; null when it has none.
  std::shared_ptr<const structured_output::CompiledGrammar> grammar;
  // With a grammar: the token after which it applies (SamplingParams::grammar_after).
  std::optional<int32_t> grammar_after;
  // The prompt ends inside a reasoning block the chat template opened (prompt_opens_reasoning).
  bool reasoning_opened = false;
  // The request's bad_words as token sequences (pipeline/sampling/bad_words.hpp), from the job of
  // prompt 0 only; empty when it has none.
  std::vector<std::vector<int32_t>> bad_words;
  std::optional<ApiError> error;
};

// /tokenize: text (or chat messages) to ids.
struct TokenizeText {
  TokenizeRequest request;
};

}  // namespace troupe

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::TokenizeJob)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::TokenizedPrompt)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::TokenizeText)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<int32_t>)
