// histogram: log_histogram's buckets, its sparse-to-dense switch and its percentiles.
#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace troupe::trace_tool {

std::size_t log_histogram::index(std::uint64_t v) noexcept {
  if (v < 2 * sub_count) return static_cast<std::size_t>(v);
  const unsigned e = 63u - static_cast<unsigned>(std::countl_zero(v));  // v in [2^e, 2^(e+1)), e >= 7
  const unsigned shift = e - sub_bits;
  return static_cast<std::size_t>(shift) * sub_count + static_cast<std::size_t>(v >> shift);
}

std::uint64_t log_histogram::lower(std::size_t index) noexcept {
  if (index < 2 * sub_count) return index;
  const std::size_t shift = index / sub_count - 1;
  return static_cast<std::uint64_t>(index - shift * sub_count) << shift;
}

std::uint64_t log_histogram::width(std::size_t index) noexcept {
  if (index < 2 * sub_count) return 1;
  return std::uint64_t{1} << (index / sub_count - 1);
}

void log_histogram::add(std::uint64_t v, std::uint64_t n) {
  if (n == 0) return;
  count_ += n;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
  sum_ += static_cast<long double>(v) * static_cast<long double>(n);
  const std::size_t i = index(v);
  if (!dense_.empty()) {
    if (i < dense_base_) {
      dense_.insert(dense_.begin(), dense_base_ - i, 0);
      dense_base_ = i;
    } else if (i >= dense_base_ + dense_.size()) {
      dense_.resize(i - dense_base_ + 1, 0);
    }
    dense_[i - dense_base_] += n;
    return;
  }
  auto it = std::lower_bound(sparse_.begin(), sparse_.end(), i, [](const auto& e, std::size_t k) { return e.first < k; });
  if (it != sparse_.end() && it->first == i) {
    it->second += n;
    return;
  }
  sparse_.insert(it, {static_cast<std::uint16_t>(i), n});
  if (sparse_.size() > sparse_limit) make_dense();
}

void log_histogram::make_dense() {
  dense_base_ = sparse_.front().first;
  dense_.assign(sparse_.back().first - dense_base_ + 1, 0);
  for (const auto& [i, n] : sparse_) dense_[i - dense_base_] = n;
  sparse_.clear();
  sparse_.shrink_to_fit();
}

std::uint64_t log_histogram::percentile(double p) const noexcept {
  if (count_ == 0) return 0;
  const double wanted = std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(count_));
  const std::uint64_t rank = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(wanted), 1, count_);
  if (rank == count_) return max_;
  // The representative of the bucket holding that rank: its midpoint, within [min, max].
  auto value_of = [this](std::size_t i) {
    const std::uint64_t v = lower(i) + width(i) / 2;
    return std::clamp(v, min_, max_);
  };
  std::uint64_t seen = 0;
  if (!dense_.empty()) {
    for (std::size_t k = 0; k < dense_.size(); ++k) {
      seen += dense_[k];
      if (seen >= rank) return value_of(dense_base_ + k);
    }
  } else {
    for (const auto& [i, n] : sparse_) {
      seen += n;
      if (seen >= rank) return value_of(i);
    }
  }
  return max_;
}

}  // namespace troupe::trace_tool
