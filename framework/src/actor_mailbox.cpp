// actor_base: enqueue, bounce (what a dead or full actor does with an envelope), the stash of
// held-back messages, and the order in which the next message is taken.
#include <troupe/actor_base.hpp>
#include <troupe/actor_system.hpp>
#include <troupe/behavior.hpp>

#include "actor_internals.hpp"

#include <spdlog/logger.h>

namespace troupe {

using detail::make_signal;

void actor_base::stash(detail::envelope* e) {
  auto& x = extras();
  e->next = nullptr;
  if (x.stash_tail)
    x.stash_tail->next = e;
  else
    x.stash_head = e;
  x.stash_tail = e;
}


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

}  // namespace troupe
