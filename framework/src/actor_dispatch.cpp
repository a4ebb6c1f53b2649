// actor_base: start-up, activation (resume), dispatch to the behavior, dead letters.
#include <troupe/actor_base.hpp>
#include <troupe/actor_system.hpp>
#include <troupe/behavior.hpp>

#include "actor_internals.hpp"
#include "dead_letters.hpp"
#include "actor_registry.hpp"

#include <troupe/detail/activation.hpp>

#include <spdlog/logger.h>

#include <vector>

namespace troupe {

using detail::current_scope;

namespace {

using flush_list = std::vector<std::shared_ptr<detail::deferred_flush>>;
thread_local flush_list* tls_flushes = nullptr;

/// One activation: what it deferred (defer_to_activation_end) is flushed when it ends.
class activation_scope {
 public:
  activation_scope() noexcept : prev_(std::exchange(tls_flushes, &mine_)) {}
  ~activation_scope() {
    tls_flushes = prev_;
    for (auto& f : mine_) f->flush();
  }
  activation_scope(const activation_scope&) = delete;
  activation_scope& operator=(const activation_scope&) = delete;

 private:
  flush_list mine_;
  flush_list* prev_;
};

}  // namespace

bool detail::defer_to_activation_end(std::shared_ptr<deferred_flush> f) noexcept {
  if (!tls_flushes) return false;
  try {
    tls_flushes->push_back(std::move(f));
    return true;
  } catch (...) {
    return false;  // out of memory: the caller flushes now
  }
}

void actor_base::initialize() {
  {
    current_scope scope(this);
    try {
      behavior_ = make_behavior().release();
      on_start();
    } catch (...) {
      state_ = run_state::quitting;
      terminate();
      throw;
    }
  }
  // The mailbox started busy with this thread as its consumer: go idle, or, if messages
  // arrived during make_behavior, hand the actor to the scheduler.
  if (!mailbox_.try_block()) {
    ref_for_scheduler();
    detail::system_access::sched(system()).schedule(this);
  }
}

void actor_base::refuse_start() noexcept {
  state_ = run_state::dead;
  try {
    extras().reason = exit_reason::shutdown();
  } catch (...) {  // out of memory: it still never starts, with a normal reason
  }
  detail::envelope* rest = mailbox_.close();
  while (rest) bounce(std::exchange(rest, rest->next));
  detail::system_access::registry(system()).remove(*this);
}

resumable::resume_result actor_base::resume(std::size_t max_messages) noexcept {
  if (state_ == run_state::dead) return resume_result::done;
  activation_scope activation;  // (declared first: flushes after the current actor is reset)
  current_scope scope(this);
  for (std::size_t n = 0; n < max_messages; ++n) {
    detail::envelope* e = next_envelope();
    if (!e) {
      if (mailbox_.try_block()) return resume_result::done;
      --n;  // more arrived meanwhile; that was not a message
      continue;
    }
    dispatch(e);
    if (state_ != run_state::running) {
      terminate();
      return resume_result::done;
    }
  }
  // Budget used up: go idle if that was all, so the actor is not queued again for nothing.
  if (!front_ready() && mailbox_.try_block()) return resume_result::done;
  return resume_result::resume_later;
}

void actor_base::dispatch(detail::envelope* e) noexcept {
  using detail::envelope_kind;
  switch (e->kind) {
    case envelope_kind::message:
      if (holding_back()) {
        if (e->reply && closes_wait_cycle(*e)) break;  // failed with errc::deadlock
        try {
          hold_back(e);  // in order, until the sequential coroutines finish
          return;
        } catch (...) {
          // Out of memory for the extras: handle the message now rather than lose it.
        }
      }
      if (e->counted) queued_.fetch_sub(1, std::memory_order_relaxed);
      if (extras_ && extras_->idle_fn) extras_->last_activity = system().timers().now();
      current_ = e;
      try {
        dispatch_message(*e);
      } catch (...) {
        fail_with(std::current_exception());
      }
      current_ = nullptr;
      clear_retired();
      break;
    case envelope_kind::continuation:
      try {
        static_cast<detail::continuation_envelope*>(e)->fn();
      } catch (...) {
        fail_with(std::current_exception());
      }
      break;
    case envelope_kind::resume: {
      auto* r = static_cast<detail::resume_envelope*>(e);
      detail::task_promise_base* prev = r->task ? detail::set_running_task(*this, r->task) : nullptr;
      r->run();  // coroutines capture their own exceptions
      if (r->task) detail::set_running_task(*this, prev);
      clear_retired();
      break;
    }
    case envelope_kind::unreferenced:
      if (strong_count() == 0) quit();
      break;
    case envelope_kind::shutdown:
      quit(exit_reason::shutdown());
      break;
    default:
      try {
        handle_signal(*e);
      } catch (...) {
        fail_with(std::current_exception());
      }
      break;
  }
  if (std::exchange(adopted_, false)) return;  // a handler coroutine keeps it (and deletes it)
  delete e;
}

void actor_base::dispatch_message(detail::envelope& e) {
  if (behavior_ && behavior_->invoke(*this, e)) return;
  if (extras_ && extras_->default_handler && e.kind == detail::envelope_kind::message) {
    extras_->default_handler(unmatched_message{e.type, e.sender, static_cast<bool>(e.reply)});
    if (adopted_) return;  // stashed
    if (e.reply) e.reply.fail(error(errc::unhandled_message, std::string(e.type ? e.type->name : "?")));
    return;
  }
  if (e.reply) {
    e.reply.fail(error(errc::unhandled_message, std::string(e.type ? e.type->name : "?")));
  } else {
    detail::report_dead_letter(system(), this, e, "no handler takes it");
  }
}

void actor_base::set_default_handler(detail::unique_function<void(const unmatched_message&)> fn) {
  extras().default_handler = std::move(fn);
}

/// A request arriving while a sequential coroutine holds ordinary messages back: if its wait
/// chain passes through one of this actor's suspended sequential coroutines, that coroutine
/// (transitively) waits for this very request, which it would hold back forever. Fails it with
/// errc::deadlock, naming the actors in the cycle.
bool actor_base::closes_wait_cycle(detail::envelope& e) {
  detail::reply_sink* s = e.reply.sink();
  if (!s || !s->chain) return false;
  std::vector<const detail::call_link*> path;  // newest first: the requester, ..., this actor
  for (const detail::call_link* l = s->chain.get(); l; l = l->parent.get()) {
    path.push_back(l);
    if (l->id != id() || l->node != node() || l->task == 0) continue;
    bool waiting = false;
    for (auto* p = extras_->live_tasks; p && !waiting; p = p->live_next)
      waiting = p->serial == l->task && (p->exclusive || await_mode_ == await_mode::sequential);
    if (!waiting) continue;
    std::string cycle;
    for (auto it = path.rbegin(); it != path.rend(); ++it) cycle += "actor#" + std::to_string((*it)->id) + " -> ";
    cycle += "actor#" + std::to_string(id());
    e.reply.fail(error(errc::deadlock, "wait cycle " + cycle + ": a sequential coroutine of actor#" +
                                           std::to_string(id()) +
                                           " waits on this request and holds it back until it finishes"));
    return true;
  }
  return false;
}

}  // namespace troupe
