// ref_counted: base for objects shared through intrusive_ptr by several threads.
//
// Thread safety: add_ref/release may be called from any thread. The count starts at 1 (the
// creator's reference, adopted with make_intrusive). Increments are relaxed (a new reference is
// always made from an existing one, which already orders it); the final decrement is acq_rel so
// that every write made through any reference happens-before the destructor.
#pragma once

#include <troupe/detail/small_alloc.hpp>

#include <atomic>
#include <cstdint>

namespace troupe::detail {

class ref_counted : public uses_small_alloc {
 public:
  ref_counted() noexcept = default;
  ref_counted(const ref_counted&) = delete;
  ref_counted& operator=(const ref_counted&) = delete;

  void add_ref() const noexcept { rc_.fetch_add(1, std::memory_order_relaxed); }
  void release() const noexcept {
    if (rc_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  std::uint32_t use_count() const noexcept { return rc_.load(std::memory_order_relaxed); }

 protected:
  virtual ~ref_counted() = default;

 private:
  mutable std::atomic<std::uint32_t> rc_{1};
};

inline void intrusive_ptr_add_ref(const ref_counted* p) noexcept { p->add_ref(); }
inline void intrusive_ptr_release(const ref_counted* p) noexcept { p->release(); }

}  // namespace troupe::detail
