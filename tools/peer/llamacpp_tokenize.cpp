// Reference tokenization by llama.cpp itself, for tools/make_sentencepiece_fixtures.py: loads the
// vocabulary of a GGUF file once (vocab_only) and, for every line {"text": ...} of a JSONL corpus
// on stdin, writes one JSON line with what llama.cpp's own API produces:
//   ids                   llama_tokenize(text, add_special=false, parse_special=true)
//   ids_literal_special   llama_tokenize(text, add_special=false, parse_special=false)
//   decoded               llama_detokenize(ids, remove_special=false, unparse_special=true)
//   decoded_skip_special  llama_detokenize(ids, remove_special=false, unparse_special=false)
//   decoded_continuation  the pieces llama-server streams: llama_token_to_piece(id, lstrip=0,
//                         special=false) concatenated
// plus, once, {"prefix": [...]} for add_special=true on empty text. Strings are JSON-escaped
// bytes; invalid UTF-8 is passed through as \u00XX-free raw bytes replaced by U+FFFD by the
// consumer (Python reads with errors="replace").
//
// Built against the tree tools/peer/build_llamacpp.sh builds (see make_sentencepiece_fixtures.py):
//   g++ -std=c++17 -O2 -I$SRC/include -I$SRC/ggml/include llamacpp_tokenize.cpp \
//       $BUILD/src/libllama.a $BUILD/ggml/src/libggml.a $BUILD/ggml/src/libggml-cpu.a \
//       $BUILD/ggml/src/libggml-base.a -fopenmp -lpthread -o llamacpp-tokenize
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "llama.h"

namespace {

// The value of "text" in a line {"text": "..."} as the corpus writes it (json.dumps with
// ensure_ascii=False): the escapes \" \\ \/ \b \f \n \r \t \uXXXX (surrogate pairs joined).
std::string read_text(const std::string& line) {
  const std::size_t key = line.find("\"text\"");
  std::size_t i = line.find('"', line.find(':', key) + 1) + 1;
  std::string out;
  const auto put = [&](unsigned cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  };
  while (i < line.size() && line[i] != '"') {
    if (line[i] != '\\') {
      out.push_back(line[i++]);
      continue;
    }
    const char e = line[i + 1];
    i += 2;
    switch (e) {
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'u': {
        unsigned cp = std::stoul(line.substr(i, 4), nullptr, 16);
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && line.compare(i, 2, "\\u") == 0) {
          const unsigned low = std::stoul(line.substr(i + 2, 4), nullptr, 16);
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        }
        put(cp);
        break;
      }
      default: out.push_back(e); break;  // \" \\ \/
    }
  }
  return out;
}

std::string escape(const std::string& s) {
  std::string out = "\"";
  for (const unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

std::vector<llama_token> tokenize(const llama_vocab* vocab, const std::string& text, bool add_special, bool parse_special) {
  std::vector<llama_token> ids(text.size() + 8);
  int n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), ids.data(), static_cast<int32_t>(ids.size()),
                         add_special, parse_special);
  if (n < 0) {
    ids.resize(static_cast<std::size_t>(-n));
    n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), ids.data(), static_cast<int32_t>(ids.size()),
                       add_special, parse_special);
  }
  ids.resize(static_cast<std::size_t>(n));
  return ids;
}

std::string detokenize(const llama_vocab* vocab, const std::vector<llama_token>& ids, bool unparse_special) {
  std::string text(ids.size() * 64 + 16, '\0');
  int n = llama_detokenize(vocab, ids.data(), static_cast<int32_t>(ids.size()), text.data(), static_cast<int32_t>(text.size()),
                           /*remove_special=*/false, unparse_special);
  if (n < 0) {
    text.resize(static_cast<std::size_t>(-n));
    n = llama_detokenize(vocab, ids.data(), static_cast<int32_t>(ids.size()), text.data(), static_cast<int32_t>(text.size()),
                         false, unparse_special);
  }
  text.resize(static_cast<std::size_t>(n));
  return text;
}

std::string pieces(const llama_vocab* vocab, const std::vector<llama_token>& ids) {
  std::string out;
  char buf[512];
  for (const llama_token id : ids) {
    const int n = llama_token_to_piece(vocab, id, buf, sizeof buf, /*lstrip=*/0, /*special=*/false);
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string ids_json(const std::vector<llama_token>& ids) {
  std::string out = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
  return out + "]";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: llamacpp-tokenize MODEL.gguf < corpus.jsonl > expected.jsonl\n");
    return 2;
  }
  llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
  llama_backend_init();
  llama_model_params params = llama_model_default_params();
  params.vocab_only = true;
  llama_model* model = llama_model_load_from_file(argv[1], params);
  if (model == nullptr) {
    std::fprintf(stderr, "llamacpp-tokenize: cannot load %s\n", argv[1]);
    return 1;
  }
  const llama_vocab* vocab = llama_model_get_vocab(model);
  std::printf("{\"prefix\":%s}\n", ids_json(tokenize(vocab, "", true, true)).c_str());
  std::string line;
  while (std::getline(std::cin, line)) {
    const std::string text = read_text(line);
    const auto ids = tokenize(vocab, text, false, true);
    const auto literal = tokenize(vocab, text, false, false);
    std::printf("{\"ids\":%s,\"ids_literal_special\":%s,\"decoded\":%s,\"decoded_skip_special\":%s,"
                "\"decoded_continuation\":%s}\n",
                ids_json(ids).c_str(), ids_json(literal).c_str(), escape(detokenize(vocab, ids, true)).c_str(),
                escape(detokenize(vocab, ids, false)).c_str(), escape(pieces(vocab, ids)).c_str());
  }
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
