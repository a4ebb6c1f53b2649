#include <troupe/actors/pool.hpp>

namespace troupe::actors {

std::size_t jump_consistent_hash(std::uint64_t key, std::size_t buckets) noexcept {
  // Lamping and Veach, "A Fast, Minimal Memory, Consistent Hash Algorithm" (2014).
  std::int64_t b = -1, j = 0;
  while (j < static_cast<std::int64_t>(buckets)) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = static_cast<std::int64_t>(static_cast<double>(b + 1) *
                                  (static_cast<double>(1LL << 31) / static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<std::size_t>(b);
}

}  // namespace troupe::actors
