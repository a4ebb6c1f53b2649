// The remote workloads on troupe: two processes on 127.0.0.1, each an actor system with a
// troupe::net node (the server's in a child process, see server_process).
#include "bench.hpp"

#include <troupe/net/node.hpp>
#include <troupe/troupe.hpp>

#include <memory>

namespace bench::troupe_side {
namespace {

using clk = std::chrono::steady_clock;

struct rball {
  long remaining;
};
struct rserve {
  troupe::actor partner;
  long round_trips;
};
struct item {
  long n;
};
struct stream_done {};
struct stream_go {
  troupe::actor sink;
  long count;
};
struct work {
  long n;
};
struct run_requests {
  troupe::actor server;
  long total;
  int in_flight;
};

troupe::actor_system_config system_config(const sizes& s) {
  troupe::actor_system_config cfg;
  cfg.worker_count = s.workers;
  return cfg;
}

troupe::net::node_config node_config() {
  auto t = std::make_shared<troupe::net::type_registry>();
  t->add<rball>("bench.ball");
  t->add<item>("bench.item");
  t->add<stream_done>("bench.stream_done");
  t->add<work>("bench.work");
  troupe::net::node_config cfg;
  cfg.secret = "troupe-bench";
  cfg.types = t;
  return cfg;
}

/// The server process: publishes "ponger", "sink" and "server", then waits to be stopped.
void serve(int port_fd, int stop_fd, const sizes& s) {
  troupe::actor_system sys{system_config(s)};
  troupe::net::node node{sys, node_config()};
  auto ponger = sys.spawn([](troupe::actor_base& self) -> troupe::behavior {
    return {[&self](rball b) { self.send(self.current_sender(), b); }};
  });
  auto sink = sys.spawn([](troupe::actor_base&) -> troupe::behavior {
    auto received = std::make_shared<long>(0);
    auto next = std::make_shared<long>(0);
    return {[received, next](item i) {
              if (i.n != (*next)++) throw bench_failure("remote_stream: out of order");
              ++*received;
            },
            [received](stream_done) { return *received; }};
  });
  auto server = sys.spawn([](troupe::actor_base&) -> troupe::behavior { return {[](work w) { return w.n + 1; }}; });
  node.publish(ponger, "ponger");
  node.publish(sink, "sink");
  node.publish(server, "server");
  report_port(port_fd, node.listen("127.0.0.1", 0));
  wait_for_stop(stop_fd);
}

/// The client side: its own system and node, connected, with `name` looked up.
struct client {
  troupe::actor_system sys;
  troupe::net::node node;
  troupe::actor remote;

  client(const sizes& s, unsigned short port, const char* name) : sys(system_config(s)), node(sys, node_config()) {
    auto peer = node.connect("127.0.0.1", port).get(std::chrono::seconds(10));
    check(peer.has_value(), "cannot connect to the server process");
    auto r = node.lookup(*peer, name).get(std::chrono::seconds(10));
    check(r.has_value(), "cannot look the server's actor up");
    remote = *r;
  }
};

struct requester_state {
  troupe::actor server;
  long sent = 0, answered = 0, total = 0, sum = 0;
  troupe::response_promise<long> done;
};

/// Sends the next request; its reply sends the one after (no self-referencing closure: no cycle).
void issue_request(troupe::actor_base& self, const std::shared_ptr<requester_state>& st) {
  const long n = st->sent++;
  self.request<long>(st->server, work{n}, troupe::infinite).then([&self, st](troupe::result<long> r) {
    if (!r) throw bench_failure("remote_request: " + r.error().message());
    st->sum += *r;
    if (++st->answered == st->total) return st->done.deliver(st->sum);
    if (st->sent < st->total) issue_request(self, st);
  });
}

troupe::behavior pinger(troupe::actor_base& self) {
  auto done = std::make_shared<troupe::response_promise<long>>();
  auto returns = std::make_shared<long>(0);
  return {
      [&self, done](rserve s) {
        *done = self.make_response_promise<long>();
        self.send(s.partner, rball{s.round_trips - 1});
        return *done;
      },
      [&self, done, returns](rball b) {
        ++*returns;
        if (b.remaining > 0)
          self.send(self.current_sender(), rball{b.remaining - 1});
        else
          done->deliver(*returns);
      },
  };
}

}  // namespace

double remote_ping_pong(const sizes& s) {
  server_process server(serve, s);
  client c(s, server.port(), "ponger");
  auto ping = c.sys.spawn(pinger);
  const auto t0 = clk::now();
  auto r = troupe::request<long>(ping, rserve{c.remote, s.remote_round_trips}, troupe::infinite).get();
  const double secs = seconds_since(t0);
  check(r && *r == s.remote_round_trips, "remote_ping_pong: wrong number of round trips");
  return static_cast<double>(s.remote_round_trips) / secs;
}

double remote_stream(const sizes& s) {
  server_process server(serve, s);
  client c(s, server.port(), "sink");
  // Sends `count` items from one actor, then asks the sink how many arrived (after them all).
  auto streamer = c.sys.spawn([](troupe::actor_base& self) -> troupe::behavior {
    return {[&self](stream_go g) {
      for (long i = 0; i < g.count; ++i) self.send(g.sink, item{i});
      return self.delegate<long>(g.sink, stream_done{});
    }};
  });
  const auto t0 = clk::now();
  auto r = troupe::request<long>(streamer, stream_go{c.remote, s.remote_stream_messages}, troupe::infinite).get();
  const double secs = seconds_since(t0);
  check(r && *r == s.remote_stream_messages, "remote_stream: messages lost");
  return static_cast<double>(s.remote_stream_messages) / secs;
}

double remote_request(const sizes& s) {
  server_process server(serve, s);
  client c(s, server.port(), "server");
  // Keeps `in_flight` requests outstanding until `total` have been answered.
  auto requester = c.sys.spawn([](troupe::actor_base& self) -> troupe::behavior {
    auto st = std::make_shared<requester_state>();
    return {[&self, st](run_requests r) {
      st->server = r.server;
      st->total = r.total;
      st->done = self.make_response_promise<long>();
      for (int i = 0; i < r.in_flight && st->sent < st->total; ++i) issue_request(self, st);
      return st->done;
    }};
  });
  const auto t0 = clk::now();
  auto r = troupe::request<long>(requester, run_requests{c.remote, s.remote_requests, s.remote_requests_in_flight},
                                 troupe::infinite)
               .get();
  const double secs = seconds_since(t0);
  // Each request n is answered n + 1: the sum of 1..total.
  check(r && *r == s.remote_requests * (s.remote_requests + 1) / 2, "remote_request: wrong answers");
  return static_cast<double>(s.remote_requests) / secs;
}

}  // namespace bench::troupe_side
