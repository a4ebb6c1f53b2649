// actor_base: enqueue, bounce (what a dead or full actor does with an envelope), the stash of
// held-back messages, and the order in which the next message is taken.
#include <troupe/actor_base.hpp>
#include <troupe/actor_system.hpp>
#include <troupe/behavior.hpp>

#include "actor_internals.hpp"
#include "dead_letters.hpp"
#include "trace_recorder.hpp"

#include <spdlog/logger.h>

#include <stdexcept>

namespace troupe {

using detail::make_signal;

void actor_base::hold_back(detail::envelope* e) {
  extras().front.push_back(e);
  held_ = true;
}

void actor_base::stash() {
  if (!current_ || current_->kind != detail::envelope_kind::message)
    throw std::logic_error("troupe: stash() outside the handler of an ordinary message");
  if (adopted_ || no_stash_)
    throw std::logic_error("troupe: stash() in a coroutine handler: stash from an ordinary handler");
  extras().stash.push_back(current_);
  adopted_ = true;  // the runtime must not delete it
}

void actor_base::unstash_all() {
  if (!extras_ || extras_->stash.empty()) return;
  extras_->front.splice_front(extras_->stash);
}

std::size_t actor_base::stashed() const noexcept { return extras_ ? extras_->stash.size : 0; }

bool actor_base::holding_back() const noexcept {
  return extras_ && extras_->live_tasks && (await_mode_ == await_mode::sequential || extras_->exclusive_tasks);
}

bool actor_base::front_ready() const noexcept { return extras_ && !extras_->front.empty() && !holding_back(); }

bool actor_base::enqueue(detail::envelope* e) noexcept {
#if TROUPE_TRACE_HOOKS
  if (detail::tracing()) [[unlikely]] {
    if (detail::trace_recorder* t = detail::system_access::tracer(system())) t->stamp(*e);
  }
#endif
  if (e->kind == detail::envelope_kind::message) {
    if (std::uint32_t cap = capacity_.load(std::memory_order_relaxed)) {
      if (queued_.fetch_add(1, std::memory_order_relaxed) >= cap) {
        queued_.fetch_sub(1, std::memory_order_relaxed);
        if (e->reply) {
          e->reply.fail(error(errc::mailbox_full));
        } else {
          detail::report_dead_letter(system(), this, *e, "its mailbox is full");
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
          detail::report_dead_letter(system(), this, *e, "it is not alive");
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
  if (front_ready()) return extras_->front.head;
  return mailbox_.peek();
}

detail::envelope* actor_base::next_envelope() noexcept {
  if (front_ready()) return extras_->front.pop_front();
  return mailbox_.pop();
}

}  // namespace troupe
