#include "pipeline/openai/logit_fields.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "pipeline/openai/api_exception.hpp"
#include "pipeline/openai/request_limits.hpp"
#include "pipeline/sampling/logit_rules.hpp"

namespace troupe {

namespace {

// A logit_bias key as Python's int() reads it (vLLM converts keys with int(token)): optional
// surrounding whitespace, an optional sign, decimal digits with single underscores between them.
std::optional<int64_t> python_int(std::string_view key) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!key.empty() && is_space(key.front())) key.remove_prefix(1);
  while (!key.empty() && is_space(key.back())) key.remove_suffix(1);
  bool negative = false;
  if (!key.empty() && (key.front() == '+' || key.front() == '-')) {
    negative = key.front() == '-';
    key.remove_prefix(1);
  }
  if (key.empty() || key.front() == '_' || key.back() == '_') return std::nullopt;
  int64_t value = 0;
  bool overflow = false;
  char previous = 0;
  for (char c : key) {
    if (c == '_') {
      if (previous == '_') return std::nullopt;
    } else if (c >= '0' && c <= '9') {
      if (value > (std::numeric_limits<int64_t>::max() - (c - '0')) / 10) overflow = true;
      else value = value * 10 + (c - '0');
    } else {
      return std::nullopt;
    }
    previous = c;
  }
  // A number too large for any vocabulary is still a number: it is out of vocabulary, not a bad key.
  if (overflow) return negative ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  return negative ? -value : value;
}

// Python's repr() of a string, for vLLM's message naming keys that are not integers.
std::string python_repr(std::string_view s) {
  const char quote = s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos ? '"' : '\'';
  std::string out(1, quote);
  for (char c : s) {
    if (c == '\\' || c == quote) out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else out += c;
  }
  out += quote;
  return out;
}

bool outside(int64_t id, int64_t vocab) { return id < 0 || id > std::numeric_limits<int32_t>::max() || (vocab > 0 && id >= vocab); }

std::string format_bias(double value) {
  std::string text = std::to_string(value);
  text.erase(text.find_last_not_of('0') + 1);
  if (text.back() == '.') text.pop_back();
  return text;
}

void read_logit_bias(const FieldReader& fields, const ApiContext& context, LogitRules& rules) {
  const boost::json::object* bias = fields.object("logit_bias");
  if (bias == nullptr || bias->empty()) return;
  check_list_length("logit_bias", bias->size(), kMaxLogitBiasEntries, "entries");
  std::vector<std::string> bad_keys;
  std::vector<int64_t> out_of_vocab;
  std::map<int64_t, float> entries;  // by id: "1" and "01" name one token, the later wins (as a dict)
  for (const auto& entry : *bias) {
    const std::optional<int64_t> id = python_int(entry.key());
    if (!id) {
      bad_keys.push_back(python_repr(entry.key()));
      continue;
    }
    const boost::json::value& value = entry.value();
    if (!value.is_number()) {
      throw_invalid("'logit_bias' values must be numbers; token " + python_repr(entry.key()) + " has " +
                        std::string(json_kind_name(value)) + ".",
                    "logit_bias");
    }
    const double v = value.to_number<double>();
    if (!(v >= -100.0 && v <= 100.0)) {
      throw_invalid("'logit_bias' values must be between -100 and 100; token " + python_repr(entry.key()) + " has " +
                        format_bias(v) + ".",
                    "logit_bias");
    }
    if (outside(*id, context.vocab_size)) out_of_vocab.push_back(*id);
    entries[*id] = static_cast<float>(v);
  }
  if (!bad_keys.empty()) {
    std::string list = "[";
    for (std::size_t i = 0; i < bad_keys.size(); ++i) list += (i ? ", " : "") + bad_keys[i];
    throw_invalid("logit_bias contains key(s) that cannot be converted to integer token IDs: " + list + "]",
                  "logit_bias");
  }
  if (!out_of_vocab.empty()) throw_invalid(out_of_vocabulary_message("logit_bias", out_of_vocab, context.vocab_size), "logit_bias");
  for (const auto& [id, b] : entries) rules.logit_bias.emplace_back(static_cast<int32_t>(id), b);
}

void read_allowed_token_ids(const FieldReader& fields, const ApiContext& context, LogitRules& rules) {
  const boost::json::array* list = fields.array("allowed_token_ids");
  if (list == nullptr) return;
  check_list_length("allowed_token_ids", list->size(), kMaxAllowedTokenIds, "token ids");
  if (list->empty()) throw_invalid("allowed_token_ids is not None and empty!", "allowed_token_ids");
  const std::vector<int64_t> ids = *fields.integers("allowed_token_ids", std::numeric_limits<int64_t>::min(),
                                                    std::numeric_limits<int64_t>::max());
  for (int64_t id : ids) {
    if (outside(id, context.vocab_size)) {
      throw_invalid("allowed_token_ids contains out-of-vocab token id! (token id " + std::to_string(id) +
                        (context.vocab_size > 0 ? "; vocabulary size " + std::to_string(context.vocab_size) : "") + ")",
                    "allowed_token_ids");
    }
  }
  rules.allowed_token_ids.assign(ids.begin(), ids.end());
}

std::vector<std::string> read_bad_words(const FieldReader& fields) {
  const boost::json::array* list = fields.array("bad_words");
  if (list == nullptr) return {};
  check_list_length("bad_words", list->size(), kMaxBadWords, "words");
  std::vector<std::string> words;
  std::set<std::string_view> seen;
  for (const boost::json::value& item : *list) {
    if (!item.is_string()) {
      throw_invalid("'bad_words' must be an array of strings, got " + std::string(json_kind_name(item)) + " in it.",
                    "bad_words");
    }
    const std::string_view word = item.as_string();
    if (word.empty()) throw_invalid("bad_words cannot contain an empty string.", "bad_words");
    if (word.size() > kMaxBadWordBytes) {
      throw_invalid("'bad_words' entries may be at most " + std::to_string(kMaxBadWordBytes) + " bytes long, got " +
                        std::to_string(word.size()) + ".",
                    "bad_words");
    }
    // vLLM drops repeats, keeping the first of each (dict.fromkeys).
    if (seen.insert(word).second) words.emplace_back(word);
  }
  return words;
}

}  // namespace

std::string out_of_vocabulary_message(std::string_view field, const std::vector<int64_t>& ids, int64_t vocab) {
  std::string list = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) list += (i ? ", " : "") + std::to_string(ids[i]);
  list += "]";
  return "token_id(s) " + list + " in " + std::string(field) + " contain out-of-vocab token ids. Vocabulary size: " +
         (vocab > 0 ? std::to_string(vocab) : std::string("unknown"));
}

void read_logit_fields(const FieldReader& fields, const ApiContext& context, GenerationRequest& request) {
  LogitRules rules;
  read_logit_bias(fields, context, rules);
  read_allowed_token_ids(fields, context, rules);
  request.bad_words = read_bad_words(fields);
  if (!rules.empty()) request.sampling.logit_rules = std::make_shared<const LogitRules>(std::move(rules));
}

}  // namespace troupe
