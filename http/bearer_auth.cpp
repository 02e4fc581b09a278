#include "http/bearer_auth.hpp"

#include <cctype>

namespace troupe {

bool constant_time_equals(std::string_view a, std::string_view b) {
  // Walk the expected key's full length whatever `a` holds: the loop count leaks only the key's
  // length, which is no secret worth keeping, and the length difference folds into the result.
  volatile unsigned char difference = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < b.size(); ++i) {
    const unsigned char left = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    difference = difference | (left ^ static_cast<unsigned char>(b[i]));
  }
  return difference == 0;
}

bool bearer_token_matches(std::string_view authorization, std::string_view key) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return false;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return constant_time_equals(token, key);
}

}  // namespace troupe
