// OutputProcessor on the real SmolLM2 tokenizer: stop strings spanning one, two and three tokens,
// UTF-8 characters split across tokens, finish reasons, logprob token strings and echo. Every
// test also checks that the deltas concatenate to the processor's final text.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "pipeline/model_text.hpp"
#include "pipeline/output/output_processor.hpp"
#include "pipeline/tokenizer/utf8.hpp"

using namespace troupe;

namespace {

const Tokenizer& smollm2() {
  static const Tokenizer tokenizer = [] {
    const char* path = std::getenv("TROUPE_DEFAULT_MODEL");
    REQUIRE(path != nullptr);  // the test command fetches the default model and sets this
    REQUIRE(std::filesystem::exists(path));
    return load_model_text(ModelFiles::open(path)).tokenizer;
  }();
  return tokenizer;
}

struct Run {
  std::vector<ChoiceDelta> deltas;
  std::string text;  // concatenation of the deltas
  bool aborted = false;
  std::optional<FinishReason> finish;
  std::optional<StopReason> stop_reason;
  std::vector<int32_t> token_ids;
};

// Pushes `ids` one at a time, the last with `finish` (unless a stop string ends it first).
Run run_tokens(OutputProcessor& proc, const std::vector<int32_t>& ids, FinishReason finish = FinishReason::Length,
               std::optional<int32_t> stop_token = std::nullopt) {
  Run run;
  for (std::size_t i = 0; i < ids.size() && !proc.finished(); ++i) {
    const bool last = i + 1 == ids.size();
    auto update = proc.push(std::span(&ids[i], 1), {}, last ? std::optional(finish) : std::nullopt,
                            last ? stop_token : std::nullopt);
    CHECK(utf8::complete_prefix_length(update.delta.text) == update.delta.text.size());
    run.text += update.delta.text;
    run.aborted = run.aborted || update.abort_sequence;
    run.token_ids.insert(run.token_ids.end(), update.delta.token_ids.begin(), update.delta.token_ids.end());
    if (update.delta.finish) {
      run.finish = update.delta.finish;
      run.stop_reason = update.delta.stop_reason;
    }
    run.deltas.push_back(std::move(update.delta));
  }
  CHECK(run.text == proc.text());
  return run;
}

OutputOptions stopping_at(std::vector<std::string> stop, bool include = false) {
  OutputOptions o;
  o.stop = std::move(stop);
  o.include_stop_str_in_output = include;
  return o;
}

// Byte offset in the decoded text where each token's bytes begin, plus the total at the end.
std::vector<std::size_t> token_offsets(const std::vector<int32_t>& ids) {
  std::vector<std::size_t> offsets{0};
  for (int32_t id : ids) offsets.push_back(offsets.back() + smollm2().token_bytes(id).size());
  return offsets;
}

// A stop string that begins inside token `first` (at its second byte) and ends inside token
// `first + span - 1`: at its first byte, or for one token, before its last byte.
std::string stop_spanning(const std::string& text, const std::vector<std::size_t>& offsets, std::size_t first, std::size_t span) {
  const std::size_t begin = offsets[first] + 1;
  const std::size_t end = span == 1 ? offsets[first + 1] - 1 : offsets[first + span - 1] + 1;
  return text.substr(begin, end - begin);
}

const std::string kSentence = "The quick brown fox jumps over the lazy dog, then naps.";

}  // namespace

TEST_CASE("output: without stop strings the deltas decode to the tokenizer's text", "[output]") {
  const auto ids = smollm2().encode(kSentence, false);
  OutputProcessor proc(smollm2(), {});
  const auto run = run_tokens(proc, ids);
  CHECK(run.text == kSentence);
  CHECK(run.finish == FinishReason::Length);
  CHECK_FALSE(run.stop_reason);
  CHECK_FALSE(run.aborted);
  CHECK(run.token_ids == ids);
  CHECK(proc.num_tokens() == static_cast<int64_t>(ids.size()));
}

TEST_CASE("output: stop strings spanning 1, 2 and 3 tokens are cut out and abort the sequence", "[output]") {
  const auto ids = smollm2().encode(kSentence, false);
  const auto offsets = token_offsets(ids);
  REQUIRE(offsets.back() == kSentence.size());
  for (std::size_t span : {1, 2, 3}) {
    for (bool include : {false, true}) {
      const std::size_t first = 2;  // " brown"
      const std::string stop = stop_spanning(kSentence, offsets, first, span);
      INFO("stop '" << stop << "' over " << span << " tokens, include " << include);
      REQUIRE(kSentence.find(stop) != std::string::npos);
      OutputProcessor proc(smollm2(), stopping_at({stop}, include));
      const auto run = run_tokens(proc, ids);
      const std::size_t at = kSentence.find(stop);
      CHECK(run.text == kSentence.substr(0, include ? at + stop.size() : at));
      CHECK(run.finish == FinishReason::Stop);
      CHECK(run.stop_reason == StopReason{stop});
      CHECK(run.aborted);
      // The tokens up to the one that completed the stop string, none after.
      CHECK(run.token_ids.size() == first + span);
    }
  }
}

TEST_CASE("output: several stop strings, the first to complete wins; overlapping prefixes", "[output]") {
  const auto ids = smollm2().encode(kSentence, false);
  OutputProcessor proc(smollm2(), stopping_at({"naps", "lazy dog", "lazy"}));
  auto run = run_tokens(proc, ids);
  CHECK(run.stop_reason == StopReason{std::string("lazy")});
  CHECK(run.text == "The quick brown fox jumps over the ");

  OutputProcessor longer_first(smollm2(), stopping_at({"fox jumps", "fox"}, true));
  run = run_tokens(longer_first, ids);
  CHECK(run.stop_reason == StopReason{std::string("fox")});
  CHECK(run.text == "The quick brown fox");
}

TEST_CASE("output: a stop string at the very first token", "[output]") {
  const auto ids = smollm2().encode(kSentence, false);
  OutputProcessor proc(smollm2(), stopping_at({"The"}));
  const auto run = run_tokens(proc, ids);
  REQUIRE(run.deltas.size() == 1);
  CHECK(run.text.empty());
  CHECK(run.finish == FinishReason::Stop);
  CHECK(run.aborted);
  CHECK(run.token_ids == std::vector<int32_t>{ids[0]});
  // Tokens the scheduler had already planned are ignored.
  const auto late = proc.push(std::span(&ids[1], 1));
  CHECK(late.delta.text.empty());
  CHECK(late.delta.token_ids.empty());
  CHECK_FALSE(late.delta.finish);
}

TEST_CASE("output: UTF-8 characters split across tokens are never broken, also as stop strings", "[output]") {
  const std::string text = "Llamas 🦙 and 日本語 text, ünïcödé 🦙🦙 end";
  const auto ids = smollm2().encode(text, false);
  // The test only means something if some token holds part of a character.
  bool split = false;
  for (int32_t id : ids) {
    const auto bytes = smollm2().token_bytes(id);
    split = split || utf8::complete_prefix_length(std::string(bytes)) != bytes.size();
  }
  REQUIRE(split);

  OutputProcessor plain(smollm2(), {});
  auto run = run_tokens(plain, ids);  // every delta is checked to be whole characters
  CHECK(run.text == text);

  OutputProcessor emoji(smollm2(), stopping_at({"🦙🦙"}));
  run = run_tokens(emoji, ids);
  CHECK(run.text == "Llamas 🦙 and 日本語 text, ünïcödé ");
  CHECK(run.stop_reason == StopReason{std::string("🦙🦙")});

  OutputProcessor cjk(smollm2(), stopping_at({"本"}, true));
  run = run_tokens(cjk, ids);
  CHECK(run.text == "Llamas 🦙 and 日本");
}

TEST_CASE("output: an unfinished character at the end comes out as U+FFFD", "[output]") {
  const auto ids = smollm2().encode("🦙", false);
  REQUIRE(ids.size() > 1);
  OutputProcessor proc(smollm2(), {});
  const auto run = run_tokens(proc, std::vector<int32_t>(ids.begin(), ids.end() - 1));
  CHECK(run.text == "\xEF\xBF\xBD");
}

TEST_CASE("output: scheduler finishes flush held text and name stop ids only", "[output]") {
  const auto ids = smollm2().encode("It ends with wor", false);
  // "wor" could begin "world": held until the end, then flushed.
  OutputProcessor held(smollm2(), stopping_at({"world"}));
  auto run = run_tokens(held, ids, FinishReason::Length);
  CHECK(run.deltas.back().text.find("wor") != std::string::npos);
  CHECK(run.text == "It ends with wor");
  CHECK(run.finish == FinishReason::Length);
  CHECK_FALSE(run.aborted);

  const int32_t eos = *smollm2().token_id("<|im_end|>");
  std::vector<int32_t> with_eos = ids;
  with_eos.push_back(eos);
  OutputProcessor at_eos(smollm2(), {});
  run = run_tokens(at_eos, with_eos, FinishReason::Stop, eos);
  CHECK(run.text == "It ends with wor");  // the special token's text is skipped
  CHECK(run.finish == FinishReason::Stop);
  CHECK_FALSE(run.stop_reason);            // eos is no stop id
  CHECK(run.token_ids.back() == eos);

  OutputOptions stop_id;
  stop_id.stop_token_ids = {eos};
  OutputProcessor at_stop_id(smollm2(), stop_id);
  run = run_tokens(at_stop_id, with_eos, FinishReason::Stop, eos);
  CHECK(run.stop_reason == StopReason{eos});
}

TEST_CASE("output: special tokens' text with skip_special_tokens false; the finishing token's text left out",
          "[output]") {
  const int32_t im_start = *smollm2().token_id("<|im_start|>");
  const int32_t eos = *smollm2().token_id("<|im_end|>");
  std::vector<int32_t> ids = smollm2().encode("Hi", false);
  ids.push_back(im_start);
  const auto there = smollm2().encode(" there", false);
  ids.insert(ids.end(), there.begin(), there.end());

  OutputProcessor skipping(smollm2(), {});
  CHECK(run_tokens(skipping, ids).text == "Hi there");
  OutputOptions keep;
  keep.skip_special_tokens = false;
  OutputProcessor keeping(smollm2(), keep);
  CHECK(run_tokens(keeping, ids).text == "Hi<|im_start|> there");

  // eos ends the sequence: its text stays out even when special tokens are kept, unless asked for.
  std::vector<int32_t> with_eos = ids;
  with_eos.push_back(eos);
  OutputProcessor at_eos(smollm2(), keep);
  auto run = run_tokens(at_eos, with_eos, FinishReason::Stop, eos);
  CHECK(run.text == "Hi<|im_start|> there");
  CHECK(run.token_ids.back() == eos);  // still reported as a token
  keep.include_stop_str_in_output = true;
  OutputProcessor at_eos_included(smollm2(), keep);
  CHECK(run_tokens(at_eos_included, with_eos, FinishReason::Stop, eos).text == "Hi<|im_start|> there<|im_end|>");

  // A stop id that is an ordinary token: left out, or kept with include_stop_str_in_output.
  const std::vector<int32_t> words = smollm2().encode("one two", false);
  REQUIRE(words.size() == 2);
  OutputOptions stop_id;
  stop_id.stop_token_ids = {words[1]};
  OutputProcessor at_word(smollm2(), stop_id);
  run = run_tokens(at_word, words, FinishReason::Stop, words[1]);
  CHECK(run.text == "one");
  CHECK(run.stop_reason == StopReason{words[1]});
  stop_id.include_stop_str_in_output = true;
  OutputProcessor at_word_included(smollm2(), stop_id);
  CHECK(run_tokens(at_word_included, words, FinishReason::Stop, words[1]).text == "one two");

  // Several tokens in one update (speculative decoding, pipelining): only the last is the stop.
  OutputOptions plain;
  plain.stop_token_ids = {words[1]};
  OutputProcessor batched(smollm2(), plain);
  const auto update = batched.push(words, {}, FinishReason::Stop, words[1]);
  CHECK(update.delta.text == "one");
  CHECK(update.delta.token_ids == words);
}

TEST_CASE("output: prompt_logprobs on the finishing delta, the prompt's token first, null at position 0",
          "[output]") {
  const auto prompt = smollm2().encode("One two three", false);
  REQUIRE(prompt.size() == 3);
  OutputOptions o;
  o.prompt_logprobs = 1;
  o.prompt_ids = prompt;
  OutputProcessor proc(smollm2(), o);
  // Position 1: its token is not the top one (rank 4); position 2: it is the top one, reported once.
  const std::vector<TokenLogprobs> positions{TokenLogprobs{prompt[1], -2.0f, {{7, -0.5f}, {8, -1.0f}}, 4},
                                             TokenLogprobs{prompt[2], -0.1f, {{prompt[2], -0.1f}, {9, -3.0f}}, 1}};
  proc.add_prompt_logprobs(1, positions);
  const auto first = proc.push(std::vector<int32_t>{5});
  CHECK_FALSE(first.delta.prompt_logprobs);  // only the finishing delta carries them
  const auto last = proc.push(std::vector<int32_t>{6}, {}, FinishReason::Length);
  REQUIRE(last.delta.prompt_logprobs);
  const PromptLogprobs& p = *last.delta.prompt_logprobs;
  REQUIRE(p.size() == 3);
  CHECK(p[0].empty());
  REQUIRE(p[1].size() == 2);  // the prompt's token, then the top 1 (of the 2 computed)
  CHECK(p[1][0].token_id == prompt[1]);
  CHECK(p[1][0].rank == 4);
  CHECK(p[1][0].token == smollm2().decode(std::vector<int32_t>{prompt[1]}, false));
  CHECK(p[1][1].token_id == 7);
  CHECK(p[1][1].rank == 1);
  REQUIRE(p[2].size() == 1);
  CHECK(p[2][0].token_id == prompt[2]);
  CHECK(p[2][0].rank == 1);
}

TEST_CASE("output: stop strings wait for min_tokens", "[output]") {
  const auto ids = smollm2().encode(kSentence, false);
  OutputOptions o = stopping_at({"The", "fox"});
  o.min_tokens = 2;
  OutputProcessor proc(smollm2(), o);
  const auto run = run_tokens(proc, ids);
  CHECK(run.stop_reason == StopReason{std::string("fox")});
  CHECK(run.text == "The quick brown ");
}

TEST_CASE("output: logprobs carry each token's own text; echo prefixes the first delta", "[output]") {
  const Tokenizer& tok = smollm2();
  const auto ids = tok.encode("Hi 🦙", false);
  const int32_t eos = *tok.token_id("<|im_end|>");
  OutputOptions o;
  o.logprobs = true;
  o.echo = "Prompt:";
  OutputProcessor proc(tok, o);
  std::vector<std::optional<TokenLogprobs>> lps;
  for (int32_t id : ids) lps.push_back(TokenLogprobs{id, -0.5f, {{id, -0.5f}, {eos, -1.5f}}});
  const auto update = proc.push(ids, lps, FinishReason::Length);
  CHECK(update.delta.text == "Prompt:Hi 🦙");
  REQUIRE(update.delta.logprobs.size() == ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto& lp = update.delta.logprobs[i];
    CHECK(lp.token_id == ids[i]);
    CHECK(lp.token == tok.decode(std::vector<int32_t>{ids[i]}, false));
    CHECK(lp.logprob == -0.5f);
    REQUIRE(lp.top.size() == 2);
    CHECK(lp.top[1].token == "<|im_end|>");
    CHECK(lp.top[1].logprob == -1.5f);
  }
  CHECK(update.delta.logprobs[0].token == "Hi");
  CHECK(update.delta.logprobs.back().token == "\xEF\xBF\xBD");  // a partial character alone
  CHECK(proc.text() == "Prompt:Hi 🦙");
  // Entries must be parallel to the tokens; none at all leaves the tokens without logprobs.
  CHECK_THROWS_AS(OutputProcessor(tok, o).push(ids, std::span(lps).first(1)), std::invalid_argument);
  CHECK(OutputProcessor(tok, o).push(ids, {}).delta.logprobs.empty());
}

TEST_CASE("output: an echoed prompt's logprobs lead the first delta, the first token's null", "[output]") {
  const Tokenizer& tok = smollm2();
  const auto prompt = tok.encode("Once upon a time", false);
  REQUIRE(prompt.size() == 4);
  OutputOptions o;
  o.logprobs = true;
  o.echo = "Once upon a time";
  o.prompt_ids = prompt;
  o.echo_top_n = 0;
  OutputProcessor proc(tok, o);
  auto entry = [](int32_t id, float lp) { return TokenLogprobs{id, lp, {}}; };
  // Chunks as the executor reports them: positions 1-2, then 2-3 again after a recompute.
  const std::vector<TokenLogprobs> first{entry(prompt[1], -1.0f), entry(prompt[2], -2.0f)};
  const std::vector<TokenLogprobs> again{entry(prompt[2], -7.0f), entry(prompt[3], -3.0f)};
  proc.add_prompt_logprobs(1, first);
  proc.add_prompt_logprobs(2, again);
  const std::vector<int32_t> generated{prompt[1]};
  const std::vector<std::optional<TokenLogprobs>> lps{entry(prompt[1], -4.0f)};
  const auto update = proc.push(generated, lps, FinishReason::Length);
  CHECK(update.delta.text == "Once upon a time upon");
  REQUIRE(update.delta.logprobs.size() == 5);
  CHECK_FALSE(update.delta.logprobs[0].has_logprob);
  CHECK(update.delta.logprobs[0].token == "Once");
  CHECK(update.delta.logprobs[1].logprob == -1.0f);
  CHECK(update.delta.logprobs[2].logprob == -2.0f);  // the first report of a position stands
  CHECK(update.delta.logprobs[3].logprob == -3.0f);
  CHECK(update.delta.logprobs[4].logprob == -4.0f);
  for (const auto& lp : std::span(update.delta.logprobs).subspan(1)) CHECK(lp.has_logprob);
}

TEST_CASE("output: options from a request", "[output]") {
  GenerationRequest req;
  req.endpoint = Endpoint::Completions;
  req.prompt_ids = smollm2().encode("Once upon", false);
  req.echo = true;
  req.logprobs = 0;
  req.stop.stop = {"\n"};
  req.stop.stop_token_ids = {7};
  const auto o = output_options_for(req, 3, smollm2());
  CHECK(o.index == 3);
  CHECK(o.echo == "Once upon");
  CHECK(o.logprobs);
  CHECK(o.stop == std::vector<std::string>{"\n"});
  CHECK(o.stop_token_ids == std::vector<int32_t>{7});
  CHECK(o.skip_special_tokens);
  req.skip_special_tokens = false;
  CHECK_FALSE(output_options_for(req, 0, smollm2()).skip_special_tokens);
  req.endpoint = Endpoint::ChatCompletions;
  CHECK(output_options_for(req, 0, smollm2()).echo.empty());
}
