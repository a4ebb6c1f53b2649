// histogram: percentiles of durations in bounded memory, for troupe-trace summary.
//
// Log-linear buckets, as in HdrHistogram: values below 128 have a bucket each (exact); above,
// every power of two [2^e, 2^(e+1)) is cut into 64 equal buckets of width 2^(e-6). A bucket is
// then at most 1/64 of the values it holds wide, and reporting its midpoint is off by at most
// 1/128 (0.8%) of the true value. 3,776 buckets cover all of uint64.
//
// troupe-trace keeps two histograms per actor and per message type, and a trace may hold a
// million actors that each ran a handful of times: a histogram starts sparse (the buckets it
// uses, sorted) and turns dense (a counter per bucket between its lowest and highest used
// bucket) once it uses more than 64 buckets, so its size is bounded by both its number of
// values and ~30 KiB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace troupe::trace_tool {

class log_histogram {
 public:
  static constexpr unsigned sub_bits = 6;
  static constexpr std::uint64_t sub_count = std::uint64_t{1} << sub_bits;  // buckets per power of two
  static constexpr std::size_t bucket_count = (64 - sub_bits - 1) * sub_count + 2 * sub_count;  // 3,776

  /// The bucket of a value.
  static std::size_t index(std::uint64_t v) noexcept;
  /// The smallest value of a bucket, and how many values it spans.
  static std::uint64_t lower(std::size_t index) noexcept;
  static std::uint64_t width(std::size_t index) noexcept;

  void add(std::uint64_t v) noexcept { add(v, 1); }
  void add(std::uint64_t v, std::uint64_t n);

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  std::uint64_t max() const noexcept { return max_; }
  /// The sum of all values (a long double: it never overflows, and is used for totals only).
  long double sum() const noexcept { return sum_; }

  /// The value at percentile p (0 < p <= 100), by nearest rank: the smallest value that at
  /// least p% of the values are not above. Exact below 128 and at p = 100 (the maximum);
  /// otherwise within 1/128 of a value of that rank. 0 when empty.
  std::uint64_t percentile(double p) const noexcept;

  /// Whether the histogram keeps one counter per bucket (for tests of the representation).
  bool dense() const noexcept { return !dense_.empty(); }

 private:
  static constexpr std::size_t sparse_limit = 64;

  void make_dense();

  std::uint64_t count_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max_ = 0;
  long double sum_ = 0;
  std::vector<std::pair<std::uint16_t, std::uint64_t>> sparse_;  // (bucket, count), by bucket
  std::vector<std::uint64_t> dense_;                             // counters from bucket dense_base_
  std::size_t dense_base_ = 0;
};

}  // namespace troupe::trace_tool
