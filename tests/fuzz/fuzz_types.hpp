// A message type that uses every built-in rule of the wire encoding, for the fuzz targets.
#pragma once

#include <troupe/net/serialization.hpp>

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

namespace fuzz {

struct leaf {
  std::string name;
  std::int32_t count;
  bool flag;
};

struct everything {
  std::uint64_t id;
  std::string text;
  std::vector<leaf> leaves;
  std::optional<double> maybe;
  std::variant<std::int32_t, std::string, leaf> choice;
  std::map<std::string, std::vector<std::int16_t>> table;
  std::set<std::uint8_t> bytes;
  std::pair<std::int8_t, std::uint16_t> pair_field;
  std::tuple<bool, float> tuple_field;
  std::array<std::int64_t, 2> fixed;
  std::chrono::microseconds duration;
  std::unique_ptr<leaf> extra;
  troupe::node_id node;
};

}  // namespace fuzz
