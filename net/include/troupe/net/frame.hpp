// Frames: how troupe's wire cuts a byte stream into messages (docs/protocol.md).
//
//   u32 length   bytes after this field (the type byte and the body), little-endian; at least 1
//                and at most the connection's frame limit (16 MiB unless configured)
//   u8  type     a frame_type
//   ...          the body, as the type says
//
// frame_decoder turns arriving bytes into whole frames: it never reads past what it was given,
// never allocates for a length it has not checked against the limit, and after the first bad
// frame reports an error and accepts nothing more (the connection is then closed with that
// reason).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::net {

/// The frame types of protocol version 1 (docs/protocol.md has each body's layout).
enum class frame_type : std::uint8_t {
  hello = 0x01,       // handshake: version, node id, nonce
  challenge = 0x02,   // handshake: the other side's nonce, and proof of the secret
  welcome = 0x03,     // handshake: proof accepted; messages may flow
  refuse = 0x04,      // handshake: refused, with a reason; the sender closes
  type_def = 0x10,    // binds a type number to a registered type name for this direction
  message = 0x11,     // a send or a request to an actor
  reply = 0x12,       // the answer to a request: a value or an error
  signal = 0x13,      // link / unlink / monitor / demonitor / exit / down / kill between actors
  lookup = 0x14,      // look a published name up
  lookup_reply = 0x15,
  heartbeat = 0x16,   // liveness, both ways
  cancel = 0x17,      // a requester no longer wants the reply to one of its requests
};

/// Whether `t` is a frame type this version knows.
constexpr bool known_frame_type(std::uint8_t t) noexcept {
  return (t >= 0x01 && t <= 0x04) || (t >= 0x10 && t <= 0x17);
}

/// The protocol version this build speaks.
/// Version 2: a request carries its time budget; the cancel frame.
inline constexpr std::uint16_t protocol_version = 2;
/// Frame size limit unless configured: 16 MiB.
inline constexpr std::size_t default_max_frame = std::size_t{16} << 20;
/// Bytes of the length field and of the type byte.
inline constexpr std::size_t frame_length_bytes = 4;
inline constexpr std::size_t frame_overhead = 5;

/// One whole frame, its body pointing into the decoder's buffer (valid until the next feed()).
struct frame_view {
  frame_type type;
  std::span<const std::byte> body;
};

/// Starts a frame in `out`: reserves the length field and writes the type. Call
/// finish_frame with the same `at` once the body is appended.
std::size_t begin_frame(std::vector<std::byte>& out, frame_type type);
/// Writes the length of the frame begun at `at`. Throws std::length_error above `max_frame`.
void finish_frame(std::vector<std::byte>& out, std::size_t at, std::size_t max_frame = default_max_frame);

class frame_decoder {
 public:
  explicit frame_decoder(std::size_t max_frame = default_max_frame) noexcept : max_frame_(max_frame) {}

  /// Appends arriving bytes. Frames completed by them are returned by next().
  void feed(std::span<const std::byte> bytes);
  /// The next whole frame, or false when more bytes are needed or the stream is bad.
  bool next(frame_view& out);
  /// Why the stream is bad (a length above the limit or of 0, an unknown frame type), or empty.
  const std::string& error() const noexcept { return error_; }
  bool failed() const noexcept { return !error_.empty(); }
  /// Changes the size limit for the frames not yet returned (a node keeps it small until a
  /// connection's handshake is done).
  void set_limit(std::size_t max_frame) noexcept { max_frame_ = max_frame; }
  /// Bytes received and not yet returned as frames.
  std::size_t buffered() const noexcept { return buf_.size() - pos_; }

 private:
  std::size_t max_frame_;
  std::vector<std::byte> buf_;
  std::size_t pos_ = 0;  // start of the first unreturned frame
  std::string error_;
};

}  // namespace troupe::net
