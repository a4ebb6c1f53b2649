// Frames (frame.hpp, docs/protocol.md): cutting a byte stream into frames, whatever the pieces
// it arrives in, and refusing bad streams with a reason.
#include <troupe/net/frame.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace troupe::net;

namespace {

std::vector<std::byte> frame_of(frame_type t, const std::string& body) {
  std::vector<std::byte> out;
  auto at = begin_frame(out, t);
  for (char c : body) out.push_back(static_cast<std::byte>(c));
  finish_frame(out, at);
  return out;
}

std::string text(std::span<const std::byte> b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

}  // namespace

TEST_CASE("a frame is a u32 length, a type byte and the body", "[net][frame]") {
  auto f = frame_of(frame_type::heartbeat, "ab");
  REQUIRE(f.size() == 7);
  CHECK(f[0] == std::byte{3});  // length: type byte + 2 body bytes, little-endian
  CHECK(f[1] == std::byte{0});
  CHECK(f[4] == std::byte{0x16});
  frame_decoder d;
  d.feed(f);
  frame_view v;
  REQUIRE(d.next(v));
  CHECK(v.type == frame_type::heartbeat);
  CHECK(text(v.body) == "ab");
  CHECK_FALSE(d.next(v));
}

TEST_CASE("frames come out whole however the stream is cut", "[net][frame]") {
  std::vector<std::byte> stream;
  std::vector<std::string> bodies;
  for (int i = 0; i < 200; ++i) {
    bodies.push_back(std::string(static_cast<std::size_t>(i % 17), static_cast<char>('a' + i % 26)));
    auto f = frame_of(frame_type::message, bodies.back());
    stream.insert(stream.end(), f.begin(), f.end());
  }
  std::mt19937 rng(5);
  for (int trial = 0; trial < 20; ++trial) {
    frame_decoder d;
    std::vector<std::string> got;
    std::size_t pos = 0;
    while (pos < stream.size()) {
      std::size_t n = std::min<std::size_t>(stream.size() - pos, 1 + rng() % 23);
      d.feed(std::span<const std::byte>(stream.data() + pos, n));
      pos += n;
      frame_view v;
      while (d.next(v)) got.push_back(text(v.body));
    }
    CHECK(got == bodies);
    CHECK(d.buffered() == 0);
    CHECK_FALSE(d.failed());
  }
}

TEST_CASE("bad streams are refused with a reason, and nothing after them is read", "[net][frame]") {
  SECTION("over the limit") {
    frame_decoder d(1024);
    std::vector<std::byte> huge = {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1}};  // 16 MiB
    d.feed(huge);
    frame_view v;
    CHECK_FALSE(d.next(v));
    CHECK(d.error().find("over the limit") != std::string::npos);
    d.feed(frame_of(frame_type::heartbeat, ""));
    CHECK_FALSE(d.next(v));  // a failed stream stays failed
  }
  SECTION("a zero length") {
    frame_decoder d;
    d.feed(std::vector<std::byte>(4, std::byte{0}));
    frame_view v;
    CHECK_FALSE(d.next(v));
    CHECK(d.error().find("length 0") != std::string::npos);
  }
  SECTION("an unknown type") {
    frame_decoder d;
    d.feed(std::vector<std::byte>{std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0x7f}});
    frame_view v;
    CHECK_FALSE(d.next(v));
    CHECK(d.error().find("unknown frame type 127") != std::string::npos);
  }
  SECTION("a frame the writer would make too big") {
    std::vector<std::byte> out;
    auto at = begin_frame(out, frame_type::message);
    out.resize(out.size() + 100);
    CHECK_THROWS_AS(finish_frame(out, at, 50), std::length_error);
    CHECK(out.empty());  // the half-written frame is taken back
  }
  SECTION("a truncated frame waits for the rest") {
    auto f = frame_of(frame_type::reply, "xyz");
    frame_decoder d;
    d.feed(std::span<const std::byte>(f.data(), f.size() - 1));
    frame_view v;
    CHECK_FALSE(d.next(v));
    CHECK_FALSE(d.failed());
    d.feed(std::span<const std::byte>(f.data() + f.size() - 1, 1));
    REQUIRE(d.next(v));
    CHECK(text(v.body) == "xyz");
  }
}
