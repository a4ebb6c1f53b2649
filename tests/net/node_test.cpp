// Nodes, connections and the handshake (node.hpp, docs/protocol.md), over TCP on 127.0.0.1.
// A raw client written from the protocol document plays the misbehaving peers.
#include <support/log_capture.hpp>
#include <support/probe.hpp>
#include <support/test_actors.hpp>

#include <troupe/net/node.hpp>

#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/logger.h>

#include <array>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

using namespace troupe;
using namespace troupe::test;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

net::node_config config(std::string secret = "s3cret") {
  net::node_config cfg;
  cfg.secret = std::move(secret);
  return cfg;
}

void put_u32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_u64(std::vector<std::uint8_t>& b, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

/// A peer speaking the wire by hand (blocking sockets), as docs/protocol.md describes it.
class raw_peer {
 public:
  explicit raw_peer(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  void send_frame(std::uint8_t type, const std::vector<std::uint8_t>& body) {
    std::vector<std::uint8_t> f;
    put_u32(f, static_cast<std::uint32_t>(body.size() + 1));
    f.push_back(type);
    f.insert(f.end(), body.begin(), body.end());
    asio::write(socket_, asio::buffer(f));
  }
  void send_raw(const std::vector<std::uint8_t>& bytes) { asio::write(socket_, asio::buffer(bytes)); }

  /// Reads one frame; false on end of stream.
  bool read_frame(std::uint8_t& type, std::vector<std::uint8_t>& body) {
    std::array<std::uint8_t, 4> len{};
    boost::system::error_code ec;
    asio::read(socket_, asio::buffer(len), ec);
    if (ec) return false;
    const std::uint32_t n = len[0] | len[1] << 8 | len[2] << 16 | static_cast<std::uint32_t>(len[3]) << 24;
    std::vector<std::uint8_t> rest(n);
    asio::read(socket_, asio::buffer(rest), ec);
    if (ec || n == 0) return false;
    type = rest[0];
    body.assign(rest.begin() + 1, rest.end());
    return true;
  }
  /// True if the node closes the connection (reads until end of stream, frames ignored).
  bool closed_by_node() {
    std::uint8_t t;
    std::vector<std::uint8_t> b;
    while (read_frame(t, b)) {
    }
    return true;
  }

  std::vector<std::uint8_t> hello(std::uint16_t version, std::uint64_t node, const std::array<std::uint8_t, 32>& nonce) {
    std::vector<std::uint8_t> b{static_cast<std::uint8_t>(version), static_cast<std::uint8_t>(version >> 8)};
    put_u64(b, node);
    b.insert(b.end(), nonce.begin(), nonce.end());
    return b;
  }

  static std::vector<std::uint8_t> proof(const std::string& secret, const std::vector<std::uint8_t>& their_nonce,
                                         const std::array<std::uint8_t, 32>& my_nonce, std::uint64_t from, std::uint64_t to) {
    std::vector<std::uint8_t> data;
    const std::string label = "troupe handshake v1";
    data.insert(data.end(), label.begin(), label.end());
    data.insert(data.end(), their_nonce.begin(), their_nonce.end());
    data.insert(data.end(), my_nonce.begin(), my_nonce.end());
    put_u64(data, from);
    put_u64(data, to);
    std::vector<std::uint8_t> out(32);
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), data.data(), data.size(), out.data(), &len);
    return out;
  }

  /// Completes the handshake as node `me` with `secret`; returns the node's id (0 if refused).
  std::uint64_t handshake(std::uint64_t me, const std::string& secret) {
    const std::array<std::uint8_t, 32> my_nonce{9, 8, 7};
    send_frame(0x01, hello(net::protocol_version, me, my_nonce));
    std::uint8_t type = 0;
    std::vector<std::uint8_t> body;
    if (!read_frame(type, body) || type != 0x01 || body.size() != 42) return 0;
    std::uint64_t node = 0;
    for (int i = 0; i < 8; ++i) node |= static_cast<std::uint64_t>(body[2 + i]) << (8 * i);
    const std::vector<std::uint8_t> node_nonce(body.begin() + 10, body.end());
    if (!read_frame(type, body) || type != 0x02) return 0;
    send_frame(0x02, proof(secret, node_nonce, my_nonce, me, node));
    if (!read_frame(type, body) || type != 0x03) return 0;
    send_frame(0x03, {});  // (a real client checks the node's proof first)
    return node;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
};

constexpr std::uint8_t hello_frame = 0x01, proof_frame = 0x02, welcome_frame = 0x03, refuse_frame = 0x04;

std::string text(const std::vector<std::uint8_t>& b, std::size_t from = 4) {
  return b.size() < from ? std::string() : std::string(b.begin() + static_cast<std::ptrdiff_t>(from), b.end());
}

}  // namespace

TEST_CASE("two nodes connect and learn each other's id", "[net][node]") {
  actor_system a_sys{two_workers()}, b_sys{two_workers()};
  net::node a{a_sys, config()}, b{b_sys, config()};
  const auto port = b.listen("127.0.0.1", 0);
  auto peer = a.connect("127.0.0.1", port).get(prompt);
  REQUIRE(peer);
  CHECK(*peer == b.id());
  auto conns = a.connections();
  REQUIRE(conns.size() == 1);
  CHECK(conns[0].peer == b.id());
  CHECK(conns[0].outgoing);
  CHECK(conns[0].ready);
}

TEST_CASE("a wrong secret is refused with a logged reason", "[net][node]") {
  std::ostringstream log;
  auto logger = capture(log);
  auto cfg = two_workers();
  cfg.logger = logger;
  actor_system a_sys{two_workers()}, b_sys{cfg};
  net::node a{a_sys, config("wrong")}, b{b_sys, config("right")};
  const auto port = b.listen("127.0.0.1", 0);
  // Node to node: each side checks the other's proof; whichever refuses first, the connecting
  // side learns why.
  auto r = a.connect("127.0.0.1", port).get(prompt);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::disconnected);
  INFO(r.error().message());
  CHECK(r.error().detail().find("authentication failed") != std::string_view::npos);
  // A hand-written peer with a wrong proof: the node logs why before it answers refuse.
  raw_peer p(port);
  p.send_frame(hello_frame, p.hello(net::protocol_version, 0x99, {}));
  std::uint8_t type = 0;
  std::vector<std::uint8_t> body;
  REQUIRE(p.read_frame(type, body));
  REQUIRE(p.read_frame(type, body));
  p.send_frame(proof_frame, std::vector<std::uint8_t>(32, 0xab));
  REQUIRE(p.read_frame(type, body));
  CHECK(type == refuse_frame);
  logger->flush();  // (takes the sink's lock: the node's line is visible)
  CHECK(log.str().find("warning|troupe::net: refused a connection from 127.0.0.1") != std::string::npos);
  CHECK(log.str().find("authentication failed") != std::string::npos);
}

TEST_CASE("a hand-written client completes the handshake, and a replayed proof is refused", "[net][node]") {
  actor_system sys{two_workers()};
  net::node n{sys, config()};
  const auto port = n.listen("127.0.0.1", 0);
  const std::uint64_t me = 0x1234;
  const std::array<std::uint8_t, 32> my_nonce{1, 2, 3};
  std::vector<std::uint8_t> old_nonce;
  {
    raw_peer p(port);
    p.send_frame(hello_frame, p.hello(net::protocol_version, me, my_nonce));
    std::uint8_t type = 0;
    std::vector<std::uint8_t> body;
    REQUIRE(p.read_frame(type, body));
    REQUIRE(type == hello_frame);
    REQUIRE(body.size() == 2 + 8 + 32);
    CHECK((body[0] | body[1] << 8) == net::protocol_version);
    std::uint64_t node = 0;
    for (int i = 0; i < 8; ++i) node |= static_cast<std::uint64_t>(body[2 + i]) << (8 * i);
    CHECK(node == n.id().value);
    old_nonce.assign(body.begin() + 10, body.end());
    REQUIRE(p.read_frame(type, body));
    REQUIRE(type == proof_frame);  // the node proves itself over our nonce
    std::array<std::uint8_t, 32> node_nonce{};
    std::copy(old_nonce.begin(), old_nonce.end(), node_nonce.begin());
    CHECK(body == raw_peer::proof("s3cret", std::vector<std::uint8_t>(my_nonce.begin(), my_nonce.end()), node_nonce,
                                  n.id().value, me));
    p.send_frame(proof_frame, raw_peer::proof("s3cret", old_nonce, my_nonce, me, n.id().value));
    REQUIRE(p.read_frame(type, body));
    CHECK(type == welcome_frame);
  }
  // A second connection replays the first one's proof: the node's nonce is new, so it fails.
  raw_peer p(port);
  p.send_frame(hello_frame, p.hello(net::protocol_version, me, my_nonce));
  std::uint8_t type = 0;
  std::vector<std::uint8_t> body;
  REQUIRE(p.read_frame(type, body));
  REQUIRE(p.read_frame(type, body));
  p.send_frame(proof_frame, raw_peer::proof("s3cret", old_nonce, my_nonce, me, n.id().value));
  REQUIRE(p.read_frame(type, body));
  CHECK(type == refuse_frame);
  CHECK(text(body).find("authentication failed") != std::string::npos);
  CHECK(p.closed_by_node());
}

TEST_CASE("another protocol version is refused with the reason", "[net][node]") {
  actor_system sys{two_workers()};
  net::node n{sys, config()};
  raw_peer p(n.listen("127.0.0.1", 0));
  p.send_frame(hello_frame, p.hello(99, 7, {}));
  std::uint8_t type = 0;
  std::vector<std::uint8_t> body;
  REQUIRE(p.read_frame(type, body));  // the node's own hello comes first
  CHECK(type == hello_frame);
  REQUIRE(p.read_frame(type, body));
  CHECK(type == refuse_frame);
  CHECK(text(body).find("protocol version 99") != std::string::npos);
  CHECK(p.closed_by_node());
}

TEST_CASE("garbage, oversized frames and silent peers are dropped while others are served", "[net][node]") {
  actor_system sys{two_workers()};
  auto cfg = config();
  cfg.handshake_timeout = std::chrono::milliseconds(200);
  cfg.max_frame = 1024;
  net::node n{sys, cfg};
  const auto port = n.listen("127.0.0.1", 0);
  raw_peer garbage(port), oversized(port), silent(port), truncated(port);
  garbage.send_raw({0x05, 0, 0, 0, 0x7f, 1, 2, 3, 4});                // an unknown frame type
  oversized.send_raw({0xff, 0xff, 0xff, 0x00});                      // a 16 MiB frame announced
  truncated.send_raw({0x20, 0, 0, 0, hello_frame, 1, 0});            // a hello cut short, then nothing
  CHECK(garbage.closed_by_node());
  CHECK(oversized.closed_by_node());
  CHECK(silent.closed_by_node());     // after the handshake timeout
  CHECK(truncated.closed_by_node());  // likewise
  // Meanwhile, and afterwards, a real node connects fine.
  actor_system other_sys{two_workers()};
  net::node other{other_sys, config()};
  auto peer = other.connect("127.0.0.1", port).get(prompt);
  REQUIRE(peer);
  CHECK(*peer == n.id());
}

TEST_CASE("two nodes connecting to each other at once keep one connection", "[net][node]") {
  actor_system a_sys{two_workers()}, b_sys{two_workers()};
  net::node a{a_sys, config()}, b{b_sys, config()};
  const auto a_port = a.listen("127.0.0.1", 0);
  const auto b_port = b.listen("127.0.0.1", 0);
  for (int round = 0; round < 5; ++round) {
    auto ab = a.connect("127.0.0.1", b_port);
    auto ba = b.connect("127.0.0.1", a_port);
    auto r1 = ab.get(prompt);
    auto r2 = ba.get(prompt);
    REQUIRE(r1);
    REQUIRE(r2);
    CHECK(*r1 == b.id());
    CHECK(*r2 == a.id());
    for (auto* n : {&a, &b}) {
      int ready = 0;
      for (auto& c : n->connections()) ready += c.ready ? 1 : 0;
      CHECK(ready <= 1);  // never two working connections between the same pair
    }
  }
}

TEST_CASE("a node without a secret refuses to start", "[net][node]") {
  actor_system sys{two_workers()};
  CHECK_THROWS_AS(net::node(sys, net::node_config{}), std::invalid_argument);
}

TEST_CASE("a peer that goes silent is presumed down after failure_timeout", "[net][node]") {
  actor_system sys{two_workers()};
  auto cfg = config();
  cfg.heartbeat_interval = std::chrono::milliseconds(20);
  cfg.failure_timeout = std::chrono::milliseconds(200);
  net::node n{sys, cfg};
  auto events = std::make_shared<probe<std::string>>();
  auto watcher = sys.spawn([events](actor_base&) -> behavior {
    return {[events](net::node_up e) { events->push("up " + e.peer.to_string()); },
            [events](net::node_down e) { events->push("down " + e.peer.to_string() + " " + e.reason.message()); }};
  });
  n.monitor_nodes(watcher);
  raw_peer p(n.listen("127.0.0.1", 0));
  const std::uint64_t me = 0xfeed;
  REQUIRE(p.handshake(me, "s3cret") == n.id().value);
  const std::string name = node_id{me}.to_string();
  CHECK(events->pop() == "up " + name);
  // The node sends heartbeats; this peer reads them and never answers.
  std::uint8_t type = 0;
  std::vector<std::uint8_t> body;
  REQUIRE(p.read_frame(type, body));
  CHECK(type == 0x16);
  CHECK(body.empty());
  auto down = events->pop();
  REQUIRE(down);
  CHECK(down->rfind("down " + name, 0) == 0);
  CHECK(down->find("presumed down") != std::string::npos);
  CHECK(p.closed_by_node());
}

TEST_CASE("a flood of connections beyond max_pending_handshakes is closed at once", "[net][node]") {
  actor_system sys{two_workers()};
  auto cfg = config();
  cfg.max_pending_handshakes = 2;
  cfg.handshake_timeout = std::chrono::seconds(60);  // only the limit can close the third
  net::node n{sys, cfg};
  const auto port = n.listen("127.0.0.1", 0);
  raw_peer first(port), second(port);
  raw_peer third(port);  // accepted after the two (the kernel's accept queue is in order)
  std::uint8_t type = 0;
  std::vector<std::uint8_t> body;
  CHECK_FALSE(third.read_frame(type, body));  // closed without even a hello
  // The two in progress are served as usual.
  CHECK(first.handshake(0xa1, "s3cret") == n.id().value);
  CHECK(second.handshake(0xa2, "s3cret") == n.id().value);
}

TEST_CASE("before its handshake a connection takes only small frames, and a newer hello is refused by version", "[net][node]") {
  actor_system sys{two_workers()};
  net::node n{sys, config()};
  const auto port = n.listen("127.0.0.1", 0);
  std::uint8_t type = 0;
  std::vector<std::uint8_t> body;
  SECTION("a 5,000-byte frame before the handshake closes the connection") {
    raw_peer p(port);
    std::vector<std::uint8_t> big(4999, 0);
    p.send_frame(hello_frame, big);
    CHECK(p.closed_by_node());
  }
  SECTION("a newer version's hello, laid out differently, is refused for its version") {
    raw_peer p(port);
    std::vector<std::uint8_t> v3{3, 0, 1, 2, 3};  // version 3, then whatever version 3 says
    p.send_frame(hello_frame, v3);
    REQUIRE(p.read_frame(type, body));  // the node's hello
    REQUIRE(p.read_frame(type, body));
    CHECK(type == refuse_frame);
    CHECK(text(body).find("protocol version 3") != std::string::npos);
  }
}

TEST_CASE("a peer that does not read is dropped once max_queued_bytes are waiting for it", "[net][node]") {
  auto lines = std::make_shared<probe<std::string>>();
  auto sys_cfg = two_workers();
  sys_cfg.logger = log_to(lines);
  actor_system sys{sys_cfg};
  auto cfg = config();
  cfg.max_queued_bytes = 1 << 20;
  auto types = std::make_shared<net::type_registry>();
  types->add<std::int32_t>("i32");
  cfg.types = types;
  net::node n{sys, cfg};
  // Answers n with n bytes.
  auto big = sys.spawn([](actor_base&) -> behavior { return {[](std::int32_t k) { return std::string(static_cast<std::size_t>(k), 'x'); }}; });
  n.publish(big, "big");
  raw_peer p(n.listen("127.0.0.1", 0));
  REQUIRE(p.handshake(0xbad, "s3cret") == n.id().value);
  // Look "big" up: the reply's actor id is what the requests go to.
  std::vector<std::uint8_t> lookup;
  put_u64(lookup, 1);
  put_u32(lookup, 3);
  lookup.insert(lookup.end(), {'b', 'i', 'g'});
  p.send_frame(0x14, lookup);
  std::uint8_t type = 0;
  std::vector<std::uint8_t> body;
  do {
    REQUIRE(p.read_frame(type, body));
  } while (type != 0x15);
  REQUIRE(body.size() == 17);
  std::uint64_t id = 0;
  for (int i = 0; i < 8; ++i) id |= static_cast<std::uint64_t>(body[9 + i]) << (8 * i);
  // Ask for 64 MiB in 256 KiB replies, and read nothing more.
  std::vector<std::uint8_t> def;
  put_u32(def, 0);
  put_u32(def, 3);
  def.insert(def.end(), {'i', '3', '2'});
  p.send_frame(0x10, def);
  for (std::uint64_t r = 1; r <= 256; ++r) {
    std::vector<std::uint8_t> msg;
    put_u64(msg, 0);
    put_u64(msg, id);
    put_u64(msg, r);
    put_u64(msg, 0);  // no time budget
    put_u32(msg, 0);
    put_u32(msg, 256 * 1024);
    p.send_frame(0x11, msg);
  }
  // The node gives up on this peer (which reads nothing until then: the kernel's buffers
  // hold a few MiB of the 64 asked for, the rest queues in the node).
  auto dropped = lines->pop_until([](const std::string& l) { return l.find("does not read") != std::string::npos; });
  REQUIRE(dropped);
  CHECK(dropped->rfind("warning|", 0) == 0);
  CHECK(p.closed_by_node());  // reading now finds the end of the stream
}
