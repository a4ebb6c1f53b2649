// The local actor runtime: enqueue, activation (resume), dispatch, termination.
//
// One activation (resume) runs on one worker and processes up to the message budget. Only the
// thread that won the mailbox's idle-to-busy transition runs it, so the actor's fields below
// (behavior_, current_, extras_, state_) are touched by one thread at a time; the
// scheduler's queue hand-offs order one activation before the next.
#include <troupe/actor_base.hpp>
#include <troupe/actor_system.hpp>
#include <troupe/behavior.hpp>

#include "actor_registry.hpp"
#include "runtime_thread.hpp"

#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <vector>

namespace troupe {

namespace detail {

/// The parts of an actor that most actors never use, allocated on first use so that an idle
/// actor stays small.
struct lifecycle_extras {
  std::vector<weak_actor> links;
  std::vector<weak_actor> monitors;  // actors monitoring this one
  unique_function<void(const exit_reason&)> exit_handler;
  std::optional<exit_reason> reason;  // the pending (then final) exit reason, if not normal
  bool trap_exit = false;
  // Idle timeout.
  duration idle_timeout = infinite;
  unique_function<void()> idle_fn;
  time_point last_activity{};
  intrusive_ptr<ref_counted> idle_timer;
  // Ordinary messages held back in await_mode::sequential while coroutines are suspended.
  envelope* stash_head = nullptr;
  envelope* stash_tail = nullptr;
  // Behaviors replaced while a handler (or a coroutine started by one) may still run in them;
  // destroyed once no handler and no handler coroutine is running.
  std::vector<std::unique_ptr<behavior_impl>> retired;
  // Requests this actor answers later (response promises, returned futures): failed with
  // receiver_down if it terminates first. Answered ones are swept out when the list has doubled.
  std::vector<intrusive_ptr<reply_sink>> held_replies;
  std::size_t sweep_at = 16;
  // Running handler coroutines (a list through their promises; see task_promise_base).
  task_promise_base* live_tasks = nullptr;

  ~lifecycle_extras() {
    while (stash_head) delete std::exchange(stash_head, stash_head->next);
  }
};

}  // namespace detail

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

template <class T>
detail::envelope* make_signal(detail::envelope_kind kind, T payload, actor sender) {
  auto* e = new detail::message_envelope<T>(std::move(payload));
  e->kind = kind;
  e->sender = std::move(sender);
  return e;
}

}  // namespace

namespace detail {

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

void post_resume(actor target, std::coroutine_handle<> h, std::coroutine_handle<> root) {
  post_to_self(std::move(target), new resume_envelope(h, root));
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

void dead_letter_to_nobody(envelope* e) noexcept {
  if (e->kind == envelope_kind::message && !e->reply)
    spdlog::debug("troupe: dead letter: {} sent to an empty handle", e->type ? e->type->name : "?");
  delete e;  // a request's reply handle fails with receiver_down as the envelope goes
}

void task_started(actor_base& self, task_promise_base& p) {
  auto& head = self.extras().live_tasks;
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
  p.live_prev = p.live_next = nullptr;
  if (ex) self.fail_with(std::move(ex));
}

actor_base*& system_access::prev(actor_base& a) noexcept { return a.reg_prev_; }
actor_base*& system_access::next(actor_base& a) noexcept { return a.reg_next_; }
void system_access::initialize(actor_base& a) { a.initialize(); }
void system_access::refuse_start(actor_base& a) noexcept { a.refuse_start(); }

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

void actor_base::stash(detail::envelope* e) {
  auto& x = extras();
  e->next = nullptr;
  if (x.stash_tail)
    x.stash_tail->next = e;
  else
    x.stash_head = e;
  x.stash_tail = e;
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

// -- links and monitors ------------------------------------------------------------------------

namespace {
void erase_handle(std::vector<weak_actor>& v, const abstract_actor* a) {
  std::erase_if(v, [a](const weak_actor& w) { return w.address() == a; });
}
bool contains(const std::vector<weak_actor>& v, const abstract_actor* a) {
  return std::any_of(v.begin(), v.end(), [a](const weak_actor& w) { return w.address() == a; });
}
}  // namespace

void actor_base::link_to(const actor& other) {
  if (!other || other.get() == this) return;
  auto& x = extras();
  if (!contains(x.links, other.get())) x.links.emplace_back(other);
  send_signal(other, detail::envelope_kind::link);
}

void actor_base::unlink_from(const actor& other) {
  if (!other || !extras_) return;
  erase_handle(extras_->links, other.get());
  send_signal(other, detail::envelope_kind::unlink);
}

void actor_base::monitor(const actor& other) {
  if (!other || other.get() == this) return;
  send_signal(other, detail::envelope_kind::monitor);
}

void actor_base::demonitor(const actor& other) {
  if (!other) return;
  send_signal(other, detail::envelope_kind::demonitor);
}

void actor_base::send_signal(const actor& to, detail::envelope_kind kind) {
  auto* e = new detail::envelope(kind);
  e->sender = handle();  // tells the other side who links or monitors
  detail::system_access::enqueue(*to.get(), e);
}

void actor_base::trap_exit(bool on) { extras().trap_exit = on; }

void actor_base::set_exit_handler(detail::unique_function<void(const exit_reason&)> fn) {
  extras().exit_handler = std::move(fn);
}

// -- idle timeout --------------------------------------------------------------------------------

namespace {
/// Fires when the actor may have been idle for its timeout; the actor checks on its own thread.
class idle_timer final : public detail::ref_counted, public detail::timer_node {
 public:
  explicit idle_timer(actor_base& a) : timer_node(this), target_(a.handle()) {}
  void on_timer(bool cancelled) noexcept override {
    if (cancelled) return;
    if (auto* a = target_.address()) detail::system_access::enqueue(*a, new detail::envelope(detail::envelope_kind::idle_check));
  }

 private:
  weak_actor target_;
};
void stop_idle_timer(detail::lifecycle_extras& x) noexcept {
  if (!x.idle_timer) return;
  detail::cancel_timer(*static_cast<idle_timer*>(x.idle_timer.get()));
  x.idle_timer.reset();
}
}  // namespace

void actor_base::set_idle_timeout(duration d, detail::unique_function<void()> fn) {
  auto& x = extras();
  x.idle_timeout = d;
  x.idle_fn = std::move(fn);
  x.last_activity = system().timers().now();
  stop_idle_timer(x);
  if (d == infinite || !x.idle_fn) return;
  auto* t = new idle_timer(*this);
  x.idle_timer = detail::intrusive_ptr<detail::ref_counted>(t, detail::adopt_ref);
  detail::arm_timer(system(), *t, d);
}

// -- start-up --------------------------------------------------------------------------------------

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

// -- enqueue -----------------------------------------------------------------------------------------

bool actor_base::enqueue(detail::envelope* e) noexcept {
  if (e->kind == detail::envelope_kind::message) {
    if (std::uint32_t cap = capacity_.load(std::memory_order_relaxed)) {
      if (queued_.fetch_add(1, std::memory_order_relaxed) >= cap) {
        queued_.fetch_sub(1, std::memory_order_relaxed);
        if (e->reply) {
          e->reply.fail(error(errc::mailbox_full));
        } else {
          detail::system_access::count_dead_letter(system());
          system().logger().debug("dead letter: {} to actor#{} (mailbox full)", e->type ? e->type->name : "?", id());
        }
        delete e;
        return false;
      }
      e->counted = true;
    }
  }
  switch (mailbox_.push(e)) {
    case detail::mailbox::push_result::ok:
      return true;
    case detail::mailbox::push_result::unblocked:
      ref_for_scheduler();
      detail::system_access::sched(system()).schedule(this);
      return true;
    case detail::mailbox::push_result::closed:
      break;
  }
  bounce(e);
  return false;
}

/// What happens to an envelope this (dead) actor cannot take. Runs on the sender's thread; the
/// exit reason was written before the mailbox closed, and closed_for_good() (acquire) orders
/// that write before our read.
void actor_base::bounce(detail::envelope* e) noexcept {
  using detail::envelope_kind;
  const bool dead = mailbox_.closed_for_good();
  auto reason = [&] { return dead && extras_ && extras_->reason ? *extras_->reason : exit_reason(); };
  try {
    switch (e->kind) {
      case envelope_kind::message:
        if (e->reply) {
          e->reply.fail(error(errc::receiver_down));
        } else {
          detail::system_access::count_dead_letter(system());
          system().logger().debug("dead letter: {} to actor#{} (not alive)", e->type ? e->type->name : "?", id());
        }
        break;
      case envelope_kind::link:  // linking to a dead actor: its exit signal comes at once
        if (e->sender)
          detail::system_access::enqueue(*e->sender.get(), make_signal(envelope_kind::exit_signal, exit_msg{handle(), reason()}, handle()));
        break;
      case envelope_kind::monitor:
        if (e->sender)
          detail::system_access::enqueue(*e->sender.get(), make_signal(envelope_kind::down_signal, down_msg{handle(), reason()}, handle()));
        break;
      default:
        break;  // continuations are dropped unrun; so are resumptions (see resume_envelope)
    }
  } catch (...) {
    // Allocation failed while bouncing: nothing more can be done for this envelope.
  }
  delete e;
}

void actor_base::on_unreferenced() const noexcept {
  if (mailbox_.closed_for_good()) return;
  // Still counted in refs_ (the releasing thread holds the collective unit until we return).
  const_cast<actor_base*>(this)->enqueue(new detail::envelope(detail::envelope_kind::unreferenced));
}

// -- activation ----------------------------------------------------------------------------------------

detail::envelope* actor_base::peek_envelope() noexcept {
  if (extras_ && extras_->stash_head && !extras_->live_tasks) return extras_->stash_head;
  return mailbox_.peek();
}

detail::envelope* actor_base::next_envelope() noexcept {
  if (extras_ && extras_->stash_head && !extras_->live_tasks) {
    auto& x = *extras_;
    detail::envelope* e = x.stash_head;
    x.stash_head = e->next;
    if (!x.stash_head) x.stash_tail = nullptr;
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
  // Budget used up: go idle if that was all, so the actor is not queued again for nothing.
  const bool stash_ready = extras_ && extras_->stash_head && !extras_->live_tasks;
  if (!stash_ready && mailbox_.try_block()) return resume_result::done;
  return resume_result::resume_later;
}

void actor_base::dispatch(detail::envelope* e) noexcept {
  using detail::envelope_kind;
  switch (e->kind) {
    case envelope_kind::message:
      if (await_mode_ == await_mode::sequential && has_live_tasks()) {
        try {
          stash(e);  // held back, in order, until the running coroutines finish
          return;
        } catch (...) {
          // Out of memory for the stash: handle the message now rather than lose it.
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
    case envelope_kind::resume:
      static_cast<detail::resume_envelope*>(e)->run();  // coroutines capture their own exceptions
      clear_retired();
      break;
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

void actor_base::handle_signal(detail::envelope& e) {
  using detail::envelope_kind;
  switch (e.kind) {
    case envelope_kind::idle_check: {
      auto& x = extras();
      if (!x.idle_fn || x.idle_timeout == infinite || !x.idle_timer) break;
      const time_point now = system().timers().now();
      if (now - x.last_activity >= x.idle_timeout) {
        x.last_activity = now;
        x.idle_fn();
      }
      if (x.idle_timer && state_ == run_state::running)
        system().timers().arm(*static_cast<idle_timer*>(x.idle_timer.get()), x.last_activity + x.idle_timeout);
      break;
    }
    case envelope_kind::link:
      if (e.sender && !contains(extras().links, e.sender.get())) extras().links.emplace_back(e.sender);
      break;
    case envelope_kind::unlink:
      if (e.sender && extras_) erase_handle(extras_->links, e.sender.get());
      break;
    case envelope_kind::monitor:
      if (e.sender) extras().monitors.emplace_back(e.sender);
      break;
    case envelope_kind::demonitor:
      if (e.sender && extras_) {  // one monitor per request: remove one entry, not all
        auto& m = extras_->monitors;
        auto it = std::find_if(m.begin(), m.end(), [&](const weak_actor& w) { return w.address() == e.sender.get(); });
        if (it != m.end()) m.erase(it);
      }
      break;
    case envelope_kind::kill:
      quit(static_cast<detail::message_envelope<exit_msg>&>(e).value.reason);
      break;
    case envelope_kind::exit_signal: {
      auto& msg = static_cast<detail::message_envelope<exit_msg>&>(e).value;
      if (extras_ && msg.source) erase_handle(extras_->links, msg.source.get());
      if (msg.reason.code() == exit_code::kill) {
        quit(msg.reason);
      } else if (extras_ && extras_->trap_exit) {
        current_ = &e;
        dispatch_message(e);
        current_ = nullptr;
      } else if (!msg.reason.is_normal()) {
        quit(msg.reason);
      }
      break;
    }
    case envelope_kind::down_signal:
      current_ = &e;
      dispatch_message(e);
      current_ = nullptr;
      break;
    default:
      break;
  }
}

void actor_base::dispatch_message(detail::envelope& e) {
  if (behavior_ && behavior_->invoke(*this, e)) return;
  const std::string_view type = e.type ? e.type->name : std::string_view("?");
  if (e.reply) {
    e.reply.fail(error(errc::unhandled_message, std::string(type)));
  } else {
    detail::system_access::count_dead_letter(system());
    system().logger().debug("dead letter: {} unhandled by actor#{}", type, id());
  }
}

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
    p->root.destroy();  // never resumed: its frame, the tasks it awaits and its locals go now
  }
}

void actor_base::terminate() noexcept {
  state_ = run_state::dead;
  const exit_reason reason = extras_ && extras_->reason ? *extras_->reason : exit_reason();
  // Close first: from here on every new envelope bounces at the sender (seeing `reason`).
  detail::envelope* rest = mailbox_.close();
  if (extras_ && extras_->stash_head) {
    extras_->stash_tail->next = rest;
    rest = std::exchange(extras_->stash_head, nullptr);
    extras_->stash_tail = nullptr;
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
    stop_idle_timer(x);
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
  detail::system_access::registry(system()).remove(*this);
}

// -- free functions -----------------------------------------------------------------------------------

void send_exit(const actor& target, exit_reason reason) {
  if (!target) return;
  actor sender = tls_current ? tls_current->handle() : actor();
  const auto kind = reason.code() == exit_code::kill ? detail::envelope_kind::kill : detail::envelope_kind::exit_signal;
  detail::system_access::enqueue(*target.get(), make_signal(kind, exit_msg{sender, std::move(reason)}, sender));
}

}  // namespace troupe
