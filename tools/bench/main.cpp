// troupe-bench: runs each workload on troupe and on CAF 0.17, alternating, and prints a table of
// medians and the advantage of troupe (how many times better, whichever way the unit runs).
//
//   troupe-bench [--workload NAME]... [--reps N] [--quick] [--json FILE] [--list]
//                [--only troupe|caf]    (one side only, in this process: for profiling)
//   troupe-bench --scaling FILE         (throughput and memory from 1 to 1,000,000 actors)
//
// Every measurement runs in a fresh child process (fork), so the two frameworks never share a
// heap, a page cache of freed memory, or threads; a crash or a wrong result fails that run
// (and the whole program exits non-zero). Build it with the release preset:
//   cmake --preset release && cmake --build --preset release --target troupe-bench
//   build/release/tools/bench/troupe-bench --json bench.json
#include "bench.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace bench {

sizes sizes::quick() {
  sizes s;
  s.ping_pong_round_trips = 20'000;
  s.big_round_trips = 200;
  s.fan_in_messages = 10'000;
  s.fork_join_messages = 200;
  s.ring_hops = 100'000;
  s.chameneos_meetings = 5'000;
  s.skynet_leaves = 10'000;
  s.idle_actors = 10'000;
  s.request_round_trips = 5'000;
  s.cancelled_requests = 5'000;
  s.scatter_rounds = 100;
  s.idle_cpu_actors = 1'000;
  s.idle_cpu_seconds = 0.2;
  s.remote_round_trips = 500;
  s.remote_stream_messages = 20'000;
  s.remote_requests = 5'000;
  return s;
}

namespace {

namespace json = boost::json;

using fn = double (*)(const sizes&);

struct workload {
  const char* name;
  const char* unit;
  bool higher_is_better;
  fn troupe;
  fn caf;
  fn floor = nullptr;              // the same work with no framework, run beside them
  const char* floor_name = nullptr;
};

const std::vector<workload>& all_workloads() {
  static const std::vector<workload> w = {
      {"ping_pong", "msgs/s", true, troupe_side::ping_pong, caf_side::ping_pong},
      // Tracing's costs (docs/tracing.md): ping_pong with the hooks compiled in but off, against
      // a build without them; and ping_pong traced, against untraced.
      {"trace_hooks_off", "msgs/s", true, troupe_side::ping_pong, caf_side::ping_pong,
       floor_side::troupe_without_hooks, "without hooks"},
      {"ping_pong_traced", "msgs/s", true, troupe_side::ping_pong_traced, caf_side::ping_pong,
       floor_side::troupe_untraced, "untraced"},
      {"big", "msgs/s", true, troupe_side::big, caf_side::big},
      {"fan_in", "msgs/s", true, troupe_side::fan_in, caf_side::fan_in},
      {"fork_join_throughput", "msgs/s", true, troupe_side::fork_join_throughput, caf_side::fork_join_throughput},
      {"thread_ring", "hops/s", true, troupe_side::thread_ring, caf_side::thread_ring},
      {"chameneos", "meetings/s", true, troupe_side::chameneos, caf_side::chameneos},
      {"skynet", "s", false, troupe_side::skynet, caf_side::skynet},
      {"idle_memory", "bytes/actor", false, troupe_side::idle_memory, caf_side::idle_memory},
      {"spawn_rate", "actors/s", true, troupe_side::spawn_rate, caf_side::spawn_rate},
      {"request_response_then", "round trips/s", true, troupe_side::request_response_then,
       caf_side::request_response_then},
      {"request_response_await", "round trips/s", true, troupe_side::request_response_await,
       caf_side::request_response_await},
      {"scatter_gather", "rounds/s", true, troupe_side::scatter_gather, caf_side::scatter_gather},
      // Cancellation (troupe only): cancelling a waiting request against making one.
      {"request_cancel", "ns/request", false, troupe_side::request_cancel, nullptr, floor_side::request_make,
       "request()"},
      {"idle_cpu", "cpu s", false, troupe_side::idle_cpu, caf_side::idle_cpu},
      {"remote_ping_pong", "round trips/s", true, troupe_side::remote_ping_pong, caf_side::remote_ping_pong,
       floor_side::raw_tcp_rtt, "raw_tcp_rtt"},
      {"remote_stream", "msgs/s", true, troupe_side::remote_stream, caf_side::remote_stream},
      {"remote_request", "requests/s", true, troupe_side::remote_request, caf_side::remote_request},
  };
  return w;
}

/// Runs `f` in a child process; returns its figure, or nothing if it failed (reported).
std::optional<double> run_isolated(fn f, const sizes& s, const char* label) {
  int fds[2];
  if (pipe(fds) != 0) return std::nullopt;
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return std::nullopt;
  if (pid == 0) {
    close(fds[0]);
    int rc = 0;
    double v = 0;
    try {
      v = f(s);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: FAILED: %s\n", label, e.what());
      rc = 3;
    }
    if (rc == 0 && write(fds[1], &v, sizeof v) != static_cast<ssize_t>(sizeof v)) rc = 4;
    close(fds[1]);
    std::fflush(nullptr);
    _exit(rc);
  }
  close(fds[1]);
  double v = 0;
  ssize_t got = read(fds[0], &v, sizeof v);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got != static_cast<ssize_t>(sizeof v) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "%s: run failed (status %d)\n", label, status);
    return std::nullopt;
  }
  return v;
}

struct stats {
  double median = 0, min = 0, max = 0;
};

stats summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  stats s;
  s.min = v.front();
  s.max = v.back();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  return s;
}

std::string machine_description() {
  std::string model = "unknown cpu";
  std::ifstream cpu("/proc/cpuinfo");
  for (std::string line; std::getline(cpu, line);) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::ostringstream os;
  os << model << ", " << sysconf(_SC_NPROCESSORS_ONLN) << " cores, "
     << (sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) >> 20) << " MiB";
  return os.str();
}

std::string format(double v) {
  char buf[64];
  if (v != 0 && (std::abs(v) >= 1e6 || std::abs(v) < 1e-2))
    std::snprintf(buf, sizeof buf, "%.3g", v);
  else
    std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

/// Writes `doc` to `path`, each element of an array on a line of its own (one workload or one
/// point per line, so that docs/bench.json and docs/scaling.json diff well). Boost.JSON
/// serializes every key and value; this only adds the line breaks. Reports a failure.
bool write_json(const std::string& path, const json::object& doc) {
  std::ofstream out(path);
  out << '{';
  const char* comma = "";
  for (const auto& member : doc) {
    out << comma << json::serialize(member.key()) << ':';
    comma = ",";
    if (const json::array* rows = member.value().if_array()) {
      out << '[';
      for (std::size_t i = 0; i < rows->size(); ++i) out << (i ? "," : "") << "\n  " << (*rows)[i];
      out << "\n]";
    } else {
      out << member.value();
    }
  }
  out << "}\n";
  out.close();
  if (!out) std::fprintf(stderr, "troupe-bench: cannot write %s\n", path.c_str());
  return static_cast<bool>(out);
}

/// Throughput (pairs exchanging 2,000,000 messages in all) and resident memory as the number of
/// actors grows; both frameworks, one run each per size. Writes JSON for docs/scaling.gp.
int run_scaling(const std::string& path) {
  const long sizes_n[] = {2, 10, 100, 1'000, 10'000, 100'000, 1'000'000};
  json::array points;
  std::printf("%10s %14s %14s %16s %16s\n", "actors", "troupe msgs/s", "caf msgs/s", "troupe B/actor", "caf B/actor");
  for (long n : sizes_n) {
    sizes s;
    s.big_pairs = static_cast<int>(n / 2);
    s.big_round_trips = 1'000'000 / (n / 2);
    s.idle_actors = n;
    auto tt = run_isolated(troupe_side::big, s, "scaling big [troupe]");
    auto ct = run_isolated(caf_side::big, s, "scaling big [caf]");
    auto tm = run_isolated(troupe_side::idle_memory, s, "scaling memory [troupe]");
    auto cm = run_isolated(caf_side::idle_memory, s, "scaling memory [caf]");
    if (!tt || !ct || !tm || !cm) return 1;
    std::printf("%10ld %14s %14s %16s %16s\n", n, format(*tt).c_str(), format(*ct).c_str(), format(*tm).c_str(),
                format(*cm).c_str());
    std::fflush(stdout);
    points.push_back(json::object{{"actors", n},
                                  {"troupe_msgs_per_s", *tt},
                                  {"caf_msgs_per_s", *ct},
                                  {"troupe_bytes_per_actor", *tm},
                                  {"caf_bytes_per_actor", *cm}});
  }
  return write_json(path, {{"machine", machine_description()}, {"points", std::move(points)}}) ? 0 : 1;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  using namespace bench;
  std::vector<std::string> names;
  for (auto& w : all_workloads()) names.emplace_back(w.name);

  CLI::App cli("Runs each workload on troupe and on CAF 0.17 (2 workers each), alternating, N times, and\n"
               "prints medians and troupe's advantage.",
               "troupe-bench");
  std::vector<std::string> selected;
  int reps = 3;
  bool quick = false, list = false;
  std::string json_path, only, scaling_path;
  cli.add_option("--workload", selected, "Run only this workload; repeat for more (default: all)")
      ->type_name("NAME")
      ->allow_extra_args(false)  // one name per --workload: `--workload a b` is an error
      ->check(CLI::IsMember(names));
  cli.add_option("--reps", reps, "N: runs of each workload on each side")->capture_default_str();
  cli.add_flag("--quick", quick, "Small sizes (CI smoke run)");
  cli.add_option("--json", json_path, "Also write the results as JSON to FILE")->type_name("FILE");
  cli.add_option("--only", only, "Run one side in this process (no fork, no table), for profiling")
      ->check(CLI::IsMember({"troupe", "caf", "floor"}));
  cli.add_option("--scaling", scaling_path, "Throughput and memory from 2 to 1,000,000 actors, as JSON to FILE")
      ->type_name("FILE");
  cli.add_flag("--list", list, "List the workloads and their units");
  CLI11_PARSE(cli, argc, argv);
  reps = std::max(1, reps);
  if (list) {
    for (auto& w : all_workloads()) std::printf("%s (%s)\n", w.name, w.unit);
    return 0;
  }
  if (!scaling_path.empty()) return run_scaling(scaling_path);

  const sizes s = quick ? sizes::quick() : sizes{};
  if (!only.empty()) {  // profiling mode: no fork, no table
    for (auto& w : all_workloads()) {
      if (!selected.empty() && std::find(selected.begin(), selected.end(), w.name) == selected.end()) continue;
      fn f = only == "caf" ? w.caf : only == "floor" ? w.floor : w.troupe;
      if (!f) continue;
      for (int r = 0; r < reps; ++r) std::printf("%s [%s]: %s %s\n", w.name, only.c_str(), format(f(s)).c_str(), w.unit);
    }
    return 0;
  }
  const std::string machine = machine_description();
  std::printf("troupe-bench: %s; %zu workers each; %d reps%s\n\n", machine.c_str(), s.workers, reps,
              quick ? " (quick sizes)" : "");
  std::printf("%-24s %-14s %12s %12s %10s %25s %25s   %s\n", "workload", "unit", "troupe", "caf", "advantage",
              "troupe min..max", "caf min..max", "floor: cost (troupe / the no-framework floor)");

  bool failed = false;
  json::array rows;
  for (auto& w : all_workloads()) {
    if (!selected.empty() && std::find(selected.begin(), selected.end(), w.name) == selected.end()) continue;
    std::vector<double> tr, cf, fl;
    for (int r = 0; r < reps; ++r) {
      auto a = run_isolated(w.troupe, s, (std::string(w.name) + " [troupe]").c_str());
      std::optional<double> b;
      if (w.caf) b = run_isolated(w.caf, s, (std::string(w.name) + " [caf]").c_str());
      std::optional<double> f;
      if (w.floor) f = run_isolated(w.floor, s, (std::string(w.name) + " [" + w.floor_name + "]").c_str());
      if (!a || (w.caf && !b) || (w.floor && !f)) {
        failed = true;
        break;
      }
      tr.push_back(*a);
      if (b) cf.push_back(*b);
      if (f) fl.push_back(*f);
    }
    if (tr.empty() || (w.caf && cf.size() != tr.size())) {
      std::printf("%-24s FAILED\n", w.name);
      continue;
    }
    stats t = summarize(tr), c = w.caf ? summarize(cf) : stats{};
    // For "lower is better" figures near zero (idle CPU), a floor keeps the ratio finite.
    const double floor = 1e-3;
    double adv = !w.caf ? 0 : w.higher_is_better ? t.median / c.median : std::max(c.median, floor) / std::max(t.median, floor);
    std::string floor_text;
    json::object row{{"name", w.name},
                     {"unit", w.unit},
                     {"higher_is_better", w.higher_is_better},
                     {"troupe", t.median},
                     {"troupe_min", t.min},
                     {"troupe_max", t.max}};
    if (w.caf) {  // (a troupe-only workload has no CAF figures)
      row["caf"] = c.median;
      row["advantage"] = adv;
      row["caf_min"] = c.min;
      row["caf_max"] = c.max;
    }
    if (!fl.empty()) {
      // Cost: how many times the floor's time per unit troupe takes (1 = at the limit).
      const stats f = summarize(fl);
      const double cost = w.higher_is_better ? f.median / t.median : t.median / std::max(f.median, floor);
      floor_text = "   " + std::string(w.floor_name) + " " + format(f.median) + ": " + format(cost) + "x";
      row["floor_name"] = w.floor_name;
      row["floor"] = f.median;
      row["floor_min"] = f.min;
      row["floor_max"] = f.max;
      row["cost"] = cost;
    }
    if (w.caf)
      std::printf("%-24s %-14s %12s %12s %9.2fx %25s %25s%s\n", w.name, w.unit, format(t.median).c_str(),
                  format(c.median).c_str(), adv, (format(t.min) + ".." + format(t.max)).c_str(),
                  (format(c.min) + ".." + format(c.max)).c_str(), floor_text.c_str());
    else
      std::printf("%-24s %-14s %12s %12s %10s %25s %25s%s\n", w.name, w.unit, format(t.median).c_str(), "-", "-",
                  (format(t.min) + ".." + format(t.max)).c_str(), "-", floor_text.c_str());
    std::fflush(stdout);
    rows.push_back(std::move(row));
  }
  const bool written =
      json_path.empty() ||
      write_json(json_path, {{"machine", machine}, {"quick", quick}, {"reps", reps}, {"workloads", std::move(rows)}});
  if (failed) std::fprintf(stderr, "troupe-bench: some runs failed\n");
  return failed || !written ? 1 : 0;
}
