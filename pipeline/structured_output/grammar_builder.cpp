#include "pipeline/structured_output/grammar_builder.hpp"

#include <algorithm>
#include <map>
#include <sstream>

namespace troupe::structured_output {

namespace {

// Thompson NFA of one rule: state 0 is the start.
struct Nfa {
  struct Range {
    uint8_t lo, hi;
    int32_t target;
  };
  struct State {
    std::vector<int32_t> eps;
    std::vector<Range> ranges;
    std::vector<std::pair<int32_t, int32_t>> calls;  // (rule, target)
  };
  std::vector<State> states;
  int32_t accept = 0;
};

// Ranges of consecutive bytes in a set, ascending.
std::vector<std::pair<uint8_t, uint8_t>> ranges_of(const ByteSet& set) {
  std::vector<std::pair<uint8_t, uint8_t>> out;
  for (int b = 0; b < 256;) {
    if (!set[static_cast<std::size_t>(b)]) {
      ++b;
      continue;
    }
    int e = b;
    while (e + 1 < 256 && set[static_cast<std::size_t>(e + 1)]) ++e;
    out.emplace_back(static_cast<uint8_t>(b), static_cast<uint8_t>(e));
    b = e + 1;
  }
  return out;
}

}  // namespace

// Turns the builder's expressions into per-rule DFAs and assembles the Grammar.
class RuleAutomatonBuilder {
 public:
  RuleAutomatonBuilder(const GrammarBuilder& b, const GrammarLimits& limits) : b_(b), limits_(limits) {}

  Grammar build(GrammarBuilder::Rule root) {
    std::vector<int32_t> order = reachable_rules(root);  // builder rule ids, root first
    std::vector<int32_t> index(b_.rules_.size(), -1);
    for (std::size_t i = 0; i < order.size(); ++i) index[static_cast<std::size_t>(order[i])] = static_cast<int32_t>(i);

    Grammar g;
    g.root = 0;
    g.rules.resize(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      const auto& def = b_.rules_[static_cast<std::size_t>(order[i])];
      g.rules[i].name = def.name;
      Nfa nfa = make_nfa(def.body);
      g.rules[i].start = static_cast<int32_t>(g.nodes.size());
      determinize(nfa, static_cast<int32_t>(i), index, g);
    }
    trim(g);
    compute_sets(g);
    return g;
  }

 private:
  using Expr = GrammarBuilder::Expr;
  using Kind = GrammarBuilder::Kind;

  std::vector<int32_t> reachable_rules(int32_t root) {
    std::vector<int32_t> order{root};
    std::vector<bool> seen(b_.rules_.size(), false);
    seen[static_cast<std::size_t>(root)] = true;
    for (std::size_t i = 0; i < order.size(); ++i) {
      const auto& def = b_.rules_[static_cast<std::size_t>(order[i])];
      if (def.body < 0) throw GrammarError("grammar rule '" + def.name + "' is used but never defined");
      std::vector<Expr> work{def.body};
      while (!work.empty()) {
        const Expr e = work.back();
        work.pop_back();
        const auto& n = b_.exprs_[static_cast<std::size_t>(e)];
        if (n.kind == Kind::Call && !seen[static_cast<std::size_t>(n.rule)]) {
          seen[static_cast<std::size_t>(n.rule)] = true;
          order.push_back(n.rule);
        }
        for (Expr c : n.children) work.push_back(c);
      }
    }
    return order;
  }

  int32_t new_state(Nfa& nfa) {
    if (++nfa_states_ > limits_.max_nfa_states) {
      throw GrammarError("the grammar is too large (over " + std::to_string(limits_.max_nfa_states) +
                         " automaton states once repetitions are expanded); use smaller repetition counts");
    }
    nfa.states.emplace_back();
    return static_cast<int32_t>(nfa.states.size() - 1);
  }

  // Adds the expression's automaton starting at `from`; returns its end state.
  int32_t emit(Nfa& nfa, Expr e, int32_t from) {
    const auto& n = b_.exprs_[static_cast<std::size_t>(e)];
    switch (n.kind) {
      case Kind::Empty:
        return from;
      case Kind::Nothing:
        return new_state(nfa);
      case Kind::Bytes: {
        const int32_t end = new_state(nfa);
        for (auto [lo, hi] : ranges_of(n.set)) nfa.states[static_cast<std::size_t>(from)].ranges.push_back({lo, hi, end});
        return end;
      }
      case Kind::Call: {
        const int32_t end = new_state(nfa);
        nfa.states[static_cast<std::size_t>(from)].calls.emplace_back(n.rule, end);
        return end;
      }
      case Kind::Automaton: {
        // Its states become NFA states one for one; accepting ones step (epsilon) to the end.
        const ByteAutomaton& a = b_.automata_[static_cast<std::size_t>(n.automaton)];
        const int32_t end = new_state(nfa);
        if (a.states.empty()) return end;
        std::vector<int32_t> ids(a.states.size());
        for (int32_t& id : ids) id = new_state(nfa);
        nfa.states[static_cast<std::size_t>(from)].eps.push_back(ids[0]);
        for (std::size_t i = 0; i < a.states.size(); ++i) {
          auto& state = nfa.states[static_cast<std::size_t>(ids[i])];
          for (const ByteAutomaton::Edge& e : a.states[i].edges) {
            state.ranges.push_back({e.lo, e.hi, ids.at(static_cast<std::size_t>(e.target))});
          }
          if (a.states[i].accepting) state.eps.push_back(end);
        }
        return end;
      }
      case Kind::Seq: {
        int32_t cur = from;
        for (Expr c : n.children) cur = emit(nfa, c, cur);
        return cur;
      }
      case Kind::Alt: {
        if (n.children.size() == 1) return emit(nfa, n.children[0], from);
        const int32_t end = new_state(nfa);
        for (Expr c : n.children) {
          const int32_t s = new_state(nfa);
          nfa.states[static_cast<std::size_t>(from)].eps.push_back(s);
          const int32_t e2 = emit(nfa, c, s);
          nfa.states[static_cast<std::size_t>(e2)].eps.push_back(end);
        }
        return end;
      }
      case Kind::Repeat: {
        const Expr child = n.children[0];
        int32_t cur = from;
        for (int32_t i = 0; i < n.min; ++i) cur = emit(nfa, child, cur);
        if (n.max == GrammarBuilder::kUnbounded) {
          const int32_t head = new_state(nfa);
          nfa.states[static_cast<std::size_t>(cur)].eps.push_back(head);
          const int32_t body_end = emit(nfa, child, head);
          nfa.states[static_cast<std::size_t>(body_end)].eps.push_back(head);
          return head;
        }
        if (n.max == n.min) return cur;
        const int32_t end = new_state(nfa);
        for (int32_t i = n.min; i < n.max; ++i) {
          nfa.states[static_cast<std::size_t>(cur)].eps.push_back(end);
          cur = emit(nfa, child, cur);
        }
        nfa.states[static_cast<std::size_t>(cur)].eps.push_back(end);
        return end;
      }
    }
    return from;
  }

  Nfa make_nfa(Expr body) {
    Nfa nfa;
    new_state(nfa);
    nfa.accept = emit(nfa, body, 0);
    return nfa;
  }

  // Counts `steps` of determinization against limits_.max_work.
  void spend(int64_t steps) {
    work_ += steps;
    if (work_ > limits_.max_work) {
      throw GrammarError("the grammar is too complex to compile (over " + std::to_string(limits_.max_work) +
                         " automaton steps); simplify the pattern or schema");
    }
  }

  std::vector<int32_t> closure(const Nfa& nfa, std::vector<int32_t> set) {
    std::vector<int32_t> work = set;
    std::vector<int32_t> out;
    std::vector<char> seen(nfa.states.size(), 0);
    for (int32_t s : set) seen[static_cast<std::size_t>(s)] = 1;
    out = set;
    while (!work.empty()) {
      const int32_t s = work.back();
      work.pop_back();
      for (int32_t t : nfa.states[static_cast<std::size_t>(s)].eps) {
        if (seen[static_cast<std::size_t>(t)]) continue;
        seen[static_cast<std::size_t>(t)] = 1;
        out.push_back(t);
        work.push_back(t);
      }
    }
    spend(static_cast<int64_t>(out.size()));
    // Keep only states that matter for the DFA: those with edges, and the accepting one.
    std::vector<int32_t> kept;
    for (int32_t s : out) {
      const auto& st = nfa.states[static_cast<std::size_t>(s)];
      if (s == nfa.accept || !st.ranges.empty() || !st.calls.empty()) kept.push_back(s);
    }
    std::sort(kept.begin(), kept.end());
    return kept;
  }

  void determinize(const Nfa& nfa, int32_t rule, const std::vector<int32_t>& rule_index, Grammar& g) {
    std::map<std::vector<int32_t>, int32_t> ids;
    std::vector<std::vector<int32_t>> sets;
    auto id_of = [&](std::vector<int32_t> set) {
      auto [it, inserted] = ids.try_emplace(std::move(set), static_cast<int32_t>(g.nodes.size()));
      if (inserted) {
        if (static_cast<int64_t>(g.nodes.size()) >= limits_.max_dfa_nodes) {
          throw GrammarError("the grammar is too large (over " + std::to_string(limits_.max_dfa_nodes) +
                             " automaton nodes); simplify the pattern or schema");
        }
        g.nodes.emplace_back();
        g.nodes.back().rule = rule;
        sets.push_back(it->first);
      }
      return it->second;
    };
    const int32_t base = static_cast<int32_t>(g.nodes.size());
    id_of(closure(nfa, {0}));
    for (std::size_t k = 0; k < sets.size(); ++k) {
      const std::vector<int32_t> set = sets[k];  // copy: `sets` grows below
      const auto node_id = static_cast<std::size_t>(base) + k;
      g.nodes[node_id].final = std::binary_search(set.begin(), set.end(), nfa.accept);
      // Byte transitions over the elementary intervals of all member ranges.
      std::vector<int> points;
      int64_t member_ranges = 0;
      for (int32_t s : set) {
        member_ranges += static_cast<int64_t>(nfa.states[static_cast<std::size_t>(s)].ranges.size());
        for (const auto& r : nfa.states[static_cast<std::size_t>(s)].ranges) {
          points.push_back(r.lo);
          points.push_back(r.hi + 1);
        }
      }
      std::sort(points.begin(), points.end());
      points.erase(std::unique(points.begin(), points.end()), points.end());
      // Each interval below scans every member range: points × ranges steps.
      spend(static_cast<int64_t>(points.size()) * member_ranges);
      std::vector<ByteEdge> edges;
      for (std::size_t p = 0; p + 1 < points.size(); ++p) {
        const int lo = points[p], hi = points[p + 1] - 1;
        std::vector<int32_t> targets;
        for (int32_t s : set) {
          for (const auto& r : nfa.states[static_cast<std::size_t>(s)].ranges) {
            if (r.lo <= lo && hi <= r.hi) targets.push_back(r.target);
          }
        }
        if (targets.empty()) continue;
        std::sort(targets.begin(), targets.end());
        targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
        const int32_t t = id_of(closure(nfa, std::move(targets)));
        if (!edges.empty() && edges.back().target == t && edges.back().hi + 1 == lo) {
          edges.back().hi = static_cast<uint8_t>(hi);
        } else {
          edges.push_back({static_cast<uint8_t>(lo), static_cast<uint8_t>(hi), t});
        }
      }
      std::map<int32_t, std::vector<int32_t>> call_targets;
      for (int32_t s : set) {
        for (auto [callee, target] : nfa.states[static_cast<std::size_t>(s)].calls) {
          call_targets[rule_index[static_cast<std::size_t>(callee)]].push_back(target);
        }
      }
      std::vector<CallEdge> calls;
      for (auto& [callee, targets] : call_targets) {
        std::sort(targets.begin(), targets.end());
        targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
        calls.push_back({callee, id_of(closure(nfa, std::move(targets)))});
      }
      g.nodes[node_id].bytes = std::move(edges);
      g.nodes[node_id].calls = std::move(calls);
    }
  }

  // Removes edges into nodes that cannot complete their rule, and calls of rules that match
  // nothing; fails when the root matches nothing.
  static void trim(Grammar& g) {
    std::vector<char> live(g.nodes.size(), 0);
    std::vector<char> productive(g.rules.size(), 0);
    for (bool changed = true; changed;) {
      changed = false;
      for (std::size_t n = 0; n < g.nodes.size(); ++n) {
        if (live[n]) continue;
        const GrammarNode& node = g.nodes[n];
        bool ok = node.final;
        for (const ByteEdge& e : node.bytes) ok = ok || live[static_cast<std::size_t>(e.target)];
        for (const CallEdge& c : node.calls) {
          ok = ok || (productive[static_cast<std::size_t>(c.rule)] && live[static_cast<std::size_t>(c.target)]);
        }
        if (ok) {
          live[n] = 1;
          changed = true;
        }
      }
      for (std::size_t r = 0; r < g.rules.size(); ++r) {
        if (!productive[r] && live[static_cast<std::size_t>(g.rules[r].start)]) {
          productive[r] = 1;
          changed = true;
        }
      }
    }
    if (!productive[static_cast<std::size_t>(g.root)]) {
      throw GrammarError("no output can satisfy this constraint (the grammar matches no string)");
    }
    for (GrammarNode& node : g.nodes) {
      std::erase_if(node.bytes, [&](const ByteEdge& e) { return !live[static_cast<std::size_t>(e.target)]; });
      std::erase_if(node.calls, [&](const CallEdge& c) {
        return !productive[static_cast<std::size_t>(c.rule)] || !live[static_cast<std::size_t>(c.target)];
      });
    }
  }

  // Nullable rules, left-recursion check, FIRST and FOLLOW byte sets.
  static void compute_sets(Grammar& g) {
    const std::size_t nodes = g.nodes.size();
    std::vector<char> ends(nodes, 0);  // the node's rule can complete from it without a byte
    for (bool changed = true; changed;) {
      changed = false;
      for (std::size_t n = 0; n < nodes; ++n) {
        if (ends[n]) continue;
        bool ok = g.nodes[n].final;
        for (const CallEdge& c : g.nodes[n].calls) {
          ok = ok || (ends[static_cast<std::size_t>(g.rules[static_cast<std::size_t>(c.rule)].start)] &&
                      ends[static_cast<std::size_t>(c.target)]);
        }
        if (ok) {
          ends[n] = 1;
          changed = true;
        }
      }
    }
    for (GrammarRule& r : g.rules) r.nullable = ends[static_cast<std::size_t>(r.start)] != 0;
    for (std::size_t n = 0; n < nodes; ++n) g.nodes[n].can_end = ends[n] != 0;

    check_left_recursion(g);

    std::vector<ByteSet> first(nodes);
    for (bool changed = true; changed;) {
      changed = false;
      for (std::size_t n = 0; n < nodes; ++n) {
        ByteSet f = first[n];
        for (const ByteEdge& e : g.nodes[n].bytes) {
          for (int b = e.lo; b <= e.hi; ++b) f.set(static_cast<std::size_t>(b));
        }
        for (const CallEdge& c : g.nodes[n].calls) {
          const GrammarRule& callee = g.rules[static_cast<std::size_t>(c.rule)];
          f |= first[static_cast<std::size_t>(callee.start)];
          if (callee.nullable) f |= first[static_cast<std::size_t>(c.target)];
        }
        if (f != first[n]) {
          first[n] = f;
          changed = true;
        }
      }
    }
    for (GrammarRule& r : g.rules) r.first = first[static_cast<std::size_t>(r.start)];
    for (std::size_t n = 0; n < nodes; ++n) g.nodes[n].first = first[n];
    for (bool changed = true; changed;) {
      changed = false;
      for (std::size_t n = 0; n < nodes; ++n) {
        const GrammarRule& caller = g.rules[static_cast<std::size_t>(g.nodes[n].rule)];
        for (const CallEdge& c : g.nodes[n].calls) {
          GrammarRule& callee = g.rules[static_cast<std::size_t>(c.rule)];
          ByteSet f = callee.follow | first[static_cast<std::size_t>(c.target)];
          if (ends[static_cast<std::size_t>(c.target)]) f |= caller.follow;
          if (f != callee.follow) {
            callee.follow = f;
            changed = true;
          }
        }
      }
    }
  }

  static void check_left_recursion(const Grammar& g) {
    // calls_at_start[r]: rules that r may call before consuming any byte.
    std::vector<std::vector<int32_t>> calls_at_start(g.rules.size());
    for (std::size_t r = 0; r < g.rules.size(); ++r) {
      std::vector<int32_t> work{g.rules[r].start};
      std::vector<char> seen(g.nodes.size(), 0);
      seen[static_cast<std::size_t>(g.rules[r].start)] = 1;
      while (!work.empty()) {
        const int32_t n = work.back();
        work.pop_back();
        for (const CallEdge& c : g.nodes[static_cast<std::size_t>(n)].calls) {
          calls_at_start[r].push_back(c.rule);
          if (g.rules[static_cast<std::size_t>(c.rule)].nullable && !seen[static_cast<std::size_t>(c.target)]) {
            seen[static_cast<std::size_t>(c.target)] = 1;
            work.push_back(c.target);
          }
        }
      }
    }
    std::vector<int> color(g.rules.size(), 0);  // 0 new, 1 on the path, 2 done
    for (std::size_t r = 0; r < g.rules.size(); ++r) {
      if (color[r] != 0) continue;
      std::vector<std::pair<int32_t, std::size_t>> path{{static_cast<int32_t>(r), 0}};
      color[r] = 1;
      while (!path.empty()) {
        auto& [rule, next] = path.back();
        const auto& callees = calls_at_start[static_cast<std::size_t>(rule)];
        if (next == callees.size()) {
          color[static_cast<std::size_t>(rule)] = 2;
          path.pop_back();
          continue;
        }
        const int32_t callee = callees[next++];
        if (color[static_cast<std::size_t>(callee)] == 1) {
          throw GrammarError("the grammar is left-recursive: rule '" + g.rules[static_cast<std::size_t>(callee)].name +
                             "' can reach itself without consuming any text");
        }
        if (color[static_cast<std::size_t>(callee)] == 0) {
          color[static_cast<std::size_t>(callee)] = 1;
          path.emplace_back(callee, 0);
        }
      }
    }
  }

  const GrammarBuilder& b_;
  const GrammarLimits& limits_;
  int64_t nfa_states_ = 0;
  int64_t work_ = 0;
};

GrammarBuilder::Node GrammarBuilder::node_of(Kind kind) {
  Node n;
  n.kind = kind;
  return n;
}

GrammarBuilder::Expr GrammarBuilder::add(Node node) {
  exprs_.push_back(std::move(node));
  return static_cast<Expr>(exprs_.size() - 1);
}

GrammarBuilder::Expr GrammarBuilder::empty() { return add(node_of(Kind::Empty)); }
GrammarBuilder::Expr GrammarBuilder::nothing() { return add(node_of(Kind::Nothing)); }

GrammarBuilder::Expr GrammarBuilder::bytes(const ByteSet& set) {
  Node n{Kind::Bytes};
  n.set = set;
  return add(std::move(n));
}

GrammarBuilder::Expr GrammarBuilder::byte_range(uint8_t lo, uint8_t hi) {
  ByteSet set;
  for (int b = lo; b <= hi; ++b) set.set(static_cast<std::size_t>(b));
  return bytes(set);
}

GrammarBuilder::Expr GrammarBuilder::literal(std::string_view text) {
  std::vector<Expr> parts;
  parts.reserve(text.size());
  for (char c : text) {
    const auto b = static_cast<uint8_t>(c);
    parts.push_back(byte_range(b, b));
  }
  return seq(std::move(parts));
}

GrammarBuilder::Expr GrammarBuilder::seq(std::vector<Expr> parts) {
  if (parts.size() == 1) return parts[0];
  Node n{Kind::Seq};
  n.children = std::move(parts);
  return add(std::move(n));
}

GrammarBuilder::Expr GrammarBuilder::alt(std::vector<Expr> options) {
  if (options.empty()) return nothing();
  if (options.size() == 1) return options[0];
  Node n{Kind::Alt};
  n.children = std::move(options);
  return add(std::move(n));
}

GrammarBuilder::Expr GrammarBuilder::repeat(Expr e, int32_t min, int32_t max) {
  if (min < 0 || (max != kUnbounded && max < min)) {
    throw GrammarError("invalid repetition {" + std::to_string(min) + "," + std::to_string(max) + "}");
  }
  if (min == 1 && max == 1) return e;
  Node n{Kind::Repeat};
  n.children = {e};
  n.min = min;
  n.max = max;
  return add(std::move(n));
}

GrammarBuilder::Expr GrammarBuilder::call(Rule rule) {
  Node n{Kind::Call};
  n.rule = rule;
  return add(std::move(n));
}

GrammarBuilder::Expr GrammarBuilder::automaton(ByteAutomaton a) {
  Node n{Kind::Automaton};
  n.automaton = static_cast<int32_t>(automata_.size());
  automata_.push_back(std::move(a));
  return add(std::move(n));
}

GrammarBuilder::Rule GrammarBuilder::add_rule(std::string name) {
  rules_.push_back({std::move(name), -1});
  return static_cast<Rule>(rules_.size() - 1);
}

void GrammarBuilder::define(Rule rule, Expr body) { rules_.at(static_cast<std::size_t>(rule)).body = body; }

Grammar GrammarBuilder::build(Rule root, const GrammarLimits& limits) const {
  return RuleAutomatonBuilder(*this, limits).build(root);
}

std::string Grammar::dump() const {
  std::ostringstream out;
  for (std::size_t r = 0; r < rules.size(); ++r) {
    out << "rule " << r << " " << rules[r].name << " start=" << rules[r].start << (rules[r].nullable ? " nullable" : "")
        << "\n";
  }
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    const GrammarNode& node = nodes[n];
    out << "  node " << n << " (rule " << node.rule << ")" << (node.final ? " final" : "") << ":";
    for (const ByteEdge& e : node.bytes) out << " [" << int(e.lo) << "-" << int(e.hi) << "]->" << e.target;
    for (const CallEdge& c : node.calls) out << " call " << c.rule << "->" << c.target;
    out << "\n";
  }
  return out.str();
}

}  // namespace troupe::structured_output
