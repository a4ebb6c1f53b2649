// task_group: a scope for the work a handler starts (Trio's nursery, asyncio's TaskGroup, a
// P2300 async scope), so that nothing it started outlives it by accident.
//
//   [&self](fan_out f) -> troupe::task<int> {
//     troupe::task_group g;
//     int total = 0;
//     for (auto& w : f.workers)
//       g.add(self.request<int>(w, job{f.n}), [&total](int v) { total += v; });
//     if (auto done = co_await g.join(); !done) co_return done.error();
//     co_return total;
//   }
//
// add(future) puts a piece of work (a request, a delay, a when_all...) in the group, optionally
// with a callback for its result: `f(T)` runs only on success, `f(result<T>)` on any outcome.
// Callbacks run on the actor, as continuations do, never concurrently with its handlers, and
// never once the group is gone: capturing the coroutine's locals by reference is safe.
//
// join() is a future that completes when everything added has completed and its callback has
// run: successfully, or with the first failure. The first failure cancels everything else in
// the group (TaskGroup's rule), so join() does not wait for work whose result no longer
// matters. Cancelling join() (or the handler coroutine awaiting it) cancels the group; so does
// cancel(). A group destroyed before its work finished (an exception, a co_return without
// join) cancels that work: the receivers are told and drop it or stop, and its callbacks never
// run. More work may be added while join() is pending; join() may be called again (each join
// completes when the group next has nothing pending). A group that failed or was cancelled
// stays so: work added later is cancelled at once, and join() fails with the same error.
//
// A task_group belongs to the actor that makes it (construct it in a handler, a coroutine
// handler or a continuation: std::logic_error elsewhere) and is used only there.
#pragma once

#include <troupe/actor.hpp>
#include <troupe/future.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace troupe {

namespace detail {
/// What a task_group shares with the continuations of its work (touched on its actor only).
struct group_core {
  std::vector<intrusive_ptr<future_state_base>> work;  // what cancel() cancels
  std::size_t sweep_at = 16;
  std::size_t pending = 0;
  bool alive = true;      // the task_group object still exists
  bool cancelled = false;
  std::optional<error> first_error;
  std::vector<state_ptr<void>> joins;  // the pending join()s

  void cancel_all() noexcept {
    cancelled = true;
    for (auto& w : work) w->cancel(cancel_kind::tree);
  }
  void finish_one(const error* failed) noexcept {
    if (failed && !first_error && !(cancelled && *failed == errc::cancelled)) {
      first_error = *failed;
      cancel_all();  // the rest no longer matters
    }
    if (--pending == 0) complete_join();
  }
  void complete_join() noexcept {
    for (auto& j : std::exchange(joins, {})) {
      if (first_error)
        j->fail(*first_error);
      else if (cancelled)
        j->fail(error(errc::cancelled, "the task group was cancelled"));
      else
        j->set_value(unit{});
    }
  }
};
/// Cancels a group from its join() future: on the group's actor (posted there from elsewhere).
void cancel_group_on_actor(const weak_actor& owner, std::weak_ptr<group_core> core) noexcept;
/// The actor a task_group made now belongs to; throws std::logic_error outside any actor.
weak_actor group_owner();
}  // namespace detail

class task_group {
 public:
  task_group() : owner_(detail::group_owner()), core_(std::make_shared<detail::group_core>()) {}
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;
  /// Cancels whatever is still running; its callbacks never run.
  ~task_group() {
    core_->alive = false;
    if (core_->pending) core_->cancel_all();
  }

  /// Adds `f` to the group.
  template <class T>
  void add(future<T> f) {
    add(std::move(f), [](const result<T>&) {});
  }
  /// Adds `f`; `on_result` runs on the actor with its value (only on success) or its
  /// result<T> (always), unless the group is gone by then.
  template <class T, class F>
  void add(future<T> f, F on_result) {
    auto core = core_;
    future<void> tracked = std::move(f).then([core, fn = std::move(on_result)](result<T> r) mutable {
      if (core->alive) {
        if constexpr (std::is_invocable_v<F&, result<T>>) {
          fn(result<T>(r));
        } else if (r) {
          if constexpr (std::is_void_v<T>)
            fn();
          else
            fn(std::move(*r));
        }
      }
      core->finish_one(r ? nullptr : &r.error());
    });
    ++core->pending;  // (after then(), which may throw: then nothing was added)
    auto st = std::move(tracked).release_state();
    auto& work = core->work;
    if (work.size() >= core->sweep_at) {
      std::erase_if(work, [](const auto& w) { return w->completed(); });
      core->sweep_at = std::max<std::size_t>(16, 2 * work.size());
    }
    work.emplace_back(std::move(st));
    if (core->cancelled) work.back()->cancel(detail::cancel_kind::tree);  // added to a cancelled group
  }

  /// Completes once everything added so far has completed (see the header comment).
  [[nodiscard]] future<void> join() {
    auto st = detail::make_state<void>();
    st->watch(detail::make_intrusive<canceller>(owner_, core_));
    core_->joins.push_back(st);
    if (core_->pending == 0) core_->complete_join();
    return future<void>(std::move(st));
  }

  /// Cancels everything in the group (a pending join() then fails with errc::cancelled, or with
  /// the first real failure if there was one).
  void cancel() noexcept { core_->cancel_all(); }

  /// How many added futures have not completed yet.
  std::size_t pending() const noexcept { return core_->pending; }

 private:
  struct canceller final : detail::cancellable {
    canceller(weak_actor o, const std::shared_ptr<detail::group_core>& c) : owner(std::move(o)), core(c) {}
    weak_actor owner;
    std::weak_ptr<detail::group_core> core;
    void cancel(detail::cancel_kind) noexcept override { detail::cancel_group_on_actor(owner, core); }
  };

  weak_actor owner_;
  std::shared_ptr<detail::group_core> core_;
};

}  // namespace troupe
