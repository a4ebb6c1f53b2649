// The API conveniences of issue 9: the default request timeout, self.spawn, the logging facade.
#include <support/log_capture.hpp>
#include <support/test_actors.hpp>

#include <catch2/catch.hpp>
#include <spdlog/logger.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

using namespace troupe;
using namespace troupe::test;

namespace {

struct hold {};
struct make_child {};

/// Keeps every request it gets in a response promise and never answers.
behavior keeper_of_promises(actor_base& self) {
  auto kept = std::make_shared<std::vector<response_promise<int>>>();
  return {[&self, kept](hold) {
    kept->push_back(self.make_response_promise<int>());
    return kept->back();
  }};
}

}  // namespace

TEST_CASE("a request made without a timeout uses the configured one", "[framework][api]") {
  auto cfg = two_workers();
  cfg.request_timeout = 20ms;
  actor_system sys{cfg};
  auto keeper = sys.spawn(keeper_of_promises);
  auto r = request<int>(keeper, hold{}).get();
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::timeout);
}

TEST_CASE("an actor's request without a timeout uses the configured one", "[framework][api]") {
  auto cfg = two_workers();
  cfg.request_timeout = 20ms;
  actor_system sys{cfg};
  auto keeper = sys.spawn(keeper_of_promises);
  auto asker = sys.spawn([keeper](actor_base& self) -> behavior {
    return {[&self, keeper](ping) -> task<int> {
      auto r = co_await self.request<int>(keeper, hold{});
      co_return r ? 0 : static_cast<int>(r.error().code());
    }};
  });
  auto r = request<int>(asker, ping{}, prompt).get();
  REQUIRE(r);
  CHECK(*r == static_cast<int>(errc::timeout));
}

TEST_CASE("self.spawn spawns in the actor's own system", "[framework][api]") {
  actor_system sys{two_workers()};
  auto parent = sys.spawn([](actor_base& self) -> behavior {
    return {[&self](make_child) -> future<pong> {
      actor child = self.spawn(echo_plus_one);
      actor twin = self.spawn<echo_class>();
      CHECK(twin);
      return self.request<pong>(child, ping{41}, prompt);
    }};
  });
  auto r = request<pong>(parent, make_child{}, prompt).get();
  REQUIRE(r);
  CHECK(r->value == 42);
}

TEST_CASE("the system logs through the configured spdlog logger at the configured level", "[framework][api]") {
  std::ostringstream out;
  auto cfg = two_workers();
  cfg.logger = capture(out, "%l %v");
  cfg.log_level = log_level::info;
  {
    actor_system sys{cfg};
    CHECK(sys.should_log(log_level::info));
    CHECK_FALSE(sys.should_log(log_level::debug));
    sys.log(log_level::info, "shown");
    sys.log(log_level::debug, "hidden");
    CHECK(&sys.logger() == cfg.logger.get());
  }
  CHECK(out.str().find("info shown") != std::string::npos);
  CHECK(out.str().find("hidden") == std::string::npos);
}

TEST_CASE("a failed future that nobody consumed is logged at warn", "[framework][api]") {
  std::ostringstream out;
  auto cfg = two_workers();
  cfg.logger = capture(out, "%l %v");
  {
    actor_system sys{cfg};
    auto keeper = sys.spawn(keeper_of_promises);
    // Dropped inside an actor, already failed (the receiver is an empty handle).
    auto dropper = sys.spawn([](actor_base& self) -> behavior {
      return {[&self](ping) {
        (void)self.request<int>(actor(), hold{});
        return pong{};
      }};
    });
    REQUIRE(request<pong>(dropper, ping{}, prompt).get());
    // Dropped from outside before it fails: reported when the timeout fires (timer thread).
    (void)request<int>(keeper, hold{}, 20ms);
    // Consumed failures are not reported.
    auto seen = request<int>(keeper, hold{}, 30ms).get();  // fires after the dropped one
    CHECK(seen.error() == errc::timeout);
  }
  const std::string text = out.str();
  CHECK(text.find("warning a future failed with \"receiver_down") != std::string::npos);
  std::size_t timeouts = 0;
  for (auto at = text.find("failed with \"timeout"); at != std::string::npos; at = text.find("failed with \"timeout", at + 1))
    ++timeouts;
  CHECK(timeouts == 1);
}
