// What the examples share, not part of troupe: their command line (CLI11) and the invariant
// line each one ends with.
#pragma once

#include <CLI/CLI.hpp>
#include <troupe/actor_system.hpp>
#include <troupe/actor_system_config.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>

#include <pthread.h>
#include <unistd.h>

namespace example {

/// An example's command line: a CLI11 app whose --help (or -h) shows every option's default.
/// Bind each option to a variable that holds its default, then parse in main:
///
///   example::cli cli("ring", "N actors pass a token M hops around a ring.");
///   long hops = 5'000'000;
///   cli.add_option("--hops", hops, "M: hops in all");
///   CLI11_PARSE(cli, argc, argv);
///
/// An unknown flag or a bad value prints CLI11's message and makes main return non-zero.
/// Every example also takes `--trace FILE`: make the actor system from config() and it records
/// a trace there (docs/tracing.md; read it with troupe-trace). And `--inspect HOST:PORT`: the
/// system serves the inspector there (docs/inspector.md; its address and token are logged at
/// start), and finish() keeps it up after the run until Ctrl-C, so the run can be looked at.
class cli : public CLI::App {
 public:
  cli(std::string name, std::string description) : CLI::App(std::move(description), std::move(name)) {
    option_defaults()->always_capture_default();
    add_option("--trace", trace_, "Record a trace of the run to FILE (read it with troupe-trace)")
        ->type_name("FILE");
    add_option("--inspect", inspect_,
               "Serve the inspector at HOST:PORT (port 0: any; the address is logged), and after the run "
               "until Ctrl-C")
        ->type_name("HOST:PORT");
  }

  /// `cfg` with what the command line asked for (the trace file, the inspector). With
  /// --inspect, and unless the program handles Ctrl-C itself (it blocked SIGINT already), Ctrl-C
  /// and SIGTERM are taken by a thread of the example's own, made here before the system's
  /// threads (which inherit the blocked signals): during the run it ends the program at once,
  /// as Ctrl-C does; in finish() it ends the wait.
  troupe::actor_system_config config(troupe::actor_system_config cfg = {}) const {
    if (!trace_.empty()) cfg.trace.path = trace_;
    if (!inspect_.empty()) {
      cfg.inspect.listen = inspect_;
      sigset_t stop = stop_signals(), old;
      pthread_sigmask(SIG_BLOCK, nullptr, &old);
      if (!sigismember(&old, SIGINT) && !stopper_ && ::pipe(stop_pipe_) == 0) {
        pthread_sigmask(SIG_BLOCK, &stop, nullptr);
        stopper_ = true;
        std::thread([stop] {
          int sig = 0;
          sigwait(&stop, &sig);
          if (!finishing_.load()) std::_Exit(128 + sig);  // (during the run: stop, as Ctrl-C does)
          const char b = 1;
          [[maybe_unused]] const auto n = ::write(stop_pipe_[1], &b, 1);
        }).detach();
      }
    }
    return cfg;
  }

  /// Prints the invariant line every example ends with and returns the exit status; with
  /// --inspect, then keeps the inspector serving until Ctrl-C (or SIGTERM).
  int finish(const troupe::actor_system& sys, bool ok, const char* what) const;

 private:
  static sigset_t stop_signals() {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    return s;
  }
  // The stopping thread (one per process) and finish() meet through these.
  static inline bool stopper_ = false;
  static inline std::atomic<bool> finishing_{false};
  static inline int stop_pipe_[2] = {-1, -1};

  std::string trace_;
  std::string inspect_;
};

/// Prints the invariant line every example ends with; returns the exit status.
inline int report(bool ok, const char* what) {
  std::printf("invariant (%s): %s\n", what, ok ? "ok" : "VIOLATED");
  return ok ? 0 : 1;
}

inline int cli::finish(const troupe::actor_system& sys, bool ok, const char* what) const {
  const int status = report(ok, what);
  if (inspect_.empty() || sys.inspector_url().empty() || !stopper_) return status;
  finishing_.store(true);
  std::printf("inspector: %s (Ctrl-C to exit)\n", sys.inspector_url().c_str());
  std::fflush(stdout);
  char b = 0;
  while (::read(stop_pipe_[0], &b, 1) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace example
