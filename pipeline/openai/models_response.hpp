#pragma once
// GET /v1/models: {"object":"list","data":[<model>]}, and GET /v1/models/{id}: the <model> itself,
// {"id","object":"model","created","owned_by","root","parent","max_model_len"} (the SDK's
// models.retrieve).
#include <boost/json.hpp>
#include <cstdint>
#include <string>

namespace troupe {

boost::json::object model_object(const std::string& name, int64_t created, const std::string& root,
                                 int64_t max_model_len);
boost::json::object models_response(const std::string& name, int64_t created, const std::string& root,
                                    int64_t max_model_len);

}  // namespace troupe
