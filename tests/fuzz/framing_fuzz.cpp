// libFuzzer target: arbitrary bytes through troupe::net's framers (framing.hpp), fed whole and
// cut at places the input picks. Neither may crash or buffer more than its limit, and both
// feedings must hand out the same frames and end in the same state.
#include <troupe/net/framing.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

template <class Framer>
void check(std::string_view data, std::string_view cuts, std::size_t limit) {
  Framer whole(limit), cut(limit);
  std::vector<std::string> a, b;
  const bool ok_a = whole.feed(data, [&](std::string_view f) { a.emplace_back(f); });
  bool ok_b = true;
  std::size_t at = 0;
  for (std::size_t i = 0; at < data.size(); ++i) {
    const std::size_t n = cuts.empty() ? data.size() : 1 + static_cast<unsigned char>(cuts[i % cuts.size()]) % 16;
    ok_b = cut.feed(data.substr(at, n), [&](std::string_view f) { b.emplace_back(f); }) && ok_b;
    at += std::min(n, data.size() - at);
    if (cut.buffered() > limit + 4) std::abort();  // a frame (or a line and its '\r'), or a prefix
  }
  if (a != b || ok_a != ok_b || whole.failed() != cut.failed() || whole.buffered() != cut.buffered()) std::abort();
  for (auto& f : a)
    if (f.size() > limit) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 2) return 0;
  // The first byte picks a limit, the next 8 (or fewer) the cut sizes, the rest is the stream.
  const std::size_t limit = 1 + bytes[0] % 64;
  const std::size_t ncuts = std::min<std::size_t>(8, size - 1);
  const std::string_view cuts(reinterpret_cast<const char*>(bytes + 1), ncuts);
  const std::string_view data(reinterpret_cast<const char*>(bytes + 1 + ncuts), size - 1 - ncuts);
  check<troupe::net::line_framer>(data, cuts, limit);
  check<troupe::net::length_prefixed_framer>(data, cuts, limit);
  return 0;
}
