#include <troupe/net/type_registry.hpp>

namespace troupe::net {

type_registry::type_registry() {
  add<bool>("bool");
  add<std::int8_t>("i8");
  add<std::int16_t>("i16");
  add<std::int32_t>("i32");
  add<std::int64_t>("i64");
  add<std::uint8_t>("u8");
  add<std::uint16_t>("u16");
  add<std::uint32_t>("u32");
  add<std::uint64_t>("u64");
  add<float>("f32");
  add<double>("f64");
  add<std::string>("string");
  add<unit>("unit");
  add<actor>("troupe.actor");
  add<node_id>("troupe.node_id");
}

void type_registry::insert(message_type m) {
  if (m.name.empty() || m.name.size() > max_name_length)
    throw std::invalid_argument("troupe::net: a type name must have 1 to 255 bytes: \"" + m.name + "\"");
  const message_type* same_type = find(m.type);
  const message_type* same_name = find(m.name);
  if (same_type && same_type == same_name) return;  // registered again, identically
  if (same_name)
    throw std::invalid_argument("troupe::net: the name \"" + m.name + "\" is taken by " +
                                std::string(same_name->type->name));
  if (same_type)
    throw std::invalid_argument("troupe::net: " + std::string(m.type->name) + " is registered as \"" +
                                same_type->name + "\"; one name per type");
  entries_.push_back(std::make_unique<message_type>(std::move(m)));
  const message_type* e = entries_.back().get();
  by_type_.emplace(e->type, e);
  by_name_.emplace(std::string_view(e->name), e);
}

const message_type* type_registry::find(const type_meta* type) const noexcept {
  auto it = by_type_.find(type);
  return it == by_type_.end() ? nullptr : it->second;
}

const message_type* type_registry::find(std::string_view name) const noexcept {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

}  // namespace troupe::net
