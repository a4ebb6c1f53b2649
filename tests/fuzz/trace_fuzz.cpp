// libFuzzer target: arbitrary bytes read as a trace file by troupe-trace (the reader, then the
// summary, follow, graph and chrome commands). A trace file comes from outside (another
// machine, a crashed process, an attacker's upload): the tool must never crash, read out of
// bounds, hang or allocate without bound; it reports an error or prints what it understood.
#include "cli.hpp"
#include "reader.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <sstream>
#include <string>

namespace {

/// The input as a file (the reader reads files), in memory.
class memory_file {
 public:
  memory_file(const std::uint8_t* data, std::size_t size) : fd_(::memfd_create("trace", 0)) {
    for (std::size_t done = 0; fd_ >= 0 && done < size;) {
      const ssize_t w = ::write(fd_, data + done, size - done);
      if (w <= 0) break;
      done += static_cast<std::size_t>(w);
    }
  }
  ~memory_file() {
    if (fd_ >= 0) ::close(fd_);
  }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

int run(std::initializer_list<std::string> args) {
  std::vector<std::string> all{"troupe-trace"};
  all.insert(all.end(), args);
  std::vector<const char*> argv;
  for (auto& a : all) argv.push_back(a.c_str());
  std::ostringstream out, err;
  return troupe::trace_tool::run_cli(static_cast<int>(argv.size()), argv.data(), out, err, "/nonexistent");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  memory_file f(data, size);
  if (!f.ok()) return 0;
  try {
    troupe::trace_tool::trace_reader reader(f.path());
    troupe::trace_tool::block b;
    while (reader.next(b))
      for (const auto r : b) (void)r.kind();
  } catch (const std::exception&) {
    return 0;  // a clear error is the right answer to a bad file
  }
  // It reads: every command must cope with what it holds.
  run({"summary", f.path()});
  run({"follow", f.path(), "--limit", "50"});
  run({"graph", f.path(), "-o", "/dev/null"});
  run({"chrome", f.path(), "-o", "/dev/null", "--window", "64"});
  return 0;
}
