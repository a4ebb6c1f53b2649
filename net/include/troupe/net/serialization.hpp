// Serialization: the binary encoding of message values on troupe's wire (docs/protocol.md).
//
// Every value is written in a fixed, documented layout, little-endian, with no padding and no
// per-field tags (the message's registered type name says what follows):
//
//   bool                       1 byte, 0 or 1
//   integers                   their own width (int32_t: 4 bytes), two's complement
//   float, double              IEEE 754, 4 or 8 bytes
//   enums                      their underlying integer
//   std::string                u32 byte count, then the bytes (UTF-8 by convention)
//   containers                 u32 element count, then the elements (maps: key, value pairs)
//   std::array<T, N>           the N elements (no count)
//   std::optional<T>           u8 0 (empty) or 1 followed by the value
//   std::variant<T...>         u32 index of the alternative, then its value
//   std::pair, std::tuple      the elements in order
//   aggregates (structs)       the fields in declaration order (Boost.PFR: no code to write)
//   std::chrono::duration      its count(), as its representation type
//   std::unique_ptr<T>,        u8 0 (null) or 1 followed by the value (a deep copy)
//   std::shared_ptr<const T>
//   troupe::unit               nothing
//   troupe::error              u8 code (1..13, troupe::errc), then the detail as a string
//                              (empty: none); not default-constructible, so read it into an
//                              existing error, not through decode<error>
//   troupe::exit_reason        u8 exit_code (0 normal, 1 shutdown, 2 kill, 3 error,
//                              4 exception), then for 3 and 4 the error
//   troupe::node_id            u64
//   troupe::actor              u64 node, u64 actor id (0, 0: an empty handle)
//
// Any other type needs a serializer: specialize troupe::net::serializer<T> with
//   static void write(writer& w, const T& v);
//   static void read(reader& r, T& v);        // report bad input with r.fail("why")
// A type with no serializer fails to compile with a message that says so.
//
// Reading never trusts the input: every length is checked against the bytes that are left
// before anything is allocated, an invalid value (a bool of 2, a variant index out of range)
// fails the reader, and after the first failure the reader reads nothing more. A failed read
// leaves the value valid (default or partly filled) but meaningless; check reader::ok(). A set
// or map with a duplicate key is malformed (elements may come in any order).
#pragma once

#include <troupe/abstract_actor.hpp>
#include <troupe/actor.hpp>
#include <troupe/error.hpp>
#include <troupe/exit_reason.hpp>
#include <troupe/result.hpp>

#include <boost/pfr/core.hpp>

#include <array>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace troupe::net {

/// What an actor handle on the wire resolves to: the node knows its connections and proxies.
class handle_resolver {
 public:
  /// The handle for actor `id` on node `node` (local or a proxy); empty if it cannot be made.
  virtual actor resolve(node_id node, actor_id id) = 0;
  /// The (node, id) a handle is written as (a proxy writes its remote node and id).
  virtual std::pair<node_id, actor_id> address_of(const actor& a) = 0;

 protected:
  ~handle_resolver() = default;
};

/// Appends encoded values to a byte buffer. Growing the buffer is the only allocation.
class writer {
 public:
  explicit writer(std::vector<std::byte>& out, handle_resolver* handles = nullptr) noexcept
      : out_(out), handles_(handles) {}

  void bytes(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  template <class I>
    requires std::is_integral_v<I>
  void integer(I v) {
    if constexpr (std::endian::native == std::endian::big && sizeof(I) > 1) v = byteswap(v);
    bytes(&v, sizeof v);
  }
  /// Several integers in one append, each as integer() writes it (what frame headers use: one
  /// insert instead of one per field).
  template <class... I>
    requires(std::is_integral_v<I> && ...)
  void integers(I... v) {
    std::byte buf[(sizeof(I) + ...)];
    std::size_t at = 0;
    auto put = [&](auto x) {
      if constexpr (std::endian::native == std::endian::big && sizeof(x) > 1) x = byteswap(x);
      std::memcpy(buf + at, &x, sizeof x);
      at += sizeof x;
    };
    (put(v), ...);
    bytes(buf, sizeof buf);
  }
  void u8(std::uint8_t v) { out_.push_back(std::byte{v}); }
  void u32(std::uint32_t v) { integer(v); }
  void u64(std::uint64_t v) { integer(v); }
  /// A u32 length, checked: the wire cannot say more than 2^32 - 1.
  void length(std::size_t n) {
    if (n > 0xffffffffu) throw std::length_error("troupe::net: a string or container too long for the wire");
    u32(static_cast<std::uint32_t>(n));
  }

  std::size_t size() const noexcept { return out_.size(); }
  std::vector<std::byte>& buffer() noexcept { return out_; }
  handle_resolver* handles() const noexcept { return handles_; }

  template <class I>
  static I byteswap(I v) noexcept {
    auto u = static_cast<std::make_unsigned_t<I>>(v);
    std::make_unsigned_t<I> r = 0;
    for (std::size_t i = 0; i < sizeof(I); ++i) r = static_cast<std::make_unsigned_t<I>>((r << 8) | ((u >> (8 * i)) & 0xff));
    return static_cast<I>(r);
  }

 private:
  std::vector<std::byte>& out_;
  handle_resolver* handles_;
};

/// Reads encoded values from a span of bytes, never past its end.
class reader {
 public:
  explicit reader(std::span<const std::byte> in, handle_resolver* handles = nullptr) noexcept
      : p_(in.data()), end_(in.data() + in.size()), handles_(handles) {}
  /// A reader only refers to its input: it cannot take a temporary buffer.
  explicit reader(std::vector<std::byte>&&, handle_resolver* = nullptr) = delete;

  bool ok() const noexcept { return why_ == nullptr; }
  /// Why reading failed (a static string), or null.
  const char* failure() const noexcept { return why_; }
  /// Marks the input bad; the first reason is kept.
  void fail(const char* why) noexcept {
    if (!why_) why_ = why;
    p_ = end_;
  }

  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }
  bool at_end() const noexcept { return p_ == end_; }

  bool bytes(void* out, std::size_t n) noexcept {
    if (!ok() || remaining() < n) {
      fail("truncated input");
      return false;
    }
    if (n) std::memcpy(out, p_, n);
    p_ += n;
    return true;
  }
  /// The next `n` bytes, in place (empty span and a failure if there are fewer).
  std::span<const std::byte> view(std::size_t n) noexcept {
    if (!ok() || remaining() < n) {
      fail("truncated input");
      return {};
    }
    std::span<const std::byte> s(p_, n);
    p_ += n;
    return s;
  }
  template <class I>
    requires std::is_integral_v<I>
  I integer() noexcept {
    I v{};
    if (!bytes(&v, sizeof v)) return I{};
    if constexpr (std::endian::native == std::endian::big && sizeof(I) > 1) v = writer::byteswap(v);
    return v;
  }
  std::uint8_t u8() noexcept { return integer<std::uint8_t>(); }
  std::uint32_t u32() noexcept { return integer<std::uint32_t>(); }
  std::uint64_t u64() noexcept { return integer<std::uint64_t>(); }
  /// A u32 element count for elements of at least `min_size` encoded bytes each: fails,
  /// before anything is allocated, if the input cannot hold that many.
  std::size_t count(std::size_t min_size) noexcept {
    const std::size_t n = u32();
    if (!ok()) return 0;
    if (min_size == 0 ? n > max_empty_elements : n > remaining() / min_size) {
      fail("a count larger than the input can hold");
      return 0;
    }
    return n;
  }

  handle_resolver* handles() const noexcept { return handles_; }

  /// Most elements of encoded size 0 (empty structs) a count may announce.
  static constexpr std::size_t max_empty_elements = 1 << 16;

 private:
  const std::byte* p_;
  const std::byte* end_;
  handle_resolver* handles_;
  const char* why_ = nullptr;
};

/// Specialize for a type that is not covered by the built-in rules (see the header comment).
template <class T>
struct serializer;

namespace detail {

template <class T, template <class...> class Tpl>
struct is_specialization : std::false_type {};
template <template <class...> class Tpl, class... A>
struct is_specialization<Tpl<A...>, Tpl> : std::true_type {};

template <class T>
struct is_std_array : std::false_type {};
template <class T, std::size_t N>
struct is_std_array<std::array<T, N>> : std::true_type {};

template <class T>
struct is_duration : std::false_type {};
template <class R, class P>
struct is_duration<std::chrono::duration<R, P>> : std::true_type {};

template <class T>
concept has_serializer = requires(writer& w, reader& r, const T& c, T& m) {
  serializer<T>::write(w, c);
  serializer<T>::read(r, m);
};

template <class T>
concept container = requires(T& t, const T& c) {
  typename T::value_type;
  std::begin(c);
  std::end(c);
  t.clear();
} && !std::is_same_v<T, std::string>;

template <class T>
concept map_like = container<T> && requires { typename T::key_type; typename T::mapped_type; };

template <class T>
concept reflectable = std::is_class_v<T> && std::is_aggregate_v<T> && !std::is_polymorphic_v<T>;

template <class T>
inline constexpr bool dependent_false = false;

}  // namespace detail

template <class T>
void write(writer& w, const T& v);
template <class T>
void read(reader& r, T& v);

/// The fewest bytes a T can take on the wire (bounds counts before allocating).
template <class T>
constexpr std::size_t min_encoded_size() {
  if constexpr (detail::has_serializer<T>) return 0;
  else if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) return sizeof(T);
  else if constexpr (std::is_same_v<T, std::string> || detail::container<T>) return 4;
  else if constexpr (detail::is_specialization<T, std::optional>::value) return 1;
  else if constexpr (detail::is_specialization<T, std::variant>::value) return 4;
  else if constexpr (std::is_same_v<T, actor>) return 16;
  else if constexpr (std::is_same_v<T, node_id>) return 8;
  else if constexpr (std::is_same_v<T, error>) return 5;
  else if constexpr (std::is_same_v<T, exit_reason>) return 1;
  else if constexpr (detail::is_duration<T>::value) return sizeof(typename T::rep);
  else return 0;  // aggregates, tuples, pointers: at least nothing (conservative)
}

namespace detail {

template <std::size_t I, class V>
void read_into_alternative(reader& r, V& v) {
  std::variant_alternative_t<I, V> x{};
  net::read(r, x);
  v.template emplace<I>(std::move(x));
}

template <class V, std::size_t... I>
void read_alternative(reader& r, V& v, std::uint32_t index, std::index_sequence<I...>) {
  (void)((index == I ? (read_into_alternative<I>(r, v), true) : false) || ...);
}

template <class T>
void write_value(writer& w, const T& v) {
  if constexpr (has_serializer<T>) {
    serializer<T>::write(w, v);
  } else if constexpr (std::is_same_v<T, bool>) {
    w.u8(v ? 1 : 0);
  } else if constexpr (std::is_integral_v<T>) {
    w.integer(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "troupe::net: only float and double go on the wire");
    using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    w.integer(std::bit_cast<U>(v));
  } else if constexpr (std::is_enum_v<T>) {
    w.integer(static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (std::is_same_v<T, std::string>) {
    w.length(v.size());
    w.bytes(v.data(), v.size());
  } else if constexpr (is_std_array<T>::value) {
    for (const auto& x : v) net::write(w, x);
  } else if constexpr (map_like<T>) {
    w.length(v.size());
    for (const auto& [k, x] : v) {
      net::write(w, k);
      net::write(w, x);
    }
  } else if constexpr (container<T>) {
    w.length(static_cast<std::size_t>(std::distance(std::begin(v), std::end(v))));
    for (const auto& x : v) net::write(w, x);
  } else if constexpr (is_specialization<T, std::optional>::value) {
    w.u8(v ? 1 : 0);
    if (v) net::write(w, *v);
  } else if constexpr (is_specialization<T, std::variant>::value) {
    w.u32(static_cast<std::uint32_t>(v.index()));
    std::visit([&w](const auto& x) { net::write(w, x); }, v);
  } else if constexpr (is_specialization<T, std::pair>::value) {
    net::write(w, v.first);
    net::write(w, v.second);
  } else if constexpr (is_specialization<T, std::tuple>::value) {
    std::apply([&w](const auto&... x) { (net::write(w, x), ...); }, v);
  } else if constexpr (is_duration<T>::value) {
    net::write(w, v.count());
  } else if constexpr (is_specialization<T, std::unique_ptr>::value || is_specialization<T, std::shared_ptr>::value) {
    w.u8(v ? 1 : 0);
    if (v) net::write(w, *v);
  } else if constexpr (std::is_same_v<T, unit>) {
  } else if constexpr (std::is_same_v<T, error>) {
    w.u8(static_cast<std::uint8_t>(v.code()));
    net::write(w, std::string(v.detail()));
  } else if constexpr (std::is_same_v<T, exit_reason>) {
    w.u8(static_cast<std::uint8_t>(v.code()));
    if (v.code() == exit_code::error || v.code() == exit_code::exception) {
      const error none(errc::user);
      net::write(w, v.error() ? *v.error() : none);
    }
  } else if constexpr (std::is_same_v<T, node_id>) {
    w.u64(v.value);
  } else if constexpr (std::is_same_v<T, actor>) {
    std::pair<node_id, actor_id> at{};
    if (v) {
      if (!w.handles()) throw std::logic_error("troupe::net: an actor handle can only be written by a node");
      at = w.handles()->address_of(v);
    }
    w.u64(at.first.value);
    w.u64(at.second);
  } else if constexpr (reflectable<T>) {
    boost::pfr::for_each_field(v, [&w](const auto& f) { net::write(w, f); });
  } else {
    static_assert(dependent_false<T>,
                  "troupe::net: no serializer for this type. Aggregates (structs without constructors), "
                  "strings, numbers, enums, std containers, optional, variant, pair, tuple, durations, "
                  "troupe::error and actor handles are built in; for another type specialize "
                  "troupe::net::serializer<T> with static write(writer&, const T&) and read(reader&, T&).");
  }
}

template <class T>
void read_value(reader& r, T& v) {
  if constexpr (has_serializer<T>) {
    serializer<T>::read(r, v);
  } else if constexpr (std::is_same_v<T, bool>) {
    const auto b = r.u8();
    if (b > 1) r.fail("a bool other than 0 or 1");
    v = b == 1;
  } else if constexpr (std::is_integral_v<T>) {
    v = r.integer<T>();
  } else if constexpr (std::is_floating_point_v<T>) {
    using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    v = std::bit_cast<T>(r.integer<U>());
  } else if constexpr (std::is_enum_v<T>) {
    v = static_cast<T>(r.integer<std::underlying_type_t<T>>());
  } else if constexpr (std::is_same_v<T, std::string>) {
    const std::size_t n = r.count(1);
    auto s = r.view(n);
    v.assign(reinterpret_cast<const char*>(s.data()), s.size());
  } else if constexpr (is_std_array<T>::value) {
    for (auto& x : v) net::read(r, x);
  } else if constexpr (map_like<T>) {
    v.clear();
    const std::size_t n = r.count(min_encoded_size<typename T::key_type>() +
                                  min_encoded_size<typename T::mapped_type>());
    for (std::size_t i = 0; i < n && r.ok(); ++i) {
      typename T::key_type k{};
      typename T::mapped_type x{};
      net::read(r, k);
      net::read(r, x);
      if (r.ok() && !v.emplace(std::move(k), std::move(x)).second) r.fail("a duplicate key");
    }
  } else if constexpr (container<T>) {
    using E = typename T::value_type;
    v.clear();
    const std::size_t n = r.count(min_encoded_size<E>());
    if constexpr (requires { v.reserve(n); }) v.reserve(n);
    for (std::size_t i = 0; i < n && r.ok(); ++i) {
      E x{};
      net::read(r, x);
      if (!r.ok()) break;
      if constexpr (requires { v.push_back(std::move(x)); }) {
        v.push_back(std::move(x));
      } else if constexpr (requires { v.insert(std::move(x)).second; }) {
        if (!v.insert(std::move(x)).second) r.fail("a duplicate element in a set");
      } else {
        v.insert(std::move(x));
      }
    }
  } else if constexpr (is_specialization<T, std::optional>::value) {
    const auto has = r.u8();
    if (has > 1) r.fail("an optional flag other than 0 or 1");
    if (has == 1) {
      typename T::value_type x{};
      net::read(r, x);
      v = std::move(x);
    } else {
      v.reset();
    }
  } else if constexpr (is_specialization<T, std::variant>::value) {
    const std::uint32_t index = r.u32();
    if (!r.ok()) return;
    if (index >= std::variant_size_v<T>) {
      r.fail("a variant index out of range");
      return;
    }
    read_alternative(r, v, index, std::make_index_sequence<std::variant_size_v<T>>{});
  } else if constexpr (is_specialization<T, std::pair>::value) {
    net::read(r, v.first);
    net::read(r, v.second);
  } else if constexpr (is_specialization<T, std::tuple>::value) {
    std::apply([&r](auto&... x) { (net::read(r, x), ...); }, v);
  } else if constexpr (is_duration<T>::value) {
    typename T::rep c{};
    net::read(r, c);
    v = T(c);
  } else if constexpr (is_specialization<T, std::unique_ptr>::value || is_specialization<T, std::shared_ptr>::value) {
    const auto has = r.u8();
    if (has > 1) r.fail("a pointer flag other than 0 or 1");
    if (has != 1) {
      v.reset();
      return;
    }
    using E = std::remove_const_t<typename T::element_type>;
    auto x = std::make_unique<E>();
    net::read(r, *x);
    v = T(std::move(x));
  } else if constexpr (std::is_same_v<T, unit>) {
  } else if constexpr (std::is_same_v<T, error>) {
    const auto code = r.u8();
    std::string detail;
    net::read(r, detail);
    if (!r.ok()) return;
    if (code == 0 || code > static_cast<std::uint8_t>(errc_last)) {
      r.fail("an error code out of range");
      return;
    }
    v = detail.empty() ? error(static_cast<errc>(code)) : error(static_cast<errc>(code), std::move(detail));
  } else if constexpr (std::is_same_v<T, exit_reason>) {
    const auto code = r.u8();
    if (!r.ok()) return;
    if (code > static_cast<std::uint8_t>(exit_code::exception)) {
      r.fail("an exit code out of range");
    } else if (code == static_cast<std::uint8_t>(exit_code::error) || code == static_cast<std::uint8_t>(exit_code::exception)) {
      error e(errc::user);
      net::read(r, e);
      if (r.ok()) v = code == static_cast<std::uint8_t>(exit_code::error) ? exit_reason(std::move(e)) : exit_reason::exception(std::string(e.detail()));
    } else {
      v = code == 0 ? exit_reason::normal() : code == 1 ? exit_reason::shutdown() : exit_reason::kill();
    }
  } else if constexpr (std::is_same_v<T, node_id>) {
    v.value = r.u64();
  } else if constexpr (std::is_same_v<T, actor>) {
    const node_id node{r.u64()};
    const actor_id id = r.u64();
    if (!r.ok()) return;
    if (node.value == 0 && id == 0) {
      v = actor();
      return;
    }
    if (!r.handles()) {
      r.fail("an actor handle outside a node");
      return;
    }
    v = r.handles()->resolve(node, id);
  } else if constexpr (reflectable<T>) {
    boost::pfr::for_each_field(v, [&r](auto& f) { net::read(r, f); });
  } else {
    static_assert(dependent_false<T>, "troupe::net: no serializer for this type (see write)");
  }
}

}  // namespace detail

/// Appends `v`'s encoding to `w`.
template <class T>
void write(writer& w, const T& v) {
  detail::write_value<std::remove_cv_t<T>>(w, v);
}

/// Reads a `T` into `v`; check r.ok() afterwards.
template <class T>
void read(reader& r, T& v) {
  if (!r.ok()) return;
  detail::read_value<T>(r, v);
}

/// Encodes `v` into a new buffer (for tests and tools).
template <class T>
std::vector<std::byte> encode(const T& v, handle_resolver* handles = nullptr) {
  std::vector<std::byte> out;
  writer w(out, handles);
  net::write(w, v);
  return out;
}

/// Decodes a whole buffer as a `T`: fails if the bytes are not exactly one valid `T`.
template <class T>
result<T> decode(std::span<const std::byte> in, handle_resolver* handles = nullptr) {
  reader r(in, handles);
  T v{};
  net::read(r, v);
  if (r.ok() && !r.at_end()) r.fail("bytes left after the value");
  if (!r.ok()) return error(errc::user, std::string("malformed value: ") + r.failure());
  return v;
}

}  // namespace troupe::net
