// unique_function<R(Args...)>: a move-only std::function with inline storage.
//
// Callables up to six pointers in size that are nothrow-movable live inside the object; larger
// ones go to the heap. Continuations use it, so the common case (a lambda capturing a handle, a
// future state or two and a small user callback) allocates nothing. Not thread-safe; owned by one
// thread at a time, like any value.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace troupe::detail {

template <class Signature>
class unique_function;

template <class R, class... Args>
class unique_function<R(Args...)> {
  static constexpr std::size_t inline_size = 6 * sizeof(void*);

  struct ops {
    R (*invoke)(void* self, Args&&... args);
    void (*move_to)(void* from, void* to) noexcept;  // move-constructs into `to`, destroys `from`
    void (*destroy)(void* self) noexcept;
  };

  template <class F>
  static constexpr bool fits_inline = sizeof(F) <= inline_size &&
                                      alignof(F) <= alignof(std::max_align_t) &&
                                      std::is_nothrow_move_constructible_v<F>;

  template <class F>
  static constexpr ops inline_ops{
      [](void* self, Args&&... args) -> R {
        return (*static_cast<F*>(self))(std::forward<Args>(args)...);
      },
      [](void* from, void* to) noexcept {
        ::new (to) F(std::move(*static_cast<F*>(from)));
        static_cast<F*>(from)->~F();
      },
      [](void* self) noexcept { static_cast<F*>(self)->~F(); }};

  template <class F>
  static constexpr ops heap_ops{
      [](void* self, Args&&... args) -> R {
        return (**static_cast<F**>(self))(std::forward<Args>(args)...);
      },
      [](void* from, void* to) noexcept { ::new (to) F*(*static_cast<F**>(from)); },
      [](void* self) noexcept { delete *static_cast<F**>(self); }};

 public:
  unique_function() noexcept = default;
  unique_function(std::nullptr_t) noexcept {}

  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, unique_function> &&
             std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
  unique_function(F&& f) {  // NOLINT: implicit like std::function
    construct(std::forward<F>(f));
  }

  /// Replaces the target with `f`, built in place (no temporary unique_function to move from:
  /// what a future's continuation slot takes on every then() and co_await).
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, unique_function> &&
             std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
  void emplace(F&& f) {
    reset();
    construct(std::forward<F>(f));
  }

  unique_function(unique_function&& other) noexcept : ops_(other.ops_) {
    if (ops_) {
      ops_->move_to(&other.storage_, &storage_);
      other.ops_ = nullptr;
    }
  }
  unique_function& operator=(unique_function&& other) noexcept {
    if (this != &other) {
      reset();
      if (other.ops_) {
        other.ops_->move_to(&other.storage_, &storage_);
        ops_ = std::exchange(other.ops_, nullptr);
      }
    }
    return *this;
  }
  unique_function(const unique_function&) = delete;
  unique_function& operator=(const unique_function&) = delete;
  ~unique_function() { reset(); }

  void reset() noexcept {
    if (ops_) std::exchange(ops_, nullptr)->destroy(&storage_);
  }
  explicit operator bool() const noexcept { return ops_ != nullptr; }

  R operator()(Args... args) { return ops_->invoke(&storage_, std::forward<Args>(args)...); }

 private:
  template <class F>
  void construct(F&& f) {  // (ops_ is null)
    using D = std::decay_t<F>;
    if constexpr (fits_inline<D>) {
      ::new (static_cast<void*>(&storage_)) D(std::forward<F>(f));
      ops_ = &inline_ops<D>;
    } else {
      ::new (static_cast<void*>(&storage_)) D*(new D(std::forward<F>(f)));
      ops_ = &heap_ops<D>;
    }
  }

  const ops* ops_ = nullptr;
  alignas(std::max_align_t) unsigned char storage_[inline_size];
};

}  // namespace troupe::detail
