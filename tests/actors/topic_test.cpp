#include <support/test_actors.hpp>

#include <troupe/actors/topic.hpp>
#include <troupe/testing/test_system.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace troupe;
using namespace troupe::test;
using namespace troupe::actors;

namespace {
struct line {
  std::string text;
  friend bool operator==(const line&, const line&) = default;
};
behavior listener(actor_base&) {
  return {[](const line&) {}};
}
}  // namespace

TEST_CASE("a topic delivers every publication to every subscriber, in order", "[actors][topic]") {
  testing::test_system t;
  auto chat = spawn_topic<line>(t.sys);
  auto alice = t.sys.spawn(listener);
  auto bob = t.sys.spawn(listener);
  send(chat, subscribe{alice});
  send(chat, subscribe{bob});
  send(chat, subscribe{bob});  // twice: still one subscription
  send(chat, line{"hello"});
  send(chat, line{"world"});
  t.run_until_idle();  // everything delivered
  // Step by step this time: the topic takes the publication, then each subscriber gets it.
  send(chat, line{"again"});
  t.expect<line>(chat, line{"again"});
  t.expect<line>(alice, t.from(chat), line{"again"});
  t.expect<line>(bob, t.from(chat), line{"again"});
  CHECK(t.sched().ready_count() == 0);
  auto n = request(chat, subscribers{}, prompt);
  CHECK(*t.await(n) == 2);
}

TEST_CASE("unsubscribed and dead subscribers get nothing more", "[actors][topic]") {
  testing::test_system t;
  auto chat = spawn_topic<line>(t.sys);
  auto alice = t.sys.spawn(listener);
  auto bob = t.sys.spawn(listener);
  send(chat, subscribe{alice});
  send(chat, subscribe{bob});
  t.run_until_idle();
  send(chat, unsubscribe{alice});
  send_exit(bob, exit_reason::kill());
  t.run_until_idle();  // bob dies; the topic drops it on the down message
  auto n = request(chat, subscribers{}, prompt);
  CHECK(*t.await(n) == 0);
  send(chat, line{"anyone?"});
  t.expect<line>(chat);
  CHECK(t.sched().ready_count() == 0);  // delivered to nobody
}
