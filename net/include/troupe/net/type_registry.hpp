// type_registry: message types under stable names, so that two programs (or two compilers)
// agree on what a frame holds. Compiler type names differ between compilers and versions; a
// registered name ("bank.deposit") is the type's identity on the wire.
//
//   troupe::net::type_registry types;             // numbers, strings, unit, handles: built in
//   types.add<deposit>("bank.deposit");           // no macro, no code: an aggregate serialises
//   types.add<balance>("bank.balance");           //   field by field (serialization.hpp)
//
// Register every type that crosses the wire, as a message or as a reply, on both sides, before
// the node starts; from then on the registry is read-only and may be shared by threads. Sending
// an unregistered type to a remote actor fails at the sender (a request with
// errc::unhandled_message naming the type; a send is a dead letter).
#pragma once

#include <troupe/detail/envelope.hpp>
#include <troupe/net/serialization.hpp>
#include <troupe/type_meta.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace troupe::net {

/// One registered type and how to move its values across the wire.
struct message_type {
  std::string name;
  const type_meta* type = nullptr;
  /// Writes `value` (an object of `type`).
  void (*write)(writer& w, const void* value) = nullptr;
  /// Writes the value a message envelope of `type` holds.
  void (*write_message)(writer& w, const troupe::detail::envelope& e) = nullptr;
  /// Reads a value into a new message envelope; null (and `r` failed) on bad input.
  troupe::detail::envelope* (*read_message)(reader& r) = nullptr;
  /// Reads a value and delivers it to `sink` as a request's reply; false on bad input.
  bool (*read_reply)(reader& r, troupe::detail::reply_sink& sink) = nullptr;
};

class type_registry {
 public:
  /// Longest registered name (names travel in one frame each per connection).
  static constexpr std::size_t max_name_length = 255;

  /// Registers the built-in types: bool, the fixed-width integers (i8..i64, u8..u64), f32,
  /// f64, string, unit, troupe.actor, troupe.node_id.
  type_registry();

  /// Registers T under `name`. Throws std::invalid_argument if the name is empty, longer than
  /// max_name_length or taken by another type, or if T is registered under another name.
  /// Registering the same type under the same name again does nothing.
  template <class T>
  void add(std::string_view name) {
    static_assert(std::is_same_v<T, std::remove_cvref_t<T>>, "troupe::net: register the plain type");
    static_assert(std::is_default_constructible_v<T>,
                  "troupe::net: a type read from the wire must be default-constructible (the reader "
                  "fills it in field by field); add a default constructor or a serializer<T>");
    message_type m;
    m.name = std::string(name);
    m.type = type_id<T>();
    m.write = [](writer& w, const void* value) { net::write(w, *static_cast<const T*>(value)); };
    m.write_message = [](writer& w, const troupe::detail::envelope& e) {
      net::write(w, static_cast<const troupe::detail::message_envelope<T>&>(e).value);
    };
    m.read_message = [](reader& r) -> troupe::detail::envelope* {
      auto e = std::make_unique<troupe::detail::message_envelope<T>>();
      net::read(r, e->value);
      return r.ok() ? e.release() : nullptr;
    };
    m.read_reply = [](reader& r, troupe::detail::reply_sink& sink) {
      T v{};
      net::read(r, v);
      if (!r.ok()) return false;
      sink.deliver(type_id<T>(), &v);
      return true;
    };
    insert(std::move(m));
  }

  /// The entry of a type, or null when it is not registered.
  const message_type* find(const type_meta* type) const noexcept;
  /// The entry registered under `name`, or null.
  const message_type* find(std::string_view name) const noexcept;
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  void insert(message_type m);

  std::vector<std::unique_ptr<message_type>> entries_;
  std::unordered_map<const type_meta*, const message_type*> by_type_;
  std::unordered_map<std::string_view, const message_type*> by_name_;
};

}  // namespace troupe::net
