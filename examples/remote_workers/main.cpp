// remote_workers: a coordinator node hands out jobs to worker nodes over troupe::net, and does
// over the jobs of a worker that is lost.
//
// Shows: nodes, the shared secret, registering message types, publish and lookup, a handle
// sent across the wire (each worker introduces itself with its own handle), requests to remote
// actors, monitoring remote actors, and what a lost node does to them (down with
// errc::disconnected; its requests fail at once).
//
// In one process (the default: a coordinator and --workers worker nodes, each its own actor
// system on 127.0.0.1; --lose-one destroys one worker node mid-run):
//   remote_workers [--jobs N] [--workers W] [--lose-one]
// In several processes (start the coordinator, then workers, from other terminals or
// machines; it starts once --min-workers have joined):
//   remote_workers --role coordinator --port 4000 --min-workers 2
//   remote_workers --role worker --connect 127.0.0.1:4000
//
// Each job counts the primes in a range; the coordinator adds the counts up, and the invariant
// is that the total equals the number of primes below the end of the last range, counted
// locally with a sieve.
#include "../common/cli.hpp"

#include <troupe/net/node.hpp>
#include <troupe/troupe.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;

namespace {

// -- the messages, and their names on the wire (the same on every node) -------------------------

struct job {
  std::uint64_t id;
  std::uint64_t from;  // count the primes in [from, to)
  std::uint64_t to;
};
struct join {
  troupe::actor worker;  // a handle that crosses the wire: the coordinator answers through it
  std::string name;
};
struct run_all {
  std::uint64_t jobs;
  std::uint64_t range;
};
struct outcome {
  std::uint64_t primes;
  std::uint64_t redone;  // jobs handed out again after their worker was lost
};

std::shared_ptr<troupe::net::type_registry> wire_types() {
  auto t = std::make_shared<troupe::net::type_registry>();
  t->add<job>("remote_workers.job");
  t->add<join>("remote_workers.join");
  return t;
}

troupe::net::node_config node_config() {
  troupe::net::node_config cfg;
  cfg.secret = "remote_workers example secret";  // every node of the cluster knows it
  cfg.types = wire_types();
  return cfg;
}

bool is_prime(std::uint64_t n) {
  if (n < 2) return false;
  for (std::uint64_t d = 2; d * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}

// -- the worker: answers each job with its count ------------------------------------------------

troupe::behavior worker(troupe::actor_base& self) {
  self.set_name("worker");
  return {[](job j) {
    std::uint64_t n = 0;
    for (std::uint64_t x = j.from; x < j.to; ++x) n += is_prime(x) ? 1 : 0;
    return n;
  }};
}

// -- the coordinator: hands out jobs, two in flight per worker; a lost worker's jobs go back --------

struct coordinator_state {
  std::size_t min_workers = 1;
  std::deque<job> pending;
  std::map<std::uint64_t, std::pair<job, troupe::actor>> in_flight;  // by job id
  std::vector<troupe::actor> workers;
  std::uint64_t total = 0, done = 0, jobs = 0, redone = 0;
  bool started = false;  // run_all came
  bool running = false;  // ... and min_workers joined: jobs go out from now on
  troupe::response_promise<outcome> finished;
};

/// Hands pending jobs to workers with fewer than two in flight.
void dispatch(troupe::actor_base& self, const std::shared_ptr<coordinator_state>& st) {
  st->running = st->running || (st->started && st->workers.size() >= st->min_workers);
  if (!st->running) return;
  for (const auto& w : st->workers) {
    auto busy = std::count_if(st->in_flight.begin(), st->in_flight.end(), [&](const auto& e) { return e.second.second == w; });
    for (; busy < 2 && !st->pending.empty(); ++busy) {
      job j = st->pending.front();
      st->pending.pop_front();
      st->in_flight.emplace(j.id, std::make_pair(j, w));
      self.request<std::uint64_t>(w, j, 30s).then([&self, st, id = j.id](troupe::result<std::uint64_t> r) {
        auto it = st->in_flight.find(id);
        if (it == st->in_flight.end()) return;  // already handed out again (its worker was lost)
        if (r) {
          st->total += *r;
          ++st->done;
        } else {
          std::printf("job %llu failed (%s): handing it out again\n", static_cast<unsigned long long>(id), r.error().message().c_str());
          st->pending.push_back(it->second.first);
          ++st->redone;
        }
        st->in_flight.erase(it);
        if (st->done == st->jobs) st->finished.deliver(outcome{st->total, st->redone});
        dispatch(self, st);
      });
    }
  }
}

troupe::behavior coordinator(troupe::actor_base& self, std::size_t min_workers) {
  self.set_name("coordinator");
  auto st = std::make_shared<coordinator_state>();
  st->min_workers = min_workers;
  return {
      [&self, st](join j) {
        std::printf("worker %s joined from %s\n", j.name.c_str(), j.worker.node().to_string().c_str());
        self.monitor(j.worker);
        st->workers.push_back(j.worker);
        dispatch(self, st);
        return true;  // welcome
      },
      [&self, st](run_all r) {
        st->jobs = r.jobs;
        for (std::uint64_t i = 0; i < r.jobs; ++i) st->pending.push_back(job{i, i * r.range, (i + 1) * r.range});
        st->started = true;
        st->finished = self.make_response_promise<outcome>();
        dispatch(self, st);
        return st->finished;
      },
      [&self, st](troupe::down_msg d) {
        std::erase(st->workers, d.source);
        std::size_t back = 0;
        for (auto it = st->in_flight.begin(); it != st->in_flight.end();) {
          if (it->second.second == d.source) {
            st->pending.push_back(it->second.first);
            ++st->redone;
            ++back;
            it = st->in_flight.erase(it);
          } else {
            ++it;
          }
        }
        std::printf("worker on %s lost (%s): %zu jobs handed out again\n", d.source.node().to_string().c_str(),
                    d.reason.to_string().c_str(), back);
        dispatch(self, st);
      },
  };
}

std::uint64_t primes_below(std::uint64_t n) {
  std::vector<bool> composite(n, false);
  std::uint64_t count = 0;
  for (std::uint64_t i = 2; i < n; ++i) {
    if (composite[i]) continue;
    ++count;
    for (std::uint64_t k = i * i; k < n; k += i) composite[k] = true;
  }
  return count;
}

/// One worker node: connects to the coordinator, looks it up, and joins with a fresh worker.
struct worker_node {
  explicit worker_node(troupe::actor_system_config cfg) : sys{std::move(cfg)} {}
  troupe::actor_system sys;
  troupe::net::node node{sys, node_config()};

  bool start(const std::string& host, std::uint16_t port, const std::string& name) {
    auto peer = node.connect(host, port).get(10s);
    if (!peer) {
      std::fprintf(stderr, "cannot reach the coordinator at %s:%u: %s\n", host.c_str(), port, peer.error().message().c_str());
      return false;
    }
    auto coord = node.lookup(*peer, "coordinator").get(10s);
    if (!coord) {
      std::fprintf(stderr, "no coordinator there: %s\n", coord.error().message().c_str());
      return false;
    }
    auto welcome = troupe::request<bool>(*coord, join{sys.spawn(worker), name}, 10s).get();
    if (!welcome) std::fprintf(stderr, "the coordinator did not take us: %s\n", welcome.error().message().c_str());
    return welcome.has_value();
  }
};

int run_coordinator(const example::cli& cli, const troupe::actor_system_config& cfg, std::uint16_t port, std::size_t min_workers,
                    std::uint64_t jobs, std::uint64_t range) {
  troupe::actor_system sys{cfg};
  troupe::net::node node{sys, node_config()};
  auto coord = sys.spawn(coordinator, min_workers);
  node.publish(coord, "coordinator");
  const auto bound = node.listen("0.0.0.0", port);
  std::printf("coordinator on port %u: waiting for %zu workers\n", bound, min_workers);
  auto r = troupe::request<outcome>(coord, run_all{jobs, range}, troupe::infinite).get();
  if (!r) return cli.finish(sys, false, "the run finished");
  std::printf("%llu primes below %llu, %llu jobs redone\n", static_cast<unsigned long long>(r->primes),
              static_cast<unsigned long long>(jobs * range), static_cast<unsigned long long>(r->redone));
  return cli.finish(sys, r->primes == primes_below(jobs * range), "the remote counts add up to a local sieve's");
}

int run_worker(const troupe::actor_system_config& cfg, const std::string& target) {
  const auto colon = target.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "--connect wants host:port\n");
    return 2;
  }
  worker_node w{cfg};
  auto lost = std::make_shared<std::promise<void>>();
  auto done = lost->get_future();
  auto watch = w.sys.spawn([lost](troupe::actor_base&) -> troupe::behavior {
    return {[lost](troupe::net::node_down) { lost->set_value(); }, [](troupe::net::node_up) {}};
  });
  w.node.monitor_nodes(watch);
  if (!w.start(target.substr(0, colon), static_cast<std::uint16_t>(std::stoi(target.substr(colon + 1))),
                "pid " + std::to_string(::getpid())))
    return 1;
  std::printf("working for the coordinator at %s until it goes away\n", target.c_str());
  done.wait();
  return 0;
}

// (With --trace, each node of the process writes a file of its own: the first the given name,
// the others that name with "-<node id>" appended.)
int run_in_one_process(const example::cli& cli, const troupe::actor_system_config& cfg, std::size_t workers, std::uint64_t jobs,
                       std::uint64_t range, bool lose_one) {
  troupe::actor_system sys{cfg};
  troupe::net::node node{sys, node_config()};
  auto coord = sys.spawn(coordinator, std::size_t{1});  // every worker has joined before run_all
  node.publish(coord, "coordinator");
  const auto port = node.listen("127.0.0.1", 0);
  std::vector<std::unique_ptr<worker_node>> nodes;
  for (std::size_t i = 0; i < workers; ++i) {
    nodes.push_back(std::make_unique<worker_node>(cfg));
    if (!nodes.back()->start("127.0.0.1", port, "#" + std::to_string(i + 1))) return 1;
  }
  auto result = troupe::request<outcome>(coord, run_all{jobs, range}, troupe::infinite);
  if (lose_one && nodes.size() > 1) nodes.front().reset();  // a worker node goes away mid-run
  auto r = result.get();
  if (!r) return cli.finish(sys, false, "the run finished");
  std::printf("%zu worker nodes, %llu jobs: %llu primes below %llu, %llu jobs redone\n", workers,
              static_cast<unsigned long long>(jobs), static_cast<unsigned long long>(r->primes),
              static_cast<unsigned long long>(jobs * range), static_cast<unsigned long long>(r->redone));
  return cli.finish(sys, r->primes == primes_below(jobs * range), "the remote counts add up to a local sieve's");
}

}  // namespace

int main(int argc, char** argv) {
  example::cli cli("remote_workers", "A coordinator node hands out jobs to worker nodes over troupe::net.");
  std::string role = "both";
  std::uint16_t port = 4000;
  std::string connect = "127.0.0.1:4000";
  std::size_t workers = 2, min_workers = 1;
  std::uint64_t jobs = 200, range = 5000;
  bool lose_one = false;
  cli.add_option("--role", role, "both (one process), coordinator, or worker")->check(CLI::IsMember({"both", "coordinator", "worker"}));
  cli.add_option("--port", port, "coordinator: the port to listen on");
  cli.add_option("--min-workers", min_workers, "coordinator: start once this many workers joined");
  cli.add_option("--connect", connect, "worker: the coordinator's host:port");
  cli.add_option("--workers", workers, "one process: worker nodes")->check(CLI::Range(1, 64));
  cli.add_option("--jobs", jobs, "jobs to hand out");
  cli.add_option("--range", range, "numbers per job");
  cli.add_flag("--lose-one", lose_one, "one process: destroy a worker node mid-run (its jobs are redone)");
  CLI11_PARSE(cli, argc, argv);
  const auto cfg = cli.config();
  if (role == "coordinator") return run_coordinator(cli, cfg, port, min_workers, jobs, range);
  if (role == "worker") return run_worker(cfg, connect);
  return run_in_one_process(cli, cfg, workers, jobs, range, lose_one);
}
