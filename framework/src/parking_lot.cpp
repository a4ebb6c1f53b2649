// Blocking waits on future states, for threads that are not actors.
//
// A "parking lot": a fixed table of mutex/condition-variable buckets indexed by the state's
// address, so a future state carries no synchronisation objects of its own. A waiter sets the
// state's HAS_WAITER bit, then sleeps on its bucket re-checking ready() under the bucket lock; a
// completer that saw HAS_WAITER sets READY first, then locks the bucket and notifies all. The
// lock makes the pair race-free: the waiter either sees READY before sleeping, or is already
// waiting when the notification comes. Several states may share a bucket; waiters re-check
// their own state and sleep again.
#include <troupe/detail/future_state.hpp>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace troupe::detail {
namespace {

struct bucket {
  std::mutex m;
  std::condition_variable cv;
};

std::array<bucket, 64>& buckets() {
  // Never destroyed: an actor_system at namespace scope is destroyed after this table would be
  // (it is built on first use, after such a system), and its workers may still wake waiters.
  static auto* table = new std::array<bucket, 64>;
  return *table;
}

bucket& bucket_for(const void* p) {
  auto v = reinterpret_cast<std::uintptr_t>(p);
  return buckets()[(v >> 6) % buckets().size()];
}

}  // namespace

bool park_until_ready(future_state_base& st, const time_point* deadline) noexcept {
  auto& b = bucket_for(&st);
  std::unique_lock lock(b.m);
  while (!st.ready()) {
    if (deadline) {
      if (b.cv.wait_until(lock, *deadline) == std::cv_status::timeout) return st.ready();
    } else {
      b.cv.wait(lock);
    }
  }
  return true;
}

void unpark_waiters(future_state_base& st) noexcept {
  auto& b = bucket_for(&st);
  { std::lock_guard lock(b.m); }
  b.cv.notify_all();
}

std::string type_mismatch_detail(const type_meta* expected, const type_meta* got) {
  std::string s = "expected a reply of type ";
  s += expected->name;
  s += ", got ";
  s += got ? got->name : std::string_view("nothing");
  return s;
}

}  // namespace troupe::detail
