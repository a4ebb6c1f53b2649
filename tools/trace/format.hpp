// format: text helpers of troupe-trace's output: durations with units, counts with thousands
// separators, aligned tables (aligned by characters, not bytes: "µs" is one column), and JSON
// and DOT string escaping.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace troupe::trace_tool {

/// "850 ns", "12.3 µs", "4.56 ms", "1.23 s": three significant digits.
std::string format_ns(std::uint64_t ns);
/// A signed offset, "+1.23 ms" / "-850 ns".
std::string format_offset_ns(std::int64_t ns);
/// "1,234,567".
std::string format_count(std::uint64_t n);
/// Nanoseconds as microseconds with three decimals, exactly ("-12.345"): Chrome's timestamps.
std::string format_us(std::int64_t ns);

/// The characters (UTF-8 code points) of a string, for alignment.
std::size_t display_width(std::string_view s) noexcept;

/// The string as a JSON string literal, quotes included.
std::string json_string(std::string_view s);
/// The string as a Graphviz DOT quoted string, quotes included.
std::string dot_string(std::string_view s);

/// A text table. `align` has an 'l' (left) or 'r' (right) per column; by default the first
/// column is left-aligned (names) and the others right-aligned (numbers).
class text_table {
 public:
  explicit text_table(std::vector<std::string> headers, std::string align = {})
      : headers_(std::move(headers)), align_(std::move(align)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::size_t size() const noexcept { return rows_.size(); }
  void print(std::ostream& out, std::string_view indent = "  ") const;

 private:
  bool left(std::size_t column) const noexcept {
    return column < align_.size() ? align_[column] == 'l' : column == 0;
  }

  std::vector<std::string> headers_;
  std::string align_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace troupe::trace_tool
