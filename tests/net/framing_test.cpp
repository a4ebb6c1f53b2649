// troupe::net framing (framing.hpp): line-delimited and length-prefixed frames out of a
// stream cut anywhere, limits, garbage.
#include <troupe/net/framing.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace troupe::net;

namespace {

template <class Framer>
std::vector<std::string> feed_all(Framer& f, std::string_view bytes, bool* ok = nullptr) {
  std::vector<std::string> out;
  const bool fine = f.feed(bytes, [&](std::string_view frame) { out.emplace_back(frame); });
  if (ok) *ok = fine;
  return out;
}

/// Feeds `bytes` cut at the positions a seeded generator picks; the frames handed out.
template <class Framer>
std::vector<std::string> feed_cut(Framer& f, std::string_view bytes, std::uint64_t seed, bool* ok = nullptr) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> out;
  bool fine = true;
  while (!bytes.empty()) {
    const std::size_t n = std::min<std::size_t>(bytes.size(), 1 + rng() % 7);
    fine = f.feed(bytes.substr(0, n), [&](std::string_view frame) { out.emplace_back(frame); }) && fine;
    bytes.remove_prefix(n);
  }
  if (ok) *ok = fine;
  return out;
}

}  // namespace

TEST_CASE("line_framer: lines in one piece, in pieces, with CRLF, empty lines kept", "[net][framing]") {
  const std::string text = "JOIN lobby\r\nSAY hello there\n\nLEAVE\r\nno end yet";
  const std::vector<std::string> lines = {"JOIN lobby", "SAY hello there", "", "LEAVE"};
  line_framer whole;
  CHECK(feed_all(whole, text) == lines);
  CHECK(whole.buffered() == std::string("no end yet").size());
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    line_framer cut;
    CHECK(feed_cut(cut, text, seed) == lines);
    CHECK(cut.buffered() == whole.buffered());
  }
  // The rest arrives later.
  CHECK(feed_all(whole, "!\n") == std::vector<std::string>{"no end yet!"});
  CHECK(whole.buffered() == 0);
  // A '\r' inside a line stays; only the one before '\n' goes.
  line_framer cr;
  CHECK(feed_all(cr, "a\rb\r\r\n") == std::vector<std::string>{"a\rb\r"});
}

TEST_CASE("line_framer: a line at the limit passes, one byte over stops the framer for good", "[net][framing]") {
  line_framer f(8);
  bool ok = false;
  CHECK(feed_all(f, "12345678\r\n12345678\n", &ok) == std::vector<std::string>{"12345678", "12345678"});
  CHECK(ok);
  // Over the limit without an end yet: refused as soon as it is known, not buffered.
  auto out = feed_all(f, "123456789", &ok);
  CHECK_FALSE(ok);
  CHECK(out.empty());
  CHECK(f.failed());
  CHECK(f.buffered() == 0);
  CHECK_FALSE(f.feed("\nok\n", [](std::string_view) { FAIL("nothing after a failure"); }));
  // The same, arriving byte by byte.
  line_framer g(8);
  bool all = true;
  for (char c : std::string("123456789")) all = g.feed(std::string_view(&c, 1), [](std::string_view) {}) && all;
  CHECK_FALSE(all);
  CHECK(g.failed());
  // A megabyte without a newline never takes more than the limit.
  line_framer h(1024);
  const std::string flood(1 << 20, 'x');
  CHECK_FALSE(h.feed(flood, [](std::string_view) {}));
  CHECK(h.buffered() == 0);
}

TEST_CASE("length_prefixed_framer: frames round trip, cut anywhere, including empty ones", "[net][framing]") {
  const std::vector<std::string> payloads = {"hello", "", std::string(300, 'z'), std::string("\0\n\r\xff", 4), "last"};
  std::string stream;
  for (auto& p : payloads) stream += length_prefixed(p);
  length_prefixed_framer whole;
  CHECK(feed_all(whole, stream) == payloads);
  CHECK(whole.buffered() == 0);
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    length_prefixed_framer cut;
    CHECK(feed_cut(cut, stream, seed) == payloads);
    CHECK(cut.buffered() == 0);
  }
  // Half a frame stays buffered until the rest comes.
  length_prefixed_framer half;
  const std::string one = length_prefixed("abcdef");
  CHECK(feed_all(half, one.substr(0, 6)).empty());
  CHECK(half.buffered() == 2);
  CHECK(feed_all(half, one.substr(6)) == std::vector<std::string>{"abcdef"});
}

TEST_CASE("length_prefixed_framer: an announced length over the limit stops it before buffering", "[net][framing]") {
  length_prefixed_framer f(16);
  bool ok = true;
  CHECK(feed_all(f, length_prefixed(std::string(16, 'a')), &ok).size() == 1);
  CHECK(ok);
  const std::string big = length_prefixed(std::string(17, 'b'));
  CHECK(feed_all(f, big.substr(0, 4), &ok).empty());  // only the prefix: refused already
  CHECK_FALSE(ok);
  CHECK(f.failed());
  CHECK(f.buffered() == 0);
  CHECK_FALSE(f.feed(length_prefixed("x"), [](std::string_view) { FAIL("nothing after a failure"); }));
  // Garbage: 0xffffffff announced.
  length_prefixed_framer g;
  CHECK_FALSE(g.feed(std::string("\xff\xff\xff\xff garbage", 12), [](std::string_view) {}));
}
