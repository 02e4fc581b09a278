#include "pipeline/openai/models_response.hpp"

namespace troupe {

boost::json::object model_object(const std::string& name, int64_t created, const std::string& root,
                                 int64_t max_model_len) {
  return boost::json::object{{"id", name},          {"object", "model"},  {"created", created},
                             {"owned_by", "troupe"}, {"root", root},       {"parent", nullptr},
                             {"max_model_len", max_model_len}};
}

boost::json::object models_response(const std::string& name, int64_t created, const std::string& root,
                                    int64_t max_model_len) {
  boost::json::array data;
  data.emplace_back(model_object(name, created, root, max_model_len));
  return boost::json::object{{"object", "list"}, {"data", std::move(data)}};
}

}  // namespace troupe
