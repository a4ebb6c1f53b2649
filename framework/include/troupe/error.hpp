// Errors as values: the one enum every asynchronous path of troupe reports through.
//
// Futures, requests and actor exits complete with either a value or an `error`. An `error` is
// an `errc` code plus an optional human-readable detail (the what() of a handler's exception, the
// name of an unhandled message type...). Codes are stable: the net layer sends them over the wire.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace troupe {

/// Every way an asynchronous operation of troupe can fail.
enum class errc : std::uint8_t {
  /// The request did not complete within its timeout.
  timeout = 1,
  /// The receiver is not alive: it quit before (or while) handling the request, or the handle
  /// was empty.
  receiver_down = 2,
  /// The receiver has no handler for the message type.
  unhandled_message = 3,
  /// The receiver's bounded mailbox was full.
  mailbox_full = 4,
  /// The connection to the receiver's node was lost (net).
  disconnected = 5,
  /// The receiver's handler threw; the detail holds the exception's what().
  handler_exception = 6,
  /// The handler kept a response_promise and dropped it without answering.
  broken_promise = 7,
  /// The reply's type was not the type the requester asked for.
  type_mismatch = 8,
  /// future::get() was called where blocking would stall the runtime: inside an actor, on a
  /// worker or timer thread, or inside a continuation that such a thread runs.
  blocking_in_actor = 9,
  /// The operation was cancelled: its requester stopped waiting (future::cancel, a cancelled
  /// handler's request tree, a when_any loser, a cancel from another node), or shutdown stopped
  /// a timer or delay. Guide, section 20.
  cancelled = 10,
  /// An error the application defined, carried in the detail.
  user = 11,
  /// The future was empty (default-constructed) or already consumed by get(), then(),
  /// co_await, forward_to or a when_* combinator.
  invalid_future = 12,
  /// The request would close a cycle of actors waiting on each other (a sequential coroutine
  /// holds its messages back while it waits, and this request is part of what it waits for);
  /// the detail names the actors in the cycle.
  deadlock = 13,
  /// A connection could not be opened: nothing listens there, or the host refused it (net);
  /// the detail names the address.
  connection_refused = 14,
  /// A write was refused: the connection's queue of unwritten bytes would pass its limit
  /// (net). Nothing was queued; try again when told the connection is writable.
  queue_full = 15,
};
/// The largest errc value (what a decoder accepts).
inline constexpr errc errc_last = errc::queue_full;

/// A short, stable name for a code ("timeout", "receiver_down", ...).
std::string_view to_string(errc code) noexcept;

/// An error value: a code and an optional detail. Cheap to copy (the detail is shared).
class error {
 public:
  error() = delete;
  error(errc code) noexcept : code_(code) {}  // NOLINT: implicit, errors read like codes
  error(errc code, std::string detail)
      : code_(code), detail_(std::make_shared<const std::string>(std::move(detail))) {}

  errc code() const noexcept { return code_; }
  /// The detail, or an empty view.
  std::string_view detail() const noexcept {
    return detail_ ? std::string_view(*detail_) : std::string_view();
  }
  /// "code" or "code: detail".
  std::string message() const;

  friend bool operator==(const error& a, errc b) noexcept { return a.code_ == b; }
  friend bool operator==(const error& a, const error& b) noexcept {
    return a.code_ == b.code_ && a.detail() == b.detail();
  }
  friend std::ostream& operator<<(std::ostream& os, const error& e) { return os << e.message(); }

 private:
  errc code_;
  std::shared_ptr<const std::string> detail_;
};

/// Thrown by result<T>::value() when the result holds an error: reading a value that is not
/// there is a bug in the calling code, not an asynchronous failure.
class bad_result_access : public std::exception {
 public:
  explicit bad_result_access(troupe::error e) : error_(std::move(e)), what_(error_.message()) {}
  const char* what() const noexcept override { return what_.c_str(); }
  const troupe::error& error() const noexcept { return error_; }

 private:
  troupe::error error_;
  std::string what_;
};

/// The value of a reply to a handler that returns nothing.
struct unit {
  friend bool operator==(unit, unit) noexcept { return true; }
};

}  // namespace troupe
