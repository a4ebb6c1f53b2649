// probe<T>: a thread-safe queue that actors fill and a test thread drains, waiting for each
// value (never longer than a bound: a test that reaches the bound has found a missing event).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

namespace troupe::test {

template <class T>
class probe {
 public:
  void push(T v) {
    {
      std::lock_guard lock(m_);
      q_.push_back(std::move(v));
    }
    cv_.notify_all();
  }

  /// The next value, waiting at most `within` for it.
  std::optional<T> pop(std::chrono::milliseconds within = std::chrono::seconds(10)) {
    std::unique_lock lock(m_);
    if (!cv_.wait_for(lock, within, [this] { return !q_.empty(); })) return std::nullopt;
    T v = std::move(q_.front());
    q_.pop_front();
    return v;
  }

  /// The next value for which `pred` holds (earlier ones are discarded).
  template <class Pred>
  std::optional<T> pop_until(Pred pred, std::chrono::milliseconds within = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= std::chrono::milliseconds::zero()) return std::nullopt;
      auto v = pop(left);
      if (!v || pred(*v)) return v;
    }
  }

  std::size_t size() const {
    std::lock_guard lock(m_);
    return q_.size();
  }

 private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::deque<T> q_;
};

template <class T>
using probe_ptr = std::shared_ptr<probe<T>>;

}  // namespace troupe::test
