#include "dead_letters.hpp"

#include <troupe/actor_system.hpp>

#include "actor_internals.hpp"
#include "runtime_thread.hpp"
#include "trace_recorder.hpp"

#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <typeinfo>

namespace troupe::detail {

std::string actor_type_name(const abstract_actor& a) {
  const char* mangled = typeid(a).name();
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  std::string name = status == 0 && d ? d.get() : mangled;
  // Function-based actors: the wrapper's name says nothing a user wrote; the function's type does.
  constexpr std::string_view wrapper = "troupe::detail::function_actor<";
  if (name.starts_with(wrapper)) name = "function actor " + name.substr(wrapper.size() - 1);
  return name;
}

void dead_letter_log::report(actor_system& sys, const abstract_actor* receiver, const envelope& e,
                             std::string_view why) noexcept {
  system_access::count_dead_letter(sys);
  const bool warn = sys.should_log(log_level::warn);
  const bool debug = sys.should_log(log_level::debug);
  if (!warn && !debug) return;
  try {
    const std::string_view type = e.type ? e.type->name : std::string_view("?");
    std::string receiver_type = receiver ? actor_type_name(*receiver) : std::string("(empty handle)");
    std::size_t suppressed = 0;
    bool first = false;
    if (warn) {
      std::lock_guard lock(m_);
      if (seen_.emplace(receiver_type, e.type, std::string(why)).second) {
        const auto now = clock::now();
        if (now - window_ >= std::chrono::seconds(1)) {
          window_ = now;
          in_window_ = 0;
        }
        if (in_window_ < warn_per_second) {
          ++in_window_;
          first = true;
          suppressed = std::exchange(suppressed_, 0);
        } else {
          ++suppressed_;
        }
      }
    }
    const std::string to = receiver ? "actor#" + std::to_string(receiver->id()) + " (" + receiver_type + ")"
                                    : std::string("an empty handle");
    if (first) {
      sys.logger().warn(
          "dead letter: a {} sent to {}: {}. Further dead letters of this kind are logged at debug level{}{}",
          type, to, why,
          why == "no handler takes it" ? " (self.set_default_handler(...) handles unmatched messages)" : "",
          suppressed ? " (" + std::to_string(suppressed) + " other first dead letters were only logged at debug level)"
                     : std::string());
    } else if (debug) {
      sys.logger().debug("dead letter: a {} sent to {}: {}", type, to, why);
    }
  } catch (...) {  // out of memory or a failing sink: the letter is counted, the line is lost
  }
}

void report_unobserved_failure(const error& e) noexcept {
  try {
    actor_system* sys = tls_current ? &tls_current->system() : runtime_system();
#if TROUPE_TRACE_HOOKS
    if (trace_recorder* t = sys ? trace_recorder::of(*sys) : nullptr)
      t->record_unobserved(static_cast<std::uint32_t>(e.code()), e.message());
#endif
    const std::string text = "a future failed with \"" + e.message() +
                             "\" and was dropped without anyone looking at its result: consume futures (then, "
                             "co_await, get) to handle their errors";
    if (sys)
      sys->logger().warn(text);
    else
      spdlog::warn("troupe: " + text);
  } catch (...) {  // out of memory or a failing sink: the line is lost
  }
}

}  // namespace troupe::detail
