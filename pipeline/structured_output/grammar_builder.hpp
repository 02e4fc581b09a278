#pragma once
// Builds a Grammar from regular expressions over bytes with rule calls: each rule's body is an
// expression tree (sequence, alternation, bounded or unbounded repetition, byte sets, calls),
// turned into an NFA (Thompson) and then a DFA per rule (subset construction, calls treated as
// symbols). The builder then trims dead nodes and unproductive rules, rejects left recursion, and
// computes the FIRST/FOLLOW byte sets the token-mask analysis prunes with.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/structured_output/grammar.hpp"

namespace troupe::structured_output {

// A deterministic automaton over bytes given state by state, for a language easier to build
// directly than as an expression (numbers within decimal bounds, multiples: number_automaton.hpp).
// State 0 is the start; a word is in the language when it ends in an accepting state.
struct ByteAutomaton {
  struct Edge {
    uint8_t lo = 0, hi = 0;  // the bytes lo..hi lead to `target`
    int32_t target = 0;
  };
  struct State {
    std::vector<Edge> edges;
    bool accepting = false;
  };
  std::vector<State> states;
};

struct GrammarLimits {
  int64_t max_nfa_states = 2'000'000;  // over all rules, after repetitions are unrolled
  int64_t max_dfa_nodes = 200'000;     // over all rules
  // Elementary steps of determinization (NFA states visited by closures, member ranges scanned per
  // byte interval): bounds the compile time of a pattern whose automaton blows up (".*" followed by
  // many "."), which the node count alone does not, since each node can cost a pass over the NFA.
  // The JSON schemas of the tests take at most 50 thousand; 20 million is about 0.3 s here.
  int64_t max_work = 20'000'000;
};

class GrammarBuilder {
 public:
  using Expr = int32_t;
  using Rule = int32_t;
  static constexpr int32_t kUnbounded = -1;

  Expr empty();                      // the empty string
  Expr nothing();                    // no string at all
  Expr bytes(const ByteSet& set);    // one byte of the set
  Expr byte_range(uint8_t lo, uint8_t hi);
  Expr literal(std::string_view text);  // these bytes in order
  Expr seq(std::vector<Expr> parts);
  Expr alt(std::vector<Expr> options);
  Expr repeat(Expr e, int32_t min, int32_t max);  // max = kUnbounded for no limit
  Expr optional(Expr e) { return repeat(e, 0, 1); }
  Expr star(Expr e) { return repeat(e, 0, kUnbounded); }
  Expr plus(Expr e) { return repeat(e, 1, kUnbounded); }
  Expr call(Rule rule);
  Expr automaton(ByteAutomaton a);  // the automaton's language; its edges must stay inside it

  // Declares a rule (so that it can be called before its body is known) and defines it.
  Rule add_rule(std::string name);
  void define(Rule rule, Expr body);
  Rule rule(std::string name, Expr body) {
    const Rule r = add_rule(std::move(name));
    define(r, body);
    return r;
  }
  std::size_t rule_count() const { return rules_.size(); }

  // Throws GrammarError for a grammar that matches nothing, is left-recursive, calls an undefined
  // rule, or exceeds `limits`.
  Grammar build(Rule root, const GrammarLimits& limits = {}) const;

 private:
  enum class Kind : uint8_t { Empty, Nothing, Bytes, Seq, Alt, Repeat, Call, Automaton };
  struct Node {
    Kind kind = Kind::Empty;
    ByteSet set;
    std::vector<Expr> children;
    int32_t min = 0;
    int32_t max = 0;
    Rule rule = -1;
    int32_t automaton = -1;  // index into automata_
  };
  struct RuleDef {
    std::string name;
    Expr body = -1;
  };
  static Node node_of(Kind kind);
  Expr add(Node node);

  std::vector<Node> exprs_;
  std::vector<ByteAutomaton> automata_;
  std::vector<RuleDef> rules_;
  friend class RuleAutomatonBuilder;
};

}  // namespace troupe::structured_output
