// Portable randomness helpers: the same seed gives the same choices with every standard library
// (std::mt19937_64's output is fixed by the standard; std::uniform_int_distribution's is not).
#pragma once

#include <cstddef>
#include <cstdint>

namespace troupe::detail {

/// A number in [0, n) from a 64-bit random value `x` (n > 0). The modulo bias is below
/// n / 2^64: nothing a scheduler or router can notice.
inline std::size_t bounded_random(std::uint64_t x, std::size_t n) noexcept {
  return static_cast<std::size_t>(x % n);
}

/// SplitMix64: a well-mixed 64-bit value from a seed (for ids derived from a test seed).
inline std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace troupe::detail
