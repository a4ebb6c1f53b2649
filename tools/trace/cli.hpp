// cli: troupe-trace's command line, as a function of its arguments and output streams so that
// the tests run it as the program would.
//
//   troupe-trace summary FILE... [--top N]
//   troupe-trace chrome  FILE... -o OUT.json [--window N]
//   troupe-trace graph   FILE... -o OUT.dot [--svg] [--types N]
//   troupe-trace follow  FILE... [ID] [--limit N] [--depth N]
#pragma once

#include <iosfwd>
#include <string>

namespace troupe::trace_tool {

/// Runs troupe-trace; returns its exit status (0: done, 1: an error, reported on `err`; CLI11's
/// status for a bad command line). `path_env` is the PATH searched for Graphviz's dot.
int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err, const std::string& path_env);

}  // namespace troupe::trace_tool
