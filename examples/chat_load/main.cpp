// chat_load: a load generator for chat_server (or any server of its line protocol, such as
// tools/bench/chat_baseline): opens --clients connections, each an actor driving a
// troupe::net::tcp connection; puts them in rooms of --room-size; has them say --rate lines a
// second in all for --seconds; and prints the messages delivered per second, the latency from
// a SAY's sending to each member's receiving it (p50, p99, max), and the server's memory.
//
//   chat_load --server build/release/examples/chat_server/chat_server --clients 10000
//   chat_server --port 7000 &  chat_load --port 7000 --server-pid $!    (a server of your own)
//
// With --server, chat_load starts the server itself (with `--port 0` and any --server-arg),
// reads the port from its "listening on" line, stops it with SIGINT at the end, and passes
// its output on; the server must then exit with status 0.
//
// Shows: connect (many at once), attach, a window of reads, writes, and handling a connection's
// end. The invariant: every SAY reached every member of its room exactly once, and nothing
// else arrived (no lost, duplicated or misrouted line).
#include "../common/cli.hpp"

#include <troupe/net/framing.hpp>
#include <troupe/net/tcp.hpp>
#include <troupe/troupe.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace net = troupe::net;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch()).count());
}

/// Latencies in log-linear buckets (16 per power of two, under 5% error), filled by every
/// client actor at once (relaxed atomics).
class histogram {
 public:
  void add(std::uint64_t ns) {
    buckets_[index(ns)].fetch_add(1, std::memory_order_relaxed);
    std::uint64_t m = max_.load(std::memory_order_relaxed);
    while (ns > m && !max_.compare_exchange_weak(m, ns, std::memory_order_relaxed)) {}
  }
  std::uint64_t count() const {
    std::uint64_t n = 0;
    for (auto& b : buckets_) n += b.load();
    return n;
  }
  /// The value under which a fraction q of the samples lie (a bucket's upper edge).
  double quantile_us(double q) const {
    const std::uint64_t n = count();
    if (n == 0) return 0;
    const auto want = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(n)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i].load();
      if (seen >= want) return static_cast<double>(upper(i)) / 1000.0;
    }
    return static_cast<double>(max_.load()) / 1000.0;
  }
  double max_us() const { return static_cast<double>(max_.load()) / 1000.0; }

 private:
  static constexpr int sub = 16;
  static std::size_t index(std::uint64_t v) {
    if (v < sub) return v;
    const int e = 63 - __builtin_clzll(v);  // 2^e <= v < 2^(e+1)
    const auto frac = (v >> (e - 4)) & (sub - 1);
    return std::min<std::size_t>(static_cast<std::size_t>((e - 3) * sub) + frac, 64 * sub - 1);
  }
  static std::uint64_t upper(std::size_t i) {
    if (i < sub) return i;
    const std::size_t e = i / sub + 3;
    const std::uint64_t frac = i % sub;
    return ((std::uint64_t{sub} + frac + 1) << (e - 4)) - 1;
  }
  std::array<std::atomic<std::uint64_t>, 64 * sub> buckets_{};
  std::atomic<std::uint64_t> max_{0};
};

struct totals {
  histogram latency;
  std::atomic<std::uint64_t> ready{0};      // clients whose NICK and JOIN were answered
  std::atomic<std::uint64_t> said{0};       // SAY lines written
  std::atomic<std::uint64_t> expected{0};   // deliveries those SAYs owe (room sizes)
  std::atomic<std::uint64_t> delivered{0};  // MSG lines received
  std::atomic<std::uint64_t> misrouted{0};  // a MSG from another room, or not a MSG at all
  std::atomic<std::uint64_t> lost{0};       // connections that ended before the end
  std::atomic<std::uint64_t> refused{0};    // SAYs the client's own write queue refused
  std::atomic<std::uint64_t> last_delivery_ns{0};
};

struct fire {};  // say one line now

/// One client: joins its room, says a line on each `fire`, checks and times what arrives.
class client final : public troupe::actor_base {
 public:
  client(net::connection c, std::size_t index, std::string room, std::uint64_t room_members, std::shared_ptr<totals> t)
      : conn_(std::move(c)), index_(index), room_(std::move(room)), members_(room_members), t_(std::move(t)) {}

 protected:
  troupe::behavior make_behavior() override {
    conn_.attach(handle());
    conn_.read(window);  // a window of bytes: replenished by what each message handled
    (void)conn_.write("NICK c" + std::to_string(index_) + "\nJOIN " + room_ + "\n");
    return {
        [this](net::received& r) {
          lines_.feed(r.bytes, [this](std::string_view l) { on_line(l); });
          conn_.read(r.bytes.size());
        },
        [this](fire) {
          // "SAY <room> <sent ns> <client>"
          if (auto w = conn_.write("SAY " + room_ + " " + std::to_string(now_ns()) + " " + std::to_string(index_) + "\n"); w) {
            t_->said.fetch_add(1, std::memory_order_relaxed);
            t_->expected.fetch_add(members_, std::memory_order_relaxed);
          } else {
            t_->refused.fetch_add(1, std::memory_order_relaxed);
          }
        },
        [this](net::closed&) {
          if (!done_) t_->lost.fetch_add(1, std::memory_order_relaxed);
          quit();
        },
        [this](bool finished) { done_ = finished; },
    };
  }

 private:
  static constexpr std::size_t window = 64 * 1024;

  void on_line(std::string_view l) {
    if (l == "OK") {
      if (++oks_ == 2) t_->ready.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    // "MSG <room> <nick> <sent ns> <client>"
    const auto now = now_ns();
    std::string_view rest = l;
    if (!rest.starts_with("MSG ")) return bad();
    rest.remove_prefix(4);
    if (!rest.starts_with(room_) || rest.size() <= room_.size() || rest[room_.size()] != ' ') return bad();
    rest.remove_prefix(room_.size() + 1);
    const auto sp = rest.find(' ');  // after the nick
    if (sp == std::string_view::npos) return bad();
    rest.remove_prefix(sp + 1);
    std::uint64_t sent = 0;
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), sent);
    if (ec != std::errc() || sent > now) return bad();
    t_->latency.add(now - sent);
    t_->delivered.fetch_add(1, std::memory_order_relaxed);
    t_->last_delivery_ns.store(now, std::memory_order_relaxed);
  }
  void bad() { t_->misrouted.fetch_add(1, std::memory_order_relaxed); }

  net::connection conn_;
  std::size_t index_;
  std::string room_;
  std::uint64_t members_;
  std::shared_ptr<totals> t_;
  net::line_framer lines_{4096};
  int oks_ = 0;
  bool done_ = false;
};

/// The resident memory of process `pid` in MiB (0 if unknown).
double rss_mib(long pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.starts_with("VmRSS:")) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

/// A server process started by chat_load, its stdout read through a pipe.
class server_process {
 public:
  /// Starts `argv`; false (with a message) if it cannot, or if it does not say where it listens.
  bool start(std::vector<std::string> args, std::uint16_t& port) {
    int fds[2];
    if (pipe(fds) != 0) return false;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      std::fprintf(stderr, "chat_load: cannot start %s: %s\n", argv[0], std::strerror(rc));
      pid_ = 0;
      return false;
    }
    out_ = fdopen(fds[0], "r");
    char line[512];
    while (std::fgets(line, sizeof line, out_)) {
      unsigned p = 0;
      if (const char* at = std::strstr(line, "listening on "); at && std::strrchr(at, ':') &&
                                                               std::sscanf(std::strrchr(at, ':') + 1, "%u", &p) == 1) {
        port = static_cast<std::uint16_t>(p);
        return true;
      }
      std::printf("server: %s", line);
    }
    std::fprintf(stderr, "chat_load: the server ended without saying where it listens\n");
    return false;
  }
  long pid() const { return pid_; }
  /// SIGINT, then its output to the end; true if it exited with status 0.
  bool stop() {
    if (!pid_) return false;
    kill(pid_, SIGINT);
    char line[512];
    while (out_ && std::fgets(line, sizeof line, out_)) std::printf("server: %s", line);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  ~server_process() {
    if (pid_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_) std::fclose(out_);
  }

 private:
  pid_t pid_ = 0;
  FILE* out_ = nullptr;
};

/// CPU seconds (user + system) process `pid` has used so far (0 if unknown).
double cpu_seconds(long pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(f, stat);  // (one line)
  const auto close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15: utime, stime (clock ticks)
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

int main(int argc, char** argv) {
  example::cli cli("chat_load", "Loads a chat server: N clients in rooms, saying lines at a rate; prints throughput and latency.");
  std::string host = "127.0.0.1";
  std::uint16_t port = 7000;
  std::size_t clients = 100;
  std::size_t room_size = 10;
  double rate = 1000;
  double seconds = 3;
  long server_pid = 0;
  std::size_t in_flight = 256;
  std::size_t workers = 0;
  std::string server_cmd;
  std::vector<std::string> server_args;
  cli.add_option("--host", host, "The server's address");
  cli.add_option("--port", port, "The server's port");
  cli.add_option("--clients", clients, "Connections to open (10000 for the real run)")->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  cli.add_option("--room-size", room_size, "Clients per room")->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  cli.add_option("--rate", rate, "SAY lines per second, all clients together")->check(CLI::PositiveNumber);
  cli.add_option("--seconds", seconds, "How long to say lines")->check(CLI::PositiveNumber);
  cli.add_option("--server-pid", server_pid, "The server's process id, to report its memory (0: not reported)");
  cli.add_option("--connect-in-flight", in_flight, "Connections being opened at once")->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  cli.add_option("--workers", workers, "Worker threads of chat_load's own actor system (0: one per core)");
  cli.add_option("--server", server_cmd, "Start this server program (with --port 0), load it, stop it")->type_name("PATH");
  cli.add_option("--server-arg", server_args, "An argument for the server started with --server (repeatable)")->allow_extra_args(false);
  CLI11_PARSE(cli, argc, argv);

  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (clients + 64 > lim.rlim_cur) {
    std::fprintf(stderr, "chat_load: %zu clients need more file descriptors than the limit (%llu); raise `ulimit -n`\n", clients,
                 static_cast<unsigned long long>(lim.rlim_cur));
    return 1;
  }

  server_process server;
  if (!server_cmd.empty()) {
    std::vector<std::string> args{server_cmd, "--port", "0"};
    args.insert(args.end(), server_args.begin(), server_args.end());
    if (!server.start(args, port)) return 1;
    server_pid = server.pid();
  }

  auto t = std::make_shared<totals>();
  troupe::actor_system_config cfg;
  cfg.worker_count = workers;
  troupe::actor_system sys{cli.config(cfg)};
  net::tcp io{sys};
  std::vector<troupe::actor> actors;
  actors.reserve(clients);
  const double rss_before = server_pid ? rss_mib(server_pid) : 0;

  // Connect, a bounded number at a time.
  const auto t0 = steady::now();
  std::vector<troupe::future<net::connection>> pending;
  std::size_t next = 0;
  while (actors.size() < clients) {
    while (next < clients && pending.size() < in_flight) {
      pending.push_back(io.connect(host, port, 30s));
      ++next;
    }
    auto c = pending.front().get();
    pending.erase(pending.begin());
    if (!c) {
      std::fprintf(stderr, "chat_load: connection %zu failed: %s\n", actors.size(), c.error().message().c_str());
      return 1;
    }
    const std::size_t i = actors.size();
    const std::size_t room = i / room_size;
    const std::size_t members = std::min(room_size, clients - room * room_size);
    actors.push_back(sys.spawn<client>(*c, i, "room" + std::to_string(room), members, t));
  }
  while (t->ready.load() < clients && steady::now() - t0 < 120s) std::this_thread::sleep_for(5ms);
  if (t->ready.load() < clients) {
    std::fprintf(stderr, "chat_load: only %llu of %zu clients joined their room\n", static_cast<unsigned long long>(t->ready.load()), clients);
    return 1;
  }
  const double connect_s = std::chrono::duration<double>(steady::now() - t0).count();
  const double rss_connected = server_pid ? rss_mib(server_pid) : 0;

  // Say lines at the rate, spread over the clients round robin (paced in 1 ms steps).
  const double server_cpu_before = server_pid ? cpu_seconds(server_pid) : 0;
  const double own_cpu_before = cpu_seconds(getpid());
  const auto start = steady::now();
  const auto stop = start + std::chrono::duration<double>(seconds);
  std::uint64_t fired = 0;
  std::size_t who = 0;
  double rss_peak = rss_connected;
  auto next_rss = start;
  for (auto now = start; now < stop; now = steady::now()) {
    const auto due = static_cast<std::uint64_t>(rate * std::chrono::duration<double>(now - start).count());
    for (; fired < due; ++fired) {
      troupe::send(actors[who], fire{});
      who = (who + 1) % clients;
    }
    if (server_pid && now >= next_rss) {
      rss_peak = std::max(rss_peak, rss_mib(server_pid));
      next_rss = now + 100ms;
    }
    std::this_thread::sleep_for(1ms);
  }
  const auto end_of_saying = steady::now();
  // Wait for the deliveries in flight (at most 10 s after the last SAY, while any arrive).
  std::uint64_t last = 0;
  auto progress = steady::now();
  while (t->delivered.load() < t->expected.load() || t->said.load() + t->refused.load() < fired) {
    const auto d = t->delivered.load();
    if (d != last) {
      last = d;
      progress = steady::now();
    } else if (steady::now() - progress > 10s) {
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  const double server_cpu = server_pid ? cpu_seconds(server_pid) - server_cpu_before : 0;
  const double own_cpu = cpu_seconds(getpid()) - own_cpu_before;
  for (auto& a : actors) troupe::send(a, true);  // from now on a closing connection is expected
  const double rss_end = server_pid ? rss_mib(server_pid) : 0;
  rss_peak = std::max(rss_peak, rss_end);

  const auto delivered = t->delivered.load();
  const auto expected = t->expected.load();
  const double elapsed = std::max(1e-9, (static_cast<double>(t->last_delivery_ns.load()) -
                                         static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count())) /
                                            1e9);
  std::printf("chat_load: %zu clients in rooms of %zu, connected and joined in %.2f s\n", clients, room_size, connect_s);
  std::printf("said %llu lines in %.2f s (%.0f/s asked), refused %llu\n", static_cast<unsigned long long>(t->said.load()),
              std::chrono::duration<double>(end_of_saying - start).count(), rate, static_cast<unsigned long long>(t->refused.load()));
  std::printf("delivered %llu of %llu: %.0f messages/s\n", static_cast<unsigned long long>(delivered),
              static_cast<unsigned long long>(expected), static_cast<double>(delivered) / elapsed);
  std::printf("latency (send to delivery): p50 %.0f us, p99 %.0f us, max %.0f us\n", t->latency.quantile_us(0.50),
              t->latency.quantile_us(0.99), t->latency.max_us());
  if (server_pid) {
    std::printf("server RSS: %.1f MiB before, %.1f MiB connected, %.1f MiB peak\n", rss_before, rss_connected, rss_peak);
    std::printf("server CPU: %.2f s (%.2f us per delivery); chat_load's own: %.2f s\n", server_cpu,
                delivered ? server_cpu * 1e6 / static_cast<double>(delivered) : 0.0, own_cpu);
  }
  std::printf("misrouted %llu, connections lost %llu\n", static_cast<unsigned long long>(t->misrouted.load()),
              static_cast<unsigned long long>(t->lost.load()));
  std::fflush(stdout);
  const bool server_ok = server_cmd.empty() || server.stop();
  if (!server_ok) std::printf("the server did not exit cleanly\n");
  const bool ok = server_ok && delivered == expected && t->misrouted.load() == 0 && t->lost.load() == 0 && t->refused.load() == 0;
  return cli.finish(sys, ok, "every SAY reached every member of its room exactly once; nothing else arrived; no connection lost");
}
