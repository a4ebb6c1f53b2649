// type_meta: a per-type descriptor that identifies message types at run time.
//
// Any movable C++ type is a message. Its identity is the address of `type_meta_of<T>`, one
// object per type in the program, so comparing two message types is one pointer comparison on
// the dispatch path. The descriptor also carries a readable name for logs, dead letters and
// traces. (Names for the wire are registered separately by the net layer, since compilers
// spell type names differently.)
#pragma once

#include <string_view>
#include <type_traits>

namespace troupe {

struct type_meta {
  std::string_view name;
};

namespace detail {

template <class T>
constexpr std::string_view pretty_type_name() noexcept {
#if defined(__clang__) || defined(__GNUC__)
  std::string_view p = __PRETTY_FUNCTION__;
  // GCC: "... [with T = foo; std::string_view = ...]", Clang: "... [T = foo]"
  auto start = p.find("T = ");
  if (start == std::string_view::npos) return p;
  start += 4;
  auto end = p.find_first_of(";]", start);
  return p.substr(start, end - start);
#else
  return "unknown";
#endif
}

}  // namespace detail

/// The descriptor of message type T (cv-qualifiers and references removed by callers).
template <class T>
inline constexpr type_meta type_meta_of{detail::pretty_type_name<T>()};

/// The run-time identity of T: compare with `&type_meta_of<T>`.
template <class T>
constexpr const type_meta* type_id() noexcept {
  return &type_meta_of<std::remove_cvref_t<T>>;
}

}  // namespace troupe
