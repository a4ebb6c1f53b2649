// Why an actor exited, and the messages that tell linked and monitoring actors about it.
//
//   normal     quit() with no reason, or unreferenced (no handle left, mailbox done)
//   shutdown   the actor system shut down
//   kill       send_exit(target, exit_reason::kill()): cannot be trapped
//   error      quit(error) or an exit signal carrying an error
//   exception  a handler threw (the error's detail holds what())
#pragma once

#include <troupe/actor.hpp>
#include <troupe/error.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace troupe {

enum class exit_code : std::uint8_t { normal, shutdown, kill, error, exception };

class exit_reason {
 public:
  /// Normal.
  exit_reason() noexcept = default;
  /// An error value as the reason.
  exit_reason(troupe::error e) : code_(exit_code::error), error_(std::move(e)) {}  // NOLINT

  static exit_reason normal() noexcept { return {}; }
  static exit_reason shutdown() noexcept { return exit_reason(exit_code::shutdown); }
  static exit_reason kill() noexcept { return exit_reason(exit_code::kill); }
  static exit_reason exception(std::string what) {
    exit_reason r(exit_code::exception);
    r.error_.emplace(errc::handler_exception, std::move(what));
    return r;
  }

  exit_code code() const noexcept { return code_; }
  bool is_normal() const noexcept { return code_ == exit_code::normal; }
  /// The error of an `error` or `exception` reason.
  const std::optional<troupe::error>& error() const noexcept { return error_; }
  /// "normal", "shutdown", "kill", "error: <message>", "exception: <what>".
  std::string to_string() const;

  friend bool operator==(const exit_reason& a, const exit_reason& b) noexcept {
    return a.code_ == b.code_ && a.error_ == b.error_;
  }

 private:
  explicit exit_reason(exit_code c) noexcept : code_(c) {}
  exit_code code_ = exit_code::normal;
  std::optional<troupe::error> error_;
};

/// Delivered to a linked actor that traps exits (and by send_exit). `source` is the actor that
/// exited (or the sender of send_exit).
struct exit_msg {
  actor source;
  exit_reason reason;
};

/// Delivered to every actor that monitors `source` when it exits, whatever the reason.
struct down_msg {
  actor source;
  exit_reason reason;
};

/// Sends `target` an exit signal, as if a linked actor had exited with `reason` (the sender,
/// if called inside an actor, is the exit_msg's source). A target that traps exits receives an
/// exit_msg; otherwise a non-normal reason terminates it. exit_reason::kill() always terminates.
void send_exit(const actor& target, exit_reason reason);

}  // namespace troupe
