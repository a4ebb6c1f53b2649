#include "work_stealing_scheduler.hpp"

#include "runtime_thread.hpp"
#include "trace_recorder.hpp"

namespace troupe::detail {
namespace {

struct worker_tag {
  const void* pool = nullptr;
  void* self = nullptr;
};
thread_local worker_tag tls_worker;

}  // namespace

work_stealing_scheduler::work_stealing_scheduler(std::size_t workers, std::size_t budget)
    : budget_(budget == 0 ? 1 : budget) {
  if (workers == 0) workers = 1;
  for (std::size_t i = 0; i < workers; ++i) {
    auto w = std::make_unique<worker>();
    w->index = i;
    workers_.push_back(std::move(w));
  }
}

work_stealing_scheduler::~work_stealing_scheduler() { stop(); }

void work_stealing_scheduler::start() {
  for (auto& w : workers_) {
    worker* wp = w.get();
    wp->thread = std::thread([this, wp] { run(*wp); });
  }
}

void work_stealing_scheduler::schedule(resumable* r) noexcept {
  if (tls_worker.pool == this) {
    auto& w = *static_cast<worker*>(tls_worker.self);
    // An empty slot is filled with a plain store: a watcher only ever empties the slot, so no
    // value can be lost. A full one is swapped, and the displaced actor queued.
    if (!w.lifo.load(std::memory_order_relaxed)) {
      w.lifo.store(r, std::memory_order_release);
      return;
    }
    if (resumable* displaced = w.lifo.exchange(r, std::memory_order_acq_rel)) push_local(w, displaced);
    return;
  }
  {
    std::lock_guard lock(global_m_);
    global_.push_back(r);
    global_size_.store(global_.size(), std::memory_order_relaxed);
  }
  notify_one();
}

void work_stealing_scheduler::push_local(worker& w, resumable* r) noexcept {
  {
    std::lock_guard lock(w.m);
    w.queue.push_back(r);
    w.queued.store(w.queue.size(), std::memory_order_relaxed);
  }
  notify_one();
}

void work_stealing_scheduler::notify_one() noexcept {
  // A read-modify-write, not a plain load: it reads the latest value in sleepers_'s
  // modification order, and if a parking worker's increment comes after it, that increment
  // reads from this one (acq_rel), so the worker's re-check sees our push. Either way no
  // wake-up is lost. (Also what ThreadSanitizer can model, unlike a fence.)
  if (sleepers_.fetch_add(0, std::memory_order_acq_rel) == 0) return;
  std::lock_guard lock(park_m_);
  park_cv_.notify_one();
}

resumable* work_stealing_scheduler::take_lifo(worker& w) noexcept {
  if (!w.lifo.load(std::memory_order_relaxed)) return nullptr;
  // An exchange, not a store: a watcher may be emptying the slot at the same moment, and only
  // one of us may run the actor.
  return w.lifo.exchange(nullptr, std::memory_order_acquire);
}

resumable* work_stealing_scheduler::pop_front(worker& w) noexcept {
  if (w.queued.load(std::memory_order_relaxed) == 0) return nullptr;
  std::lock_guard lock(w.m);
  if (w.queue.empty()) return nullptr;
  resumable* r = w.queue.front();
  w.queue.pop_front();
  w.queued.store(w.queue.size(), std::memory_order_relaxed);
  return r;
}

resumable* work_stealing_scheduler::pop_global() noexcept {
  if (global_size_.load(std::memory_order_relaxed) == 0) return nullptr;
  std::lock_guard lock(global_m_);
  if (global_.empty()) return nullptr;
  resumable* r = global_.front();
  global_.pop_front();
  global_size_.store(global_.size(), std::memory_order_relaxed);
  return r;
}

resumable* work_stealing_scheduler::steal(worker& thief) noexcept {
  const std::size_t n = workers_.size();
  for (std::size_t k = 1; k < n; ++k) {
    worker& victim = *workers_[(thief.index + k) % n];
    if (resumable* r = pop_front(victim)) return r;
  }
  return nullptr;
}

resumable* work_stealing_scheduler::next_job(worker& w) noexcept {
  // The precedence rules are in the header comment.
  const bool global_turn = ++w.ticks % global_check_interval == 0 &&
                           global_size_.load(std::memory_order_relaxed) != 0;
  if (w.lifo.load(std::memory_order_relaxed)) {
    const bool others_wait = w.queued.load(std::memory_order_relaxed) != 0 ||
                             global_size_.load(std::memory_order_relaxed) != 0;
    if (!global_turn && (w.lifo_streak < max_lifo_streak || !others_wait)) {
      if (resumable* r = take_lifo(w)) {
        ++w.lifo_streak;
        return r;
      }
    } else if (resumable* r = take_lifo(w)) {
      push_local(w, r);  // to the back of the queue: the others go first
    }
  }
  w.lifo_streak = 0;
  if (global_turn)
    if (resumable* r = pop_global()) return r;
  if (resumable* r = pop_front(w)) return r;
  if (resumable* r = pop_global()) return r;
  return steal(w);
}

bool work_stealing_scheduler::any_work() noexcept {
  {
    std::lock_guard lock(global_m_);
    if (!global_.empty()) return true;
  }
  for (auto& w : workers_) {
    std::lock_guard lock(w->m);
    if (!w->queue.empty()) return true;
  }
  return false;
}

resumable* work_stealing_scheduler::steal_stalled_lifo(worker& thief) noexcept {
  for (auto& v : workers_) {
    if (v.get() == &thief) continue;
    const bool stalled = v->jobs.load(std::memory_order_relaxed) == v->jobs_seen;  // seen before the wait
    if (stalled && v->lifo.load(std::memory_order_relaxed))
      if (resumable* r = v->lifo.exchange(nullptr, std::memory_order_acquire)) return r;
  }
  return nullptr;
}

bool work_stealing_scheduler::park(worker& w, resumable*& stolen) noexcept {
#if TROUPE_TRACE_HOOKS
  detail::last_run_end() = 0;  // idle now: the next run does not start where the last one ended
#endif
  std::unique_lock lock(park_m_);
  sleepers_.fetch_add(1, std::memory_order_acq_rel);
  for (;;) {
    if (any_work()) break;
    if (stopping_) {
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    // Watch for stalled LIFO slots while some worker is busy (see the header comment).
    const bool someone_busy = sleepers_.load(std::memory_order_relaxed) < workers_.size();
    if (someone_busy && !watching_) {
      watching_ = true;
      for (auto& v : workers_) v->jobs_seen = v->jobs.load(std::memory_order_relaxed);
      park_cv_.wait_for(lock, stall_check);
      watching_ = false;
      if ((stolen = steal_stalled_lifo(w))) break;
      continue;
    }
    park_cv_.wait(lock);
  }
  // This worker is about to be busy. If the others all sleep indefinitely (they parked while
  // everyone was idle), wake one to become the watcher.
  if (sleepers_.fetch_sub(1, std::memory_order_relaxed) > 1 && !watching_) park_cv_.notify_one();
  return true;
}

void work_stealing_scheduler::execute(worker* w, resumable* r) noexcept {
  if (w) w->jobs.store(w->jobs.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (r->resume(budget_) == resumable::resume_result::resume_later) {
    if (w)
      push_local(*w, r);
    else
      schedule(r);
  } else {
    r->unref_for_scheduler();
  }
}

void work_stealing_scheduler::run(worker& w) noexcept {
  tls_worker = {this, &w};
  runtime_thread_scope on_runtime;
  for (;;) {
    if (resumable* r = next_job(w)) {
      execute(&w, r);
      continue;
    }
    resumable* stolen = nullptr;
    if (!park(w, stolen)) break;
    if (stolen) execute(&w, stolen);
  }
  tls_worker = {};
}

void work_stealing_scheduler::stop() noexcept {
  if (stopped_.exchange(true)) return;
  {
    std::lock_guard lock(park_m_);
    stopping_ = true;
  }
  park_cv_.notify_all();
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
  // Anything scheduled after the workers left (a late bounce) runs here, on this thread.
  runtime_thread_scope on_runtime;
  for (;;) {
    resumable* r = nullptr;
    {
      std::lock_guard lock(global_m_);
      if (global_.empty()) break;
      r = global_.front();
      global_.pop_front();
    }
    while (r->resume(budget_) == resumable::resume_result::resume_later) {
    }
    r->unref_for_scheduler();
  }
}

}  // namespace troupe::detail
