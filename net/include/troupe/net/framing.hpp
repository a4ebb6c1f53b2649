// framing: whole frames out of a byte stream, for servers and protocol adapters written with
// troupe (the connection actors of a later step hand their handlers whole frames through these).
//
//   troupe::net::line_framer lines{4096};               // at most 4 KiB per line
//   bool ok = lines.feed(bytes, [&](std::string_view line) { handle(line); });
//   if (!ok) close_the_connection("line too long");     // the stream is not trusted any more
//
//   troupe::net::length_prefixed_framer frames{1 << 20};
//   frames.feed(bytes, [&](std::string_view frame) { handle(frame); });
//   std::string out = troupe::net::length_prefixed(payload);   // what the other side feeds
//
// A framer keeps the bytes of the frame it has not seen the end of (never more than its limit)
// and hands out every complete frame, in order, as a view valid during the call only. Bytes may
// be fed in pieces of any size: the frames are the same however the stream is cut. A frame over
// the limit is an error that stops the framer: every later feed returns false and hands out
// nothing, since a peer that broke the framing once cannot be resynchronised reliably.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::net {

/// Lines ending in '\n'; a '\r' just before it is dropped (so CRLF works too). The limit counts
/// a line's bytes without its end.
class line_framer {
 public:
  explicit line_framer(std::size_t max_line = 64 * 1024) noexcept : max_(max_line) {}

  /// Calls `on_line(std::string_view)` for each line `bytes` completes. False once a line went
  /// over the limit (then nothing more is handed out).
  template <class F>
  bool feed(std::string_view bytes, F&& on_line) {
    if (failed_) return false;
    while (!bytes.empty()) {
      const std::size_t nl = bytes.find('\n');
      const std::string_view piece = bytes.substr(0, nl);  // all of it when there is no '\n'
      if (partial_.size() + piece.size() > max_ + 1) return fail();  // (+1: a '\r' to drop)
      if (nl == std::string_view::npos) {
        partial_.append(piece);
        if (partial_.size() > max_ && partial_.back() != '\r') return fail();
        return true;
      }
      std::string_view line = piece;
      if (!partial_.empty()) {
        partial_.append(piece);
        line = partial_;
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.size() > max_) return fail();
      on_line(line);
      partial_.clear();
      bytes.remove_prefix(nl + 1);
    }
    return true;
  }

  bool failed() const noexcept { return failed_; }
  /// Bytes of the line not ended yet.
  std::size_t buffered() const noexcept { return partial_.size(); }
  std::size_t max_line() const noexcept { return max_; }

 private:
  bool fail() noexcept {
    failed_ = true;
    partial_.clear();
    partial_.shrink_to_fit();
    return false;
  }

  std::string partial_;
  std::size_t max_;
  bool failed_ = false;
};

/// Frames made of a 4-byte big-endian length and that many bytes. The limit bounds the length
/// a frame may announce (checked as soon as the prefix is in, before any of it is buffered).
class length_prefixed_framer {
 public:
  static constexpr std::size_t prefix_size = 4;
  /// A frame's buffer is not allocated beyond this before its bytes arrive (an announced length
  /// alone does not take memory).
  static constexpr std::size_t reserve_at_most = 64 * 1024;

  explicit length_prefixed_framer(std::size_t max_frame = 1 << 20) noexcept : max_(max_frame) {}

  /// Calls `on_frame(std::string_view)` for each frame `bytes` completes. False once a frame
  /// announced more than the limit (then nothing more is handed out).
  template <class F>
  bool feed(std::string_view bytes, F&& on_frame) {
    if (failed_) return false;
    while (!bytes.empty()) {
      if (partial_.empty() && want_ == 0 && bytes.size() >= prefix_size) {
        // The common case: whole frames in this piece, handed out without a copy.
        const std::size_t n = length_of(bytes);
        if (n > max_) return fail();
        if (bytes.size() - prefix_size < n) {
          want_ = n;
          partial_.reserve(std::min(n, reserve_at_most));  // grows as the bytes really come
          partial_.append(bytes.substr(prefix_size));
          return true;
        }
        on_frame(bytes.substr(prefix_size, n));
        bytes.remove_prefix(prefix_size + n);
        continue;
      }
      if (want_ == 0) {  // a prefix cut in pieces: gather its 4 bytes
        const std::size_t take = std::min(prefix_size - partial_.size(), bytes.size());
        partial_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (partial_.size() < prefix_size) return true;
        const std::size_t n = length_of(partial_);
        if (n > max_) return fail();
        partial_.clear();
        if (n == 0) {
          on_frame(std::string_view());
          continue;
        }
        want_ = n;
        partial_.reserve(std::min(n, reserve_at_most));
        continue;
      }
      const std::size_t take = std::min(want_ - partial_.size(), bytes.size());
      partial_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (partial_.size() == want_) {
        on_frame(std::string_view(partial_));
        partial_.clear();
        want_ = 0;
      }
    }
    return true;
  }

  bool failed() const noexcept { return failed_; }
  /// Bytes of the frame (or prefix) not complete yet.
  std::size_t buffered() const noexcept { return partial_.size(); }
  std::size_t max_frame() const noexcept { return max_; }

 private:
  static std::size_t length_of(std::string_view b) noexcept {
    return (std::size_t{static_cast<unsigned char>(b[0])} << 24) | (std::size_t{static_cast<unsigned char>(b[1])} << 16) |
           (std::size_t{static_cast<unsigned char>(b[2])} << 8) | std::size_t{static_cast<unsigned char>(b[3])};
  }
  bool fail() noexcept {
    failed_ = true;
    partial_.clear();
    partial_.shrink_to_fit();
    want_ = 0;
    return false;
  }

  std::string partial_;  // the prefix being gathered (want_ == 0), or the frame's bytes so far
  std::size_t want_ = 0;  // the length of the frame being gathered (0: none, or a prefix)
  std::size_t max_;
  bool failed_ = false;
};

/// `payload` with its 4-byte big-endian length in front: a frame for length_prefixed_framer.
/// Payloads of 4 GiB or more cannot be framed (std::length_error).
std::string length_prefixed(std::string_view payload);

}  // namespace troupe::net
