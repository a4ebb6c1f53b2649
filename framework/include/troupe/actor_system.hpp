// actor_system: owns the workers, the timer thread and every actor spawned in it.
//
//   troupe::actor_system sys;                          // or sys{config}
//   auto a = sys.spawn<my_actor>(ctor_args...);        // class-based: derives from actor_base
//   auto b = sys.spawn([](troupe::actor_base& self) -> troupe::behavior { ... });
//   auto c = sys.spawn([](troupe::actor_base& self, int x) -> troupe::behavior { ... }, 42);
//
// spawn runs the actor's make_behavior (or the function) on the calling thread, before it
// returns the handle; a function returning typed_behavior<Sigs...> gives a typed_actor<Sigs...>.
// On a system that is shutting down or shut down, spawn constructs the actor but never starts
// it (no make_behavior, no hooks) and logs a warning: the handle is a dead actor's, so sends to
// it are dead letters and requests fail at once with errc::receiver_down.
// The destructor shuts the system down: every actor is told to quit (pending requests fail with
// errc::receiver_down), the destructor waits until all have quit, then stops the timer thread
// (pending delays and timeouts fail with errc::cancelled) and joins the workers. Do not
// destroy a system from one of its own actors.
//
// Thread safety: every member function may be called from any thread.
#pragma once

#include <troupe/actor.hpp>
#include <troupe/actor_base.hpp>
#include <troupe/actor_system_config.hpp>
#include <troupe/behavior.hpp>
#include <troupe/detail/system_access.hpp>
#include <troupe/log.hpp>
#include <troupe/timer_service.hpp>
#include <troupe/typed_actor.hpp>

#include <atomic>
#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace troupe {

class scheduler;

class timer_service;

namespace detail {
class actor_registry;
class blocking_pool;
class dead_letter_log;
class trace_recorder;
class inspector_model;
class inspector_server;

/// Hands the system and actor id to the actor_base constructor of the actor being spawned.
/// Nests: spawning from inside an actor's constructor works.
struct spawn_scope {
  spawn_scope(actor_system& sys, actor_id id) noexcept;
  ~spawn_scope();
  spawn_scope(const spawn_scope&) = delete;
  spawn_scope& operator=(const spawn_scope&) = delete;

 private:
  actor_system* prev_sys_;
  actor_id prev_id_;
};

template <class F, class... Args>
class function_actor final : public actor_base {
 public:
  template <class G, class... A>
  explicit function_actor(G&& g, A&&... a) : fn_(std::forward<G>(g)), args_(std::forward<A>(a)...) {}

 protected:
  behavior make_behavior() override {
    auto b = std::apply([&](auto&... a) { return fn_(static_cast<actor_base&>(*this), std::move(a)...); }, args_);
    if constexpr (std::is_same_v<decltype(b), behavior>)
      return b;
    else
      return std::move(b).unbox();
  }

 private:
  F fn_;
  std::tuple<Args...> args_;
};

template <class B>
struct spawn_result {
  using type = actor;
};
template <class... Sigs>
struct spawn_result<typed_behavior<Sigs...>> {
  using type = typed_actor<Sigs...>;
};

/// The handle spawn<T>() returns: T::interface_type for a typed_actor_base, else actor.
template <class T>
struct class_spawn_result {
  using type = actor;
};
template <class T>
  requires requires { typename T::interface_type; }
struct class_spawn_result<T> {
  using type = typename T::interface_type;
};

}  // namespace detail

class actor_system {
 public:
  explicit actor_system(actor_system_config cfg = {});
  /// Calls shutdown().
  ~actor_system();

  /// Stops every actor (their on_exit hooks run, pending requests fail with receiver_down),
  /// waits until all have quit, fails pending timers and blocking jobs with errc::cancelled,
  /// and joins every thread. Never hangs on actors waiting for each other, for replies or for
  /// timers; only a handler that itself never returns can hold it up. Idempotent; do not call
  /// it from one of the system's own actors.
  void shutdown() noexcept;

  /// Blocks until every actor has quit by itself (without forcing anyone). Actors that keep
  /// each other referenced, or wait forever, never finish: use it for systems whose actors do
  /// finish (unreferenced, quit()), and shutdown() otherwise.
  void await_all_actors_done() noexcept;
  actor_system(const actor_system&) = delete;
  actor_system& operator=(const actor_system&) = delete;

  /// Spawns a class-based actor: `T` derives from actor_base; `args` go to its constructor.
  /// For a typed_actor_base<Sigs...>, the handle is a typed_actor<Sigs...>.
  template <class T, class... Args>
    requires std::derived_from<T, actor_base>
  typename detail::class_spawn_result<T>::type spawn(Args&&... args) {
    actor_id id = next_id();
    T* p;
    {
      detail::spawn_scope scope(*this, id);
      p = new T(std::forward<Args>(args)...);
    }
    return typename detail::class_spawn_result<T>::type(launch(p));
  }

  /// Spawns a function-based actor: `f(self, args...)` returns its behavior (or a
  /// typed_behavior, which makes the result a typed_actor).
  template <class F, class... Args>
    requires(!std::derived_from<std::remove_cvref_t<F>, actor_base> &&
             std::is_invocable_v<std::decay_t<F>&, actor_base&, std::decay_t<Args>&&...>)
  auto spawn(F&& f, Args&&... args) {
    using B = std::invoke_result_t<std::decay_t<F>&, actor_base&, std::decay_t<Args>&&...>;
    using A = detail::function_actor<std::decay_t<F>, std::decay_t<Args>...>;
    actor_id id = next_id();
    A* p;
    {
      detail::spawn_scope scope(*this, id);
      p = new A(std::forward<F>(f), std::forward<Args>(args)...);
    }
    actor h = launch(p);
    if constexpr (std::is_same_v<B, behavior>)
      return h;
    else
      return typename detail::spawn_result<B>::type(std::move(h));
  }

  const actor_system_config& config() const noexcept { return cfg_; }
  node_id node() const noexcept { return node_; }
  /// Messages that reached no handler or no live actor so far.
  std::size_t dead_letters() const noexcept { return dead_letters_.load(std::memory_order_relaxed); }
  /// Requests dropped unrun because their requester had stopped waiting (cancelled or timed
  /// out) by the time their receiver took them from its mailbox.
  std::size_t cancelled_requests_dropped() const noexcept { return cancelled_dropped_.load(std::memory_order_relaxed); }
  /// Actors spawned and not yet quit.
  std::size_t running_actors() const noexcept;
  /// The spdlog logger the system writes to (include <spdlog/logger.h> to use it).
  spdlog::logger& logger() const noexcept { return *logger_; }
  /// Logs `text` at `level` through the system's logger (for code that does not use spdlog).
  void log(log_level level, std::string_view text) const noexcept;
  /// Whether a message at `level` would be written (to skip formatting it otherwise).
  bool should_log(log_level level) const noexcept;

  /// The system's clock and timers (see timer_service.hpp); `timers().now()` is the time
  /// every troupe timeout is measured in (virtual in tests).
  timer_service& timers() noexcept { return *timers_; }

  /// What the trace recorder wrote so far (enabled == false: this system does not trace).
  troupe::trace_stats tracing_stats() const;

  /// Where the inspector serves, with its token ("http://127.0.0.1:PORT/?token=..."): open it
  /// in a browser. Empty when the inspector is off (see actor_system_config::inspect).
  std::string inspector_url() const;

 private:
  friend class detail::system_access;  // sched(), the registry, the dead-letter count

  actor_id next_id() noexcept { return next_id_.fetch_add(1, std::memory_order_relaxed); }
  actor launch(actor_base* a);

  actor_system_config cfg_;
  node_id node_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<detail::actor_registry> registry_;
  std::unique_ptr<detail::dead_letter_log> dead_letter_log_;
  std::unique_ptr<detail::inspector_model> inspector_model_;  // (outlives the recorder that feeds it)
  std::unique_ptr<detail::trace_recorder> tracer_owner_;
  std::atomic<detail::trace_recorder*> tracer_{nullptr};  // while it records
  std::mutex metrics_m_;  // metrics_: added and removed by other layers, read by the inspector
  std::vector<std::pair<const void*, std::function<void(std::string&)>>> metrics_;
  std::unique_ptr<detail::inspector_server> inspector_;  // (stops before the model and metrics_ go)
  std::unique_ptr<timer_service> timers_;
  std::unique_ptr<scheduler> sched_;
  std::unique_ptr<detail::blocking_pool> blocking_;
  std::mutex shutdown_m_;
  bool shut_down_ = false;
  std::atomic<actor_id> next_id_{1};
  std::atomic<std::size_t> dead_letters_{0};
  std::atomic<std::size_t> cancelled_dropped_{0};
};

}  // namespace troupe
