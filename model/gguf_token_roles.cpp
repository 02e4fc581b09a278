#include "model/gguf_token_roles.hpp"

#include <algorithm>
#include <iterator>

namespace troupe {
namespace {

// llama.cpp's lists in src/llama-vocab.cpp (llama-cpp-python 0.3.36), as text facts.
constexpr std::string_view kEndOfGeneration[]{
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
    "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
    "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
    "[e~["};

// End of turn and fill-in-the-middle markers, which llama.cpp also makes control tokens.
constexpr std::string_view kOtherControl[]{
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>", "<PRE>",
    "\xE2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>",
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81hole\xEF\xBD\x9C>", "<SUF>",
    "\xE2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>", "<MID>",
    "\xE2\x96\x81<MID>", "<|code_middle|>", "<|middle|>",
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>",
    "<|file_sep|>",
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<end_of_utterance>"};

}  // namespace

bool gguf_end_of_generation_text(std::string_view text) {
  return std::find(std::begin(kEndOfGeneration), std::end(kEndOfGeneration), text) != std::end(kEndOfGeneration);
}

bool gguf_control_text(std::string_view text) {
  return gguf_end_of_generation_text(text) ||
         std::find(std::begin(kOtherControl), std::end(kOtherControl), text) != std::end(kOtherControl);
}

}  // namespace troupe
