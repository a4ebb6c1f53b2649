// The workloads on CAF 0.17, written the way CAF's manual recommends: event-based (stateful)
// actors, atoms and built-in types as messages, response promises, request(...).then/await,
// and a scoped_actor to wait from main. The scheduler is configured like troupe's: work
// stealing with exactly `workers` threads (CAF's own default would be max(cores, 4)).
#include "bench.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <cmath>
#include <memory>
#include <thread>
#include <vector>

namespace bench::caf_side {
namespace {

using namespace caf;
using clk = std::chrono::steady_clock;

using ball_atom = atom_constant<atom("ball")>;
using serve_atom = atom_constant<atom("serve")>;
using count_atom = atom_constant<atom("count")>;
using go_atom = atom_constant<atom("go")>;
using expect_atom = atom_constant<atom("expect")>;
using work_atom = atom_constant<atom("work")>;
using next_atom = atom_constant<atom("next")>;
using token_atom = atom_constant<atom("token")>;
using run_atom = atom_constant<atom("run")>;
using done_atom = atom_constant<atom("done")>;
using meet_atom = atom_constant<atom("meet")>;
using met_atom = atom_constant<atom("met")>;
using open_atom = atom_constant<atom("open")>;
using skynet_atom = atom_constant<atom("skynet")>;
using add_atom = atom_constant<atom("add")>;
using poke_atom = atom_constant<atom("poke")>;

actor_system_config& configure(actor_system_config& cfg, const sizes& s) {
  cfg.set("scheduler.max-threads", s.workers);
  cfg.set("scheduler.policy", atom("stealing"));
  return cfg;
}

/// Sends a request from a scoped actor and waits for the reply of type T.
template <class T, class... Ts>
T ask(actor_system& sys, const actor& dest, Ts&&... xs) {
  scoped_actor self{sys};
  T out{};
  bool ok = false;
  self->request(dest, infinite, std::forward<Ts>(xs)...)
      .receive([&](T x) { out = x, ok = true; }, [&](error&) {});
  check(ok, "CAF request failed");
  return out;
}

// -- ping_pong and big -----------------------------------------------------------------------------

behavior ponger(event_based_actor* self) {
  return {[=](ball_atom, long n) { self->send(actor_cast<actor>(self->current_sender()), ball_atom::value, n); }};
}

struct pinger_state {
  long returns = 0;
  response_promise done;
};

behavior pinger(stateful_actor<pinger_state>* self) {
  return {
      [=](serve_atom, const actor& partner, long round_trips) {
        self->state.done = self->make_response_promise();
        self->send(partner, ball_atom::value, round_trips - 1);
        return self->state.done;
      },
      [=](ball_atom, long remaining) {
        ++self->state.returns;
        if (remaining > 0)
          self->send(actor_cast<actor>(self->current_sender()), ball_atom::value, remaining - 1);
        else
          self->state.done.deliver(self->state.returns);
      },
  };
}

}  // namespace

double ping_pong(const sizes& s) {
  actor_system_config cfg;
  actor_system sys{configure(cfg, s)};
  auto pong = sys.spawn(ponger);
  auto ping = sys.spawn(pinger);
  auto t0 = clk::now();
  long r = ask<long>(sys, ping, serve_atom::value, pong, s.ping_pong_round_trips);
  double secs = seconds_since(t0);
  check(r == s.ping_pong_round_trips, "ping_pong: wrong number of round trips");
  anon_send_exit(ping, exit_reason::user_shutdown);
  anon_send_exit(pong, exit_reason::user_shutdown);
  return 2.0 * static_cast<double>(s.ping_pong_round_trips) / secs;
}

double big(const sizes& s) {
  actor_system_config cfg;
  actor_system sys{configure(cfg, s)};
  std::vector<actor> pingers, pongers;
  for (int i = 0; i < s.big_pairs; ++i) {
    pingers.push_back(sys.spawn(pinger));
    pongers.push_back(sys.spawn(ponger));
  }
  scoped_actor self{sys};
  auto t0 = clk::now();
  for (int i = 0; i < s.big_pairs; ++i)
    self->send(pingers[static_cast<std::size_t>(i)], serve_atom::value, pongers[static_cast<std::size_t>(i)],
               s.big_round_trips);
  long total = 0;
  int replies = 0;
  self->receive_for(replies, s.big_pairs)([&](long n) { total += n; });
  double secs = seconds_since(t0);
  check(total == s.big_pairs * s.big_round_trips, "big: wrong number of round trips");
  for (auto& a : pingers) anon_send_exit(a, exit_reason::user_shutdown);
  for (auto& a : pongers) anon_send_exit(a, exit_reason::user_shutdown);
  return 2.0 * s.big_pairs * static_cast<double>(s.big_round_trips) / secs;
}

// -- fan_in ----------------------------------------------------------------------------------------

namespace {
constexpr long fan_in_batch = 1000;

behavior fan_sender(event_based_actor* self, actor sink, long total) {
  return {[=](go_atom, long next) {
    long end = std::min(total, next + fan_in_batch);
    for (long i = next; i < end; ++i) self->send(sink, count_atom::value, 1L);
    if (end < total) self->send(self, go_atom::value, end);
    else self->quit();
  }};
}

struct sink_state {
  long count = 0, sum = 0, expected = 0;
  response_promise done;
};

behavior fan_sink(stateful_actor<sink_state>* self) {
  return {
      [=](expect_atom, long n) {
        self->state.expected = n;
        self->state.done = self->make_response_promise();
        return self->state.done;
      },
      [=](count_atom, long v) {
        self->state.sum += v;
        if (++self->state.count == self->state.expected) self->state.done.deliver(self->state.sum);
      },
  };
}
}  // namespace

double fan_in(const sizes& s) {
  actor_system_config cfg;
  actor_system sys{configure(cfg, s)};
  auto sink = sys.spawn(fan_sink);
  const long total = s.fan_in_senders * s.fan_in_messages;
  scoped_actor self{sys};
  self->send(sink, expect_atom::value, total);
  std::vector<actor> senders;
  for (int i = 0; i < s.fan_in_senders; ++i) senders.push_back(sys.spawn(fan_sender, sink, s.fan_in_messages));
  auto t0 = clk::now();
  for (auto& a : senders) anon_send(a, go_atom::value, 0L);
  long sum = -1;
  self->receive([&](long x) { sum = x; });
  double secs = seconds_since(t0);
  check(sum == total, "fan_in: lost messages");
  anon_send_exit(sink, exit_reason::user_shutdown);
  return static_cast<double>(total) / secs;
}

// -- fork_join_throughput --------------------------------------------------------------------------

namespace {
struct fj_state {
  long seen = 0, expected = 0;
  double acc = 0;
  response_promise done;
};

behavior fj_worker(stateful_actor<fj_state>* self) {
  return {
      [=](expect_atom, long n) {
        self->state.expected = n;
        self->state.done = self->make_response_promise();
        return self->state.done;
      },
      [=](work_atom, double x) {
        self->state.acc += std::sqrt(x * x + 1.0);
        if (++self->state.seen == self->state.expected) {
          self->state.done.deliver(self->state.seen);
          self->quit();
        }
      },
  };
}
}  // namespace

double fork_join_throughput(const sizes& s) {
  actor_system_config cfg;
  actor_system sys{configure(cfg, s)};
  scoped_actor self{sys};
  std::vector<actor> workers;
  for (int i = 0; i < s.fork_join_actors; ++i) {
    workers.push_back(sys.spawn(fj_worker));
    self->send(workers.back(), expect_atom::value, s.fork_join_messages);
  }
  auto t0 = clk::now();
  for (long m = 0; m < s.fork_join_messages; ++m)
    for (auto& w : workers) anon_send(w, work_atom::value, static_cast<double>(m));
  long total = 0;
  int replies = 0;
  self->receive_for(replies, s.fork_join_actors)([&](long n) { total += n; });
  double secs = seconds_since(t0);
  check(total == s.fork_join_actors * s.fork_join_messages, "fork_join: lost messages");
  return static_cast<double>(total) / secs;
}

// -- thread_ring -----------------------------------------------------------------------------------

namespace {
struct ring_state {
  actor next;
  actor reporter;
};

behavior ring_node(stateful_actor<ring_state>* self) {
  return {
      [=](next_atom, const actor& next) { self->state.next = next; },
      [=](token_atom, long hops_left) {
        if (hops_left == 0) {
          self->send(self->state.reporter, done_atom::value);
          return;
        }
        self->send(self->state.next, token_atom::value, hops_left - 1);
      },
      [=](run_atom, const actor& reporter, long hops) {
        self->state.reporter = reporter;
        self->send(self->state.next, token_atom::value, hops - 1);
      },
      [=](done_atom, const actor& reporter) { self->state.reporter = reporter; },
  };
}
}  // namespace

double thread_ring(const sizes& s) {
  actor_system_config cfg;
  actor_system sys{configure(cfg, s)};
  std::vector<actor> ring;
  for (int i = 0; i < s.ring_actors; ++i) ring.push_back(sys.spawn(ring_node));
  scoped_actor self{sys};
  for (std::size_t i = 0; i < ring.size(); ++i) {
    self->send(ring[i], next_atom::value, ring[(i + 1) % ring.size()]);
    self->send(ring[i], done_atom::value, actor_cast<actor>(self));  // whoever ends the run reports here
  }
  auto t0 = clk::now();
  self->send(ring[0], run_atom::value, actor_cast<actor>(self), s.ring_hops);
  bool done = false;
  self->receive([&](done_atom) { done = true; });
  double secs = seconds_since(t0);
  check(done, "thread_ring: the token was lost");
  for (auto& a : ring) anon_send_exit(a, exit_reason::user_shutdown);
  return static_cast<double>(s.ring_hops) / secs;
}

// -- chameneos -------------------------------------------------------------------------------------

namespace {
int complement(int a, int b) { return a == b ? a : 3 - a - b; }

struct creature_state {
  int color = 0;
};

behavior creature(stateful_actor<creature_state>* self, actor mall, int color) {
  self->state.color = color;
  self->send(mall, meet_atom::value, color);
  return {[=](met_atom, int other) {
    self->state.color = complement(self->state.color, other);
    self->send(mall, meet_atom::value, self->state.color);
  }};
}

struct mall_state {
  actor waiting;
  int waiting_color = 0;
  long meetings = 0, target = -1;
  response_promise done;
};

behavior mall(stateful_actor<mall_state>* self) {
  return {
      [=](open_atom, long meetings) {
        self->state.target = meetings;
        self->state.done = self->make_response_promise();
        return self->state.done;
      },
      [=](meet_atom, int color) {
        auto& st = self->state;
        if (st.meetings == st.target) return;
        auto sender = actor_cast<actor>(self->current_sender());
        if (!st.waiting) {
          st.waiting = sender;
          st.waiting_color = color;
          return;
        }
        self->send(st.waiting, met_atom::value, color);
        self->send(sender, met_atom::value, st.waiting_color);
        st.waiting = nullptr;
        if (++st.meetings == st.target) st.done.deliver(st.meetings);
      },
  };
}
}  // namespace

double chameneos(const sizes& s) {
  actor_system_config cfg;
  actor_system sys{configure(cfg, s)};
  auto m = sys.spawn(mall);
  scoped_actor self{sys};
  self->send(m, open_atom::value, s.chameneos_meetings);
  std::vector<actor> creatures;
  auto t0 = clk::now();
  for (int i = 0; i < s.chameneos_creatures; ++i) creatures.push_back(sys.spawn(creature, m, i % 3));
  long meetings = -1;
  self->receive([&](long n) { meetings = n; });
  double secs = seconds_since(t0);
  check(meetings == s.chameneos_meetings, "chameneos: wrong number of meetings");
  for (auto& c : creatures) anon_send_exit(c, exit_reason::user_shutdown);
  anon_send_exit(m, exit_reason::user_shutdown);
  return static_cast<double>(s.chameneos_meetings) / secs;
}

// -- skynet ----------------------------------------------------------------------------------------

namespace {
behavior skynet_node(event_based_actor* self) {
  return {[=](skynet_atom, long num, long size) {
    auto rp = self->make_response_promise<long>();
    if (size == 1) {
      rp.deliver(num);
      self->quit();
      return rp;
    }
    const long child = size / 10;
    auto sum = std::make_shared<long>(0);
    auto replies = std::make_shared<int>(0);
    for (long i = 0; i < 10; ++i) {
      self->request(self->spawn(skynet_node), infinite, skynet_atom::value, num + i * child, child)
          .then([=](long x) mutable {
            *sum += x;
            if (++*replies == 10) {
              rp.deliver(*sum);
              self->quit();
            }
          });
    }
    return rp;
  }};
}
}  // namespace

double skynet(const sizes& s) {
  actor_system_config cfg;
  actor_system sys{configure(cfg, s)};
  auto t0 = clk::now();
  auto root = sys.spawn(skynet_node);
  long r = ask<long>(sys, root, skynet_atom::value, 0L, s.skynet_leaves);
  double secs = seconds_since(t0);
  const long n = s.skynet_leaves;
  check(r == n * (n - 1) / 2, "skynet: wrong sum");
  return secs;
}

// -- idle actors -----------------------------------------------------------------------------------

namespace {
behavior idle_actor(event_based_actor*) {
  return {[](poke_atom) {}};
}
}  // namespace

double idle_memory(const sizes& s) {
  actor_system_config cfg;
  actor_system sys{configure(cfg, s)};
  std::vector<actor> actors(static_cast<std::size_t>(s.idle_actors));
  const std::size_t before = resident_bytes();
  for (auto& a : actors) a = sys.spawn(idle_actor);
  const std::size_t after = resident_bytes();
  check(sys.registry().running() >= static_cast<std::size_t>(s.idle_actors), "idle_memory: actors missing");
  for (auto& a : actors) anon_send_exit(a, exit_reason::user_shutdown);
  return static_cast<double>(after - before) / static_cast<double>(s.idle_actors);
}

double spawn_rate(const sizes& s) {
  actor_system_config cfg;
  actor_system sys{configure(cfg, s)};
  std::vector<actor> actors(static_cast<std::size_t>(s.idle_actors));
  auto t0 = clk::now();
  for (auto& a : actors) a = sys.spawn(idle_actor);
  double secs = seconds_since(t0);
  check(sys.registry().running() >= static_cast<std::size_t>(s.idle_actors), "spawn_rate: actors missing");
  for (auto& a : actors) anon_send_exit(a, exit_reason::user_shutdown);
  return static_cast<double>(s.idle_actors) / secs;
}

double idle_cpu(const sizes& s) {
  actor_system_config cfg;
  actor_system sys{configure(cfg, s)};
  std::vector<actor> actors;
  for (int i = 0; i < s.idle_cpu_actors; ++i) actors.push_back(sys.spawn(idle_actor));
  for (auto& a : actors) anon_send(a, poke_atom::value);
  {
    scoped_actor self{sys};
    self->request(actors.back(), infinite, poke_atom::value).receive([] {}, [](error&) {});
  }
  const double before = process_cpu_seconds();
  std::this_thread::sleep_for(std::chrono::duration<double>(s.idle_cpu_seconds));
  const double used = process_cpu_seconds() - before;
  for (auto& a : actors) anon_send_exit(a, exit_reason::user_shutdown);
  return used;
}

// -- request/response ------------------------------------------------------------------------------

namespace {
behavior adder(event_based_actor*) {
  return {[](add_atom, long x) { return x + 1; }};
}

struct client_state {
  actor server;
  long left = 0;
  response_promise done;
};

void next_then(stateful_actor<client_state>* self, long x) {
  if (self->state.left-- == 0) {
    self->state.done.deliver(x);
    return;
  }
  self->request(self->state.server, infinite, add_atom::value, x).then([=](long y) { next_then(self, y); });
}

void next_await(stateful_actor<client_state>* self, long x) {
  if (self->state.left-- == 0) {
    self->state.done.deliver(x);
    return;
  }
  self->request(self->state.server, infinite, add_atom::value, x).await([=](long y) { next_await(self, y); });
}

template <void (*Next)(stateful_actor<client_state>*, long)>
behavior client(stateful_actor<client_state>* self) {
  return {[=](run_atom, const actor& server, long n) {
    self->state.server = server;
    self->state.left = n;
    self->state.done = self->make_response_promise();
    Next(self, 0);
    return self->state.done;
  }};
}

double run_request_response(const sizes& s, bool await_mode) {
  actor_system_config cfg;
  actor_system sys{configure(cfg, s)};
  auto server = sys.spawn(adder);
  auto c = await_mode ? sys.spawn(client<next_await>) : sys.spawn(client<next_then>);
  auto t0 = clk::now();
  long r = ask<long>(sys, c, run_atom::value, server, s.request_round_trips);
  double secs = seconds_since(t0);
  check(r == s.request_round_trips, "request_response: wrong result");
  anon_send_exit(server, exit_reason::user_shutdown);
  anon_send_exit(c, exit_reason::user_shutdown);
  return static_cast<double>(s.request_round_trips) / secs;
}
}  // namespace

double request_response_then(const sizes& s) { return run_request_response(s, false); }
// CAF 0.17 has no coroutines; its sequential counterpart is request(...).await(...).
double request_response_await(const sizes& s) { return run_request_response(s, true); }

// -- scatter_gather --------------------------------------------------------------------------------

namespace {
struct gather_state {
  std::vector<actor> servers;
  long rounds = 0, round = 0, total = 0;
  int pending = 0;
  response_promise done;
};

void gather_round(stateful_actor<gather_state>* self) {
  auto& st = self->state;
  if (st.round == st.rounds) {
    st.done.deliver(st.total);
    return;
  }
  st.pending = static_cast<int>(st.servers.size());
  for (auto& srv : st.servers) {
    self->request(srv, infinite, add_atom::value, st.round).then([=](long v) {
      self->state.total += v;
      if (--self->state.pending == 0) {
        ++self->state.round;
        gather_round(self);
      }
    });
  }
}

behavior gatherer(stateful_actor<gather_state>* self, std::vector<actor> servers) {
  self->state.servers = std::move(servers);
  return {[=](run_atom, long rounds) {
    self->state.rounds = rounds;
    self->state.done = self->make_response_promise();
    gather_round(self);
    return self->state.done;
  }};
}
}  // namespace

double scatter_gather(const sizes& s) {
  actor_system_config cfg;
  actor_system sys{configure(cfg, s)};
  std::vector<actor> servers;
  for (int i = 0; i < s.scatter_servers; ++i) servers.push_back(sys.spawn(adder));
  auto g = sys.spawn(gatherer, servers);
  auto t0 = clk::now();
  long r = ask<long>(sys, g, run_atom::value, s.scatter_rounds);
  double secs = seconds_since(t0);
  const long n = s.scatter_rounds;
  check(r == s.scatter_servers * (n * (n - 1) / 2 + n), "scatter_gather: wrong sum");
  for (auto& a : servers) anon_send_exit(a, exit_reason::user_shutdown);
  anon_send_exit(g, exit_reason::user_shutdown);
  return static_cast<double>(s.scatter_rounds) / secs;
}


// -- remote workloads: two processes on 127.0.0.1, caf::io's BASP ---------------------------------

namespace {

using item_atom = atom_constant<atom("item")>;
using sdone_atom = atom_constant<atom("sdone")>;
using rgo_atom = atom_constant<atom("rgo")>;

actor_system_config& configure_io(actor_system_config& cfg, const sizes& s) {
  configure(cfg, s);
  cfg.load<io::middleman>();
  return cfg;
}

behavior remote_sink(event_based_actor*) {
  auto received = std::make_shared<long>(0);
  auto next = std::make_shared<long>(0);
  return {[=](item_atom, long n) {
            if (n != (*next)++) throw bench_failure("remote_stream: out of order");
            ++*received;
          },
          [=](sdone_atom) { return *received; }};
}

behavior remote_server(event_based_actor*) {
  return {[](work_atom, long n) { return n + 1; }};
}

/// Publishes what `make` spawns on a free port of 127.0.0.1, then waits to be stopped.
template <class Fn>
void serve_one(int port_fd, int stop_fd, const sizes& s, Fn make) {
  actor_system_config cfg;
  actor_system sys{configure_io(cfg, s)};
  auto a = make(sys);
  auto port = sys.middleman().publish(a, 0, "127.0.0.1");
  check(static_cast<bool>(port), "CAF: cannot publish");
  report_port(port_fd, *port);
  wait_for_stop(stop_fd);
  anon_send_exit(a, exit_reason::user_shutdown);
}

void serve_ponger(int port_fd, int stop_fd, const sizes& s) {
  serve_one(port_fd, stop_fd, s, [](actor_system& sys) { return sys.spawn(ponger); });
}
void serve_sink(int port_fd, int stop_fd, const sizes& s) {
  serve_one(port_fd, stop_fd, s, [](actor_system& sys) { return sys.spawn(remote_sink); });
}
void serve_server(int port_fd, int stop_fd, const sizes& s) {
  serve_one(port_fd, stop_fd, s, [](actor_system& sys) { return sys.spawn(remote_server); });
}

actor connect_to(actor_system& sys, unsigned short port) {
  auto r = sys.middleman().remote_actor("127.0.0.1", port);
  check(static_cast<bool>(r), "CAF: cannot reach the server process");
  return *r;
}

struct requester_state {
  actor server;
  long sent = 0, answered = 0, total = 0, sum = 0;
  response_promise done;
};

void issue_request(stateful_actor<requester_state>* self) {
  const long n = self->state.sent++;
  self->request(self->state.server, infinite, work_atom::value, n).then([=](long v) {
    auto& st = self->state;
    st.sum += v;
    if (++st.answered == st.total) {
      st.done.deliver(st.sum);
      return;
    }
    if (st.sent < st.total) issue_request(self);
  });
}

behavior requester(stateful_actor<requester_state>* self) {
  return {[=](run_atom, const actor& server, long total, int in_flight) {
    self->state.server = server;
    self->state.total = total;
    self->state.done = self->make_response_promise();
    for (int i = 0; i < in_flight && self->state.sent < total; ++i) issue_request(self);
    return self->state.done;
  }};
}

struct streamer_state {
  response_promise done;
};

behavior streamer(stateful_actor<streamer_state>* self) {
  return {[=](rgo_atom, const actor& sink, long count) {
    for (long i = 0; i < count; ++i) self->send(sink, item_atom::value, i);
    self->state.done = self->make_response_promise();
    self->request(sink, infinite, sdone_atom::value).then([=](long n) { self->state.done.deliver(n); });
    return self->state.done;
  }};
}

}  // namespace

double remote_ping_pong(const sizes& s) {
  server_process server(serve_ponger, s);
  actor_system_config cfg;
  actor_system sys{configure_io(cfg, s)};
  auto remote = connect_to(sys, server.port());
  auto ping = sys.spawn(pinger);
  auto t0 = clk::now();
  long n = ask<long>(sys, ping, serve_atom::value, remote, s.remote_round_trips);
  double secs = seconds_since(t0);
  // The server's node holds our actors while connected: stop them, or ~actor_system waits.
  anon_send_exit(ping, exit_reason::user_shutdown);
  check(n == s.remote_round_trips, "remote_ping_pong: wrong number of round trips");
  return static_cast<double>(s.remote_round_trips) / secs;
}

double remote_stream(const sizes& s) {
  server_process server(serve_sink, s);
  actor_system_config cfg;
  actor_system sys{configure_io(cfg, s)};
  auto remote = connect_to(sys, server.port());
  auto st = sys.spawn(streamer);
  auto t0 = clk::now();
  long n = ask<long>(sys, st, rgo_atom::value, remote, s.remote_stream_messages);
  double secs = seconds_since(t0);
  anon_send_exit(st, exit_reason::user_shutdown);
  check(n == s.remote_stream_messages, "remote_stream: messages lost");
  return static_cast<double>(s.remote_stream_messages) / secs;
}

double remote_request(const sizes& s) {
  server_process server(serve_server, s);
  actor_system_config cfg;
  actor_system sys{configure_io(cfg, s)};
  auto remote = connect_to(sys, server.port());
  auto r = sys.spawn(requester);
  auto t0 = clk::now();
  long sum = ask<long>(sys, r, run_atom::value, remote, s.remote_requests, s.remote_requests_in_flight);
  double secs = seconds_since(t0);
  anon_send_exit(r, exit_reason::user_shutdown);
  check(sum == s.remote_requests * (s.remote_requests + 1) / 2, "remote_request: wrong answers");
  return static_cast<double>(s.remote_requests) / secs;
}

}  // namespace bench::caf_side
