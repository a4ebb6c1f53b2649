#include <support/test_actors.hpp>

#include <catch2/catch.hpp>

#include <sstream>
#include <unordered_set>

using namespace troupe;
using namespace troupe::test;

TEST_CASE("handles are comparable, hashable and printable", "[framework][actor]") {
  actor_system sys{two_workers()};
  actor a = sys.spawn(echo_plus_one);
  actor b = sys.spawn(echo_plus_one);
  actor a2 = a;

  CHECK(a == a2);
  CHECK_FALSE(a == b);
  CHECK(a.id() != b.id());
  CHECK((a < b) != (b < a));
  CHECK(a.node() == sys.node());

  std::unordered_set<actor> set{a, a2, b};
  CHECK(set.size() == 2);

  std::ostringstream os;
  os << a;
  CHECK(os.str() == "actor#" + std::to_string(a.id()) + "@" + sys.node().to_string());
  CHECK(actor().to_string() == "actor#null");
  CHECK_FALSE(actor());
}

TEST_CASE("node ids differ between systems of one process", "[framework][actor]") {
  actor_system s1{two_workers()};
  actor_system s2{two_workers()};
  CHECK(s1.node() != s2.node());
}

TEST_CASE("a weak handle does not keep its actor alive", "[framework][actor]") {
  actor_system sys{two_workers()};
  actor a = sys.spawn(echo_plus_one);
  weak_actor w = a;
  CHECK(w == a);
  CHECK(w.lock() == a);
  CHECK_FALSE(w.expired());

  // While we hold a strong handle obtained from the weak one, the actor answers.
  auto r = request<pong>(w.lock(), ping{1}, prompt).get();
  REQUIRE(r);
  CHECK(r->value == 2);

  a.reset();
  CHECK(w.expired());
  CHECK_FALSE(w.lock());
  // A request through the expired weak handle fails at once.
  auto dead = request<pong>(w.lock(), ping{1}, prompt).get();
  REQUIRE_FALSE(dead);
  CHECK(dead.error() == errc::receiver_down);
}
