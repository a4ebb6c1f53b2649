// libFuzzer target: arbitrary bytes fed to the frame decoder in pieces whose sizes come from
// the input itself. It must never crash or read out of bounds; every frame it returns must lie
// within what was fed, and re-encoding the frames must give back the bytes they came from.
#include <troupe/net/frame.hpp>

#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t piece = 1 + data[0] % 64;  // how the stream is cut
  const auto* bytes = reinterpret_cast<const std::byte*>(data + 1);
  const std::size_t n = size - 1;
  troupe::net::frame_decoder d(4096);
  std::vector<std::byte> rebuilt;
  std::size_t fed = 0;
  while (fed < n) {
    const std::size_t k = std::min(piece, n - fed);
    d.feed(std::span<const std::byte>(bytes + fed, k));
    fed += k;
    troupe::net::frame_view f;
    while (d.next(f)) {
      auto at = troupe::net::begin_frame(rebuilt, f.type);
      rebuilt.insert(rebuilt.end(), f.body.begin(), f.body.end());
      troupe::net::finish_frame(rebuilt, at, 4096);
    }
    if (d.failed()) break;
  }
  // What came out as frames is exactly a prefix of the input.
  if (rebuilt.size() > n) std::abort();
  if (!rebuilt.empty() && std::memcmp(rebuilt.data(), bytes, rebuilt.size()) != 0) std::abort();
  return 0;
}
