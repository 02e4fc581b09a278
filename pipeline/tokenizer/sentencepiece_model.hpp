#pragma once
// A SentencePiece model file (tokenizer.model, as IQuest-Coder and Llama 2 ship it) read and run by
// the SentencePiece library, wrapped with the rules Hugging Face's SentencePiece tokenizers
// (LlamaTokenizer and the classes written after it) put around it:
//  - legacy = true: every text segment between added tokens is encoded on its own, each getting
//    the model's own dummy-prefix "▁" (when the model adds one), after a space of its own when
//    segment_space (IQuestCoderTokenizer's add_prefix_space);
//  - legacy = false: the model's dummy prefix is switched off, one "▁" goes before the whole input
//    (add_prefix_space) and none after an added token; a segment that starts with a space is
//    encoded behind the unknown token, which is then dropped (so the library does not eat the
//    space), as transformers does.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace troupe {

class SentencePieceModel {
 public:
  struct Options {
    bool legacy = true;
    bool add_prefix_space = true;  // legacy = false only
    bool segment_space = false;    // legacy = true only
  };

  enum class PieceType { Normal, Unknown, Control, Byte, Unused };
  struct Piece {
    std::string text;  // as the model spells it ("▁the", "<0x0A>", "<s>")
    PieceType type;
  };

  // Throws ModelError naming the file when the library cannot load it.
  SentencePieceModel(const std::filesystem::path& file, Options options);
  ~SentencePieceModel();
  SentencePieceModel(const SentencePieceModel&) = delete;
  SentencePieceModel& operator=(const SentencePieceModel&) = delete;

  const std::vector<Piece>& pieces() const { return pieces_; }
  int32_t unknown_id() const { return unknown_id_; }
  // Whether the encoding of a text starts with a "▁" of its own: what decoding a whole sequence
  // must drop again.
  bool prefixes_space() const { return prefixes_space_; }

  // Appends the ids of one text segment (no added tokens inside). `input_start`: the segment
  // begins the whole input.
  void encode(std::string_view text, bool input_start, std::vector<int32_t>& out) const;

 private:
  void encode_raw(std::string_view text, std::vector<int32_t>& out) const;

  std::string origin_;
  Options options_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  std::vector<Piece> pieces_;
  int32_t unknown_id_ = -1;
  std::size_t unknown_length_ = 0;  // pieces the unknown token's text encodes to (legacy = false)
  bool prefixes_space_ = false;
};

}  // namespace troupe
