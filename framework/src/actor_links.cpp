// actor_base: links, monitors, exit and down signals.
#include <troupe/actor_base.hpp>
#include <troupe/actor_system.hpp>
#include <troupe/behavior.hpp>

#include "actor_internals.hpp"

#include <algorithm>

namespace troupe {

namespace {
/// Whether `w` names `a`. Compared by identity (node and id), not by address: a remote actor
/// may be reached through more than one proxy object (troupe::net makes them as handles arrive).
bool names(const weak_actor& w, const abstract_actor* a) noexcept {
  return w.address() == a || (w.id() == a->id() && w.node() == a->node());
}
void erase_handle(std::vector<weak_actor>& v, const abstract_actor* a) {
  std::erase_if(v, [a](const weak_actor& w) { return names(w, a); });
}
bool contains(const std::vector<weak_actor>& v, const abstract_actor* a) {
  return std::any_of(v.begin(), v.end(), [a](const weak_actor& w) { return names(w, a); });
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

void actor_base::handle_signal(detail::envelope& e) {
  using detail::envelope_kind;
  switch (e.kind) {
    case envelope_kind::idle_check:
      on_idle_check();
      break;
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
        auto it = std::find_if(m.begin(), m.end(), [&](const weak_actor& w) { return names(w, e.sender.get()); });
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

}  // namespace troupe
