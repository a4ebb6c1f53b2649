// The wire encoding of values (serialization.hpp, docs/protocol.md): round trips, the exact
// bytes of the documented layouts, and malformed input that must fail without crashing.
#include <troupe/net/serialization.hpp>
#include <troupe/net/type_registry.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

using namespace troupe;
using namespace troupe::net;

namespace {

enum class color : std::uint8_t { red = 1, green = 2 };

struct line {
  std::string item;
  int quantity;
  friend bool operator==(const line&, const line&) = default;
};

struct order {  // an aggregate: serialised with no code
  std::uint64_t id;
  std::string customer;
  std::vector<line> lines;
  std::optional<double> discount;
  std::variant<int, std::string> note;
  std::map<std::string, std::int32_t> tags;
  color c;
  bool express;
  std::chrono::milliseconds deadline;
  std::pair<int, std::string> pair_field;
  std::array<std::int16_t, 3> fixed;
  std::unique_ptr<line> extra;
  friend bool operator==(const order& a, const order& b) {
    return a.id == b.id && a.customer == b.customer && a.lines == b.lines && a.discount == b.discount &&
           a.note == b.note && a.tags == b.tags && a.c == b.c && a.express == b.express &&
           a.deadline == b.deadline && a.pair_field == b.pair_field && a.fixed == b.fixed &&
           (a.extra ? b.extra && *a.extra == *b.extra : !b.extra);
  }
};

struct empty {};

/// A non-aggregate type with a serializer of its own.
class money {
 public:
  money() = default;
  explicit money(std::int64_t cents) : cents_(cents) {}
  std::int64_t cents() const { return cents_; }
  friend bool operator==(const money&, const money&) = default;

 private:
  std::int64_t cents_ = 0;
};

std::vector<std::byte> bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

}  // namespace

template <>
struct troupe::net::serializer<money> {
  static void write(writer& w, const money& m) { w.integer(m.cents()); }
  static void read(reader& r, money& m) {
    const auto c = r.integer<std::int64_t>();
    if (c < 0) r.fail("negative money");
    m = money(c);
  }
};

TEST_CASE("values round-trip through the wire encoding", "[net][serialization]") {
  order o{42, "ada", {{"tea", 2}, {"cake", 1}}, 0.1, std::string("fragile"), {{"a", 1}, {"b", -2}}, color::green,
          true, std::chrono::milliseconds(1500), {7, "seven"}, {{1, -2, 3}}, std::make_unique<line>(line{"gift", 1})};
  auto wire = encode(o);
  auto back = decode<order>(wire);
  REQUIRE(back);
  CHECK(*back == o);

  CHECK(*decode<std::string>(encode(std::string("héllo"))) == "héllo");
  CHECK(*decode<std::vector<int>>(encode(std::vector<int>{1, 2, 3})) == std::vector<int>{1, 2, 3});
  CHECK(*decode<std::set<std::string>>(encode(std::set<std::string>{"x", "y"})) == std::set<std::string>{"x", "y"});
  CHECK(*decode<std::deque<int>>(encode(std::deque<int>{4, 5})) == std::deque<int>{4, 5});
  CHECK(*decode<std::list<int>>(encode(std::list<int>{6})) == std::list<int>{6});
  std::unordered_map<int, std::string> um{{1, "one"}, {2, "two"}};
  CHECK(*decode<std::unordered_map<int, std::string>>(encode(um)) == um);
  CHECK(*decode<std::optional<int>>(encode(std::optional<int>())) == std::nullopt);
  CHECK(*decode<std::tuple<int, bool, std::string>>(encode(std::tuple<int, bool, std::string>{1, true, "t"})) ==
        std::tuple<int, bool, std::string>{1, true, "t"});
  CHECK(*decode<money>(encode(money(1234))) == money(1234));
  CHECK(decode<empty>(encode(empty{})).has_value());
  CHECK(*decode<double>(encode(-2.5)) == -2.5);
  CHECK(*decode<node_id>(encode(node_id{77})) == node_id{77});
  CHECK(*decode<actor>(encode(actor())) == actor());  // an empty handle needs no node
  for (const exit_reason& r : {exit_reason::normal(), exit_reason::shutdown(), exit_reason::kill(),
                               exit_reason(error(errc::user, "why")), exit_reason::exception("thrown")})
    CHECK(*decode<exit_reason>(encode(r)) == r);
  auto shared = std::make_shared<const std::vector<int>>(std::vector<int>{9});
  auto shared_back = decode<std::shared_ptr<const std::vector<int>>>(encode(shared));
  REQUIRE(shared_back);
  REQUIRE(*shared_back);
  CHECK(**shared_back == std::vector<int>{9});
}

TEST_CASE("the encoding is the documented one, byte for byte", "[net][serialization]") {
  CHECK(encode(std::uint32_t{0x01020304}) == bytes({4, 3, 2, 1}));                // little-endian
  CHECK(encode(std::int16_t{-2}) == bytes({0xfe, 0xff}));                         // two's complement
  CHECK(encode(true) == bytes({1}));
  CHECK(encode(std::string("ab")) == bytes({2, 0, 0, 0, 'a', 'b'}));              // u32 length + bytes
  CHECK(encode(std::vector<std::uint8_t>{7, 8}) == bytes({2, 0, 0, 0, 7, 8}));    // u32 count + elements
  CHECK(encode(std::optional<std::uint8_t>(5)) == bytes({1, 5}));
  CHECK(encode(std::optional<std::uint8_t>()) == bytes({0}));
  CHECK(encode(std::variant<std::uint8_t, bool>(true)) == bytes({1, 0, 0, 0, 1}));  // u32 index + value
  CHECK(encode(line{"x", 3}) == bytes({1, 0, 0, 0, 'x', 3, 0, 0, 0}));            // fields in order
  CHECK(encode(1.0) == bytes({0, 0, 0, 0, 0, 0, 0xf0, 0x3f}));                     // IEEE 754
  CHECK(encode(error(errc::timeout, "x")) == bytes({1, 1, 0, 0, 0, 'x'}));         // code + detail
  CHECK(encode(exit_reason::kill()) == bytes({2}));                               // exit code
  CHECK(encode(exit_reason(error(errc::user, "x"))) == bytes({3, 11, 1, 0, 0, 0, 'x'}));  // + error
  CHECK_FALSE(decode<exit_reason>(bytes({5})));                                   // out of range
}

TEST_CASE("malformed input fails the reader and never reads past the end", "[net][serialization]") {
  auto why = [](const std::vector<std::byte>& b, auto type_tag) {
    using T = typename decltype(type_tag)::type;
    auto r = decode<T>(b);
    return r ? std::string("accepted") : std::string(r.error().detail());
  };
  using str = std::type_identity<std::string>;
  CHECK(why(bytes({5, 0, 0, 0, 'a'}), str{}).find("count larger") != std::string::npos);     // length > input
  CHECK(why(bytes({0xff, 0xff, 0xff, 0xff}), str{}).find("count larger") != std::string::npos);  // 4 GiB announced
  CHECK(why(bytes({1, 0}), str{}).find("truncated") != std::string::npos);                  // a cut length
  CHECK(why(bytes({2}), std::type_identity<bool>{}).find("bool") != std::string::npos);
  CHECK(why(bytes({9, 0, 0, 0, 1}), std::type_identity<std::variant<int, bool>>{}).find("variant") != std::string::npos);
  CHECK(why(bytes({1, 2, 3, 4, 5}), std::type_identity<std::uint32_t>{}).find("left after") != std::string::npos);
  CHECK(why(bytes({0xff, 0xff, 0xff, 0x7f}), std::type_identity<std::vector<std::uint64_t>>{}).find("count larger") !=
        std::string::npos);  // 2^31 elements of 8 bytes announced: refused before allocating
  CHECK(why(bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), std::type_identity<money>{}).find("negative") !=
        std::string::npos);  // a user serializer's own check
  CHECK(why(bytes({3, 0, 0, 0}), std::type_identity<std::vector<empty>>{}) == "accepted");
  CHECK(why(bytes({0xff, 0xff, 0xff, 0xff}), std::type_identity<std::vector<empty>>{}).find("count larger") !=
        std::string::npos);  // even elements of 0 bytes have a bounded count
  // Sets and maps with a duplicate key (the order of elements is free).
  CHECK(why(bytes({2, 0, 0, 0, 5, 5}), std::type_identity<std::set<std::uint8_t>>{}).find("duplicate") !=
        std::string::npos);
  CHECK(why(bytes({2, 0, 0, 0, 9, 5}), std::type_identity<std::set<std::uint8_t>>{}) == "accepted");
  CHECK(why(bytes({2, 0, 0, 0, 1, 7, 1, 8}), std::type_identity<std::map<std::uint8_t, std::uint8_t>>{}).find(
            "duplicate") != std::string::npos);
  // A handle needs a node to resolve it.
  CHECK(why(bytes({1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}), std::type_identity<actor>{}).find("outside a node") !=
        std::string::npos);
  // An error code this version does not know.
  const auto unknown_code = bytes({99, 0, 0, 0, 0});
  reader r(unknown_code);
  error e(errc::user);
  read(r, e);
  CHECK_FALSE(r.ok());
}

TEST_CASE("every prefix of a valid encoding is rejected cleanly", "[net][serialization]") {
  order o{1, "bob", {{"x", 1}}, std::nullopt, 3, {{"k", 2}}, color::red, false, std::chrono::milliseconds(5), {1, "p"},
          {{0, 0, 0}}, nullptr};
  auto wire = encode(o);
  for (std::size_t n = 0; n < wire.size(); ++n) {
    auto r = decode<order>(std::span<const std::byte>(wire.data(), n));
    CHECK_FALSE(r);
  }
  CHECK(decode<order>(wire));
}

TEST_CASE("the type registry names types and refuses conflicts", "[net][serialization]") {
  type_registry types;
  CHECK(types.find("i32")->type == type_id<std::int32_t>());
  CHECK(types.find(type_id<std::string>())->name == "string");
  types.add<order>("shop.order");
  types.add<order>("shop.order");  // again, identically: fine
  CHECK(types.find("shop.order")->type == type_id<order>());
  CHECK_THROWS_AS(types.add<line>("shop.order"), std::invalid_argument);  // name taken
  CHECK_THROWS_AS(types.add<order>("shop.other"), std::invalid_argument);  // one name per type
  CHECK_THROWS_AS(types.add<line>(""), std::invalid_argument);
  CHECK_THROWS_AS(types.add<line>(std::string(300, 'x')), std::invalid_argument);
  CHECK(types.find(type_id<line>()) == nullptr);

  // An entry turns wire bytes into a message envelope of the right type, and refuses bad bytes.
  const message_type* t = types.find("shop.order");
  order o{3, "c", {}, std::nullopt, 0, {}, color::red, true, std::chrono::milliseconds(0), {}, {}, nullptr};
  std::vector<std::byte> buf;
  writer w(buf);
  t->write(w, &o);
  reader r(buf);
  std::unique_ptr<troupe::detail::envelope> e(t->read_message(r));
  REQUIRE(e);
  CHECK(e->type == type_id<order>());
  CHECK(static_cast<troupe::detail::message_envelope<order>&>(*e).value == o);
  reader bad(std::span<const std::byte>(buf.data(), buf.size() - 1));
  CHECK(t->read_message(bad) == nullptr);
  CHECK_FALSE(bad.ok());
}

#include <fuzz/fuzz_types.hpp>

#include <fstream>
#include <iterator>

TEST_CASE("the fuzz seeds, written by hand from docs/protocol.md, decode and re-encode exactly", "[net][serialization]") {
  for (const char* name : {"everything.bin", "empty_containers.bin"}) {
    INFO(name);
    std::ifstream f(std::string(TROUPE_SOURCE_DIR) + "/tests/fuzz/corpus/value/" + name, std::ios::binary);
    REQUIRE(f);
    std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<std::byte> wire(raw.size());
    std::memcpy(wire.data(), raw.data(), raw.size());
    auto v = decode<fuzz::everything>(wire);
    REQUIRE(v);
    CHECK(encode(*v) == wire);
  }
  auto v = decode<fuzz::everything>([] {
    std::ifstream f(std::string(TROUPE_SOURCE_DIR) + "/tests/fuzz/corpus/value/everything.bin", std::ios::binary);
    std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<std::byte> wire(raw.size());
    std::memcpy(wire.data(), raw.data(), raw.size());
    return wire;
  }());
  REQUIRE(v);
  CHECK(v->text == "hello");
  REQUIRE(v->leaves.size() == 2);
  CHECK(v->leaves[1].count == -2);
  CHECK(std::get<fuzz::leaf>(v->choice).name == "c");
  CHECK(v->table.at("k") == std::vector<std::int16_t>{7, -7});
  CHECK(v->duration == std::chrono::microseconds(250));
  CHECK(v->node == node_id{7});
}
