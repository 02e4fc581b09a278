#pragma once
// What every response object and chunk of one request repeats: id, created, model (and the
// system_fingerprint that whole responses and the last chunk carry).
#include <cstdint>
#include <string>

#include "pipeline/request/generation_request.hpp"

namespace troupe {

struct ResponseIdentity {
  std::string id;       // "cmpl-…" / "chatcmpl-…"
  int64_t created = 0;  // unix seconds when the request arrived
  std::string model;
  std::string system_fingerprint;  // empty: reported as null
};

// "cmpl-" or "chatcmpl-" followed by 32 random hex digits (128 bits: unique per server run
// without coordination between io threads).
std::string make_request_id(Endpoint endpoint);

// Seconds since the unix epoch, now.
int64_t unix_seconds_now();

}  // namespace troupe
