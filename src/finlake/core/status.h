// Status and Result<T>: how expected failures travel (STYLE.md "Errors").
//
// A Status is ok or carries a code and a message that names the input and the
// rule that was broken. Result<T> holds either a value or a non-ok Status.
// Both are [[nodiscard]]: ignoring a failure must be a visible decision.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace finlake {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // The caller's input breaks a rule (bad SQL, bad schema, bad option).
  kNotFound,          // A table, file or version that does not exist.
  kAlreadyExists,     // put-if-absent found the name taken.
  kCorruption,        // Stored data that does not parse or contradicts itself.
  kUnsupported,       // A valid feature finlake does not implement (named in the message).
  kIOError,           // The storage or the OS failed.
  kConflict,          // A concurrent writer won and the operation cannot be retried.
  kInternal,          // A bug in finlake.
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<CodeName>: <message>", for logs and the CLI.
  std::string ToString() const;
  // The same status with "<context>: " in front of the message.
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design.
  Result(Status status) : state_(std::move(status)) {  // NOLINT: implicit by design.
    assert(!std::get<Status>(state_).ok() && "a Result built from a Status must carry an error");
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(state_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace finlake

#define FINLAKE_CONCAT_INNER(a, b) a##b
#define FINLAKE_CONCAT(a, b) FINLAKE_CONCAT_INNER(a, b)

// Returns the status from the enclosing function when it is not ok.
#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::finlake::Status _status_ = (expr);           \
    if (!_status_.ok()) return _status_;           \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, ComputeX());` declares x from a Result or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(FINLAKE_CONCAT(_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
