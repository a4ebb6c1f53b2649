// net_peer: a troupe node in a process of its own, for the multi-process tests and the Python
// client. It publishes
//   "server"  add -> i32 sum; record (kept); get_records -> the records in arrival order;
//             call_me_back{back, text} -> sends echoed{text + "!"} to back;
//             std::string -> the same string (for the Python client)
//   "relay"   relay{to, back, text} -> sends call_me_back{back, text} to `to`
//   "worker"  slow_job -> a coroutine awaiting a request that is never answered (cancel it);
//             deadline_left -> the milliseconds left of the request's deadline (-1: none)
//   "tracker" await_events{n} -> the events so far ("holder started", "holder cancelled",
//             "worker resumed: cancelled"...), once there are n
// prints "ready <port> <node id in hex>" once listening (and connected, with --connect), then
// runs until its standard input closes or it is killed.
#include "peer_types.hpp"

#include <troupe/net/node.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <string>

using namespace troupe;
using namespace troupe::test::peer;

int main(int argc, char** argv) {
  CLI::App app{"a troupe node for the multi-process tests"};
  std::uint16_t port = 0;
  std::string secret = "s3cret";
  std::vector<std::string> connect_to;
  app.add_option("--port", port, "port to listen on (0: any)");
  app.add_option("--secret", secret, "the cluster's shared secret");
  app.add_option("--connect", connect_to, "host:port of a node to connect to first");
  CLI11_PARSE(app, argc, argv);

  actor_system_config sys_cfg;
  sys_cfg.worker_count = 2;
  actor_system sys{sys_cfg};
  net::node_config cfg;
  cfg.secret = secret;
  cfg.types = types();
  net::node node{sys, cfg};

  auto server = sys.spawn([](actor_base& self) -> behavior {
    auto records = std::make_shared<std::vector<std::int32_t>>();
    return {
        [](add m) { return m.a + m.b; },
        [records](record r) { records->push_back(r.n); },
        [records](get_records) { return *records; },
        [&self](call_me_back m) { self.send(m.back, echoed{m.text + "!"}); },
        [](const std::string& s) { return s; },
    };
  });
  auto relay_actor = sys.spawn([](actor_base& self) -> behavior {
    return {[&self](relay r) { self.send(r.to, call_me_back{r.back, r.text}); }};
  });
  // The cancellation pieces: a tracker of events, a holder that never answers, a worker whose
  // coroutine awaits the holder.
  auto tracker = sys.spawn([](actor_base& self) -> behavior {
    auto events = std::make_shared<std::vector<std::string>>();
    auto waiting = std::make_shared<std::vector<std::pair<std::int32_t, response_promise<std::vector<std::string>>>>>();
    auto answer = [events, waiting] {
      std::erase_if(*waiting, [&](auto& w) {
        if (static_cast<std::size_t>(w.first) > events->size()) return false;
        w.second.deliver(*events);
        return true;
      });
    };
    return {
        [events, answer](const std::string& e) {
          events->push_back(e);
          answer();
        },
        [&self, waiting, answer](await_events a) {
          waiting->emplace_back(a.n, self.make_response_promise<std::vector<std::string>>());
          auto p = waiting->back().second;
          answer();
          return p;
        },
    };
  });
  auto holder = sys.spawn([](actor_base& self, actor tracker_in) -> behavior {
    auto kept = std::make_shared<std::vector<response_promise<std::int32_t>>>();
    return {[&self, tracker_in, kept](hold_job) {
      auto p = self.make_response_promise<std::int32_t>();
      p.on_cancel([&self, tracker_in] { self.send(tracker_in, std::string("holder cancelled")); });
      kept->push_back(p);
      self.send(tracker_in, std::string("holder started"));
      return p;
    }};
  }, tracker);
  auto worker = sys.spawn([](actor_base& self, actor tracker_in, actor holder_in) -> behavior {
    return {
        [&self, tracker_in, holder_in](slow_job j) -> task<result<std::int32_t>> {
          auto r = co_await self.request<std::int32_t>(holder_in, hold_job{}, std::chrono::seconds(60));
          self.send(tracker_in, std::string("worker resumed: ") + (r ? "a value" : std::string(to_string(r.error().code()))));
          if (!r) co_return r.error();
          co_return j.n;
        },
        [&self](deadline_left) -> std::int32_t {
          const time_point d = self.request_deadline();
          if (d == time_point::max()) return -1;
          return static_cast<std::int32_t>(std::chrono::ceil<std::chrono::milliseconds>(d - self.system().timers().now()).count());
        },
    };
  }, tracker, holder);
  node.publish(tracker, "tracker");
  node.publish(worker, "worker");
  node.publish(server, "server");
  node.publish(relay_actor, "relay");
  const auto bound = node.listen("127.0.0.1", port);
  for (const auto& target : connect_to) {
    const auto colon = target.rfind(':');
    auto peer = node.connect(target.substr(0, colon), static_cast<std::uint16_t>(std::stoi(target.substr(colon + 1)))).get(std::chrono::seconds(10));
    if (!peer) {
      std::cerr << "net_peer: cannot connect to " << target << ": " << peer.error().message() << "\n";
      return 1;
    }
  }
  char id[32];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(node.id().value));
  std::cout << "ready " << bound << " " << id << std::endl;
  // Until the test closes our standard input (or kills us).
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}
