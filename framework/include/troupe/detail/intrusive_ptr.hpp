// intrusive_ptr: a pointer that shares ownership through a count kept inside the object.
//
// The pointee type supplies two functions found by argument-dependent lookup:
//   void intrusive_ptr_add_ref(const T*) noexcept;
//   void intrusive_ptr_release(const T*) noexcept;
// Copying costs one atomic increment; no control block is allocated. Used for actors
// (whose counts are special, see abstract_actor.hpp) and for future states.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace troupe::detail {

struct adopt_ref_t {
  explicit adopt_ref_t() = default;
};
/// Tag: take over a reference the caller already owns instead of adding one.
inline constexpr adopt_ref_t adopt_ref{};

template <class T>
class intrusive_ptr {
 public:
  constexpr intrusive_ptr() noexcept = default;
  constexpr intrusive_ptr(std::nullptr_t) noexcept {}
  explicit intrusive_ptr(T* p) noexcept : ptr_(p) {
    if (ptr_) intrusive_ptr_add_ref(ptr_);
  }
  intrusive_ptr(T* p, adopt_ref_t) noexcept : ptr_(p) {}
  intrusive_ptr(const intrusive_ptr& other) noexcept : intrusive_ptr(other.ptr_) {}
  intrusive_ptr(intrusive_ptr&& other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)) {}
  template <class U>
    requires std::is_convertible_v<U*, T*>
  intrusive_ptr(intrusive_ptr<U> other) noexcept : ptr_(other.detach()) {}
  ~intrusive_ptr() {
    if (ptr_) intrusive_ptr_release(ptr_);
  }

  intrusive_ptr& operator=(const intrusive_ptr& other) noexcept {
    intrusive_ptr(other).swap(*this);
    return *this;
  }
  intrusive_ptr& operator=(intrusive_ptr&& other) noexcept {
    intrusive_ptr(std::move(other)).swap(*this);
    return *this;
  }

  void reset() noexcept { intrusive_ptr().swap(*this); }
  /// Gives up ownership without releasing; the caller now owns one reference.
  [[nodiscard]] T* detach() noexcept { return std::exchange(ptr_, nullptr); }
  void swap(intrusive_ptr& other) noexcept { std::swap(ptr_, other.ptr_); }

  T* get() const noexcept { return ptr_; }
  T* operator->() const noexcept { return ptr_; }
  T& operator*() const noexcept { return *ptr_; }
  explicit operator bool() const noexcept { return ptr_ != nullptr; }

  friend bool operator==(const intrusive_ptr& a, const intrusive_ptr& b) noexcept {
    return a.ptr_ == b.ptr_;
  }
  friend bool operator==(const intrusive_ptr& a, std::nullptr_t) noexcept { return a.ptr_ == nullptr; }

 private:
  T* ptr_ = nullptr;
};

template <class T, class... Args>
intrusive_ptr<T> make_intrusive(Args&&... args) {
  return intrusive_ptr<T>(new T(std::forward<Args>(args)...), adopt_ref);
}

}  // namespace troupe::detail
