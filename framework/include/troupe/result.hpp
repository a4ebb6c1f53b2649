// result<T>: a value of type T or a troupe::error (like C++23's std::expected<T, error>).
//
// The outcome of every future, request and co_await. `result<void>` carries only success or an
// error.
#pragma once

#include <troupe/error.hpp>

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace troupe {

template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_reference_v<T>, "result<T&> is not supported");

 public:
  using value_type = T;

  template <class U = T>
    requires std::is_constructible_v<T, U&&> &&
             (!std::is_same_v<std::remove_cvref_t<U>, result>) &&
             (!std::is_same_v<std::remove_cvref_t<U>, troupe::error>) &&
             (!std::is_same_v<std::remove_cvref_t<U>, errc>)
  result(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT
  result(troupe::error e) : v_(std::in_place_index<1>, std::move(e)) {}       // NOLINT
  result(errc code) : v_(std::in_place_index<1>, troupe::error(code)) {}      // NOLINT
  template <class... Args>
  explicit result(std::in_place_t, Args&&... args)
      : v_(std::in_place_index<0>, std::forward<Args>(args)...) {}

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    check();
    return std::get<0>(v_);
  }
  const T& value() const& {
    check();
    return std::get<0>(v_);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(v_));
  }
  T& operator*() & noexcept { return std::get<0>(v_); }
  const T& operator*() const& noexcept { return std::get<0>(v_); }
  T&& operator*() && noexcept { return std::get<0>(std::move(v_)); }
  T* operator->() noexcept { return &std::get<0>(v_); }
  const T* operator->() const noexcept { return &std::get<0>(v_); }

  /// The error; only valid when !has_value().
  const troupe::error& error() const& noexcept { return std::get<1>(v_); }
  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  void check() const {
    if (!has_value()) throw bad_result_access(std::get<1>(v_));
  }
  std::variant<T, troupe::error> v_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  using value_type = void;
  result() noexcept = default;
  result(troupe::error e) : err_(std::move(e)) {}  // NOLINT
  result(errc code) : err_(troupe::error(code)) {}  // NOLINT

  bool has_value() const noexcept { return !err_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  /// Throws bad_result_access if this holds an error.
  void value() const {
    if (err_) throw bad_result_access(*err_);
  }
  const troupe::error& error() const& noexcept { return *err_; }

 private:
  std::optional<troupe::error> err_;
};

namespace detail {
/// T, or troupe::unit for void: what a reply of "nothing" is carried as.
template <class T>
using value_or_unit_t = std::conditional_t<std::is_void_v<T>, unit, T>;
}  // namespace detail

template <class T>
struct is_result : std::false_type {};
template <class T>
struct is_result<result<T>> : std::true_type {};

}  // namespace troupe
