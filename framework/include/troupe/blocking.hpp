// run_blocking: run a blocking call (file or database I/O, a legacy synchronous API, a long
// computation) without stalling a worker.
//
//   auto rows = co_await troupe::run_blocking(self.system(), [q] { return db.query(q); });
//
// The callable runs on the system's blocking pool, a separate set of threads (started on
// demand, at most actor_system_config::blocking_threads, idle ones sleeping); the future
// completes with its return value, or with errc::handler_exception if it throws. Awaited or
// then'd inside an actor, the continuation runs on the actor as usual.
//
// When to use what: a handler must never block, since it holds one of the few workers
// (config.worker_count) that run every actor. Use run_blocking for calls that block or take
// long; keep handlers to short, non-blocking work. The pool has few threads: many concurrent
// blocking jobs queue behind each other (their futures still complete). At shutdown, jobs not
// started yet fail with errc::cancelled; running ones are waited for.
#pragma once

#include <troupe/actor_system.hpp>
#include <troupe/detail/future_state.hpp>
#include <troupe/detail/unique_function.hpp>
#include <troupe/future.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace troupe {

namespace detail {
void submit_blocking(actor_system& sys, unique_function<void(bool run)> job);
}  // namespace detail

template <class F>
[[nodiscard]] auto run_blocking(actor_system& sys, F f) -> future<std::invoke_result_t<F&>> {
  using R = std::invoke_result_t<F&>;
  auto st = detail::make_state<R>();
  detail::submit_blocking(sys, [st, f = std::move(f)](bool run) mutable {
    if (!run) {
      st->fail(error(errc::cancelled, "blocking job dropped at shutdown"));
      return;
    }
    try {
      if constexpr (std::is_void_v<R>) {
        f();
        st->set_value(unit{});
      } else {
        st->set_value(f());
      }
    } catch (const std::exception& e) {
      st->fail(error(errc::handler_exception, e.what()));
    } catch (...) {
      st->fail(error(errc::handler_exception, "unknown exception"));
    }
  });
  return future<R>(std::move(st));
}

}  // namespace troupe
