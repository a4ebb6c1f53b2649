// A tiny command-line reader shared by the examples: `--name value` options with defaults,
// and --help. Not part of troupe.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace example {

class cli {
 public:
  cli(int argc, char** argv, const char* usage) : usage_(usage) {
    for (int i = 1; i < argc; ++i) args_.emplace_back(argv[i]);
    for (auto& a : args_)
      if (a == "--help" || a == "-h") {
        std::puts(usage_);
        std::exit(0);
      }
  }

  long number(const char* name, long fallback) const {
    for (std::size_t i = 0; i + 1 < args_.size(); ++i)
      if (args_[i] == name) {
        char* end = nullptr;
        long v = std::strtol(args_[i + 1].c_str(), &end, 10);
        if (!end || *end) fail(name);
        return v;
      }
    return fallback;
  }

 private:
  [[noreturn]] void fail(const char* name) const {
    std::fprintf(stderr, "bad value for %s\n%s\n", name, usage_);
    std::exit(2);
  }
  const char* usage_;
  std::vector<std::string> args_;
};

/// Prints the invariant line every example ends with; returns the exit status.
inline int report(bool ok, const char* what) {
  std::printf("invariant (%s): %s\n", what, ok ? "ok" : "VIOLATED");
  return ok ? 0 : 1;
}

}  // namespace example
