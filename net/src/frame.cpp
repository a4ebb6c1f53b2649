#include <troupe/net/frame.hpp>

#include <cstring>
#include <stdexcept>

namespace troupe::net {

namespace {
std::uint32_t load_u32(const std::byte* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
}  // namespace

std::size_t begin_frame(std::vector<std::byte>& out, frame_type type) {
  const std::size_t at = out.size();
  out.resize(at + frame_overhead);
  out[at + frame_length_bytes] = static_cast<std::byte>(type);
  return at;
}

void finish_frame(std::vector<std::byte>& out, std::size_t at, std::size_t max_frame) {
  const std::size_t length = out.size() - at - frame_length_bytes;
  if (length > max_frame) {
    out.resize(at);
    throw std::length_error("troupe::net: a frame of " + std::to_string(length) + " bytes is over the limit of " +
                            std::to_string(max_frame));
  }
  for (std::size_t i = 0; i < frame_length_bytes; ++i)
    out[at + i] = static_cast<std::byte>((length >> (8 * i)) & 0xff);
}

void frame_decoder::feed(std::span<const std::byte> bytes) {
  if (failed() || bytes.empty()) return;
  // Drop what was returned already before growing (frames returned by next() stay valid only
  // until this call).
  if (pos_ > 0) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

bool frame_decoder::next(frame_view& out) {
  if (failed()) return false;
  const std::size_t avail = buf_.size() - pos_;
  if (avail < frame_length_bytes) return false;
  const std::byte* p = buf_.data() + pos_;
  const std::uint32_t length = load_u32(p);
  if (length == 0) {
    error_ = "a frame of length 0 (every frame has a type byte)";
    return false;
  }
  if (length > max_frame_) {
    error_ = "a frame of " + std::to_string(length) + " bytes, over the limit of " + std::to_string(max_frame_);
    return false;
  }
  if (avail == frame_length_bytes) return false;  // the type byte has not arrived yet
  const auto type = static_cast<std::uint8_t>(p[frame_length_bytes]);
  if (!known_frame_type(type)) {
    error_ = "an unknown frame type " + std::to_string(type);
    return false;
  }
  if (avail < frame_length_bytes + length) return false;
  out.type = static_cast<frame_type>(type);
  out.body = std::span<const std::byte>(p + frame_overhead, length - 1);
  pos_ += frame_length_bytes + length;
  return true;
}

}  // namespace troupe::net
