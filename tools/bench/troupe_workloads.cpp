// The workloads on troupe, written the way troupe's guide recommends.
#include "bench.hpp"

#include <troupe/troupe.hpp>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <string>
#include <unistd.h>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

namespace bench::troupe_side {
namespace {

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

troupe::actor_system_config config(const sizes& s) {
  troupe::actor_system_config cfg;
  cfg.worker_count = s.workers;
  return cfg;
}

// -- ping_pong and big: one ball in flight per pair ------------------------------------------------

struct ball {
  long remaining;
};
struct serve {
  troupe::actor partner;
  long round_trips;
};

troupe::behavior ponger(troupe::actor_base& self) {
  return {[&self](ball b) { self.send(self.current_sender(), b); }};
}

// Serves `round_trips` balls to its partner, one at a time; answers `serve` when done.
troupe::behavior pinger(troupe::actor_base& self) {
  auto done = std::make_shared<troupe::response_promise<long>>();
  auto returns = std::make_shared<long>(0);
  return {
      [&self, done](serve s) {
        *done = self.make_response_promise<long>();
        self.send(s.partner, ball{s.round_trips - 1});
        return *done;
      },
      [&self, done, returns](ball b) {
        ++*returns;
        if (b.remaining > 0)
          self.send(self.current_sender(), ball{b.remaining - 1});
        else
          done->deliver(*returns);
      },
  };
}

}  // namespace

namespace {
/// ping_pong on a system made with `cfg`; `after` sees the system once the balls are back.
template <class After>
double ping_pong_on(const sizes& s, troupe::actor_system_config cfg, After after) {
  troupe::actor_system sys{std::move(cfg)};
  auto pong = sys.spawn(ponger);
  auto ping = sys.spawn(pinger);
  auto t0 = clk::now();
  auto r = troupe::request<long>(ping, serve{pong, s.ping_pong_round_trips}, troupe::infinite).get();
  double secs = seconds_since(t0);
  check(r && *r == s.ping_pong_round_trips, "ping_pong: wrong number of round trips");
  after(sys);
  return 2.0 * static_cast<double>(s.ping_pong_round_trips) / secs;
}
}  // namespace

double ping_pong(const sizes& s) {
  return ping_pong_on(s, config(s), [](troupe::actor_system&) {});
}

double ping_pong_traced(const sizes& s) {
  auto cfg = config(s);
  cfg.trace.path = "/tmp/troupe-bench-" + std::to_string(::getpid()) + ".trace";
  const std::string path = cfg.trace.path;
  double rate = ping_pong_on(s, cfg, [](troupe::actor_system& sys) {
    sys.shutdown();  // writes the rest of the trace
    auto st = sys.tracing_stats();
    check(st.enabled && st.bytes > 0, "ping_pong_traced: nothing was traced");
    if (st.dropped > 0)
      std::fprintf(stderr, "ping_pong_traced: %zu records dropped (the writer fell behind)\n", st.dropped);
  });
  std::remove(path.c_str());
  return rate;
}

double big(const sizes& s) {
  troupe::actor_system sys{config(s)};
  std::vector<troupe::actor> pingers;
  std::vector<troupe::actor> pongers;
  for (int i = 0; i < s.big_pairs; ++i) {
    pingers.push_back(sys.spawn(pinger));
    pongers.push_back(sys.spawn(ponger));
  }
  auto t0 = clk::now();
  std::vector<troupe::future<long>> all;
  for (int i = 0; i < s.big_pairs; ++i)
    all.push_back(troupe::request<long>(pingers[static_cast<std::size_t>(i)],
                                        serve{pongers[static_cast<std::size_t>(i)], s.big_round_trips},
                                        troupe::infinite));
  auto r = troupe::when_all(std::move(all)).get();
  double secs = seconds_since(t0);
  check(r.has_value(), "big: a pair failed");
  for (long n : *r) check(n == s.big_round_trips, "big: wrong number of round trips");
  return 2.0 * s.big_pairs * static_cast<double>(s.big_round_trips) / secs;
}

// -- fan_in: many senders, one receiver ------------------------------------------------------------

namespace {
struct count_msg {
  long value;
};
struct go_on {
  long next;
};
struct expect_total {
  long messages;
};
constexpr long fan_in_batch = 1000;

// Sends `total` messages to `sink` in batches, yielding between batches (same pattern as CAF).
troupe::behavior fan_sender(troupe::actor_base& self, troupe::actor sink, long total) {
  return {[&self, sink, total](go_on g) {
    long end = std::min(total, g.next + fan_in_batch);
    for (long i = g.next; i < end; ++i) self.send(sink, count_msg{1});
    if (end < total) self.send(self.handle(), go_on{end});
  }};
}

troupe::behavior fan_sink(troupe::actor_base& self) {
  struct state {
    long count = 0, sum = 0, expected = 0;
    troupe::response_promise<long> done;
  };
  auto st = std::make_shared<state>();
  return {
      [&self, st](expect_total e) {
        st->expected = e.messages;
        st->done = self.make_response_promise<long>();
        return st->done;
      },
      [st](count_msg m) {
        st->sum += m.value;
        if (++st->count == st->expected) st->done.deliver(st->sum);
      },
  };
}
}  // namespace

double fan_in(const sizes& s) {
  troupe::actor_system sys{config(s)};
  auto sink = sys.spawn(fan_sink);
  const long total = s.fan_in_senders * s.fan_in_messages;
  auto done = troupe::request<long>(sink, expect_total{total}, troupe::infinite);
  std::vector<troupe::actor> senders;
  for (int i = 0; i < s.fan_in_senders; ++i) senders.push_back(sys.spawn(fan_sender, sink, s.fan_in_messages));
  auto t0 = clk::now();
  for (auto& a : senders) troupe::send(a, go_on{0});
  auto r = done.get();
  double secs = seconds_since(t0);
  check(r && *r == total, "fan_in: lost messages");
  return static_cast<double>(total) / secs;
}

// -- fork_join_throughput: one sender, many workers ------------------------------------------------

namespace {
struct work_item {
  double x;
};
struct expect_items {
  long n;
};

troupe::behavior fj_worker(troupe::actor_base& self) {
  struct state {
    long seen = 0, expected = 0;
    double acc = 0;
    troupe::response_promise<long> done;
  };
  auto st = std::make_shared<state>();
  return {
      [&self, st](expect_items e) {
        st->expected = e.n;
        st->done = self.make_response_promise<long>();
        return st->done;
      },
      [st](work_item w) {
        st->acc += std::sqrt(w.x * w.x + 1.0);  // a little work per message, as in Savina
        if (++st->seen == st->expected) st->done.deliver(st->seen);
      },
  };
}
}  // namespace

double fork_join_throughput(const sizes& s) {
  troupe::actor_system sys{config(s)};
  std::vector<troupe::actor> workers;
  std::vector<troupe::future<long>> done;
  for (int i = 0; i < s.fork_join_actors; ++i) {
    workers.push_back(sys.spawn(fj_worker));
    done.push_back(troupe::request<long>(workers.back(), expect_items{s.fork_join_messages}, troupe::infinite));
  }
  auto t0 = clk::now();
  for (long m = 0; m < s.fork_join_messages; ++m)
    for (auto& w : workers) troupe::send(w, work_item{static_cast<double>(m)});
  auto r = troupe::when_all(std::move(done)).get();
  double secs = seconds_since(t0);
  check(r.has_value(), "fork_join: a worker failed");
  for (long n : *r) check(n == s.fork_join_messages, "fork_join: lost messages");
  return static_cast<double>(s.fork_join_actors) * static_cast<double>(s.fork_join_messages) / secs;
}

// -- thread_ring -----------------------------------------------------------------------------------

namespace {
struct token {
  long hops_left;
};
struct set_next {
  troupe::actor next;
};
struct run_ring {
  long hops;
};

troupe::behavior ring_node(troupe::actor_base& self, std::shared_ptr<troupe::response_promise<long>> done) {
  auto next = std::make_shared<troupe::actor>();
  return {
      [next](set_next n) { *next = std::move(n.next); },
      [&self, next, done](token t) {
        if (t.hops_left == 0) {
          done->deliver(1);
          next->reset();  // break the ring so that it can be torn down
          return;
        }
        self.send(*next, token{t.hops_left - 1});
      },
      [&self, next, done](run_ring r) {
        *done = self.make_response_promise<long>();
        self.send(*next, token{r.hops - 1});
        return *done;
      },
  };
}
}  // namespace

double thread_ring(const sizes& s) {
  troupe::actor_system sys{config(s)};
  auto done = std::make_shared<troupe::response_promise<long>>();
  std::vector<troupe::actor> ring;
  for (int i = 0; i < s.ring_actors; ++i) ring.push_back(sys.spawn(ring_node, done));
  for (std::size_t i = 0; i < ring.size(); ++i) troupe::send(ring[i], set_next{ring[(i + 1) % ring.size()]});
  auto t0 = clk::now();
  auto r = troupe::request<long>(ring[0], run_ring{s.ring_hops}, troupe::infinite).get();
  double secs = seconds_since(t0);
  check(r && *r == 1, "thread_ring: the token was lost");
  for (auto& a : ring) troupe::send(a, set_next{});  // break the ring
  return static_cast<double>(s.ring_hops) / secs;
}

// -- chameneos -------------------------------------------------------------------------------------

namespace {
enum class color { blue, red, yellow };
color complement(color a, color b) {
  if (a == b) return a;
  return static_cast<color>(3 - static_cast<int>(a) - static_cast<int>(b));
}
struct meet {
  color c;
};
struct met {
  color other;
};
struct open_mall {
  long meetings;
};

troupe::behavior creature(troupe::actor_base& self, troupe::actor mall, color c) {
  auto mine = std::make_shared<color>(c);
  self.send(mall, meet{c});
  return {[&self, mall, mine](met m) {
    *mine = complement(*mine, m.other);
    self.send(mall, meet{*mine});
  }};
}

troupe::behavior mall(troupe::actor_base& self) {
  struct state {
    troupe::actor waiting;
    color waiting_color = color::blue;
    long meetings = 0, target = -1;
    troupe::response_promise<long> done;
  };
  auto st = std::make_shared<state>();
  return {
      [&self, st](open_mall o) {
        st->target = o.meetings;
        st->done = self.make_response_promise<long>();
        return st->done;
      },
      [&self, st](meet m) {
        if (st->meetings == st->target) return;  // closed: the creatures stop
        if (!st->waiting) {
          st->waiting = self.current_sender();
          st->waiting_color = m.c;
          return;
        }
        self.send(st->waiting, met{m.c});
        self.send(self.current_sender(), met{st->waiting_color});
        st->waiting.reset();
        if (++st->meetings == st->target) st->done.deliver(st->meetings);
      },
  };
}
}  // namespace

double chameneos(const sizes& s) {
  troupe::actor_system sys{config(s)};
  auto m = sys.spawn(mall);
  auto done = troupe::request<long>(m, open_mall{s.chameneos_meetings}, troupe::infinite);
  auto t0 = clk::now();
  for (int i = 0; i < s.chameneos_creatures; ++i) sys.spawn(creature, m, static_cast<color>(i % 3));
  auto r = done.get();
  double secs = seconds_since(t0);
  check(r && *r == s.chameneos_meetings, "chameneos: wrong number of meetings");
  return static_cast<double>(s.chameneos_meetings) / secs;
}

// -- skynet ----------------------------------------------------------------------------------------

namespace {
struct skynet_req {
  long num;
  long size;
};

troupe::behavior skynet_node(troupe::actor_base& self) {
  return {[&self](skynet_req r) -> troupe::future<long> {
    if (r.size == 1) return troupe::make_ready_future(r.num);
    const long child = r.size / 10;
    std::vector<troupe::future<long>> parts;
    parts.reserve(10);
    for (long i = 0; i < 10; ++i)
      parts.push_back(self.request<long>(self.system().spawn(skynet_node), skynet_req{r.num + i * child, child},
                                         troupe::infinite));
    return troupe::when_all(std::move(parts)).then([](std::vector<long> v) {
      long sum = 0;
      for (long x : v) sum += x;
      return sum;
    });
  }};
}
}  // namespace

double skynet(const sizes& s) {
  troupe::actor_system sys{config(s)};
  auto t0 = clk::now();
  auto root = sys.spawn(skynet_node);
  auto r = troupe::request<long>(root, skynet_req{0, s.skynet_leaves}, troupe::infinite).get();
  double secs = seconds_since(t0);
  const long n = s.skynet_leaves;
  check(r && *r == n * (n - 1) / 2, "skynet: wrong sum");
  return secs;
}

// -- idle actors: memory, spawn rate, CPU ----------------------------------------------------------

namespace {
struct poke {};
troupe::behavior idle_actor(troupe::actor_base&) {
  return {[](poke) {}};
}
}  // namespace

double idle_memory(const sizes& s) {
  troupe::actor_system sys{config(s)};
  std::vector<troupe::actor> actors(static_cast<std::size_t>(s.idle_actors));  // touched before the baseline
  const std::size_t before = resident_bytes();
  for (auto& a : actors) a = sys.spawn(idle_actor);
  const std::size_t after = resident_bytes();
  check(sys.running_actors() == static_cast<std::size_t>(s.idle_actors), "idle_memory: actors missing");
  return static_cast<double>(after - before) / static_cast<double>(s.idle_actors);
}

double spawn_rate(const sizes& s) {
  troupe::actor_system sys{config(s)};
  std::vector<troupe::actor> actors(static_cast<std::size_t>(s.idle_actors));
  auto t0 = clk::now();
  for (auto& a : actors) a = sys.spawn(idle_actor);
  double secs = seconds_since(t0);
  check(sys.running_actors() == static_cast<std::size_t>(s.idle_actors), "spawn_rate: actors missing");
  return static_cast<double>(s.idle_actors) / secs;
}

double idle_cpu(const sizes& s) {
  troupe::actor_system sys{config(s)};
  std::vector<troupe::actor> actors;
  for (int i = 0; i < s.idle_cpu_actors; ++i) actors.push_back(sys.spawn(idle_actor));
  for (auto& a : actors) troupe::send(a, poke{});  // every actor has run once
  troupe::request<void>(actors.back(), poke{}, troupe::infinite).get().value();
  const double before = process_cpu_seconds();
  std::this_thread::sleep_for(std::chrono::duration<double>(s.idle_cpu_seconds));  // the idle period measured
  return process_cpu_seconds() - before;
}

// -- request/response ------------------------------------------------------------------------------

namespace {
struct add_one {
  long x;
};
struct run_requests {
  troupe::actor server;
  long n;
};

troupe::behavior adder(troupe::actor_base&) {
  return {[](add_one a) { return a.x + 1; }};
}

// Sequential requests chained with then(): each reply triggers the next request. A class-based
// actor, its state in members (the counterpart of CAF's stateful_actor).
class then_client : public troupe::actor_base {
 protected:
  troupe::behavior make_behavior() override {
    return {[this](run_requests r) {
      server_ = r.server;
      left_ = r.n;
      done_ = make_response_promise<long>();
      next(0);
      return done_;
    }};
  }

 private:
  void next(long x) {
    if (left_-- == 0) {
      done_.deliver(x);
      return;
    }
    request<long>(server_, add_one{x}, troupe::infinite).then([this](long y) { next(y); });
  }

  troupe::actor server_;
  long left_ = 0;
  troupe::response_promise<long> done_;
};

// The same loop as a coroutine.
troupe::behavior await_client(troupe::actor_base& self) {
  return {[&self](run_requests r) -> troupe::task<long> {
    long x = 0;
    for (long i = 0; i < r.n; ++i) {
      auto y = co_await self.request<long>(r.server, add_one{x}, troupe::infinite);
      if (!y) co_return -1;
      x = *y;
    }
    co_return x;
  }};
}

template <class Spawn>
double run_request_response(const sizes& s, Spawn spawn_client) {
  troupe::actor_system sys{config(s)};
  auto server = sys.spawn(adder);
  auto client = spawn_client(sys);
  auto t0 = clk::now();
  auto r = troupe::request<long>(client, run_requests{server, s.request_round_trips}, troupe::infinite).get();
  double secs = seconds_since(t0);
  check(r && *r == s.request_round_trips, "request_response: wrong result");
  return static_cast<double>(s.request_round_trips) / secs;
}
}  // namespace

double request_response_then(const sizes& s) {
  return run_request_response(s, [](troupe::actor_system& sys) { return sys.spawn<then_client>(); });
}
double request_response_await(const sizes& s) {
  return run_request_response(s, [](troupe::actor_system& sys) { return sys.spawn(await_client); });
}

// -- scatter_gather --------------------------------------------------------------------------------

namespace {
struct gather_rounds {
  long rounds;
};

troupe::behavior gatherer(troupe::actor_base& self, std::vector<troupe::actor> servers) {
  return {[&self, servers](gather_rounds g) -> troupe::task<long> {
    long total = 0;
    for (long round = 0; round < g.rounds; ++round) {
      std::vector<troupe::future<long>> replies;
      replies.reserve(servers.size());
      for (auto& s : servers) replies.push_back(self.request<long>(s, add_one{round}, troupe::infinite));
      auto all = co_await troupe::when_all(std::move(replies));
      if (!all) co_return -1;
      for (long v : *all) total += v;
    }
    co_return total;
  }};
}
}  // namespace

double scatter_gather(const sizes& s) {
  troupe::actor_system sys{config(s)};
  std::vector<troupe::actor> servers;
  for (int i = 0; i < s.scatter_servers; ++i) servers.push_back(sys.spawn(adder));
  auto g = sys.spawn(gatherer, servers);
  auto t0 = clk::now();
  auto r = troupe::request<long>(g, gather_rounds{s.scatter_rounds}, troupe::infinite).get();
  double secs = seconds_since(t0);
  const long n = s.scatter_rounds;
  check(r && *r == s.scatter_servers * (n * (n - 1) / 2 + n), "scatter_gather: wrong sum");
  return static_cast<double>(s.scatter_rounds) / secs;
}

// -- request_cancel ----------------------------------------------------------------------------------

namespace {
struct hold_until {
  std::shared_ptr<const std::atomic<bool>> open;  // (a flag the bench thread sets)
};
}  // namespace

/// `n` requests made from this thread to a server held busy (so every one waits in its mailbox),
/// then every one cancelled; then the server drops them all. ns per request() and per cancel().
std::pair<double, double> cancel_phases(const sizes& s) {
  troupe::actor_system sys{config(s)};
  auto open = std::make_shared<std::atomic<bool>>(false);
  auto server = sys.spawn([](troupe::actor_base&) -> troupe::behavior {
    return {[](hold_until h) {
              while (!h.open->load(std::memory_order_acquire)) std::this_thread::yield();
            },
            [](add_one a) { return a.x + 1; }};
  });
  troupe::send(server, hold_until{open});
  const long n = s.cancelled_requests;
  std::vector<troupe::future<long>> fs;
  fs.reserve(static_cast<std::size_t>(n));
  auto t0 = clk::now();
  for (long i = 0; i < n; ++i) fs.push_back(troupe::request<long>(server, add_one{i}, troupe::infinite));
  const double make = seconds_since(t0);
  long cancelled = 0;
  auto t1 = clk::now();
  for (auto& f : fs) cancelled += f.cancel() ? 1 : 0;
  const double cancel = seconds_since(t1);
  open->store(true, std::memory_order_release);
  auto last = troupe::request<long>(server, add_one{0}, troupe::infinite).get();
  check(last && cancelled == n && sys.cancelled_requests_dropped() == static_cast<std::size_t>(n),
        "request_cancel: a request was not cancelled, or not dropped");
  return {make * 1e9 / static_cast<double>(n), cancel * 1e9 / static_cast<double>(n)};
}

double request_cancel(const sizes& s) { return cancel_phases(s).second; }

}  // namespace bench::troupe_side

namespace bench::floor_side {
double request_make(const sizes& s) { return troupe_side::cancel_phases(s).first; }
}  // namespace bench::floor_side
