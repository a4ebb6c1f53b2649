// troupe-trace: reads the trace files troupe's recorder writes (troupe/trace_format.hpp) and
// summarizes them, exports them for Perfetto / chrome://tracing, draws who talks to whom, or
// follows one causal chain. See cli.hpp for the command line.
#include "cli.hpp"

#include <cstdlib>
#include <iostream>

int main(int argc, char** argv) {
  const char* path = std::getenv("PATH");
  return troupe::trace_tool::run_cli(argc, argv, std::cout, std::cerr, path ? path : "");
}
