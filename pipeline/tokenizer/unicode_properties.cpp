#include "pipeline/tokenizer/unicode_properties.hpp"

#include <oniguruma.h>

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

namespace troupe {

namespace {

struct CategoryRange {
  char32_t first;
  char32_t last;
  const char* category;
};

constexpr CategoryRange kRanges[] = {
#include "pipeline/tokenizer/unicode_general_category.inc"
};

// Property names Oniguruma accepts for general categories, normalized (lower case, no spaces,
// underscores or hyphens), to the category prefix they select ("l" selects Lu, Ll, Lt, Lm, Lo).
// C/Other and Cn are left out: the tables list assigned code points only.
const std::map<std::string, std::string>& category_names() {
  static const std::map<std::string, std::string> names = {
      {"l", "L"},   {"letter", "L"},
      {"lu", "Lu"}, {"uppercaseletter", "Lu"},
      {"ll", "Ll"}, {"lowercaseletter", "Ll"},
      {"lt", "Lt"}, {"titlecaseletter", "Lt"},
      {"lm", "Lm"}, {"modifierletter", "Lm"},
      {"lo", "Lo"}, {"otherletter", "Lo"},
      {"m", "M"},   {"mark", "M"},                {"combiningmark", "M"},
      {"mn", "Mn"}, {"nonspacingmark", "Mn"},
      {"mc", "Mc"}, {"spacingmark", "Mc"},
      {"me", "Me"}, {"enclosingmark", "Me"},
      {"n", "N"},   {"number", "N"},
      {"nd", "Nd"}, {"decimalnumber", "Nd"},
      {"nl", "Nl"}, {"letternumber", "Nl"},
      {"no", "No"}, {"othernumber", "No"},
      {"p", "P"},   {"punctuation", "P"},
      {"pc", "Pc"}, {"connectorpunctuation", "Pc"},
      {"pd", "Pd"}, {"dashpunctuation", "Pd"},
      {"ps", "Ps"}, {"openpunctuation", "Ps"},
      {"pe", "Pe"}, {"closepunctuation", "Pe"},
      {"pi", "Pi"}, {"initialpunctuation", "Pi"},
      {"pf", "Pf"}, {"finalpunctuation", "Pf"},
      {"po", "Po"}, {"otherpunctuation", "Po"},
      {"s", "S"},   {"symbol", "S"},
      {"sm", "Sm"}, {"mathsymbol", "Sm"},
      {"sc", "Sc"}, {"currencysymbol", "Sc"},
      {"sk", "Sk"}, {"modifiersymbol", "Sk"},
      {"so", "So"}, {"othersymbol", "So"},
      {"z", "Z"},   {"separator", "Z"},
      {"zs", "Zs"}, {"spaceseparator", "Zs"},
      {"zl", "Zl"}, {"lineseparator", "Zl"},
      {"zp", "Zp"}, {"paragraphseparator", "Zp"},
      {"cc", "Cc"}, {"control", "Cc"},
      {"cf", "Cf"}, {"format", "Cf"},
      {"co", "Co"}, {"privateuse", "Co"},
  };
  return names;
}

std::string normalized_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == ' ' || c == '_' || c == '-') continue;
    out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return out;
}

// Registered properties, by category: Oniguruma keeps a pointer to the ranges, so they live as
// long as the process. Oniguruma allows 20 user properties; patterns use a handful.
struct Registry {
  std::mutex mutex;
  std::map<std::string, std::string> property_of;  // category -> registered name
  std::deque<std::vector<OnigCodePoint>> ranges;
};

Registry& registry() {
  static Registry r;
  return r;
}

// Oniguruma's range list for a category (or a one-letter major class): {count, first, last, ...}.
std::vector<OnigCodePoint> ranges_for(const std::string& category) {
  std::vector<OnigCodePoint> pairs;
  for (const CategoryRange& r : kRanges) {
    const std::string_view c = r.category;
    const bool match = category.size() == 1 ? c.front() == category.front() : c == category;
    if (!match) continue;
    if (!pairs.empty() && pairs.back() + 1 == r.first) {
      pairs.back() = r.last;  // adjacent to the previous range: extend it
    } else {
      pairs.push_back(r.first);
      pairs.push_back(r.last);
    }
  }
  std::vector<OnigCodePoint> out;
  out.reserve(pairs.size() + 1);
  out.push_back(static_cast<OnigCodePoint>(pairs.size() / 2));
  out.insert(out.end(), pairs.begin(), pairs.end());
  return out;
}

// The registered property name for `category`, or empty when Oniguruma has no room left.
std::string property_for(const std::string& category) {
  Registry& r = registry();
  if (auto it = r.property_of.find(category); it != r.property_of.end()) return it->second;
  const std::string name = "TroupeUcd16" + category;
  r.ranges.push_back(ranges_for(category));
  if (onig_unicode_define_user_property(name.c_str(), r.ranges.back().data()) != ONIG_NORMAL) {
    r.ranges.pop_back();
    return {};
  }
  r.property_of.emplace(category, name);
  return name;
}

}  // namespace

std::string_view unicode_tables_version() { return TROUPE_UNICODE_VERSION; }

std::string_view general_category(char32_t code_point) {
  const auto* end = std::end(kRanges);
  const auto* it = std::upper_bound(std::begin(kRanges), end, code_point,
                                    [](char32_t cp, const CategoryRange& r) { return cp < r.first; });
  if (it == std::begin(kRanges)) return "Cn";
  --it;
  return code_point <= it->last ? std::string_view(it->category) : std::string_view("Cn");
}

std::string with_current_unicode_properties(std::string_view pattern) {
  std::lock_guard lock(registry().mutex);
  std::string out;
  out.reserve(pattern.size());
  std::size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] != '\\' || i + 1 >= pattern.size()) {
      out += pattern[i++];
      continue;
    }
    const char kind = pattern[i + 1];
    const std::size_t close = pattern.find('}', i + 2);
    if ((kind == 'p' || kind == 'P') && i + 2 < pattern.size() && pattern[i + 2] == '{' && close != std::string::npos) {
      std::string_view name = pattern.substr(i + 3, close - (i + 3));
      const bool negated = !name.empty() && name.front() == '^';
      if (negated) name.remove_prefix(1);
      const auto known = category_names().find(normalized_name(name));
      if (known != category_names().end()) {
        const std::string property = property_for(known->second);
        if (!property.empty()) {
          out += '\\';
          out += kind;
          out += negated ? "{^" : "{";
          out += property;
          out += '}';
          i = close + 1;
          continue;
        }
      }
    }
    // Any other escape is copied whole, so an escaped backslash never starts a property.
    out += pattern.substr(i, 2);
    i += 2;
  }
  return out;
}

}  // namespace troupe
