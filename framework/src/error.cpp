#include <troupe/error.hpp>

namespace troupe {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::timeout: return "timeout";
    case errc::receiver_down: return "receiver_down";
    case errc::unhandled_message: return "unhandled_message";
    case errc::mailbox_full: return "mailbox_full";
    case errc::disconnected: return "disconnected";
    case errc::handler_exception: return "handler_exception";
    case errc::broken_promise: return "broken_promise";
    case errc::type_mismatch: return "type_mismatch";
    case errc::blocking_in_actor: return "blocking_in_actor";
    case errc::cancelled: return "cancelled";
    case errc::user: return "user";
    case errc::invalid_future: return "invalid_future";
    case errc::deadlock: return "deadlock";
    case errc::connection_refused: return "connection_refused";
    case errc::queue_full: return "queue_full";
  }
  return "unknown";
}

std::string error::message() const {
  std::string s(to_string(code_));
  if (detail_ && !detail_->empty()) {
    s += ": ";
    s += *detail_;
  }
  return s;
}

}  // namespace troupe

#include <troupe/exit_reason.hpp>

namespace troupe {

std::string exit_reason::to_string() const {
  switch (code_) {
    case exit_code::normal: return "normal";
    case exit_code::shutdown: return "shutdown";
    case exit_code::kill: return "kill";
    case exit_code::error: return "error: " + (error_ ? error_->message() : std::string());
    case exit_code::exception: return "exception: " + (error_ ? std::string(error_->detail()) : std::string());
  }
  return "unknown";
}

}  // namespace troupe
