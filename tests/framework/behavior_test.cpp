#include <support/test_actors.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace troupe;
using namespace troupe::test;

namespace {

struct get_log {};
struct text {
  std::string s;
};

// A class-based actor: constructor arguments forwarded by spawn; handlers taking their message
// by value, by const&, by & and by &&.
class recorder : public actor_base {
 public:
  explicit recorder(std::string prefix) : prefix_(std::move(prefix)) {}

 protected:
  behavior make_behavior() override {
    return {
        [this](const text& t) { log_.push_back(prefix_ + t.s); },
        [this](int& i) { log_.push_back(prefix_ + std::to_string(i)); },
        [this](double&& d) { log_.push_back(prefix_ + std::to_string(static_cast<int>(d))); },
        [this](get_log) { return log_; },
    };
  }

 private:
  std::string prefix_;
  std::vector<std::string> log_;
};

}  // namespace

TEST_CASE("class-based actors dispatch by message type, in order", "[framework][behavior]") {
  actor_system sys{two_workers()};
  actor r = sys.spawn<recorder>("> ");
  send(r, text{"a"});
  send(r, 7);
  send(r, 2.0);
  auto log = request<std::vector<std::string>>(r, get_log{}, prompt).get();
  REQUIRE(log);
  CHECK(*log == std::vector<std::string>{"> a", "> 7", "> 2"});
}

TEST_CASE("function-based actors take extra spawn arguments", "[framework][behavior]") {
  actor_system sys{two_workers()};
  auto adder = sys.spawn([](actor_base&, int base) -> behavior { return {[base](int x) { return base + x; }}; },
                         100);
  auto r = request<int>(adder, 5, prompt).get();
  REQUIRE(r);
  CHECK(*r == 105);
}

TEST_CASE("a void handler acknowledges a request", "[framework][behavior]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn([](actor_base&) -> behavior { return {[](text) {}}; });
  auto r = request<void>(a, text{"x"}, prompt).get();
  CHECK(r.has_value());
}

TEST_CASE("become switches the behavior for the next message", "[framework][behavior]") {
  actor_system sys{two_workers()};
  auto toggler = sys.spawn([](actor_base& self) -> behavior {
    return {[&self](int x) {
      self.become({[](int y) { return -y; }});
      return x;
    }};
  });
  CHECK(*request<int>(toggler, 3, prompt).get() == 3);
  CHECK(*request<int>(toggler, 3, prompt).get() == -3);
  CHECK(*request<int>(toggler, 4, prompt).get() == -4);
}

TEST_CASE("unhandled messages: sends become dead letters, requests fail", "[framework][behavior]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(echo_plus_one);
  const auto before = sys.dead_letters();
  send(a, text{"nobody handles me"});
  auto r = request<int>(a, text{"nor me"}, prompt).get();
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::unhandled_message);
  CHECK(r.error().detail().find("text") != std::string_view::npos);
  // The request was handled after the send (same sender: order kept), so the dead letter is
  // already counted.
  CHECK(sys.dead_letters() == before + 1);
  // The actor is still alive.
  CHECK(request<pong>(a, ping{1}, prompt).get()->value == 2);
}

TEST_CASE("a reply of another type than requested fails with type_mismatch", "[framework][behavior]") {
  actor_system sys{two_workers()};
  auto a = sys.spawn(echo_plus_one);
  auto r = request<int>(a, ping{1}, prompt).get();
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::type_mismatch);
}

TEST_CASE("handlers may answer with a result carrying an error", "[framework][behavior]") {
  actor_system sys{two_workers()};
  auto divider = sys.spawn([](actor_base&) -> behavior {
    return {[](std::pair<int, int> p) -> result<int> {
      if (p.second == 0) return error(errc::user, "division by zero");
      return p.first / p.second;
    }};
  });
  CHECK(*request<int>(divider, std::pair{8, 2}, prompt).get() == 4);
  auto r = request<int>(divider, std::pair{1, 0}, prompt).get();
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::user);
  CHECK(r.error().detail() == "division by zero");
}

TEST_CASE("the sender of a message is visible to its handler", "[framework][behavior]") {
  actor_system sys{two_workers()};
  auto who = sys.spawn([](actor_base& self) -> behavior {
    return {[&self](ping) { return self.current_sender(); }};
  });
  auto asker = sys.spawn([](actor_base& self, actor target) -> behavior {
    return {[&self, target](pong) { return self.request<actor>(target, ping{}, prompt); }};
  }, who);
  auto r = request<actor>(asker, pong{}, prompt).get();
  REQUIRE(r);
  CHECK(*r == asker);
  // From outside any actor there is no sender.
  auto anon = request<actor>(who, ping{}, prompt).get();
  REQUIRE(anon);
  CHECK_FALSE(*anon);
}

TEST_CASE("messages sent during make_behavior are handled after it", "[framework][behavior]") {
  actor_system sys{two_workers()};
  // The actor sends itself messages while it initialises; they must neither run before the
  // behavior exists nor be lost.
  auto a = sys.spawn([](actor_base& self) -> behavior {
    for (int i = 0; i < 100; ++i) self.send(self.handle(), i);
    auto sum = std::make_shared<int>(0);
    return {[sum](int i) { *sum += i; }, [sum](text) { return *sum; }};
  });
  auto r = request<int>(a, text{}, prompt).get();
  REQUIRE(r);
  CHECK(*r == 4950);
}
