#include "pipeline/structured_output/number_automaton.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "pipeline/structured_output/grammar.hpp"
#include "pipeline/structured_output/number_grammar.hpp"

namespace troupe::structured_output {

namespace {

// States explored before giving up: the raw states behind one automaton (each is a hash-map
// entry of a few dozen bytes). Bounds alone need a few thousand; multipleOf multiplies that by the
// remainders it can leave.
constexpr int64_t kMaxRawStates = 400'000;

enum class Phase : uint8_t { Start, Minus, IntZero, Int, Dot, Frac };

// Where |x| so far stands against one bound's magnitude. While the integer part is being written,
// LexLt/LexGt compare its digits with as many of the bound's (a longer integer part can still
// change the answer); Eq: equal so far; Done: the bound holds whatever follows. A bound found
// violated ends the path (no state).
enum class Side : uint8_t { Eq, LexLt, LexGt, Done };

struct State {
  Phase phase = Phase::Start;
  bool negative = false;
  bool nonzero = false;   // a nonzero digit was written (kept only when negative: "-0" is refused)
  uint8_t int_len = 0;    // integer digits written ("0" counts one)
  uint8_t frac_len = 0;   // fraction digits written
  uint8_t budget = 0;     // in the fraction: digits that may still follow
  Side lo = Side::Done, hi = Side::Done;
  uint32_t rem = 0;       // digits so far, as an integer, modulo multipleOf's digits

  uint64_t key() const {
    uint64_t k = static_cast<uint64_t>(phase);
    k = k << 1 | negative;
    k = k << 1 | nonzero;
    k = k << 5 | int_len;
    k = k << 5 | frac_len;
    k = k << 4 | budget;
    k = k << 2 | static_cast<uint64_t>(lo);
    k = k << 2 | static_cast<uint64_t>(hi);
    return k << 20 | rem;
  }
};

enum class Rel { Lt, Eq, Gt };

struct Bound {
  Decimal value;
  bool exclusive = false;
  bool lower = false;
};

class NumberAutomatonBuilder {
 public:
  explicit NumberAutomatonBuilder(const NumberConstraints& c) : integer_(c.integer) {
    if (c.lower) lo_ = Bound{c.lower->value, c.lower->exclusive, true};
    if (c.upper) hi_ = Bound{c.upper->value, c.upper->exclusive, false};
    if (c.multiple_of) {
      // m = M × 10^-s: x is a multiple of m when x × 10^s is an integer multiple of M.
      const Decimal& m = *c.multiple_of;
      std::string digits = (m.integer == "0" ? "" : m.integer) + m.fraction;
      digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
      if (digits.empty()) throw GrammarError("multipleOf must be greater than 0");
      if (digits.size() > 7 || std::stoul(digits) > kMaxMultipleOfDigitsValue) {
        throw GrammarError("multipleOf " + m.text() + " is not supported: its digits without the point form a number over " +
                           std::to_string(kMaxMultipleOfDigitsValue));
      }
      modulus_ = static_cast<uint32_t>(std::stoul(digits));
      scale_ = static_cast<int32_t>(m.fraction.size());
    }
  }

  ByteAutomaton build() {
    State start;
    start.lo = lo_ ? Side::Eq : Side::Done;
    start.hi = hi_ ? Side::Eq : Side::Done;
    const int32_t root = visit(start);
    if (root < 0) throw GrammarError("no number satisfies these bounds and multipleOf within the digits troupe generates");
    // The start state must be state 0.
    std::swap(out_.states[0], out_.states[static_cast<std::size_t>(root)]);
    for (auto& state : out_.states) {
      for (auto& e : state.edges) {
        if (e.target == root) e.target = 0;
        else if (e.target == 0) e.target = root;
      }
    }
    return std::move(out_);
  }

 private:
  // The most fraction digits a number whose integer part is in `s` may have.
  uint8_t fraction_budget(const State& s) const {
    if (integer_) return 0;
    const int integer_digits = s.phase == Phase::IntZero ? 0 : s.int_len;
    int budget = std::max(0, kMaxBoundedSignificantDigits - integer_digits);
    if (modulus_ > 0) budget = std::min(budget, scale_);
    return static_cast<uint8_t>(std::min(budget, kMaxFractionDigits));
  }

  // The sign-aware verdict on a bound once |x|'s relation to |bound| is known.
  static bool holds(Rel magnitude, bool negative, const Bound& b) {
    Rel r = magnitude;
    if (!negative && b.value.negative) r = Rel::Gt;
    else if (negative && !b.value.negative) r = Rel::Lt;
    else if (negative) r = magnitude == Rel::Lt ? Rel::Gt : magnitude == Rel::Gt ? Rel::Lt : Rel::Eq;
    if (r == Rel::Eq) return !b.exclusive;
    return b.lower ? r == Rel::Gt : r == Rel::Lt;
  }

  // Once the sign is known, a bound of the other sign is decided: x is above a negative bound and
  // below a non-negative one (x = "-0" is refused at the end), so the bound holds (Done) or breaks.
  static std::optional<Side> after_sign(Side side, bool negative, const Bound& b) {
    if (side == Side::Done || negative == b.value.negative) return side;
    const bool above = b.value.negative;
    return above == b.lower ? std::optional<Side>(Side::Done) : std::nullopt;
  }

  // A decided magnitude relation: Done if it keeps the bound, nullopt if it breaks it.
  static std::optional<Side> decide(Rel magnitude, bool negative, const Bound& b) {
    return holds(magnitude, negative, b) && magnitude != Rel::Eq ? std::optional<Side>(Side::Done) : std::nullopt;
  }

  // Integer digit number `k` (1-based) written as `d`.
  static std::optional<Side> on_integer_digit(Side side, int k, char d, bool negative, const Bound& b) {
    if (side == Side::Done) return side;
    const std::string& ib = b.value.integer;
    if (static_cast<std::size_t>(k) > ib.size()) return decide(Rel::Gt, negative, b);
    if (side != Side::Eq) return side;  // the first differing digit decides among equal lengths
    const char c = ib[static_cast<std::size_t>(k - 1)];
    return d < c ? Side::LexLt : d > c ? Side::LexGt : Side::Eq;
  }

  // The integer part ended after `k` digits: its relation is settled, or equal so far.
  static std::optional<Side> on_integer_end(Side side, int k, bool negative, const Bound& b) {
    if (side == Side::Done) return side;
    if (static_cast<std::size_t>(k) < b.value.integer.size()) return decide(Rel::Lt, negative, b);
    if (side == Side::LexLt) return decide(Rel::Lt, negative, b);
    if (side == Side::LexGt) return decide(Rel::Gt, negative, b);
    return side;
  }

  // Fraction digit number `f` (0-based) written as `d`.
  static std::optional<Side> on_fraction_digit(Side side, int f, char d, bool negative, const Bound& b) {
    if (side != Side::Eq) return side;
    const std::string& fb = b.value.fraction;
    const char c = static_cast<std::size_t>(f) < fb.size() ? fb[static_cast<std::size_t>(f)] : '0';
    if (d == c) return Side::Eq;
    return decide(d < c ? Rel::Lt : Rel::Gt, negative, b);
  }

  // Whether the number may end here as far as one bound is concerned.
  static bool may_end(Side side, const State& s, const Bound& b) {
    if (side == Side::Done) return true;
    Side settled = side;
    if (s.phase == Phase::IntZero || s.phase == Phase::Int) {
      const std::optional<Side> end = on_integer_end(side, s.int_len, s.negative, b);
      if (!end) return false;
      settled = *end;
      if (settled == Side::Done) return true;
    }
    // Equal so far: the bound's remaining fraction digits decide (it has no trailing zeros).
    const Rel r = b.value.fraction.size() > s.frac_len ? Rel::Lt : Rel::Eq;
    return holds(r, s.negative, b);
  }

  bool accepts(const State& s) const {
    if (s.phase != Phase::IntZero && s.phase != Phase::Int && s.phase != Phase::Frac) return false;
    if (s.negative && !s.nonzero) return false;
    if (lo_ && !may_end(s.lo, s, *lo_)) return false;
    if (hi_ && !may_end(s.hi, s, *hi_)) return false;
    if (modulus_ > 0) {
      uint64_t r = s.rem;
      for (int i = s.frac_len; i < scale_; ++i) r = r * 10 % modulus_;
      if (r != 0) return false;
    }
    return true;
  }

  // The state after byte `c`, or nullopt when no accepted number continues that way.
  std::optional<State> step(const State& s, char c) const {
    State t = s;
    const bool digit = c >= '0' && c <= '9';
    auto update_sides = [&](auto&& f) -> bool {
      if (lo_) {
        const std::optional<Side> n = f(t.lo, *lo_);
        if (!n) return false;
        t.lo = *n;
      }
      if (hi_) {
        const std::optional<Side> n = f(t.hi, *hi_);
        if (!n) return false;
        t.hi = *n;
      }
      return true;
    };
    switch (s.phase) {
      case Phase::Start:
      case Phase::Minus: {
        if (c == '-' && s.phase == Phase::Start) {
          t.phase = Phase::Minus;
          t.negative = true;
          if (!update_sides([&](Side side, const Bound& b) { return after_sign(side, true, b); })) return std::nullopt;
          return t;
        }
        if (!digit) return std::nullopt;
        if (s.phase == Phase::Start &&
            !update_sides([&](Side side, const Bound& b) { return after_sign(side, false, b); })) {
          return std::nullopt;
        }
        t.phase = c == '0' ? Phase::IntZero : Phase::Int;
        t.int_len = 1;
        if (!update_sides([&](Side side, const Bound& b) { return on_integer_digit(side, 1, c, t.negative, b); })) {
          return std::nullopt;
        }
        break;
      }
      case Phase::IntZero:
      case Phase::Int: {
        if (c == '.') {
          const uint8_t budget = fraction_budget(s);
          if (budget == 0) return std::nullopt;
          if (!update_sides([&](Side side, const Bound& b) { return on_integer_end(side, s.int_len, s.negative, b); })) {
            return std::nullopt;
          }
          t.phase = Phase::Dot;
          t.budget = budget;
          t.int_len = 0;  // the budget carries what the integer part still matters for
          return canonical(t);
        }
        if (!digit || s.phase == Phase::IntZero || s.int_len >= kMaxIntegerDigits) return std::nullopt;
        t.int_len = static_cast<uint8_t>(s.int_len + 1);
        if (!update_sides([&](Side side, const Bound& b) { return on_integer_digit(side, t.int_len, c, s.negative, b); })) {
          return std::nullopt;
        }
        break;
      }
      case Phase::Dot:
      case Phase::Frac: {
        if (!digit || s.budget == 0) return std::nullopt;
        if (!update_sides([&](Side side, const Bound& b) { return on_fraction_digit(side, s.frac_len, c, s.negative, b); })) {
          return std::nullopt;
        }
        t.phase = Phase::Frac;
        t.frac_len = static_cast<uint8_t>(s.frac_len + 1);
        t.budget = static_cast<uint8_t>(s.budget - 1);
        break;
      }
    }
    if (c != '0') t.nonzero = true;  // only digits get here
    if (modulus_ > 0) t.rem = static_cast<uint32_t>((static_cast<uint64_t>(s.rem) * 10 + static_cast<uint64_t>(c - '0')) % modulus_);
    return canonical(t);
  }

  // Forgets what cannot change the outcome, so that equivalent states share a key.
  State canonical(State t) const {
    if (!t.negative) t.nonzero = false;
    const bool in_fraction = t.phase == Phase::Dot || t.phase == Phase::Frac;
    if (in_fraction && t.lo != Side::Eq && t.hi != Side::Eq && modulus_ == 0) t.frac_len = 0;
    return t;
  }

  int32_t visit(const State& s) {
    const uint64_t key = s.key();
    if (const auto it = memo_.find(key); it != memo_.end()) return it->second;
    if (static_cast<int64_t>(memo_.size()) >= kMaxRawStates) {
      throw GrammarError("these number constraints need too large an automaton (over " + std::to_string(kMaxRawStates) +
                         " states): use a multipleOf with fewer digits, or narrower bounds");
    }
    memo_.emplace(key, -1);  // acyclic: never looked up before it is finished
    ByteAutomaton::State out;
    static constexpr char kBytes[] = "-.0123456789";
    for (const char* p = kBytes; *p != '\0'; ++p) {
      const std::optional<State> next = step(s, *p);
      if (!next) continue;
      const int32_t target = visit(*next);
      if (target < 0) continue;
      const auto byte = static_cast<uint8_t>(*p);
      if (!out.edges.empty() && out.edges.back().target == target && out.edges.back().hi + 1 == byte) {
        out.edges.back().hi = byte;
      } else {
        out.edges.push_back({byte, byte, target});
      }
    }
    out.accepting = accepts(s);
    int32_t id = -1;
    if (!out.edges.empty() || out.accepting) {
      // States with the same acceptance and the same edges (to already merged states) are one:
      // built bottom-up, the automaton comes out minimal.
      std::string signature(1, out.accepting ? 'a' : 'n');
      for (const auto& e : out.edges) {
        signature += static_cast<char>(e.lo);
        signature += static_cast<char>(e.hi);
        signature.append(reinterpret_cast<const char*>(&e.target), sizeof e.target);
      }
      const auto [it, inserted] = merged_.emplace(std::move(signature), static_cast<int32_t>(out_.states.size()));
      if (inserted) out_.states.push_back(std::move(out));
      id = it->second;
    }
    memo_[key] = id;
    return id;
  }

  bool integer_ = false;
  std::optional<Bound> lo_, hi_;
  uint32_t modulus_ = 0;  // 0: no multipleOf
  int32_t scale_ = 0;
  std::unordered_map<uint64_t, int32_t> memo_;
  std::map<std::string, int32_t> merged_;
  ByteAutomaton out_;
};

}  // namespace

ByteAutomaton number_automaton(const NumberConstraints& constraints) {
  return NumberAutomatonBuilder(constraints).build();
}

}  // namespace troupe::structured_output
