// libFuzzer target: a whole node fed arbitrary bytes on one connection, through an in-memory
// transport (the transport seam: no sockets, the fuzzer's thread is the network loop). The
// first input byte picks the mode:
//   even: the bytes are the peer's side from the start (the handshake itself is fuzzed);
//   odd:  the harness first completes a valid handshake (it knows the secret and reads the
//         node's nonce), then feeds the bytes: type definitions, messages, replies, lookups
//         and signals reach the node's authenticated paths and a published actor.
// The second byte says how the rest is cut into reads. The node must never crash, leak or read
// out of bounds, whatever arrives; it may close the connection.
#include "fuzz_types.hpp"

#include <troupe/net/node.hpp>
#include <troupe/troupe.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace {

using namespace troupe;

class fake_stream final : public net::stream {
 public:
  void start(net::stream_handler& h) override { handler = &h; }
  void write(std::vector<std::byte> bytes) override {
    std::lock_guard lock(m);
    written.insert(written.end(), bytes.begin(), bytes.end());
  }
  std::size_t queued() const override { return 0; }
  void resume_reading() override {}  // (the node never pauses)
  void when_flushed(std::function<void(bool)> done) override { done(!closed); }
  void close(const std::string&, bool) override { closed = true; }
  std::string peer() const override { return "fuzz:1"; }

  std::vector<std::byte> take_written() {
    std::lock_guard lock(m);
    return std::exchange(written, {});
  }

  net::stream_handler* handler = nullptr;
  bool closed = false;

 private:
  std::mutex m;
  std::vector<std::byte> written;
};

/// The fuzzer's thread is the loop: posted work runs when the harness drains it.
class fake_transport final : public net::transport {
 public:
  std::uint16_t listen(const std::string&, std::uint16_t, accept_fn fn) override {
    accept = std::move(fn);
    return 1;
  }
  void unlisten(std::uint16_t) override {}
  void connect(const std::string&, std::uint16_t, connect_fn done) override {
    done(error(errc::disconnected, "no connecting in the fuzzer"));
  }
  void post(std::function<void()> fn) override {
    std::lock_guard lock(m);
    if (!stopped) tasks.push_back(std::move(fn));
  }
  void post_after(duration, std::function<void()>) override {}  // timers never fire here
  bool on_loop() const override { return std::this_thread::get_id() == loop; }
  void stop() override {
    std::lock_guard lock(m);
    stopped = true;
    tasks.clear();
  }
  void drain() {
    for (;;) {
      std::function<void()> f;
      {
        std::lock_guard lock(m);
        if (tasks.empty() || stopped) return;
        f = std::move(tasks.front());
        tasks.pop_front();
      }
      f();
    }
  }

  accept_fn accept;
  std::thread::id loop = std::this_thread::get_id();

 private:
  std::mutex m;
  std::deque<std::function<void()>> tasks;
  bool stopped = false;
};

const std::string secret = "fuzz secret";

std::shared_ptr<const net::type_registry> registry() {
  auto t = std::make_shared<net::type_registry>();
  t->add<fuzz::everything>("fuzz.everything");
  t->add<fuzz::leaf>("fuzz.leaf");
  return t;
}

struct world {
  actor_system sys{[] {
    actor_system_config cfg;
    cfg.worker_count = 1;
    cfg.log_level = log_level::off;  // every bad input is logged: too much for a fuzzer's output
    return cfg;
  }()};
  // The first actor: its id is the one the seeds address (see make_corpus.py).
  actor echo = sys.spawn([](actor_base&) -> behavior {
    return {[](const std::string& s) { return s; }, [](fuzz::leaf l) { return l; },
            [](fuzz::everything e) { return std::move(e.text); }};
  });
  std::shared_ptr<const net::type_registry> types = registry();
};

std::vector<std::byte> frame(std::uint8_t type, const std::vector<std::byte>& body) {
  std::vector<std::byte> f;
  const auto n = static_cast<std::uint32_t>(body.size() + 1);
  for (int i = 0; i < 4; ++i) f.push_back(static_cast<std::byte>(n >> (8 * i)));
  f.push_back(static_cast<std::byte>(type));
  f.insert(f.end(), body.begin(), body.end());
  return f;
}

void put_u64(std::vector<std::byte>& b, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::byte>(v >> (8 * i)));
}

/// The peer's half of a valid handshake, given what the node wrote so far (its hello).
std::vector<std::byte> handshake(const std::vector<std::byte>& from_node) {
  // The node's hello: u32 length, type, u16 version, u64 id, 32-byte nonce.
  if (from_node.size() < 5 + 42) std::abort();
  std::uint64_t node = 0;
  for (int i = 0; i < 8; ++i) node |= static_cast<std::uint64_t>(from_node[7 + i]) << (8 * i);
  const std::byte* node_nonce = from_node.data() + 15;
  const std::uint64_t me = 0xf00d;
  std::vector<std::byte> my_nonce(32, std::byte{7});
  std::vector<std::byte> hello{static_cast<std::byte>(troupe::net::protocol_version & 0xff),
                              static_cast<std::byte>(troupe::net::protocol_version >> 8)};
  put_u64(hello, me);
  hello.insert(hello.end(), my_nonce.begin(), my_nonce.end());
  // HMAC(secret, label | the node's nonce | my nonce | u64 me | u64 node)
  std::vector<std::byte> data;
  const std::string label = "troupe handshake v1";
  for (char ch : label) data.push_back(static_cast<std::byte>(ch));
  data.insert(data.end(), node_nonce, node_nonce + 32);
  data.insert(data.end(), my_nonce.begin(), my_nonce.end());
  put_u64(data, me);
  put_u64(data, node);
  std::vector<std::byte> proof(32);
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), reinterpret_cast<unsigned char*>(proof.data()), &len);
  std::vector<std::byte> out = frame(0x01, hello);
  auto p = frame(0x02, proof);
  auto w = frame(0x03, {});
  out.insert(out.end(), p.begin(), p.end());
  out.insert(out.end(), w.begin(), w.end());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static world w;
  if (size < 2) return 0;
  const bool authenticated = data[0] & 1;
  const std::size_t piece = 1 + data[1] % 128;
  const auto* bytes = reinterpret_cast<const std::byte*>(data + 2);
  const std::size_t n = size - 2;

  fake_transport* t = nullptr;
  net::node_config cfg;
  cfg.secret = secret;
  cfg.types = w.types;
  cfg.max_frame = 1 << 16;
  cfg.transport_factory = [&t] {
    auto made = std::make_unique<fake_transport>();
    t = made.get();
    return made;
  };
  {
    net::node node{w.sys, cfg};
    node.publish(w.echo, "echo");
    node.listen("fuzz", 1);
    auto s = std::make_shared<fake_stream>();
    t->accept(s);
    t->drain();
    if (authenticated) {
      const auto mine = handshake(s->take_written());
      s->handler->on_bytes(mine);
      t->drain();
    }
    for (std::size_t fed = 0; fed < n && !s->closed;) {
      const std::size_t k = std::min(piece, n - fed);
      s->handler->on_bytes(std::span<const std::byte>(bytes + fed, k));
      fed += k;
      t->drain();
    }
    if (!s->closed) s->handler->on_closed("the fuzz input ended");
    t->drain();
  }
  return 0;
}
