#include <troupe/abstract_actor.hpp>
#include <troupe/actor.hpp>
#include <troupe/actor_system.hpp>

#include <cstdio>
#include <ostream>

namespace troupe {

std::string node_id::to_string() const {
  char buf[24];
  std::snprintf(buf, sizeof buf, "node-%016llx", static_cast<unsigned long long>(value));
  return buf;
}

node_id abstract_actor::node() const noexcept { return sys_->node(); }

void abstract_actor::strong_release() const noexcept {
  if (strong_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    on_unreferenced();
    weak_release();  // the collective unit of all strong references
  }
}

bool abstract_actor::try_strong_ref() const noexcept {
  auto n = strong_.load(std::memory_order_relaxed);
  while (n != 0) {
    if (strong_.compare_exchange_weak(n, n + 1, std::memory_order_acquire, std::memory_order_relaxed))
      return true;
  }
  return false;
}

std::string actor::to_string() const {
  if (!p_) return "actor#null";
  return "actor#" + std::to_string(id()) + "@" + node().to_string();
}

std::ostream& operator<<(std::ostream& os, const actor& a) { return os << a.to_string(); }

}  // namespace troupe
