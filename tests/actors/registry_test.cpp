#include <support/test_actors.hpp>

#include <troupe/actors/registry.hpp>
#include <troupe/testing/test_system.hpp>

#include <catch2/catch.hpp>

using namespace troupe;
using namespace troupe::test;
using namespace troupe::actors;

TEST_CASE("the registry registers, looks up and unregisters names", "[actors][registry]") {
  actor_system sys{two_workers()};
  auto names = spawn_registry(sys);
  auto a = sys.spawn(echo_plus_one);
  auto b = sys.spawn(echo_plus_one);
  CHECK(*request(names, register_name{"echo", a}, prompt).get());
  CHECK(*request(names, register_name{"echo", a}, prompt).get());   // the same actor again: fine
  CHECK_FALSE(*request(names, register_name{"echo", b}, prompt).get());  // taken
  CHECK(*request(names, lookup_name{"echo"}, prompt).get() == a);
  CHECK_FALSE(*request(names, lookup_name{"nobody"}, prompt).get());
  CHECK(request(names, unregister_name{"echo"}, prompt).get().has_value());
  CHECK_FALSE(*request(names, lookup_name{"echo"}, prompt).get());
  CHECK(*request(names, register_name{"echo", b}, prompt).get());
}

TEST_CASE("a registered actor that dies is removed", "[actors][registry]") {
  testing::test_system t;
  auto names = spawn_registry(t.sys);
  auto a = t.sys.spawn(echo_plus_one);
  auto ok = request(names, register_name{"x", a}, prompt);
  CHECK(*t.await(ok));
  send_exit(a, exit_reason::kill());
  t.run_until_idle();  // a dies; the registry handles the down message
  auto found = request(names, lookup_name{"x"}, prompt);
  CHECK_FALSE(*t.await(found));
}
