// actor_base: failing, termination (closing the mailbox, on_exit, abandoning held work,
// telling links and monitors), send_exit.
#include <troupe/actor_base.hpp>
#include <troupe/actor_system.hpp>
#include <troupe/behavior.hpp>

#include "actor_internals.hpp"
#include "actor_registry.hpp"
#include "trace_recorder.hpp"

#include <spdlog/logger.h>

namespace troupe {

using detail::current_scope;
using detail::exception_text;
using detail::make_signal;

void actor_base::fail_with(std::exception_ptr ex) noexcept {
  std::string what = exception_text(ex);
  if (current_ && current_->reply) current_->reply.fail(error(errc::handler_exception, what));
  system().logger().error("actor#{} terminated by an exception in a handler: {}", id(), what);
  quit(exit_reason::exception(std::move(what)));
}

/// Fails every request the actor still holds with receiver_down and destroys its suspended
/// handler coroutines (the latter also fails theirs, as their reply handles go). Runs as the
/// actor terminates, on its thread, where no coroutine of its is running.
void actor_base::abandon_held_work() noexcept {
  if (extras_) {
    auto held = std::move(extras_->held_replies);
    for (auto& s : held) s->fail(error(errc::receiver_down, "the actor holding the request terminated"));
  }
  while (detail::task_promise_base* p = extras_ ? extras_->live_tasks : nullptr) {
    extras_->live_tasks = p->live_next;
    p->live_prev = p->live_next = nullptr;
    if (p->exclusive) --extras_->exclusive_tasks;
    p->root.destroy();  // never resumed: its frame, the tasks it awaits and its locals go now
  }
}

void actor_base::terminate() noexcept {
  state_ = run_state::dead;
  const exit_reason reason = extras_ && extras_->reason ? *extras_->reason : exit_reason();
  // Close first: from here on every new envelope bounces at the sender (seeing `reason`).
  detail::envelope* rest = mailbox_.close();
  if (extras_) {  // stashed (oldest), then held back, then the mailbox's rest
    detail::envelope_queue all;
    for (detail::envelope* e = rest; e;) all.push_back(std::exchange(e, e->next));
    all.splice_front(extras_->front);
    all.splice_front(extras_->stash);
    rest = all.release();
  }
  while (rest) bounce(std::exchange(rest, rest->next));
  {
    current_scope scope(this);
    try {
      on_exit(reason);
      if (extras_ && extras_->exit_handler) extras_->exit_handler(reason);
    } catch (const std::exception& ex) {
      system().logger().error("actor#{}: on_exit threw: {}", id(), ex.what());
    } catch (...) {
      system().logger().error("actor#{}: on_exit threw", id());
    }
    abandon_held_work();
  }
  behavior_.reset();
  if (extras_) {
    auto& x = *extras_;
    x.retired.clear();
    detail::stop_idle_timer(x);
    x.idle_fn.reset();
    x.exit_handler.reset();
    try {
      for (auto& l : x.links)
        if (auto* a = l.address()) detail::system_access::enqueue(*a, make_signal(detail::envelope_kind::exit_signal, exit_msg{handle(), reason}, handle()));
      for (auto& m : x.monitors)
        if (auto* a = m.address()) detail::system_access::enqueue(*a, make_signal(detail::envelope_kind::down_signal, down_msg{handle(), reason}, handle()));
    } catch (...) {
      system().logger().error("actor#{}: out of memory telling links and monitors of its exit", id());
    }
    x.links.clear();
    x.monitors.clear();
  }
#if TROUPE_TRACE_HOOKS
  if (detail::tracing())
    if (detail::trace_recorder* t = detail::system_access::tracer(system())) t->record_exit(*this, reason);
#endif
  detail::system_access::registry(system()).remove(*this);
}

}  // namespace troupe
