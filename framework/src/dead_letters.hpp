// Dead letters: counted per system, and reported so that a user sees the first one of each kind.
//
// The first dead letter of each (receiver type, message type, reason) is logged at warn level,
// at most `warn_per_second` such lines per second per system (the rest wait for debug level and
// are summed into the next warn line); later ones of a kind seen before log at debug level.
#pragma once

#include <troupe/abstract_actor.hpp>
#include <troupe/detail/envelope.hpp>
#include <troupe/time.hpp>

#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

namespace troupe::detail {

class dead_letter_log {
 public:
  static constexpr unsigned warn_per_second = 10;

  /// Counts `e` as a dead letter of `sys` and logs it as described above. `receiver` is null
  /// for a message sent to an empty handle.
  void report(actor_system& sys, const abstract_actor* receiver, const envelope& e, std::string_view why) noexcept;

 private:
  std::mutex m_;
  std::set<std::tuple<std::string, const type_meta*, std::string>> seen_;
  clock::time_point window_{};
  unsigned in_window_ = 0;
  std::size_t suppressed_ = 0;
};

/// dead_letter_log::report on the system's log.
void report_dead_letter(actor_system& sys, const abstract_actor* receiver, const envelope& e,
                        std::string_view why) noexcept;

/// A readable name of an actor's C++ type ("bank::account", "function actor").
std::string actor_type_name(const abstract_actor& a);

}  // namespace troupe::detail
