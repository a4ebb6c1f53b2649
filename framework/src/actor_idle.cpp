// actor_base: the idle timeout.
#include <troupe/actor_base.hpp>
#include <troupe/actor_system.hpp>
#include <troupe/behavior.hpp>

#include "actor_internals.hpp"

namespace troupe {

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
}  // namespace

void detail::stop_idle_timer(detail::lifecycle_extras& x) noexcept {
  if (!x.idle_timer) return;
  detail::cancel_timer(*static_cast<idle_timer*>(x.idle_timer.get()));
  x.idle_timer.reset();
}

void actor_base::set_idle_timeout(duration d, detail::unique_function<void()> fn) {
  auto& x = extras();
  x.idle_timeout = d;
  x.idle_fn = std::move(fn);
  x.last_activity = system().timers().now();
  detail::stop_idle_timer(x);
  if (d == infinite || !x.idle_fn) return;
  auto* t = new idle_timer(*this);
  x.idle_timer = detail::intrusive_ptr<detail::ref_counted>(t, detail::adopt_ref);
  detail::arm_timer(system(), *t, d);
}

void actor_base::on_idle_check() {
  auto& x = extras();
  if (!x.idle_fn || x.idle_timeout == infinite || !x.idle_timer) return;
  const time_point now = system().timers().now();
  if (now - x.last_activity >= x.idle_timeout) {
    x.last_activity = now;
    x.idle_fn();
  }
  if (x.idle_timer && state_ == run_state::running)
    system().timers().arm(*static_cast<idle_timer*>(x.idle_timer.get()), x.last_activity + x.idle_timeout);
}

}  // namespace troupe
