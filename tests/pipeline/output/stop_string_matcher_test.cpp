// Stop strings on hand-cut chunks of text: the held-back text, overlapping stop strings, and the
// outcome's independence from where the chunks were cut.
#include <catch2/catch.hpp>

#include "pipeline/output/stop_string_matcher.hpp"

using namespace troupe;

namespace {

struct Outcome {
  std::string text;
  std::optional<std::string> stop;
};

bool operator==(const Outcome& a, const Outcome& b) { return a.text == b.text && a.stop == b.stop; }

// Feeds `chunks` then flushes (unless stopped), returning the concatenated output.
Outcome feed(const std::vector<std::string>& stop, bool include, const std::vector<std::string>& chunks) {
  StopStringMatcher m(stop, include);
  Outcome out;
  for (const auto& c : chunks) {
    auto r = m.push(c);
    out.text += r.text;
    if (r.stop) {
      out.stop = r.stop;
      return out;
    }
  }
  out.text += m.flush();
  return out;
}

std::vector<std::string> bytes_of(const std::string& text) {
  std::vector<std::string> out;
  for (char c : text) out.emplace_back(1, c);
  return out;
}

}  // namespace

TEST_CASE("stop strings: text that may begin a stop string is held back until it cannot", "[output]") {
  StopStringMatcher m({"Hello world"}, false);
  CHECK(m.push("Say Hel").text == "Say ");
  CHECK(m.push("lo w").text.empty());
  CHECK(m.push("ide").text == "Hello wide");  // could no longer become the stop string
  CHECK(m.push("Hell").text.empty());
  CHECK(m.flush() == "Hell");                  // the end: held text goes out
  CHECK_FALSE(m.stopped());
}

TEST_CASE("stop strings: a stop string split over chunks is cut out with everything after it", "[output]") {
  const auto out = feed({"STOP"}, false, {"abc S", "T", "OP and more", "ignored"});
  CHECK(out.text == "abc ");
  CHECK(out.stop == "STOP");
  const auto kept = feed({"STOP"}, true, {"abc S", "T", "OP and more"});
  CHECK(kept.text == "abc STOP");
  CHECK(kept.stop == "STOP");
}

TEST_CASE("stop strings: the stop string that completes first wins, whatever the list order", "[output]") {
  for (bool include : {false, true}) {
    INFO("include " << include);
    // "ab" completes before "abc" can.
    auto out = feed({"abc", "ab"}, include, {"xxa", "bcyy"});
    CHECK(out.stop == "ab");
    CHECK(out.text == (include ? "xxab" : "xx"));
    // "bc" and "abc" complete together: the longer, earlier-starting one wins.
    out = feed({"bc", "abc"}, include, {"xab", "c"});
    CHECK(out.stop == "abc");
    CHECK(out.text == (include ? "xabc" : "x"));
    // A later stop string in the list that completes earlier in the text.
    out = feed({"world", "lo"}, include, {"hello world"});
    CHECK(out.stop == "lo");
    CHECK(out.text == (include ? "hello" : "hel"));
  }
}

TEST_CASE("stop strings: the result does not depend on how the text is chunked", "[output]") {
  const std::string text = "one two thrthree four fofive";
  const std::vector<std::vector<std::string>> stop_sets{{"three"}, {"four", "thr"}, {"fofi", "ve"}, {"zzz"}, {"o t", "e f"}};
  for (const auto& stop : stop_sets) {
    for (bool include : {false, true}) {
      INFO("first stop " << stop[0] << ", include " << include);
      const auto whole = feed(stop, include, {text});
      CHECK(feed(stop, include, bytes_of(text)) == whole);
      CHECK(feed(stop, include, {"one t", "wo thrt", "hree four f", "ofive"}) == whole);
      if (whole.stop) CHECK(whole.text.find(*whole.stop) == (include ? whole.text.size() - whole.stop->size() : std::string::npos));
    }
  }
}

TEST_CASE("stop strings: unchecked text (before min_tokens) is emitted and never matched", "[output]") {
  StopStringMatcher m({"ab"}, false);
  CHECK(m.push("xab", false).text == "xab");
  const auto r = m.push("c");
  CHECK(r.text == "c");
  CHECK_FALSE(r.stop);
  // An occurrence that straddles the unchecked text and checked text counts from where it ends.
  CHECK(m.push("a", false).text == "a");
  const auto straddling = m.push("b");
  CHECK(straddling.stop == "ab");
  CHECK(straddling.text.empty());
}

TEST_CASE("stop strings: none given, or only empty ones, passes text straight through", "[output]") {
  StopStringMatcher m({""}, false);
  CHECK(m.push("abc").text == "abc");
  CHECK(m.flush().empty());
  StopStringMatcher stopped({"a"}, false);
  CHECK(stopped.push("xa").stop == "a");
  CHECK(stopped.push("more").text.empty());
  CHECK(stopped.flush().empty());
}
