#pragma once
// GET /v1/models: {"object":"list","data":[{"id","object":"model","created","owned_by","root","max_model_len"}]}.
#include <boost/json.hpp>
#include <cstdint>
#include <string>

namespace troupe {

boost::json::object models_response(const std::string& name, int64_t created, const std::string& root,
                                    int64_t max_model_len);

}  // namespace troupe
