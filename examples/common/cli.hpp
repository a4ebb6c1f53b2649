// What the examples share, not part of troupe: their command line (CLI11) and the invariant
// line each one ends with.
#pragma once

#include <CLI/CLI.hpp>
#include <troupe/actor_system_config.hpp>

#include <cstdio>
#include <string>
#include <utility>

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
/// a trace there (docs/tracing.md; read it with troupe-trace).
class cli : public CLI::App {
 public:
  cli(std::string name, std::string description) : CLI::App(std::move(description), std::move(name)) {
    option_defaults()->always_capture_default();
    add_option("--trace", trace_, "Record a trace of the run to FILE (read it with troupe-trace)")
        ->type_name("FILE");
  }

  /// `cfg` with what the command line asked for (the trace file).
  troupe::actor_system_config config(troupe::actor_system_config cfg = {}) const {
    if (!trace_.empty()) cfg.trace.path = trace_;
    return cfg;
  }

 private:
  std::string trace_;
};

/// Prints the invariant line every example ends with; returns the exit status.
inline int report(bool ok, const char* what) {
  std::printf("invariant (%s): %s\n", what, ok ? "ok" : "VIOLATED");
  return ok ? 0 : 1;
}

}  // namespace example
