#include "blocking_pool.hpp"

#include <troupe/actor_system.hpp>
#include <troupe/blocking.hpp>

namespace troupe::detail {

void blocking_pool::submit(unique_function<void(bool)> job) {
  {
    std::unique_lock lock(m_);
    if (stopping_) {
      lock.unlock();
      job(false);
      return;
    }
    jobs_.push_back(std::move(job));
    if (idle_ == 0 && threads_.size() < max_threads_) threads_.emplace_back([this] { run(); });
  }
  cv_.notify_one();
}

void blocking_pool::run() {
  std::unique_lock lock(m_);
  for (;;) {
    if (!jobs_.empty()) {
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job(true);
      lock.lock();
      continue;
    }
    if (stopping_) return;
    ++idle_;
    cv_.wait(lock);
    --idle_;
  }
}

void blocking_pool::stop() noexcept {
  std::deque<unique_function<void(bool)>> dropped;
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(m_);
    stopping_ = true;
    dropped.swap(jobs_);
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : threads) t.join();
  for (auto& job : dropped) job(false);
}

void submit_blocking(actor_system& sys, unique_function<void(bool)> job) {
  detail::system_access::blocking_jobs(sys).submit(std::move(job));
}

}  // namespace troupe::detail
