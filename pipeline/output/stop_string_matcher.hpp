#pragma once
// Stop strings on streamed text. Text arrives in chunks (one per token, whole UTF-8 characters);
// a stop string may span any number of chunks and must never reach the client (unless
// include_stop_str_in_output). So the matcher holds back the longest end of the text that could
// still grow into a stop string, and releases it once it cannot.
//
// When several stop strings occur, the one that completes first in the text wins (on a tie, the
// longer one, which starts earlier); the outcome therefore does not depend on how the text was cut
// into chunks.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe {

class StopStringMatcher {
 public:
  struct Result {
    std::string text;                 // text that may be emitted now
    std::optional<std::string> stop;  // the stop string that ended the stream, if one did
  };

  // Empty stop strings are ignored.
  StopStringMatcher(std::vector<std::string> stop, bool include_stop_str_in_output);

  // Adds a chunk. With `check` false (before min_tokens) stop strings are not looked for and
  // nothing is held back; an occurrence must then end in later text to count. After a stop, the
  // matcher ignores further input.
  Result push(std::string_view chunk, bool check = true);

  // End of the stream: releases the held text, which cannot hold a whole stop string.
  std::string flush();

  bool stopped() const { return stopped_; }

 private:
  // Length of the longest end of pending_ that is a proper prefix of some stop string.
  std::size_t held_length() const;
  void remember_emitted(std::string_view text);

  std::vector<std::string> stop_;
  bool include_;
  std::size_t longest_ = 0;  // longest stop string, bytes
  std::string pending_;      // received, not yet emitted
  std::string tail_;         // the last longest_ - 1 emitted bytes, where an occurrence may start
  bool stopped_ = false;
};

}  // namespace troupe
