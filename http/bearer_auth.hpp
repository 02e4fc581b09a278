#pragma once
// --api-key checking. The comparison takes the same time whatever the candidate's content, so a
// client cannot find the key byte by byte from response timings.
#include <string_view>

namespace troupe {

// True when `a` and `b` are equal; runs in time that depends only on their lengths.
bool constant_time_equals(std::string_view a, std::string_view b);

// True when `authorization` (the header's value) is "Bearer <key>" (scheme case-insensitive).
bool bearer_token_matches(std::string_view authorization, std::string_view key);

}  // namespace troupe
