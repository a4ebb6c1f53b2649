#include <troupe/testing/deterministic_scheduler.hpp>

#include <troupe/detail/random.hpp>

#include <troupe/actor_base.hpp>

#include "../runtime_thread.hpp"

#include <algorithm>

namespace troupe::testing {

deterministic_scheduler::deterministic_scheduler(std::uint64_t seed, pick_order order)
    : seed_(seed), order_(order), rng_(seed) {}

deterministic_scheduler::~deterministic_scheduler() { stop(); }

void deterministic_scheduler::schedule(resumable* r) noexcept {
  std::lock_guard lock(m_);
  ready_.push_back(r);
}

void deterministic_scheduler::stop() noexcept { run_until_idle(); }

void deterministic_scheduler::run_during_shutdown() noexcept { run_until_idle(); }

resumable* deterministic_scheduler::take(std::size_t index) {
  // Removal keeps the order of the others, so FIFO stays FIFO and a seeded pick depends only
  // on the seed and the history of the run.
  resumable* r = ready_[index];
  ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(index));
  return r;
}

void deterministic_scheduler::run(resumable* r) {
  detail::runtime_thread_scope on_runtime;
  if (r->resume(1) == resumable::resume_result::resume_later)
    schedule(r);
  else
    r->unref_for_scheduler();
}

bool deterministic_scheduler::run_once() {
  resumable* r;
  {
    std::lock_guard lock(m_);
    if (ready_.empty()) return false;
    std::size_t i = 0;
    if (order_ == pick_order::seeded && ready_.size() > 1)
      i = detail::bounded_random(rng_(), ready_.size());
    r = take(i);
  }
  run(r);
  return true;
}

std::size_t deterministic_scheduler::run_until_idle(std::size_t limit) {
  std::size_t n = 0;
  while (n < limit && run_once()) ++n;
  return n;
}

namespace {
resumable* as_resumable(const actor& a) {
  return detail::system_access::as_resumable(*static_cast<actor_base*>(a.get()));
}
}  // namespace

bool deterministic_scheduler::run_actor(const actor& a) {
  if (!a) return false;
  resumable* r;
  {
    std::lock_guard lock(m_);
    auto it = std::find(ready_.begin(), ready_.end(), as_resumable(a));
    if (it == ready_.end()) return false;
    r = take(static_cast<std::size_t>(it - ready_.begin()));
  }
  run(r);
  return true;
}

bool deterministic_scheduler::is_ready(const actor& a) const {
  if (!a) return false;
  std::lock_guard lock(m_);
  return std::find(ready_.begin(), ready_.end(), as_resumable(a)) != ready_.end();
}

std::size_t deterministic_scheduler::ready_count() const {
  std::lock_guard lock(m_);
  return ready_.size();
}

}  // namespace troupe::testing
