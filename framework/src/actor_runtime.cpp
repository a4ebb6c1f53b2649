// actor_base: the glue the public headers call into (current actor, continuations, coroutine
// bookkeeping, held replies, the spawn scope), construction, become and quit.
#include <troupe/actor_base.hpp>
#include <troupe/actor_system.hpp>
#include <troupe/behavior.hpp>
#include <troupe/task_group.hpp>

#include "actor_internals.hpp"
#include "dead_letters.hpp"
#include "runtime_thread.hpp"

#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

namespace troupe {

using detail::current_scope;
using detail::tls_current;
using detail::exception_text;
using detail::make_signal;

namespace {
thread_local actor_system* tls_spawn_sys = nullptr;
thread_local actor_id tls_spawn_id = 0;
}  // namespace

namespace detail {

std::string exception_text(std::exception_ptr ex) {
  try {
    std::rethrow_exception(ex);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}


actor_base* current_actor() noexcept { return tls_current; }
actor handle_of(actor_base* self) noexcept { return self->handle(); }

namespace {
/// Work the actor sends itself: the envelope keeps a strong reference to it while queued.
void post_to_self(actor target, envelope* e) noexcept {
  abstract_actor* to = target.get();
  e->sender = std::move(target);
  if (to)
    detail::system_access::enqueue(*to, e);
  else
    delete e;
}
}  // namespace

void post_continuation(actor target, continuation_envelope* e) noexcept { post_to_self(std::move(target), e); }

void post_resume(actor target, std::coroutine_handle<> h, std::coroutine_handle<> root, task_promise_base* task) {
  post_to_self(std::move(target), new resume_envelope(h, root, task));
}

envelope* adopt_current_envelope(actor_base& self) noexcept {
  self.adopted_ = true;
  return self.current_;
}

void hold_reply(actor_base& self, const reply_handle& reply) {
  reply_sink* s = reply.sink();
  if (!s) return;
  auto& x = self.extras();
  auto& held = x.held_replies;
  if (held.size() >= x.sweep_at) {
    std::erase_if(held, [](const intrusive_ptr<reply_sink>& h) { return h->completed(); });
    x.sweep_at = std::max<std::size_t>(16, 2 * held.size());
  }
  s->add_ref();
  held.emplace_back(s, adopt_ref);
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

bool blocking_forbidden() noexcept { return tls_current || on_runtime_thread(); }

void report_blocking_get() noexcept {
  if (actor_base* self = tls_current) {
    self->system().logger().error(
        "future::get() called inside {}: it would block a worker thread; use then() or co_await "
        "(returning errc::blocking_in_actor)",
        self->handle().to_string());
  } else {
    spdlog::error(
        "troupe: future::get() called on a runtime thread (a worker, the timer thread, or a "
        "continuation they run): it would stall the runtime; use then() (returning "
        "errc::blocking_in_actor)");
  }
}

void fail_request_to_nobody(future_state_base& st) {
  st.fail(error(errc::receiver_down, "request to an empty actor handle"));
}

void dead_letter_to_nobody(envelope* e) noexcept {
  if (e->kind == envelope_kind::message && !e->reply) {
    // Counted in the sender's system (or the current actor's); a send from outside any actor
    // to an empty handle has no system to count in.
    actor_system* sys = e->sender ? &e->sender->system() : tls_current ? &tls_current->system() : nullptr;
    if (sys)
      report_dead_letter(*sys, nullptr, *e, "the handle is empty");
    else
      spdlog::debug("troupe: dead letter: a {} sent to an empty handle from outside any actor",
                    e->type ? e->type->name : "?");
  }
  delete e;  // a request's reply handle fails with receiver_down as the envelope goes
}

void task_started(actor_base& self, task_promise_base& p) {
  auto& x = self.extras();
  p.serial = x.next_task_serial++;
  if (p.exclusive) ++x.exclusive_tasks;
  auto& head = x.live_tasks;
  p.live_prev = nullptr;
  p.live_next = head;
  if (head) head->live_prev = &p;
  head = &p;
}

void task_finished(actor_base& self, task_promise_base& p, std::exception_ptr ex) noexcept {
  if (p.live_prev)
    p.live_prev->live_next = p.live_next;
  else
    self.extras_->live_tasks = p.live_next;
  if (p.live_next) p.live_next->live_prev = p.live_prev;
  if (p.exclusive) --self.extras_->exclusive_tasks;
  p.live_prev = p.live_next = nullptr;
  if (ex) self.fail_with(std::move(ex));
}

void system_access::initialize(actor_base& a) { a.initialize(); }
resumable* system_access::as_resumable(actor_base& a) noexcept { return &a; }
void system_access::refuse_start(actor_base& a) noexcept { a.refuse_start(); }

task_promise_base* set_running_task(actor_base& self, task_promise_base* p) noexcept {
  if (!self.extras_) return nullptr;  // (task_started created them for any real task)
  return std::exchange(self.extras_->running_task, p);
}

duration join_request_tree(actor_base& self, future_state_base& s, duration timeout, bool detached) {
  // (Written for the common case, a request served with no deadline and no wait chain: it
  // reads as little as it can before finding there is nothing to do; measured with callgrind.)
  task_promise_base* p = self.extras_ ? self.extras_->running_task : nullptr;
  reply_sink* served = nullptr;  // the request being served, if any
  if (p)
    served = p->reply.sink();
  else if (self.current_)
    served = self.current_->reply.sink();
  if (served && !detached) {
    if ((p && p->cancelled) || served->cancelled()) [[unlikely]] {
      s.fail(error(errc::cancelled, "made by a handler whose request was cancelled"));
      return duration::min();
    }
    const time_point deadline = p ? p->served_deadline : served->deadline();
    if (deadline != time_point::max()) {
      // Inherit what is left of the served request's time (gRPC's deadline propagation).
      if (timeout == default_timeout) timeout = default_request_timeout(self.system());
      const time_point now = self.system().timers().now();
      if (deadline <= now) {
        s.fail(error(errc::timeout, "the deadline of the request being served has passed"));
        return duration::min();
      }
      timeout = std::min(timeout, deadline - now);
    }
  }
  // The wait chain, for deadlock detection, where a cycle can matter (else it costs nothing).
  if (served && served->chain) {
    s.chain = make_intrusive<call_link>(self.id(), self.node(), p ? p->serial : 0, served->chain);
  } else if (p && (p->exclusive || self.await_mode_ == await_mode::sequential)) {
    s.chain = make_intrusive<call_link>(self.id(), self.node(), p->serial, nullptr);
  }
  return timeout;
}

void cancel_task(task_promise_base& p) noexcept;

namespace {
/// Runs `fn` on `target`, through its mailbox, if it is still alive (what a watcher told on any
/// thread does with what belongs to an actor). Out of memory: `fn` does not run.
template <class F>
void run_on(const weak_actor& target, F&& fn) noexcept {
  actor a = target.lock();
  if (!a) return;
  try {
    post_continuation(std::move(a), new continuation_envelope(std::forward<F>(fn)));
  } catch (...) {
  }
}

/// Registered on the request a handler coroutine serves: if the requester stops waiting, the
/// coroutine is cancelled, on its actor.
struct task_watcher final : cancellable {
  task_watcher(weak_actor a, task_promise_base* t) noexcept : target(std::move(a)), task(t) {}
  weak_actor target;
  task_promise_base* task;  // touched on the actor only; null once the coroutine is gone

  void cancel(cancel_kind) noexcept override {
    // (Out of memory: the coroutine runs on; its answer is ignored.)
    run_on(target, [w = intrusive_ptr<task_watcher>(this)] {
      if (w->task) cancel_task(*w->task);
    });
  }
};

/// Registered by response_promise::on_cancel: runs the callback on the actor.
struct promise_watcher final : cancellable {
  promise_watcher(weak_actor a, unique_function<void()> f) : target(std::move(a)), fn(std::move(f)) {}
  weak_actor target;
  unique_function<void()> fn;  // moved out on the actor when it runs

  void cancel(cancel_kind) noexcept override {
    run_on(target, [w = intrusive_ptr<promise_watcher>(this)] {
      if (auto f = std::move(w->fn)) f();
    });
  }
};
}  // namespace

void on_request_cancelled(const reply_handle& reply, unique_function<void()> fn) {
  actor_base* self = tls_current;
  reply_sink* s = reply.sink();
  if (!self || !s) return;
  intrusive_ptr<promise_watcher> w(new promise_watcher(weak_actor(self->handle()), std::move(fn)), adopt_ref);
  if (!s->watch(w)) w->cancel(cancel_kind::tree);  // already cancelled: runs soon
}

weak_actor group_owner() {
  if (!tls_current) throw std::logic_error("troupe::task_group: make it on an actor (in a handler or a coroutine handler)");
  return weak_actor(tls_current->handle());
}

void cancel_group_on_actor(const weak_actor& owner, std::weak_ptr<group_core> core) noexcept {
  if (tls_current && tls_current == owner.address()) {
    if (auto c = core.lock()) c->cancel_all();
    return;
  }
  run_on(owner, [core = std::move(core)] {
    if (auto c = core.lock()) c->cancel_all();
  });
}

void cancel_task(task_promise_base& p) noexcept {
  if (p.cancelled) return;
  p.cancelled = true;
  if (p.awaiting) p.awaiting->cancel(cancel_kind::tree);
}

void watch_served_request(task_promise_base& task) noexcept {
  reply_sink* served = task.reply.sink();
  if (task.watcher || !task.self || !served) return;
  task_watcher* w = nullptr;
  try {
    w = new task_watcher(weak_actor(task.self->handle()), &task);
  } catch (...) {
    return;  // out of memory: this coroutine cannot be cancelled
  }
  task.watcher = w;  // (the promise's reference)
  w->add_ref();
  if (!served->watch(intrusive_ptr<cancellable>(w, adopt_ref))) cancel_task(task);  // already cancelled
}

void task_watcher_gone(task_promise_base& p) noexcept {
  auto* w = static_cast<task_watcher*>(std::exchange(p.watcher, nullptr));
  w->task = nullptr;
  if (reply_sink* s = p.reply.sink()) s->unwatch(w);
  w->release();
}

void task_frame_ref(actor_base& self) noexcept { system_access::weak_ref(self); }
void task_frame_unref(actor_base& self) noexcept { system_access::weak_release(self); }

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

actor_base::~actor_base() = default;

behavior actor_base::make_behavior() { return {}; }

bool actor_base::has_live_tasks() const noexcept { return extras_ && extras_->live_tasks; }

detail::lifecycle_extras& actor_base::extras() {
  if (!extras_) extras_ = std::make_unique<detail::lifecycle_extras>();
  return *extras_;
}

detail::reply_sink* actor_base::served_request() const noexcept {
  if (detail::task_promise_base* p = extras_ ? extras_->running_task : nullptr) return p->reply.sink();
  return current_ ? current_->reply.sink() : nullptr;
}

bool actor_base::cancellation_requested() const noexcept {
  detail::task_promise_base* p = extras_ ? extras_->running_task : nullptr;
  if (p && p->cancelled) return true;
  detail::reply_sink* s = served_request();
  return s && s->cancelled();
}

time_point actor_base::request_deadline() const noexcept {
  const detail::reply_sink* s = served_request();
  return s ? s->deadline() : time_point::max();
}

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
  if (current_ || has_live_tasks())
    extras().retired.push_back(std::move(behavior_));  // may still be running
  behavior_ = std::move(next);
}

void actor_base::clear_retired() noexcept {
  if (extras_ && !extras_->live_tasks) extras_->retired.clear();
}

void actor_base::quit(exit_reason reason) noexcept {
  if (state_ != run_state::running) return;
  state_ = run_state::quitting;
  if (!reason.is_normal()) {
    try {
      extras().reason = std::move(reason);
    } catch (...) {  // out of memory: the actor still quits, with a normal reason
    }
  }
}

// -- free functions -----------------------------------------------------------------------------------

void send_exit(const actor& target, exit_reason reason) {
  if (!target) return;
  actor sender = tls_current ? tls_current->handle() : actor();
  const auto kind = reason.code() == exit_code::kill ? detail::envelope_kind::kill : detail::envelope_kind::exit_signal;
  detail::system_access::enqueue(*target.get(), make_signal(kind, exit_msg{sender, std::move(reason)}, sender));
}

}  // namespace troupe
