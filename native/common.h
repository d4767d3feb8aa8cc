// common.h — what every native file needs: the error type that becomes a JS AtentoError,
// and the argument checks that guard kernels from bad input.
//
// Kernels never call exit() or abort(). A failure anywhere below the bindings throws
// atento::Error(code, message); the binding layer (native/napi_util.h) turns it into an
// instance of the JS AtentoError class with the same stable `code`.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace atento {

// Stable error codes; the JS side exports the same strings.
#define ATENTO_ERROR_CODES(X) \
  X(ERR_SHAPE)                \
  X(ERR_DTYPE)                \
  X(ERR_DEVICE)               \
  X(ERR_INDEX)                \
  X(ERR_DISPOSED)             \
  X(ERR_CUDA)                 \
  X(ERR_OOM)                  \
  X(ERR_CHECKPOINT)           \
  X(ERR_NOT_IMPLEMENTED)      \
  X(ERR_ARGUMENT)             \
  X(ERR_NAN)                  \
  X(ERR_INTERNAL)

class Error : public std::runtime_error {
 public:
  Error(const char* code, const std::string& message) : std::runtime_error(message), code_(code) {}
  const char* code() const { return code_; }

 private:
  const char* code_;  // always a string literal
};

// check(cond, "ERR_SHAPE", "layerNorm: ...") throws when cond is false. A message that has to be
// built is passed as a function, check(cond, code, [&] { return "..." + std::to_string(n); }), and
// made only when it throws: the ops check their arguments on every call, and building the
// messages (a std::string per check, allocated past 15 characters) was most of a small op's call.
inline void check(bool cond, const char* code, const char* message) {
  if (!cond) throw Error(code, message);
}
template <class MakeMessage, class = std::enable_if_t<std::is_invocable_r_v<std::string, MakeMessage>>>
inline void check(bool cond, const char* code, MakeMessage&& message) {
  if (!cond) throw Error(code, message());
}

}  // namespace atento
