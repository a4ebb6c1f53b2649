// The local actor runtime: enqueue, activation (resume), dispatch, termination.
//
// One activation (resume) runs on one worker and processes up to the message budget. Only the
// thread that won the mailbox's idle-to-busy transition runs it, so the actor's fields below
// (behavior_, current_, stash, active_tasks_, state_) are touched by one thread at a time; the
// scheduler's queue hand-offs order one activation before the next.
#include <troupe/actor_base.hpp>
#include <troupe/actor_system.hpp>
#include <troupe/behavior.hpp>

#include "actor_registry.hpp"

#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace troupe {
namespace {

thread_local actor_base* tls_current = nullptr;
thread_local actor_system* tls_spawn_sys = nullptr;
thread_local actor_id tls_spawn_id = 0;

/// Sets the current actor for a scope (activations and initialisation nest: spawn inside a
/// handler initialises the child on the same thread).
class current_scope {
 public:
  explicit current_scope(actor_base* a) noexcept : prev_(std::exchange(tls_current, a)) {}
  ~current_scope() { tls_current = prev_; }
  current_scope(const current_scope&) = delete;
  current_scope& operator=(const current_scope&) = delete;

 private:
  actor_base* prev_;
};

std::string exception_text(std::exception_ptr ex) {
  try {
    std::rethrow_exception(ex);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

/// What happens to an envelope its receiver cannot take.
void bounce(actor_system& sys, detail::envelope* e, const actor_base& receiver) noexcept {
  if (e->kind == detail::envelope_kind::message) {
    if (e->reply) {
      e->reply.fail(error(errc::receiver_down));
    } else {
      sys.count_dead_letter();
      sys.logger().debug("dead letter: {} to actor#{} (not alive)", e->type ? e->type->name : "?",
                         receiver.id());
    }
  }
  delete e;  // continuations are dropped; a resume envelope destroys its coroutine chain
}

}  // namespace

namespace detail {

actor_base* current_actor() noexcept { return tls_current; }
actor handle_of(actor_base* self) noexcept { return self->handle(); }

void post_continuation(const actor& target, unique_function<void()> fn) {
  deliver_to(target, new continuation_envelope(std::move(fn)));
}

void post_resume(const actor& target, std::coroutine_handle<> h, std::coroutine_handle<> root) {
  deliver_to(target, new resume_envelope(h, root));
}

void run_detached(unique_function<void()>& fn) noexcept {
  current_scope none(nullptr);
  try {
    fn();
  } catch (const std::exception& e) {
    spdlog::error("troupe: a continuation attached outside any actor threw: {}", e.what());
  } catch (...) {
    spdlog::error("troupe: a continuation attached outside any actor threw");
  }
}

void report_blocking_get() noexcept {
  if (actor_base* self = tls_current) {
    self->system().logger().error(
        "future::get() called inside {}: it would block a worker thread; use then() or co_await "
        "(returning errc::blocking_in_actor)",
        self->handle().to_string());
  }
}

void dead_letter_to_nobody(envelope* e) noexcept {
  if (e->kind == envelope_kind::message && !e->reply)
    spdlog::debug("troupe: dead letter: {} sent to an empty handle", e->type ? e->type->name : "?");
  delete e;  // a request's reply handle fails with receiver_down as the envelope goes
}

bool has_terminated(const abstract_actor* a) noexcept {
  return static_cast<const actor_base*>(a)->terminated();
}

void task_started(actor_base& self) noexcept { ++self.active_tasks_; }

void task_finished(actor_base& self, std::exception_ptr ex) noexcept {
  --self.active_tasks_;
  if (ex) self.fail_with(std::move(ex));
}

void task_frame_ref(actor_base& self) noexcept { self.weak_ref(); }
void task_frame_unref(actor_base& self) noexcept { self.weak_release(); }

spawn_scope::spawn_scope(actor_system& sys, actor_id id) noexcept
    : prev_sys_(std::exchange(tls_spawn_sys, &sys)), prev_id_(std::exchange(tls_spawn_id, id)) {}

spawn_scope::~spawn_scope() {
  tls_spawn_sys = prev_sys_;
  tls_spawn_id = prev_id_;
}

}  // namespace detail

namespace {
actor_system* spawning_system() {
  if (!tls_spawn_sys)
    throw std::logic_error("troupe: actors are created with actor_system::spawn, not directly");
  return tls_spawn_sys;
}
}  // namespace

actor_base::actor_base() : abstract_actor(spawning_system(), tls_spawn_id) {
  tls_spawn_sys = nullptr;  // one actor per spawn; nested spawns set it again
}

actor_base::~actor_base() {
  // Normally empty by now (terminate() drained them); an actor destroyed before it ever ran
  // (make_behavior threw) may still hold some.
  while (stash_head_) delete std::exchange(stash_head_, stash_head_->next);
}

behavior actor_base::make_behavior() { return {}; }

const actor& actor_base::current_sender() const noexcept {
  static const actor none;
  return current_ ? current_->sender : none;
}

future<void> actor_base::delay(duration d) {
  auto st = detail::make_state<void>();
  st->arm_delay(system(), d);
  return future<void>(std::move(st));
}

void actor_base::become(behavior b) {
  auto next = std::move(b).release();
  retired_.push_back(std::move(behavior_));
  behavior_ = std::move(next);
  if (!current_ && active_tasks_ == 0) retired_.clear();
}

void actor_base::quit() noexcept {
  if (state_ == run_state::running) state_ = run_state::quitting;
}

void actor_base::initialize() {
  {
    current_scope scope(this);
    try {
      behavior_ = make_behavior().release();
    } catch (...) {
      terminate();
      throw;
    }
  }
  // The mailbox started busy with this thread as its consumer: go idle, or, if messages
  // arrived during make_behavior, hand the actor to the scheduler.
  if (!mailbox_.try_block()) {
    ref_for_scheduler();
    system().sched().schedule(this);
  }
}

bool actor_base::enqueue(detail::envelope* e) noexcept {
  switch (mailbox_.push(e)) {
    case detail::mailbox::push_result::ok:
      return true;
    case detail::mailbox::push_result::unblocked:
      ref_for_scheduler();
      system().sched().schedule(this);
      return true;
    case detail::mailbox::push_result::closed:
      break;
  }
  bounce(system(), e, *this);
  return false;
}

void actor_base::on_unreferenced() const noexcept {
  if (mailbox_.closed_for_good()) return;
  // Still counted in refs_ (the releasing thread holds the collective unit until we return).
  const_cast<actor_base*>(this)->enqueue(new detail::envelope(detail::envelope_kind::unreferenced));
}

detail::envelope* actor_base::next_envelope() noexcept {
  if (stash_head_ && active_tasks_ == 0) {
    detail::envelope* e = stash_head_;
    stash_head_ = e->next;
    if (!stash_head_) stash_tail_ = nullptr;
    e->next = nullptr;
    return e;
  }
  return mailbox_.pop();
}

resumable::resume_result actor_base::resume(std::size_t max_messages) noexcept {
  if (state_ == run_state::dead) return resume_result::done;
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
  return resume_result::resume_later;
}

void actor_base::dispatch(detail::envelope* e) noexcept {
  using detail::envelope_kind;
  switch (e->kind) {
    case envelope_kind::message:
      if (await_mode_ == await_mode::sequential && active_tasks_ > 0) {
        // Held back, in order, until the running coroutines finish.
        e->next = nullptr;
        if (stash_tail_)
          stash_tail_->next = e;
        else
          stash_head_ = e;
        stash_tail_ = e;
        return;
      }
      current_ = e;
      try {
        dispatch_message(*e);
      } catch (...) {
        fail_with(std::current_exception());
      }
      current_ = nullptr;
      if (active_tasks_ == 0) retired_.clear();
      break;
    case envelope_kind::continuation:
      try {
        static_cast<detail::continuation_envelope*>(e)->fn();
      } catch (...) {
        fail_with(std::current_exception());
      }
      break;
    case envelope_kind::resume:
      static_cast<detail::resume_envelope*>(e)->run();  // coroutines capture their own exceptions
      if (active_tasks_ == 0) retired_.clear();
      break;
    case envelope_kind::unreferenced:
      if (strong_count() == 0) quit();
      break;
    case envelope_kind::shutdown:
      quit();
      break;
  }
  delete e;
}

void actor_base::dispatch_message(detail::envelope& e) {
  if (behavior_ && behavior_->invoke(*this, e)) return;
  const std::string_view type = e.type ? e.type->name : std::string_view("?");
  if (e.reply) {
    e.reply.fail(error(errc::unhandled_message, std::string(type)));
  } else {
    system().count_dead_letter();
    system().logger().debug("dead letter: {} unhandled by actor#{}", type, id());
  }
}

void actor_base::fail_with(std::exception_ptr ex) noexcept {
  std::string what = exception_text(ex);
  if (current_ && current_->reply) current_->reply.fail(error(errc::handler_exception, what));
  system().logger().error("{} terminated by an exception in a handler: {}", handle().to_string(), what);
  quit();
}

void actor_base::terminate() noexcept {
  state_ = run_state::dead;
  // Close first: from here on every new envelope bounces at the sender.
  detail::envelope* rest = mailbox_.close();
  if (stash_head_) {
    stash_tail_->next = rest;
    rest = std::exchange(stash_head_, nullptr);
    stash_tail_ = nullptr;
  }
  behavior_.reset();
  retired_.clear();
  while (rest) bounce(system(), std::exchange(rest, rest->next), *this);
  system().registry().remove(*this);
}

}  // namespace troupe
