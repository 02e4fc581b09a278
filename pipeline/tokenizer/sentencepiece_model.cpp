#include "pipeline/tokenizer/sentencepiece_model.hpp"

#include <sentencepiece_processor.h>

#include "common/error.hpp"

namespace troupe {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // ▁

// The serialized ModelProto with normalizer_spec.add_dummy_prefix set to false. Protocol buffers
// merge a singular message field that appears twice, so appending normalizer_spec (field 3) with
// only add_dummy_prefix (its field 3, varint 0) overrides that one setting: what transformers does
// to the model for legacy = false, without reading the message.
std::string without_dummy_prefix(std::string serialized) {
  serialized += std::string{'\x1A', '\x02', '\x18', '\x00'};
  return serialized;
}

}  // namespace

SentencePieceModel::SentencePieceModel(const std::filesystem::path& file, Options options)
    : origin_(file.string()), options_(options), processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  if (const auto status = processor_->Load(file.string()); !status.ok()) {
    throw ModelError(origin_ + ": not a SentencePiece model (" + status.ToString() + ")");
  }
  if (!options_.legacy) {
    const std::string patched = without_dummy_prefix(processor_->serialized_model_proto());
    if (const auto status = processor_->LoadFromSerializedProto(patched); !status.ok()) {
      throw ModelError(origin_ + ": cannot switch off the dummy prefix (" + status.ToString() + ")");
    }
  }
  const int size = processor_->GetPieceSize();
  pieces_.reserve(static_cast<std::size_t>(size));
  for (int id = 0; id < size; ++id) {
    PieceType type = PieceType::Normal;
    if (processor_->IsUnknown(id)) {
      type = PieceType::Unknown;
    } else if (processor_->IsControl(id)) {
      type = PieceType::Control;
    } else if (processor_->IsByte(id)) {
      type = PieceType::Byte;
    } else if (processor_->IsUnused(id)) {
      type = PieceType::Unused;
    }
    pieces_.push_back(Piece{processor_->IdToPiece(id), type});
  }
  unknown_id_ = processor_->unk_id();
  if (unknown_id_ >= 0) {
    std::vector<int> ids;
    processor_->Encode(processor_->IdToPiece(unknown_id_), &ids);
    unknown_length_ = ids.size();
  }
  if (options_.legacy) {
    std::vector<int> ids;
    processor_->Encode(options_.segment_space ? " a" : "a", &ids);
    prefixes_space_ = !ids.empty() && pieces_[static_cast<std::size_t>(ids.front())].text.starts_with(kSpaceMarker);
  } else {
    prefixes_space_ = options_.add_prefix_space;
  }
}

SentencePieceModel::~SentencePieceModel() = default;

void SentencePieceModel::encode_raw(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<int> ids;
  if (const auto status = processor_->Encode(text, &ids); !status.ok()) {
    throw ModelError(origin_ + ": SentencePiece encoding failed (" + status.ToString() + ")");
  }
  out.insert(out.end(), ids.begin(), ids.end());
}

void SentencePieceModel::encode(std::string_view text, bool input_start, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  if (options_.legacy) {
    if (options_.segment_space) {
      encode_raw(" " + std::string(text), out);
    } else {
      encode_raw(text, out);
    }
    return;
  }
  // transformers turns "▁" in the input into spaces before anything else, and puts one "▁" before
  // the whole input.
  std::string segment;
  segment.reserve(text.size() + kSpaceMarker.size());
  if (input_start && options_.add_prefix_space) segment += kSpaceMarker;
  for (std::size_t pos = 0; pos < text.size();) {
    if (text.substr(pos).starts_with(kSpaceMarker)) {
      segment.push_back(' ');
      pos += kSpaceMarker.size();
    } else {
      segment.push_back(text[pos++]);
    }
  }
  const bool leading_space = segment.starts_with(kSpaceMarker) || segment.starts_with(' ');
  if (!leading_space || unknown_id_ < 0) {
    encode_raw(segment, out);
    return;
  }
  // The library would treat the leading space as removable whitespace: encode it behind the
  // unknown token's text and drop that token's pieces.
  std::vector<int32_t> ids;
  encode_raw(pieces_[static_cast<std::size_t>(unknown_id_)].text + segment, ids);
  const std::size_t drop = std::min(unknown_length_, ids.size());
  out.insert(out.end(), ids.begin() + static_cast<std::ptrdiff_t>(drop), ids.end());
}

}  // namespace troupe
