#include "work_stealing_scheduler.hpp"

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
    if (resumable* displaced = std::exchange(w.lifo, r)) push_local(w, displaced);
    return;
  }
  {
    std::lock_guard lock(global_m_);
    global_.push_back(r);
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
  std::lock_guard lock(global_m_);
  if (global_.empty()) return nullptr;
  resumable* r = global_.front();
  global_.pop_front();
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
  if (w.lifo) {
    bool queue_has_work = w.queued.load(std::memory_order_relaxed) != 0;
    if (!queue_has_work || w.lifo_streak < max_lifo_streak) {
      ++w.lifo_streak;
      return std::exchange(w.lifo, nullptr);
    }
    // Fairness: let the queue run; the LIFO actor goes to the back.
    std::lock_guard lock(w.m);
    w.queue.push_back(std::exchange(w.lifo, nullptr));
    w.queued.store(w.queue.size(), std::memory_order_relaxed);
  }
  w.lifo_streak = 0;
  if (++w.ticks % global_check_interval == 0)
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

bool work_stealing_scheduler::park(worker&) noexcept {
  std::unique_lock lock(park_m_);
  sleepers_.fetch_add(1, std::memory_order_acq_rel);
  for (;;) {
    if (any_work()) break;
    if (stopping_) {
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    park_cv_.wait(lock);
  }
  sleepers_.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

void work_stealing_scheduler::execute(worker* w, resumable* r) noexcept {
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
  for (;;) {
    if (resumable* r = next_job(w)) {
      execute(&w, r);
      continue;
    }
    if (!park(w)) break;
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
