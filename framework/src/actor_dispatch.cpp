// actor_base: start-up, activation (resume), dispatch to the behavior, dead letters.
#include <troupe/actor_base.hpp>
#include <troupe/actor_system.hpp>
#include <troupe/behavior.hpp>

#include "actor_internals.hpp"
#include "dead_letters.hpp"
#include "actor_registry.hpp"
#include "trace_recorder.hpp"

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
#if TROUPE_TRACE_HOOKS
      if (detail::tracing()) [[unlikely]] {
        // What the actor sends as it terminates (exit and down signals, on_exit's messages) is
        // caused by the run it quit in; its destruction is no run's time.
        detail::trace_context_scope context(detail::tls_last_run_context);
        terminate();
        detail::last_run_end() = 0;
        return resume_result::done;
      }
#endif
      terminate();
      return resume_result::done;
    }
  }
  // Budget used up: go idle if that was all, so the actor is not queued again for nothing.
  if (!front_ready() && mailbox_.try_block()) return resume_result::done;
  return resume_result::resume_later;
}

void actor_base::dispatch(detail::envelope* e) noexcept {
#if TROUPE_TRACE_HOOKS
  if (detail::tracing()) [[unlikely]] {
    if (detail::trace_recorder* t = detail::system_access::tracer(system())) {
      dispatch_traced(*t, e);
      return;
    }
  }
#endif
  dispatch_now(e);
}

#if TROUPE_TRACE_HOOKS
/// One run, recorded: the envelope's stamp and the run's times go into one handled record,
/// written when the run returns; what the run sends is stamped with its id (the context).
void actor_base::dispatch_traced(detail::trace_recorder& rec, detail::envelope* e) noexcept {
  namespace fmt = trace_format;
  fmt::handled_record r{};
  r.h.k = fmt::kind::handled;
  r.h.size = sizeof r;
  // The depth as this actor sees it: what it has taken in from the mailbox and not run yet
  // (counted by the consumer alone, so tracing adds no atomic operation to a send).
  r.depth_left = mailbox_.cached();
  r.h.aux = r.depth_left + (detail::mailbox::is_urgent(*e) ? 0 : 1);
  r.trace = e->trace.trace;
  r.cause = e->trace.cause;
  r.sent = e->trace.sent;
  r.actor = id();
  r.sender = e->sender.id();
  if (e->trace_foreign && e->sender.node() != node()) r.h.flags |= fmt::remote_sender_flag;
  using detail::envelope_kind;
  static_assert(static_cast<int>(envelope_kind::kill) == static_cast<int>(fmt::run_kind::kill) &&
                static_cast<int>(envelope_kind::first_urgent) == static_cast<int>(fmt::run_kind::shutdown) &&
                static_cast<int>(envelope_kind::resume) == static_cast<int>(fmt::run_kind::resume));
  r.ekind = static_cast<std::uint8_t>(e->kind);  // the same numbering
  detail::trace_ring& ring = rec.ring();
  r.id = ring.next_run_id();
  const type_meta* type = nullptr;
  if (e->kind == envelope_kind::message) {
    type = e->type;
    if (e->reply) {
      r.h.flags |= fmt::request_flag;
      if (detail::reply_sink* s = e->reply.sink()) s->trace.request.store(r.id, std::memory_order_relaxed);
    }
  }
  held_ = false;
  const bool was_running = state_ == run_state::running;
  {
    detail::trace_context_scope context({r.id, r.trace, rec.generation()});
    // The run starts where the previous one on this thread ended, if that was after this
    // message arrived (else the thread waited in between: read the clock).
    std::uint64_t& last_end = detail::last_run_end();
    r.start = last_end && last_end >= r.sent ? last_end : detail::trace_ticks();
    dispatch_now(e);  // (may delete e)
    r.end = last_end = detail::trace_ticks();
  }
  detail::tls_last_run_context = {r.id, r.trace, rec.generation()};
  if (was_running && state_ != run_state::running && extras_ && extras_->reason &&
      extras_->reason->code() == exit_code::exception)
    r.h.flags |= fmt::threw_flag;
  if (held_ || !r.trace) return;  // held back: recorded when it runs; or not sampled
  if (ring.type_key(type, r.type))
    ring.put_run(r);
  else
    ring.drop();
}
#endif

void actor_base::dispatch_now(detail::envelope* e) noexcept {
  using detail::envelope_kind;
  switch (e->kind) {
    case envelope_kind::message:
      if (e->reply && e->reply.sink()->cancelled()) [[unlikely]] {
        // Nobody waits for the answer any more (the requester cancelled, or timed out): the
        // request is dropped, counted, not run.
        if (e->counted) queued_.fetch_sub(1, std::memory_order_relaxed);
        detail::system_access::count_cancelled_drop(system());
        break;
      }
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

void actor_base::set_name(std::string name) {
#if TROUPE_TRACE_HOOKS
  if (detail::tracing())
    if (detail::trace_recorder* t = detail::system_access::tracer(system())) t->record_name(*this, name);
#endif
  extras().name = std::move(name);
}

std::string_view actor_base::name() const noexcept { return extras_ ? std::string_view(extras_->name) : std::string_view(); }

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
