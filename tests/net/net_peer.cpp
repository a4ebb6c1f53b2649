// net_peer: a troupe node in a process of its own, for the multi-process tests and the Python
// client. It publishes
//   "server"  add -> i32 sum; record (kept); get_records -> the records in arrival order;
//             call_me_back{back, text} -> sends echoed{text + "!"} to back;
//             std::string -> the same string (for the Python client)
//   "relay"   relay{to, back, text} -> sends call_me_back{back, text} to `to`
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
