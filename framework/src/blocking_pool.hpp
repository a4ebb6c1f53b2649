// blocking_pool: threads for blocking calls (see troupe/blocking.hpp). Threads start on demand
// up to `max_threads` and sleep on a condition variable when idle.
//
// Shutdown protocol (stop()): set stopping_ under the lock and wake everyone; threads finish the
// job they run and exit; stop() joins them, then calls every job still queued with run=false so
// that its future fails with errc::cancelled.
#pragma once

#include <troupe/detail/unique_function.hpp>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace troupe::detail {

class blocking_pool {
 public:
  explicit blocking_pool(std::size_t max_threads) : max_threads_(max_threads == 0 ? 1 : max_threads) {}
  ~blocking_pool() { stop(); }

  void submit(unique_function<void(bool)> job);
  void stop() noexcept;

 private:
  void run();

  std::size_t max_threads_;
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<unique_function<void(bool)>> jobs_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace troupe::detail
