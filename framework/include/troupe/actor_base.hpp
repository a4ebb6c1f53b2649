// actor_base: the base of every local actor, and the `self` that handlers talk through.
//
// Class-based actors derive from it and override make_behavior(); function-based actors get a
// reference to one (`actor_base& self`). Either way the actor's own state is touched only by
// its handlers and continuations, which the runtime never runs concurrently: no locks needed.
//
//   struct counter : troupe::actor_base {
//     int n = 0;
//     troupe::behavior make_behavior() override {
//       return {[this](increment i) { n += i.by; }, [this](get_count) { return n; }};
//     }
//   };
//
// Lifetime. An actor lives until it calls quit(), its handler throws, its system shuts down, it
// receives an exit signal it does not trap (from a linked actor or send_exit), or it is
// unreferenced: when no strong handle to it is left anywhere (no `actor` handle, no in-flight
// message it sent, no pending continuation of its own), it processes what its mailbox still
// holds and quits normally. When it quits, its mailbox closes at once: requests still queued and
// requests sent later fail with errc::receiver_down (immediately, not at their timeout), plain
// messages become dead letters; then on_exit runs; then every request the actor still holds
// unanswered fails with errc::receiver_down (kept in a response_promise wherever it is stored,
// answered by a returned future, or by a suspended handler coroutine), and its suspended
// handler coroutines are destroyed (never resumed); then the behavior is destroyed, linked
// actors get an exit signal and monitoring actors a down_msg, both carrying the exit_reason.
// All of this happens on the actor's worker as it terminates, not when some awaited timer or
// reply arrives later.
//
// System signals (exit, down, link, monitor, kill, shutdown) are served before ordinary
// messages, so they are never stuck behind a long mailbox; they may overtake ordinary messages
// sent earlier by the same actor.
//
// Members of a class-based actor are destroyed when the last reference of any kind (including
// weak handles) is gone, which may be after the actor quit; the behavior, and with it any state
// its lambdas captured, is destroyed as soon as the actor quits.
#pragma once

#include <troupe/abstract_actor.hpp>
#include <troupe/actor.hpp>
#include <troupe/detail/envelope.hpp>
#include <troupe/detail/mailbox.hpp>
#include <troupe/detail/small_alloc.hpp>
#include <troupe/detail/system_access.hpp>
#include <troupe/detail/unique_function.hpp>
#include <troupe/exit_reason.hpp>
#include <troupe/future.hpp>
#include <troupe/request.hpp>
#include <troupe/response_promise.hpp>
#include <troupe/scheduler.hpp>
#include <troupe/sendable.hpp>
#include <troupe/time.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <vector>

namespace troupe {

class behavior;

namespace detail {
class behavior_impl : public uses_small_alloc {
 public:
  virtual ~behavior_impl() = default;
  /// Dispatches `e` to the matching handler; false if no handler takes its type.
  virtual bool invoke(actor_base& self, envelope& e) = 0;
};
class system_access;
class testing_access;
class actor_registry;
class trace_recorder;
/// `S&`, spelled so that it depends on T (name lookup into S waits for instantiation).
template <class S, class T>
struct dependent {
  using type = S&;
};
template <class S, class T>
using dependent_t = typename dependent<S, T>::type;
struct lifecycle_extras;
/// Takes the envelope being dispatched on `self` away from the runtime (which then does not
/// delete it): a handler coroutine that refers into its message keeps it.
envelope* adopt_current_envelope(actor_base& self) noexcept;
/// True when the handler that just ran stashed its message (then nobody answers it now).
bool handler_stashed(const actor_base& self) noexcept;
/// While alive, stash() refuses (the handler being called is a coroutine).
class no_stash_scope;
}  // namespace detail

/// A message no handler of the behavior takes, as a default handler sees it
/// (actor_base::set_default_handler).
struct unmatched_message {
  const type_meta* type;  // its type (type->name is readable)
  const actor& sender;    // empty if sent from outside any actor
  bool is_request;        // a request: fails with errc::unhandled_message unless stashed
};

/// What an actor does with its other messages while one of its handler coroutines is suspended.
enum class await_mode : std::uint8_t {
  /// Keep processing them (default): coroutines interleave with other handlers at co_await
  /// points, which keeps the actor responsive and cannot deadlock on a cycle of requests.
  interleave,
  /// Hold ordinary messages back, in order, until every suspended coroutine has finished;
  /// continuations, coroutine resumptions and system messages still run. Gives each coroutine
  /// exclusive use of the actor's state across its co_awaits.
  sequential,
};

class actor_base : public abstract_actor, private resumable, public detail::uses_small_alloc {
 public:
  ~actor_base() override;

  // -- messaging --------------------------------------------------------------------------------

  /// Sends `msg` to `to`, with this actor as the sender. Never blocks.
  template <class T>
  void send(const actor& to, T&& msg) {
    troupe::detail::send_from(to, std::forward<T>(msg), handle());
  }
  template <class... Sigs, class T>
  void send(const typed_actor<Sigs...>& to, T&& msg) {
    detail::check_accepts<std::remove_cvref_t<T>, Sigs...>();
    send(to.untyped(), std::forward<T>(msg));
  }

  /// Sends `msg` as a request; the future completes with the reply of type R, or an error.
  /// Attach continuations with then() or co_await it: they run on this actor.
  template <class R, class T>
  [[nodiscard]] future<R> request(const actor& to, T&& msg, duration timeout = default_timeout) {
    return detail::make_request<R>(to, std::forward<T>(msg), timeout, handle(), this);
  }
  /// Typed request with the reply type spelled out: it must be the interface's.
  template <class R, class... Sigs, class T>
  [[nodiscard]] future<R> request(const typed_actor<Sigs...>& to, T&& msg, duration timeout = default_timeout) {
    if constexpr (!detail::check_reply_type<R, std::remove_cvref_t<T>, Sigs...>()) return future<R>();
    else return request<R>(to.untyped(), std::forward<T>(msg), timeout);
  }
  /// Typed request: R is the reply type the interface declares for the message type.
  template <class... Sigs, class T>
  [[nodiscard]] auto request(const typed_actor<Sigs...>& to, T&& msg, duration timeout = default_timeout) {
    using R = detail::reply_of_t<std::remove_cvref_t<T>, Sigs...>;
    return request<R>(to.untyped(), std::forward<T>(msg), timeout);
  }

  /// The same, outside the request tree this actor serves (see troupe::detached): no inherited
  /// deadline, not cancelled with the handler that makes it.
  template <class R, class T>
  [[nodiscard]] future<R> request(const actor& to, T&& msg, duration timeout, detached_t) {
    return detail::make_request<R>(to, std::forward<T>(msg), timeout, handle(), this, true);
  }
  template <class... Sigs, class T>
  [[nodiscard]] auto request(const typed_actor<Sigs...>& to, T&& msg, duration timeout, detached_t d) {
    using R = detail::reply_of_t<std::remove_cvref_t<T>, Sigs...>;
    return request<R>(to.untyped(), std::forward<T>(msg), timeout, d);
  }

  /// True while the handler running now (a coroutine handler, or a plain one) serves a request
  /// whose requester stopped waiting: it was cancelled (or timed out). A long loop in a handler
  /// can check it between steps; awaiting in a cancelled coroutine fails at once anyway.
  bool cancellation_requested() const noexcept;
  /// When the requester of the request being served (by the running handler or coroutine
  /// handler) stops waiting, on the system's timer clock (system().timers().now());
  /// time_point::max() if it set no timeout, or no request is being served. Requests made
  /// now inherit it (unless troupe::detached).
  time_point request_deadline() const noexcept;

  /// Forwards the request being handled to `to`, which then answers the original requester
  /// directly (the original sender stays the sender). Return the result from the handler.
  template <class R = void, class T>
  delegated<R> delegate(const actor& to, T&& msg) {
    if constexpr (!troupe::detail::check_message<T>()) return {};
    troupe::detail::reply_handle reply;
    actor sender;
    if (current_) {
      reply = std::move(current_->reply);
      sender = current_->sender;
    }
    troupe::detail::deliver_to(to, troupe::detail::make_message(std::forward<T>(msg), std::move(sender),
                                                             std::move(reply)));
    return {};
  }

  /// Takes over the answer to the request being handled (see response_promise.hpp).
  template <class R>
  response_promise<R> make_response_promise() {
    if constexpr (!std::is_void_v<R>) (void)troupe::detail::check_sendable<R>();  // what it delivers is a reply
    return response_promise<R>(current_ ? std::move(current_->reply) : troupe::detail::reply_handle(),
                               *this);
  }

  /// A future that completes (successfully) after `d`; `co_await self.delay(d)` in a coroutine.
  [[nodiscard]] future<void> delay(duration d);

  // -- spawning ---------------------------------------------------------------------------------

  /// `self.spawn<T>(args...)` and `self.spawn(fn, args...)`: the same as system().spawn(...)
  /// (see actor_system.hpp, which must be included where these are called).
  template <class T, class... Args>
  auto spawn(Args&&... args) {
    return detail::dependent_t<actor_system, T>(system()).template spawn<T>(std::forward<Args>(args)...);
  }
  template <class F, class... Args>
    requires(!std::is_base_of_v<actor_base, std::remove_cvref_t<F>>)
  auto spawn(F&& f, Args&&... args) {
    return detail::dependent_t<actor_system, F>(system()).spawn(std::forward<F>(f), std::forward<Args>(args)...);
  }

  // -- identity and context ---------------------------------------------------------------------

  /// A strong handle to this actor.
  actor handle() noexcept { return detail::system_access::handle(this); }
  /// The sender of the message being handled (empty if sent from outside any actor).
  const actor& current_sender() const noexcept;
  /// Names this actor for people: troupe-trace shows it instead of the actor's type, and
  /// trace sampling (trace_config::sample_actors) matches it.
  void set_name(std::string name);
  /// The name given with set_name (empty if none). For the actor's own handlers.
  std::string_view name() const noexcept;

  /// True while handling a request (as opposed to a plain send).
  bool handling_request() const noexcept { return current_ && static_cast<bool>(current_->reply); }

  // -- behavior and lifecycle --------------------------------------------------------------------

  /// Replaces the behavior for the next messages (the current handler finishes normally).
  void become(behavior b);
  /// Quits after the current handler returns: the mailbox closes, queued requests fail with
  /// errc::receiver_down, on_exit runs, the behavior is destroyed, links and monitors are told.
  void quit(exit_reason reason = {}) noexcept;

  /// Links this actor and `other` both ways: when one exits with a non-normal reason, the other
  /// exits with the same reason, unless it traps exits (then it gets an exit_msg). Linking to an
  /// actor that is already dead delivers its exit signal at once.
  void link_to(const actor& other);
  void unlink_from(const actor& other);
  /// Makes this actor receive a down_msg when `other` exits (for any reason; at once if it is
  /// already dead). One-way; `other` is not affected by this actor's exit.
  void monitor(const actor& other);
  void demonitor(const actor& other);
  /// With trapping on, exit signals from linked actors arrive as exit_msg messages for a
  /// handler instead of terminating this actor (a `kill` still terminates it).
  void trap_exit(bool on);
  /// Also runs when the actor exits (after on_exit); for function-based actors.
  void set_exit_handler(detail::unique_function<void(const exit_reason&)> fn);
  /// Runs `fn` (on the actor) whenever the actor has handled no message for `d`; troupe::infinite
  /// turns it off.
  void set_idle_timeout(duration d, detail::unique_function<void()> fn);
  /// Bounds the mailbox to `n` ordinary messages (0: unbounded, the default). On overflow a send
  /// is dropped and counted as a dead letter, a request fails with errc::mailbox_full; system
  /// signals are never dropped. Set it in the constructor or make_behavior, before messages
  /// arrive.
  void set_mailbox_capacity(std::uint32_t n) noexcept { capacity_.store(n, std::memory_order_relaxed); }
  /// True once the actor has quit (or is quitting). For the actor's own handlers.
  bool quitting() const noexcept { return state_ != run_state::running; }
  /// True once the actor has terminated: its mailbox is closed. Any thread may ask.
  bool terminated() const noexcept { return mailbox_.closed_for_good(); }

  /// Per actor: whether every coroutine handler holds other messages back while suspended
  /// (see await_mode). Per handler: wrap one handler in troupe::sequential(...) instead.
  void set_await_mode(await_mode m) noexcept { await_mode_ = m; }
  await_mode get_await_mode() const noexcept { return await_mode_; }

  // -- holding messages for later -------------------------------------------------------------

  /// Keeps the message being handled for later, as Akka's stash does: it is not a dead letter,
  /// and a request stays unanswered (its timeout still runs) until a handler takes it after
  /// unstash_all(). Call it from an ordinary handler (or the default handler), not from a
  /// coroutine or a continuation: otherwise it throws std::logic_error. If the actor
  /// terminates, stashed requests fail with errc::receiver_down like queued ones.
  void stash();
  /// Puts every stashed message back, in the order they were stashed, ahead of the mailbox:
  /// they are handled next (by the behavior current then, typically after a become()).
  void unstash_all();
  /// How many messages are stashed.
  std::size_t stashed() const noexcept;
  /// Runs `fn` for each ordinary message no handler takes, instead of the dead-letter report
  /// (Akka's unhandled, CAF's default handler). `fn` may stash() it; otherwise a request fails
  /// with errc::unhandled_message after `fn` returns (the requester always hears back) and a
  /// plain message is dropped, not counted as a dead letter.
  void set_default_handler(detail::unique_function<void(const unmatched_message&)> fn);

 protected:
  /// Takes the system and id from the spawn in progress: construct actors only through
  /// actor_system::spawn.
  actor_base();

  /// The initial behavior; runs once, inside spawn, before the handle is returned.
  virtual behavior make_behavior();
  /// Runs once after make_behavior, before the first message.
  virtual void on_start() {}
  /// Runs once when the actor exits, on the actor, after its mailbox closed and before its
  /// behavior is destroyed.
  virtual void on_exit(const exit_reason& reason) { (void)reason; }

 private:
  // The runtime's side (reached through detail::system_access and the resumable interface
  // that schedulers see; not for user code).
  bool enqueue(detail::envelope* e) noexcept final;
  resume_result resume(std::size_t max_messages) noexcept final;
  void ref_for_scheduler() noexcept final { weak_ref(); }
  void unref_for_scheduler() noexcept final { weak_release(); }

  friend class detail::system_access;
  friend class detail::testing_access;
  friend class detail::actor_registry;  // owns reg_prev_ / reg_next_
  friend void detail::task_started(actor_base&, detail::task_promise_base&);
  friend void detail::task_finished(actor_base&, detail::task_promise_base&, std::exception_ptr) noexcept;
  friend detail::envelope* detail::adopt_current_envelope(actor_base&) noexcept;
  friend bool detail::handler_stashed(const actor_base&) noexcept;
  friend class detail::no_stash_scope;
  friend void detail::hold_reply(actor_base&, const detail::reply_handle&);
  friend detail::task_promise_base* detail::set_running_task(actor_base&, detail::task_promise_base*) noexcept;
  friend duration detail::join_request_tree(actor_base&, detail::future_state_base&, duration, bool);

  enum class run_state : std::uint8_t { running, quitting, dead };

  void on_unreferenced() const noexcept final;
  void initialize();
  void refuse_start() noexcept;
  void dispatch(detail::envelope* e) noexcept;
  void dispatch_now(detail::envelope* e) noexcept;
#if TROUPE_TRACE_HOOKS
  void dispatch_traced(detail::trace_recorder& rec, detail::envelope* e) noexcept;
#endif
  void dispatch_message(detail::envelope& e);
  void fail_with(std::exception_ptr ex) noexcept;
  void terminate() noexcept;
  detail::envelope* next_envelope() noexcept;
  detail::envelope* peek_envelope() noexcept;
  detail::lifecycle_extras& extras();
  void handle_signal(detail::envelope& e);
  void on_idle_check();
  void hold_back(detail::envelope* e);
  bool closes_wait_cycle(detail::envelope& e);
  bool holding_back() const noexcept;
  bool front_ready() const noexcept;
  void send_signal(const actor& to, detail::envelope_kind kind);
  void clear_retired() noexcept;
  void bounce(detail::envelope* e) noexcept;
  void abandon_held_work() noexcept;
  bool has_live_tasks() const noexcept;
  /// The request the running handler (or handler coroutine) serves, if any.
  detail::reply_sink* served_request() const noexcept;

  // Layout: an idle actor is this object plus its behavior; keep it small (see
  // docs/performance.md). What few actors use lives in extras_.
  detail::mailbox mailbox_;
  std::unique_ptr<detail::behavior_impl> behavior_;
  detail::envelope* current_ = nullptr;
  // Links, monitors, hooks, held-back and stashed messages, behaviors retired by become
  // while still running: allocated on first use.
  std::unique_ptr<detail::lifecycle_extras> extras_;
  std::atomic<std::uint32_t> capacity_{0};             // 0: unbounded
  std::atomic<std::uint32_t> queued_{0};               // counted messages, when bounded
  run_state state_ = run_state::running;
  await_mode await_mode_ = await_mode::interleave;
  bool adopted_ = false;  // the envelope being dispatched was kept (by a coroutine, or stashed)
  bool no_stash_ = false;  // a coroutine handler is being started: stash() refuses
  bool held_ = false;      // the envelope being dispatched was held back (not run yet)

  // Intrusive links of the system's registry of live actors (guarded by the registry's lock).
  actor_base* reg_prev_ = nullptr;
  actor_base* reg_next_ = nullptr;
};

namespace detail {
class no_stash_scope {
 public:
  explicit no_stash_scope(actor_base& self) noexcept : self_(self), prev_(std::exchange(self.no_stash_, true)) {}
  ~no_stash_scope() { self_.no_stash_ = prev_; }
  no_stash_scope(const no_stash_scope&) = delete;
  no_stash_scope& operator=(const no_stash_scope&) = delete;

 private:
  actor_base& self_;
  bool prev_;
};
inline bool handler_stashed(const actor_base& self) noexcept { return self.adopted_; }
}  // namespace detail


}  // namespace troupe
