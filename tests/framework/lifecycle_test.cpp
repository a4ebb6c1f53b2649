// Lifecycle and failure: hooks, exit reasons, links, monitors, system signals, bounded mailboxes.
#include <support/test_actors.hpp>

#include <troupe/testing/test_system.hpp>

#include <catch2/catch.hpp>

#include <future>
#include <stdexcept>

using namespace troupe;
using namespace troupe::test;

namespace {

struct die_with {
  exit_reason reason;
};
struct get_downs {};

// Exits with the reason it is told.
behavior mortal(actor_base& self) {
  return {
      [&self](die_with d) { self.quit(d.reason); },
      [](ping p) { return pong{p.value + 1}; },
  };
}

// Monitors its target and records the down messages it gets.
behavior watcher(actor_base& self, actor target) {
  self.monitor(target);
  auto downs = std::make_shared<std::vector<exit_reason>>();
  return {
      [downs](down_msg d) { downs->push_back(d.reason); },
      [downs](get_downs) { return *downs; },
  };
}

class hooked : public actor_base {
 public:
  hooked(std::shared_ptr<std::promise<exit_reason>> exited, std::shared_ptr<bool> started)
      : exited_(std::move(exited)), started_(std::move(started)) {}

 protected:
  behavior make_behavior() override {
    return {[this](ping) { return *started_; }, [this](die_with d) { quit(d.reason); }};
  }
  void on_start() override { *started_ = true; }
  void on_exit(const exit_reason& r) override { exited_->set_value(r); }

 private:
  std::shared_ptr<std::promise<exit_reason>> exited_;
  std::shared_ptr<bool> started_;
};

}  // namespace

TEST_CASE("on_start runs before the first message, on_exit with the reason", "[framework][lifecycle]") {
  actor_system sys{two_workers()};
  auto exited = std::make_shared<std::promise<exit_reason>>();
  auto done = exited->get_future();
  auto a = sys.spawn<hooked>(exited, std::make_shared<bool>(false));
  CHECK(*request<bool>(a, ping{}, prompt).get());
  send(a, die_with{error(errc::user, "bye")});
  REQUIRE(done.wait_for(prompt) == std::future_status::ready);
  auto r = done.get();
  CHECK(r.code() == exit_code::error);
  CHECK(r.to_string() == "error: user: bye");
}

TEST_CASE("monitors receive a down message with the exit reason", "[framework][lifecycle]") {
  testing::test_system t;
  auto target = t.sys.spawn(mortal);
  auto w = t.sys.spawn(watcher, target);
  t.run_until_idle();  // the monitor request reaches the target
  t.inject(actor(), target, die_with{error(errc::user, "crash")});
  t.expect<die_with>(target);
  t.expect<down_msg>(w, [&](const down_msg& d) { return d.source == target && d.reason.code() == exit_code::error; });
  auto downs = request<std::vector<exit_reason>>(w, get_downs{}, prompt);
  auto r = t.await(downs);
  REQUIRE(r);
  CHECK(r->size() == 1);
}

TEST_CASE("monitoring or linking an actor that is already dead reports it at once", "[framework][lifecycle]") {
  testing::test_system t;
  auto target = t.sys.spawn(mortal);
  t.inject(actor(), target, die_with{exit_reason::kill()});
  t.expect<die_with>(target);  // it is dead now
  auto w = t.sys.spawn(watcher, target);
  // The monitor request bounced off the dead target: the down message is already there.
  t.expect<down_msg>(w, [&](const down_msg& d) { return d.source == target && d.reason.code() == exit_code::kill; });
  auto trapper = t.sys.spawn([](actor_base& self, actor other) -> behavior {
    self.trap_exit(true);
    self.link_to(other);
    return {[](exit_msg) {}};
  }, target);
  t.expect<exit_msg>(trapper, [](const exit_msg& m) { return m.reason.code() == exit_code::kill; });
}

TEST_CASE("links propagate non-normal exits both ways; trapping turns them into messages", "[framework][lifecycle]") {
  testing::test_system t;
  auto a = t.sys.spawn(mortal);
  auto b = t.sys.spawn([](actor_base& self, actor other) -> behavior {
    self.link_to(other);
    return {[](ping p) { return pong{p.value}; }};
  }, a);
  auto trapper_log = std::make_shared<std::vector<exit_reason>>();
  auto c = t.sys.spawn([](actor_base& self, actor other, std::shared_ptr<std::vector<exit_reason>> log) -> behavior {
    self.trap_exit(true);
    self.link_to(other);
    return {[log](exit_msg m) { log->push_back(m.reason); }};
  }, a, trapper_log);
  auto wb = t.sys.spawn(watcher, b);
  t.run_until_idle();

  t.inject(actor(), a, die_with{error(errc::user, "boom")});
  t.run_until_idle();
  // b did not trap: it died with a's reason (its monitor saw it); c trapped and lives.
  auto downs = request<std::vector<exit_reason>>(wb, get_downs{}, prompt);
  auto d = t.await(downs);
  REQUIRE(d->size() == 1);
  CHECK((*d)[0].code() == exit_code::error);
  REQUIRE(trapper_log->size() == 1);
  CHECK((*trapper_log)[0].code() == exit_code::error);
  auto alive = request<void>(c, exit_msg{}, prompt);
  CHECK(t.await(alive).has_value());
}

TEST_CASE("a normal exit does not kill linked actors", "[framework][lifecycle]") {
  testing::test_system t;
  auto a = t.sys.spawn(mortal);
  auto b = t.sys.spawn([](actor_base& self, actor other) -> behavior {
    self.link_to(other);
    return {[](ping p) { return pong{p.value}; }};
  }, a);
  t.run_until_idle();
  t.inject(actor(), a, die_with{exit_reason::normal()});
  t.run_until_idle();
  auto f = request<pong>(b, ping{7}, prompt);
  CHECK(t.await(f)->value == 7);
}

TEST_CASE("send_exit terminates unless trapped; kill cannot be trapped", "[framework][lifecycle]") {
  testing::test_system t;
  auto trapper = t.sys.spawn([](actor_base& self) -> behavior {
    self.trap_exit(true);
    return {[](exit_msg) {}, [](ping p) { return pong{p.value}; }};
  });
  send_exit(trapper, error(errc::user, "please"));
  t.expect<exit_msg>(trapper, [](const exit_msg& m) { return m.reason.code() == exit_code::error; });
  auto alive = request<pong>(trapper, ping{1}, prompt);
  CHECK(t.await(alive).has_value());
  send_exit(trapper, exit_reason::kill());
  t.run_until_idle();
  auto dead = request<pong>(trapper, ping{1}, prompt);
  auto r = t.await(dead);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::receiver_down);
}

TEST_CASE("a throwing handler exits with an exception reason seen by monitors", "[framework][lifecycle]") {
  testing::test_system t;
  auto thrower = t.sys.spawn([](actor_base&) -> behavior {
    return {[](ping) -> int { throw std::runtime_error("kaput"); }};
  });
  auto w = t.sys.spawn(watcher, thrower);
  t.run_until_idle();
  auto f = request<int>(thrower, ping{}, prompt);
  auto r = t.await(f);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::handler_exception);
  t.run_until_idle();
  auto downs = request<std::vector<exit_reason>>(w, get_downs{}, prompt);
  auto d = t.await(downs);
  REQUIRE(d->size() == 1);
  CHECK((*d)[0].code() == exit_code::exception);
  CHECK((*d)[0].to_string() == "exception: kaput");
}

TEST_CASE("system signals overtake a long mailbox", "[framework][lifecycle]") {
  testing::test_system t;
  auto busy = t.sys.spawn(mortal);
  auto w = t.sys.spawn(watcher, busy);
  t.run_until_idle();
  for (int i = 0; i < 10'000; ++i) t.inject(actor(), busy, ping{i});
  send_exit(busy, exit_reason::kill());
  // The kill is handled first, before any of the 10,000 pings.
  t.run_until_idle();
  auto downs = request<std::vector<exit_reason>>(w, get_downs{}, prompt);
  auto d = t.await(downs);
  REQUIRE(d->size() == 1);
  CHECK((*d)[0].code() == exit_code::kill);
  CHECK(t.sys.dead_letters() == 10'000);  // every ping bounced: none was handled
}

TEST_CASE("a bounded mailbox rejects overflow and says so", "[framework][lifecycle][mailbox]") {
  testing::test_system t;
  auto a = t.sys.spawn([](actor_base& self) -> behavior {
    self.set_mailbox_capacity(3);
    return {[](ping p) { return pong{p.value}; }};
  });
  std::vector<future<pong>> fs;
  for (int i = 0; i < 5; ++i) fs.push_back(request<pong>(a, ping{i}, prompt));
  send(a, ping{99});  // a plain send on a full mailbox: dropped, counted
  CHECK(t.sys.dead_letters() == 1);
  // The two requests over capacity failed at once; nothing else is lost.
  for (int i = 3; i < 5; ++i) {
    REQUIRE(fs[static_cast<std::size_t>(i)].ready());
    CHECK(fs[static_cast<std::size_t>(i)].get().error() == errc::mailbox_full);
  }
  t.run_until_idle();
  for (int i = 0; i < 3; ++i) CHECK(t.await(fs[static_cast<std::size_t>(i)])->value == i);
  // Room again once handled; system signals are never counted against the capacity.
  auto again = request<pong>(a, ping{5}, prompt);
  CHECK(t.await(again)->value == 5);
}

TEST_CASE("the exit handler of a function-based actor runs", "[framework][lifecycle]") {
  actor_system sys{two_workers()};
  auto exited = std::make_shared<std::promise<exit_reason>>();
  auto f = exited->get_future();
  {
    auto a = sys.spawn([](actor_base& self, std::shared_ptr<std::promise<exit_reason>> p) -> behavior {
      self.set_exit_handler([p](const exit_reason& r) { p->set_value(r); });
      return {[](ping) {}};
    }, exited);
    send(a, ping{});
  }  // unreferenced: exits normally after the ping
  REQUIRE(f.wait_for(prompt) == std::future_status::ready);
  CHECK(f.get().is_normal());
}
