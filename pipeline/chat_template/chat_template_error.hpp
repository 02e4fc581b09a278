#pragma once
// The one error type of the chat template renderer. A template that troupe cannot render exactly as
// Hugging Face would must fail loudly (a request error) rather than produce a subtly different prompt.
#include <stdexcept>
#include <string>

namespace troupe {

class ChatTemplateError : public std::runtime_error {
 public:
  enum class Kind {
    syntax,       // the template is not valid Jinja (unbalanced tags, bad expression)
    unsupported,  // valid Jinja that this interpreter does not implement (named in the message)
    render,       // a failure while rendering (type error, undefined value used, ...)
    raised,       // the template called raise_exception(msg); what() is exactly msg
  };

  ChatTemplateError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}

  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

}  // namespace troupe
