// Deadlock detection: a request that a sequential coroutine holds back while (transitively)
// waiting for it fails at once with errc::deadlock, naming the actors in the cycle.
#include <support/test_actors.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace troupe;
using namespace troupe::test;

namespace {

struct start {};   // from outside: ask the peer, answer with what happened
struct ask {};     // from the peer: ask back
struct answer {};  // answered at once

struct peers {
  actor next;
};

std::string describe(const result<int>& r) {
  return r ? "ok " + std::to_string(*r) : std::string(to_string(r.error().code())) + " " + std::string(r.error().detail());
}

/// Asks `next` for an answer while handling `start` or `ask`; in await_mode::sequential (or
/// with its handlers marked sequential) it holds everything else back while it waits.
behavior asker(actor_base& self, bool sequential_mode, bool sequential_handlers) {
  if (sequential_mode) self.set_await_mode(await_mode::sequential);
  auto next = std::make_shared<actor>();
  auto on_ask = [&self, next](ask) -> task<int> {
    auto r = co_await self.request<int>(*next, ask{}, infinite);
    if (!r) throw std::runtime_error(describe(r));
    co_return *r + 1;
  };
  auto on_start = [&self, next](start) -> task<std::string> {
    auto r = co_await self.request<int>(*next, ask{}, infinite);
    co_return describe(r);
  };
  if (sequential_handlers)
    return {troupe::sequential(on_ask), troupe::sequential(on_start), [next](peers p) { *next = p.next; },
            [](answer) { return 0; }};
  return {on_ask, on_start, [next](peers p) { *next = p.next; }, [](answer) { return 0; }};
}

/// Answers `ask` at once.
behavior answerer(actor_base&) {
  return {[](ask) { return 41; }};
}

}  // namespace

TEST_CASE("two sequential actors requesting each other get a deadlock error at once", "[framework][deadlock]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(asker, true, false);
  auto b = sys.spawn(asker, true, false);
  send(a, peers{b});
  send(b, peers{a});
  // a waits on b, b waits on a, and a holds b's request back: without detection this hangs
  // forever (no timeouts anywhere).
  auto r = request<std::string>(a, start{}, infinite).get(prompt);
  REQUIRE(r);
  INFO(*r);
  CHECK(r->starts_with("handler_exception deadlock"));  // b's await failed; b's handler threw
  const std::string cycle = "actor#" + std::to_string(a.id()) + " -> actor#" + std::to_string(b.id()) +
                            " -> actor#" + std::to_string(a.id());
  CHECK(r->find(cycle) != std::string::npos);
  // a still serves (b's handler threw, so b is gone).
  CHECK(request<int>(a, answer{}, prompt).get().has_value());
}

TEST_CASE("a cycle through an interleaving actor is found too", "[framework][deadlock]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(asker, false, true);   // a sequential handler
  auto c = sys.spawn(asker, false, false);  // interleaves, but its coroutine waits on a
  send(a, peers{c});
  send(c, peers{a});
  auto r = request<std::string>(a, start{}, infinite).get(prompt);
  REQUIRE(r);
  INFO(*r);
  CHECK(r->find("deadlock") != std::string::npos);
  CHECK(r->find("actor#" + std::to_string(a.id()) + " -> actor#" + std::to_string(c.id()) + " -> actor#" +
                std::to_string(a.id())) != std::string::npos);
}

TEST_CASE("no deadlock is reported where there is none", "[framework][deadlock]") {
  actor_system sys{two_workers()};
  SECTION("a sequential actor asking one that answers") {
    auto a = sys.spawn(asker, true, false);
    auto z = sys.spawn(answerer);
    send(a, peers{z});
    auto r = request<std::string>(a, start{}, prompt).get();
    REQUIRE(r);
    CHECK(*r == "ok 41");
  }
  SECTION("an interleaving actor serves the request a sequential one sends back") {
    auto a = sys.spawn(asker, false, false);  // interleaves: takes b's ask while it waits
    auto b = sys.spawn(asker, true, false);
    auto z = sys.spawn(answerer);
    send(a, peers{b});
    send(b, peers{a});
    // a's ask goes on to z only after a asks b: give a's ask somewhere to end.
    auto a2 = sys.spawn(asker, false, false);
    send(a2, peers{z});
    send(a, peers{a2});  // a now asks a2 (which asks z) when asked
    send(b, peers{a});
    auto r = request<std::string>(b, start{}, prompt).get();
    REQUIRE(r);
    CHECK(*r == "ok 43");  // z's 41, +1 in a2, +1 in a
  }
  CHECK(sys.dead_letters() == 0);
}
