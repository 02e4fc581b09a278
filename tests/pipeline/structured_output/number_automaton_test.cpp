// Numbers within decimal bounds and multiples: the automaton accepts exactly the numbers an exact
// decimal reference accepts (within the digit caps), on thousands of candidates around the bounds,
// and what it accepts compares with the bounds as doubles too (what Python's jsonschema does).
#include <catch2/catch.hpp>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>

#include "pipeline/structured_output/decimal.hpp"
#include "pipeline/structured_output/grammar.hpp"
#include "pipeline/structured_output/number_automaton.hpp"

using namespace troupe::structured_output;

namespace {

bool run(const ByteAutomaton& a, std::string_view text) {
  int32_t state = 0;
  for (char c : text) {
    const auto byte = static_cast<uint8_t>(c);
    int32_t next = -1;
    for (const auto& e : a.states[static_cast<std::size_t>(state)].edges) {
      if (byte >= e.lo && byte <= e.hi) next = e.target;
    }
    if (next < 0) return false;
    state = next;
  }
  return a.states[static_cast<std::size_t>(state)].accepting;
}

// The JSON number `text` (no exponent) as a Decimal; nullopt when it is not one troupe writes.
std::optional<Decimal> parse(std::string_view text) {
  Decimal d;
  std::size_t pos = 0;
  if (pos < text.size() && text[pos] == '-') d.negative = true, ++pos;
  const std::size_t start = pos;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
  d.integer = std::string(text.substr(start, pos - start));
  if (d.integer.empty() || (d.integer.size() > 1 && d.integer[0] == '0')) return std::nullopt;
  if (pos < text.size()) {
    if (text[pos] != '.' || pos + 1 == text.size()) return std::nullopt;
    d.fraction = std::string(text.substr(pos + 1));
    for (char c : d.fraction) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    }
  }
  return d;
}

// The reference: exact decimal arithmetic over the text.
bool reference(const NumberConstraints& c, std::string_view text) {
  std::optional<Decimal> x = parse(text);
  if (!x) return false;
  const std::size_t written_fraction = x->fraction.size();
  const bool fraction = text.find('.') != std::string_view::npos;
  if (x->integer.size() > 16) return false;
  if (fraction) {
    if (c.integer) return false;
    const std::size_t integer_digits = x->integer == "0" ? 0 : x->integer.size();
    if (integer_digits + written_fraction > static_cast<std::size_t>(kMaxBoundedSignificantDigits)) return false;
    if (c.multiple_of && written_fraction > c.multiple_of->fraction.size()) return false;
  }
  x->fraction.erase(x->fraction.find_last_not_of('0') + 1);
  if (x->is_zero()) {
    if (x->negative) return false;  // "-0", "-0.0": never written
  }
  if (c.lower) {
    const int r = compare(*x, c.lower->value);
    if (r < 0 || (r == 0 && c.lower->exclusive)) return false;
  }
  if (c.upper) {
    const int r = compare(*x, c.upper->value);
    if (r > 0 || (r == 0 && c.upper->exclusive)) return false;
  }
  if (c.multiple_of) {
    const std::size_t s = c.multiple_of->fraction.size();
    std::string m = (c.multiple_of->integer == "0" ? "" : c.multiple_of->integer) + c.multiple_of->fraction;
    const uint64_t modulus = std::stoull(m);
    std::string digits = x->integer + x->fraction + std::string(s - x->fraction.size(), '0');
    uint64_t r = 0;
    for (char d : digits) r = (r * 10 + static_cast<uint64_t>(d - '0')) % modulus;
    if (r != 0) return false;
  }
  return true;
}

NumberConstraints bounds(std::optional<double> lo, bool lo_ex, std::optional<double> hi, bool hi_ex,
                         std::optional<double> multiple = std::nullopt, bool integer = false) {
  NumberConstraints c;
  if (lo) c.lower = NumberLimit{decimal_of(*lo), lo_ex};
  if (hi) c.upper = NumberLimit{decimal_of(*hi), hi_ex};
  if (multiple) c.multiple_of = decimal_of(*multiple);
  c.integer = integer;
  return c;
}

// Candidates: digit strings near the bounds (each bound's digits with one digit changed, cut or
// extended) and random short numbers.
std::vector<std::string> candidates(const NumberConstraints& c, std::mt19937_64& rng) {
  std::vector<std::string> out{"0", "-0", "0.0", "-0.0", "1", "-1", "0.5", "-0.5", "10", "007", "1.", ".5", "--1", "1.2.3"};
  auto near = [&](const Decimal& d) {
    const std::string base = d.text();
    out.push_back(base);
    out.push_back(d.negative ? base.substr(1) : "-" + base);
    for (std::size_t i = 0; i < base.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(base[i]))) continue;
      for (char digit = '0'; digit <= '9'; ++digit) {
        std::string changed = base;
        changed[i] = digit;
        out.push_back(changed);
        out.push_back(changed.substr(0, i + 1));
      }
    }
    for (const char* tail : {"0", "1", "5", "9", "00001", "99999"}) {
      out.push_back(base + (d.fraction.empty() ? "." : "") + tail);
    }
  };
  if (c.lower) near(c.lower->value);
  if (c.upper) near(c.upper->value);
  std::uniform_int_distribution<int> len(0, 4), frac(0, 5), digit(0, 9), coin(0, 1);
  for (int i = 0; i < 3000; ++i) {
    std::string s = coin(rng) ? "-" : "";
    const int n = len(rng);
    s += std::to_string(n == 0 ? 0 : 1 + digit(rng) % 9);
    for (int k = 1; k < n; ++k) s += static_cast<char>('0' + digit(rng));
    const int f = frac(rng);
    if (f > 0) {
      s += '.';
      for (int k = 0; k < f; ++k) s += static_cast<char>('0' + digit(rng));
    }
    out.push_back(s);
  }
  return out;
}

void check_exact(const NumberConstraints& c, uint64_t seed) {
  const ByteAutomaton a = number_automaton(c);
  std::mt19937_64 rng(seed);
  int accepted = 0;
  for (const std::string& text : candidates(c, rng)) {
    CAPTURE(text);
    const bool want = reference(c, text);
    REQUIRE(run(a, text) == want);
    if (!want) continue;
    ++accepted;
    // As doubles, the way jsonschema compares: strtod of the text against the bound's double.
    const double x = std::strtod(text.c_str(), nullptr);
    if (c.lower) {
      const double lo = std::strtod(c.lower->value.text().c_str(), nullptr);
      CHECK((c.lower->exclusive ? x > lo : x >= lo));
    }
    if (c.upper) {
      const double hi = std::strtod(c.upper->value.text().c_str(), nullptr);
      CHECK((c.upper->exclusive ? x < hi : x <= hi));
    }
  }
  CHECK(accepted > 0);
}

}  // namespace

TEST_CASE("number automaton: decimals of doubles are the numbers as written", "[structured_output]") {
  CHECK(decimal_of(-3.59).text() == "-3.59");
  CHECK(decimal_of(0.1).text() == "0.1");
  CHECK(decimal_of(1e-7).text() == "0.0000001");
  CHECK(decimal_of(120.0).text() == "120");
  CHECK(decimal_of(-0.0).text() == "0");
  CHECK(decimal_of(0.30000000000000004).text() == "0.30000000000000004");
  CHECK(decimal_of(9e15).text() == "9000000000000000");
  CHECK(compare(decimal_of(-3.59), decimal_of(-3.5)) < 0);
  CHECK(compare(decimal_of(2.5), decimal_of(2.50)) == 0);
  CHECK(compare_magnitudes(decimal_of(-10.0), decimal_of(9.99)) > 0);
}

TEST_CASE("number automaton: fractional bounds, inclusive and exclusive", "[structured_output]") {
  const auto c = bounds(-3.59, false, 2.5, true);
  const ByteAutomaton a = number_automaton(c);
  for (const char* ok : {"-3.59", "-3.5899", "-3", "0", "0.0", "2.4999", "2", "-0.5", "2.49999999999999"}) {
    CAPTURE(ok);
    CHECK(run(a, ok));
  }
  for (const char* bad : {"-3.591", "-3.6", "-4", "2.5", "2.50", "3", "-0", "-0.0", "02", "1e0", "2.5000000001"}) {
    CAPTURE(bad);
    CHECK_FALSE(run(a, bad));
  }
  // Fifteen significant digits at most with a fraction: distinct from 2.5 as a double too.
  CHECK_FALSE(run(a, "2.499999999999999"));

  int seed = 0;
  for (const NumberConstraints& k :
       {bounds(-3.59, false, std::nullopt, false), bounds(-3.59, true, std::nullopt, false),
        bounds(std::nullopt, false, 0.001, true), bounds(0.1, true, 0.3, false), bounds(-0.75, true, -0.25, true),
        bounds(-12.5, false, 12.5, false), bounds(0.0, true, 1.0, true), bounds(1.0, true, 1.1, true),
        bounds(99.99, false, 100.01, false), bounds(-1e-5, false, 1e-5, false), bounds(0.30000000000000004, true, 1.0, false),
        bounds(123456.789, false, 123457.0, true), bounds(std::nullopt, false, -7.25, false)}) {
    check_exact(k, static_cast<uint64_t>(++seed));
  }
}

TEST_CASE("number automaton: multipleOf, alone and with bounds", "[structured_output]") {
  const ByteAutomaton quarter = number_automaton(bounds(0.0, false, 2.0, false, 0.25));
  for (const char* ok : {"0", "0.25", "0.5", "0.50", "0.75", "1", "1.25", "2", "2.00"}) {
    CAPTURE(ok);
    CHECK(run(quarter, ok));
  }
  for (const char* bad : {"0.1", "0.2", "0.125", "2.25", "-0.25", "0.500", "1.7"}) {
    CAPTURE(bad);
    CHECK_FALSE(run(quarter, bad));
  }
  const ByteAutomaton cents = number_automaton(bounds(std::nullopt, false, std::nullopt, false, 0.01));
  for (const char* ok : {"0.07", "-12.34", "5", "100.1"}) CHECK(run(cents, ok));
  CHECK_FALSE(run(cents, "0.071"));
  const ByteAutomaton sevens = number_automaton(bounds(-100.0, false, 100.0, false, 7.0, true));
  for (const char* ok : {"0", "7", "-7", "98", "-98", "14"}) CHECK(run(sevens, ok));
  for (const char* bad : {"1", "99", "105", "7.0", "-0"}) CHECK_FALSE(run(sevens, bad));

  int seed = 100;
  for (const NumberConstraints& k :
       {bounds(0.0, false, 10.0, false, 0.25), bounds(-5.5, true, 5.5, true, 0.5), bounds(std::nullopt, false, std::nullopt, false, 0.01),
        bounds(-1000.0, false, 1000.0, false, 15.0, true), bounds(1.0, false, std::nullopt, false, 3.0, true),
        bounds(std::nullopt, false, std::nullopt, false, 0.3), bounds(0.0, false, 1.0, false, 0.001),
        bounds(-50.0, false, 50.0, false, 1.5), bounds(std::nullopt, false, std::nullopt, false, 100.0, true),
        bounds(-3.7, false, 8.2, false, 0.5, true)}) {
    check_exact(k, static_cast<uint64_t>(++seed));
  }
}

TEST_CASE("number automaton: what it refuses", "[structured_output]") {
  // No value: an empty range, or no multiple inside it.
  CHECK_THROWS_AS(number_automaton(bounds(1.0, true, 1.0, false)), GrammarError);
  CHECK_THROWS_AS(number_automaton(bounds(1.1, false, 1.9, false, 1.0)), GrammarError);
  CHECK_THROWS_AS(number_automaton(bounds(0.1, false, 0.9, false, std::nullopt, true)), GrammarError);
  // Between two bounds closer than fifteen significant digits can tell apart.
  CHECK_THROWS_AS(number_automaton(bounds(0.1, true, 0.10000000000000001 + 1e-17, true)), GrammarError);
  // A multipleOf too precise to keep a remainder of.
  CHECK_THROWS_WITH(number_automaton(bounds(std::nullopt, false, std::nullopt, false, 1234567.5)),
                    Catch::Contains("multipleOf 1234567.5 is not supported"));
  // Within that, a remainder times every other state can still be too many: refused, not slow.
  CHECK_THROWS_WITH(number_automaton(bounds(std::nullopt, false, std::nullopt, false, 999.999)),
                    Catch::Contains("too large an automaton"));
}

TEST_CASE("number automaton: sizes stay small", "[structured_output]") {
  // Bounds alone: a few dozen states; multipleOf with its remainders: more, but bounded.
  CHECK(number_automaton(bounds(-3.59, false, 2.5, true)).states.size() < 200);
  CHECK(number_automaton(bounds(0.0, false, 100.0, false, 0.01)).states.size() < 200);
  CHECK(number_automaton(bounds(0.0, false, 1e6, false, 1000.0, true)).states.size() < 200);
  CHECK(number_automaton(bounds(std::nullopt, false, std::nullopt, false, 7.0, true)).states.size() < 400);
}
