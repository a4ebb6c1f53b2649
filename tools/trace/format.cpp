// format: see format.hpp.
#include "format.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>

namespace troupe::trace_tool {

std::string format_ns(std::uint64_t ns) {
  if (ns < 1000) return std::to_string(ns) + " ns";
  static constexpr const char* units[] = {"µs", "ms", "s"};
  double v = static_cast<double>(ns) / 1000.0;
  std::size_t u = 0;
  // Move up a unit when the value would print as 1000 or more.
  while (u + 1 < std::size(units) && v >= 999.5) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  if (v < 9.995)
    std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  else if (v < 99.95)
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  else
    std::snprintf(buf, sizeof buf, "%.0f %s", v, units[u]);
  return buf;
}

std::string format_offset_ns(std::int64_t ns) {
  return (ns < 0 ? "-" : "+") + format_ns(ns < 0 ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns));
}

std::string format_count(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_us(std::int64_t ns) {
  const bool negative = ns < 0;
  const std::uint64_t a = negative ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%llu.%03llu", negative ? "-" : "", static_cast<unsigned long long>(a / 1000),
                static_cast<unsigned long long>(a % 1000));
  return buf;
}

std::size_t display_width(std::string_view s) noexcept {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // not a UTF-8 continuation byte
  }));
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string dot_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

void text_table::print(std::ostream& out, std::string_view indent) const {
  std::vector<std::size_t> width(headers_.size(), 0);
  auto measure = [&width](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], display_width(row[i]));
  };
  measure(headers_);
  for (const auto& row : rows_) measure(row);
  auto line = [&](const std::vector<std::string>& row) {
    std::string text(indent);
    for (std::size_t i = 0; i < width.size(); ++i) {
      const std::string& cell = i < row.size() ? row[i] : std::string();
      const std::string pad(width[i] - display_width(cell), ' ');
      if (i > 0) text += "  ";
      text += left(i) ? cell + pad : pad + cell;
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << '\n';
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
}

}  // namespace troupe::trace_tool
