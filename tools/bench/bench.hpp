// troupe-bench: the workloads, run on troupe and on CAF 0.17 side by side.
//
// Every workload exists twice, written idiomatically for each framework (troupe_workloads.cpp,
// caf_workloads.cpp), with the same sizes and the same sending pattern, on 2 workers each. A
// workload returns its figure (a rate, a duration, bytes or CPU seconds) and throws
// bench_failure when its own result is wrong (a lost message, a wrong sum): a fast wrong answer
// must fail the run, not win it.
#pragma once

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace bench {

struct bench_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Workload sizes; `quick()` shrinks them for CI smoke runs.
struct sizes {
  std::size_t workers = 2;
  long ping_pong_round_trips = 1'000'000;
  int big_pairs = 100;
  long big_round_trips = 20'000;
  int fan_in_senders = 8;
  long fan_in_messages = 1'000'000;  // per sender
  int fork_join_actors = 60;
  long fork_join_messages = 10'000;  // per actor
  int ring_actors = 503;
  long ring_hops = 10'000'000;
  int chameneos_creatures = 100;
  long chameneos_meetings = 200'000;
  long skynet_leaves = 1'000'000;  // a power of 10
  long idle_actors = 1'000'000;
  long request_round_trips = 500'000;
  long cancelled_requests = 200'000;
  int scatter_servers = 100;
  long scatter_rounds = 10'000;
  int idle_cpu_actors = 10'000;
  double idle_cpu_seconds = 5.0;
  // Remote workloads: two processes on 127.0.0.1.
  long remote_round_trips = 20'000;
  long remote_stream_messages = 2'000'000;
  long remote_requests = 200'000;
  int remote_requests_in_flight = 100;

  static sizes quick();
};

inline void check(bool ok, const std::string& what) {
  if (!ok) throw bench_failure(what);
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// A server in a child process, for the remote workloads (both sides of each run in two
/// processes). `body(port_fd, stop_fd)` runs in the child: it must listen, write its port with
/// report_port(port_fd, port), then call wait_for_stop(stop_fd) and return. Create it before
/// anything starts a thread (the child is forked).
class server_process {
 public:
  explicit server_process(void (*body)(int port_fd, int stop_fd, const sizes& s), const sizes& s);
  ~server_process();  // tells the child to stop and reaps it
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;
  unsigned short port() const { return port_; }

 private:
  int pid_ = -1;
  int stop_fd_ = -1;
  unsigned short port_ = 0;
};
void report_port(int port_fd, unsigned short port);
void wait_for_stop(int stop_fd);

/// Resident set size of this process, in bytes (from /proc/self/statm).
std::size_t resident_bytes();
/// CPU time (user + system) this process used so far, in seconds.
double process_cpu_seconds();

// Each framework implements every workload (units are in main.cpp's table).
namespace troupe_side {
double ping_pong(const sizes&);
double big(const sizes&);
double fan_in(const sizes&);
double fork_join_throughput(const sizes&);
double thread_ring(const sizes&);
double chameneos(const sizes&);
double skynet(const sizes&);
double idle_memory(const sizes&);
double spawn_rate(const sizes&);
double request_response_then(const sizes&);
double request_response_await(const sizes&);
double scatter_gather(const sizes&);
double idle_cpu(const sizes&);
double remote_ping_pong(const sizes&);
double remote_stream(const sizes&);
double remote_request(const sizes&);
/// ping_pong with tracing on (to a temporary file, deleted after): the recorder's cost.
double ping_pong_traced(const sizes&);
/// ns per future::cancel() of a request still waiting in its receiver's mailbox (troupe only:
/// CAF 0.17 cannot cancel a request). Its reference is request_make.
double request_cancel(const sizes&);
/// Both phases of request_cancel's run: ns per request(), ns per cancel().
std::pair<double, double> cancel_phases(const sizes&);
}  // namespace troupe_side

// The floors: the same work with no framework (see docs/performance.md, "why this is the limit").
namespace floor_side {
double raw_tcp_rtt(const sizes&);  // a Boost.Asio echo of 16 bytes, one in flight: round trips/s
/// troupe's own ping_pong, untraced: the reference ping_pong_traced is measured against.
double troupe_untraced(const sizes&);
/// troupe's ping_pong built with TROUPE_TRACE_HOOKS=OFF (troupe-bench-nohooks, run as a child
/// process): the reference for what the hooks cost while tracing is off.
double troupe_without_hooks(const sizes&);
/// ns per troupe::request() in the same setting as request_cancel: what cancelling is compared to.
double request_make(const sizes&);
}  // namespace floor_side

namespace caf_side {
double ping_pong(const sizes&);
double big(const sizes&);
double fan_in(const sizes&);
double fork_join_throughput(const sizes&);
double thread_ring(const sizes&);
double chameneos(const sizes&);
double skynet(const sizes&);
double idle_memory(const sizes&);
double spawn_rate(const sizes&);
double request_response_then(const sizes&);
double request_response_await(const sizes&);
double scatter_gather(const sizes&);
double idle_cpu(const sizes&);
double remote_ping_pong(const sizes&);
double remote_stream(const sizes&);
double remote_request(const sizes&);
}  // namespace caf_side

}  // namespace bench
