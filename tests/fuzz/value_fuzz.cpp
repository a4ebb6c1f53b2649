// libFuzzer target: arbitrary bytes decoded as a value that uses every encoding rule. The
// decoder must never crash, read out of bounds, allocate without bound or hang. A value it
// accepts must survive a round trip: encoding it and decoding that gives the same encoding
// again (the input itself may differ: a set's elements may come in any order).
#include "fuzz_types.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  auto v = troupe::net::decode<fuzz::everything>(in);
  if (!v) return 0;
  auto once = troupe::net::encode(*v);
  auto v2 = troupe::net::decode<fuzz::everything>(once);
  if (!v2) std::abort();  // what troupe writes, troupe must read
  auto twice = troupe::net::encode(*v2);
  if (once != twice) std::abort();
  return 0;
}
