// Connections driven by actors (tcp.hpp) over TCP on 127.0.0.1: echo, closes, refusals,
// back-pressure both ways, owners and watchers, a thousand connections, a node's loop.
#include "counting_transport.hpp"

#include <support/probe.hpp>

#include <troupe/net/framing.hpp>
#include <troupe/net/node.hpp>
#include <troupe/net/tcp.hpp>

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <atomic>
#include <future>
#include <string>
#include <vector>

using namespace troupe;
using namespace troupe::test;
using namespace std::chrono_literals;

namespace {

/// A line echo session: "ECHO x" -> "x\n", "BYE" -> closes; reports what it sees to `events`.
class echo_session final : public actor_base {
 public:
  echo_session(net::connection c, probe_ptr<std::string> events) : conn_(std::move(c)), events_(std::move(events)) {}

 protected:
  behavior make_behavior() override {
    conn_.attach(handle());
    conn_.read();
    return {
        [this](net::received& r) {
          const bool ok = lines_.feed(r.bytes, [this](std::string_view line) {
            if (line.starts_with("ECHO ")) (void)conn_.write(std::string(line.substr(5)) + "\n");
            else if (line == "BYE") conn_.close();
          });
          if (!ok) conn_.abort("line too long");
          conn_.read();
        },
        [this](net::closed& c) {
          events_->push("closed: " + std::string(c.reason.detail()) + " buffered=" + std::to_string(lines_.buffered()));
          quit();
        },
    };
  }

 private:
  net::connection conn_;
  net::line_framer lines_{1024};
  probe_ptr<std::string> events_;
};

/// Spawns an echo_session for each accepted connection.
actor echo_acceptor(actor_system& sys, probe_ptr<std::string> events) {
  return sys.spawn([events](actor_base& self) -> behavior {
    return {[&self, events](net::accepted& a) { self.system().spawn<echo_session>(a.conn, events); }};
  });
}

/// A blocking client socket (the peer the tests control byte by byte).
class raw_client {
 public:
  explicit raw_client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~raw_client() { close(); }
  void send(std::string_view s) { REQUIRE(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size())); }
  /// Reads up to and including the next '\n' ("" at end of stream).
  std::string line() {
    std::string out;
    char c;
    while (::recv(fd_, &c, 1, 0) == 1) {
      out += c;
      if (c == '\n') break;
    }
    return out;
  }
  bool at_eof() {
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

/// A port nothing listens on (bound, then closed).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

/// Writes refused inside actors (Catch's assertions are for the test's thread only); the tests
/// that write from actors check it is still 0.
std::atomic<int> refused{0};

/// A system with a line echo server listening on 127.0.0.1 (the tests' common start).
struct echo_server {
  actor_system sys;
  net::tcp io{sys};
  probe_ptr<std::string> events = std::make_shared<probe<std::string>>();
  std::uint16_t port = io.listen("127.0.0.1", 0, echo_acceptor(sys, events));
};

}  // namespace

TEST_CASE("tcp: a line echo server answers a raw client, and closes when asked", "[net][tcp]") {
  echo_server srv;
  auto& [sys, io, events, port] = srv;
  raw_client c{port};
  c.send("ECHO hello\n");
  CHECK(c.line() == "hello\n");
  // A line cut in pieces across writes is one line.
  c.send("EC");
  c.send("HO wor");
  c.send("ld\r\nECHO again\n");
  CHECK(c.line() == "world\n");
  CHECK(c.line() == "again\n");
  c.send("BYE\n");
  CHECK(c.at_eof());
  CHECK(events->pop() == "closed: closed by this side buffered=0");
}

TEST_CASE("tcp: a troupe client actor talks to a troupe server (connect, attach, flush)", "[net][tcp]") {
  echo_server srv;
  auto& [sys, io, events, port] = srv;
  auto conn = io.connect("127.0.0.1", port).get();
  REQUIRE(conn);
  CHECK(conn->peer() == "127.0.0.1:" + std::to_string(port));
  auto lines = std::make_shared<probe<std::string>>();
  auto client = sys.spawn([lines](actor_base& self, net::connection c) -> behavior {
    c.attach(self.handle());
    c.read();
    auto framer = std::make_shared<net::line_framer>();
    return {
        [lines, framer](net::received& r) {
          framer->feed(r.bytes, [&](std::string_view l) { lines->push(std::string(l)); });
          r.conn.read();
        },
        [lines, &self](net::closed& cl) {
          lines->push("closed: " + std::string(cl.reason.detail()));
          self.quit();
        },
    };
  }, *conn);
  for (int i = 0; i < 100; ++i) REQUIRE(conn->write("ECHO " + std::to_string(i) + "\n"));
  CHECK(conn->flush().get().has_value());
  for (int i = 0; i < 100; ++i) CHECK(lines->pop() == std::to_string(i));
  REQUIRE(conn->write("BYE\n"));
  CHECK(lines->pop() == "closed: the peer closed the connection");
  CHECK(events->pop() == "closed: closed by this side buffered=0");
  // Writing to a closed connection fails at once, as does a flush.
  auto w = conn->write("late\n");
  REQUIRE(!w);
  CHECK(w.error() == errc::disconnected);
  CHECK(conn->flush().get().error() == errc::disconnected);
  (void)client;
}

TEST_CASE("tcp: a peer closing mid-line: the owner is told, with the partial line still buffered", "[net][tcp]") {
  echo_server srv;
  auto& [sys, io, events, port] = srv;
  {
    raw_client c{port};
    c.send("ECHO one\n");
    CHECK(c.line() == "one\n");
    c.send("ECHO unfinish");
  }
  CHECK(events->pop() == "closed: the peer closed the connection buffered=13");
}

TEST_CASE("tcp: connecting where nothing listens fails with connection_refused", "[net][tcp]") {
  actor_system sys;
  net::tcp io{sys};
  auto r = io.connect("127.0.0.1", free_port()).get();
  REQUIRE(!r);
  CHECK(r.error() == errc::connection_refused);
  CHECK(r.error().detail().find("127.0.0.1") != std::string::npos);
  auto bad = io.connect("no-such-host.invalid", 80).get();
  REQUIRE(!bad);
  CHECK(bad.error() == errc::disconnected);
}

TEST_CASE("tcp: as_actor() exits with the connection: monitors see how it ended, killing it aborts", "[net][tcp]") {
  echo_server srv;
  auto& [sys, io, events, port] = srv;
  auto downs = std::make_shared<probe<std::string>>();
  std::vector<actor> watchers;  // (an actor nobody holds quits when its mailbox is empty)
  auto watch = [&](const net::connection& c) {
    watchers.push_back(sys.spawn([downs](actor_base& self, actor target) -> behavior {
      self.monitor(target);
      return {[downs](down_msg& d) { downs->push(d.reason.error() ? std::string(d.reason.error()->detail()) : d.reason.to_string()); }};
    }, c.as_actor()));
  };
  SECTION("the peer closes") {
    auto conn = *io.connect("127.0.0.1", port).get();
    watch(conn);
    REQUIRE(conn.write("BYE\n"));
    conn.attach(sys.spawn([](actor_base&) -> behavior { return {[](net::closed&) {}}; }));
    conn.read();
    CHECK(downs->pop() == "the peer closed the connection");
  }
  SECTION("this side closes") {
    auto conn = *io.connect("127.0.0.1", port).get();
    watch(conn);
    conn.close();
    CHECK(downs->pop() == "normal");
    CHECK(events->pop() == "closed: the peer closed the connection buffered=0");
  }
  SECTION("killing the connection's actor aborts it") {
    auto conn = *io.connect("127.0.0.1", port).get();
    watch(conn);
    send_exit(conn.as_actor(), exit_reason::kill());
    CHECK(downs->pop() == "kill");
    CHECK(events->pop() == "closed: the peer closed the connection buffered=0");
  }
}

TEST_CASE("tcp: a connection closes when its owner exits, and when nobody takes it", "[net][tcp]") {
  actor_system sys;
  net::tcp io{sys};
  SECTION("the owner quits: what it wrote is flushed, then the peer sees the end") {
    auto acceptor = sys.spawn([](actor_base& self) -> behavior {
      return {[&self](net::accepted& a) {
        self.system().spawn([](actor_base& s, net::connection c) -> behavior {
          c.attach(s.handle());
          (void)c.write(std::string(100000, 'x') + "\n");
          s.quit();
          return {};
        }, a.conn);
      }};
    });
    raw_client c{io.listen("127.0.0.1", 0, acceptor)};
    CHECK(c.line().size() == 100001);
    CHECK(c.at_eof());
  }
  SECTION("an accepted message nobody handles") {
    auto deaf = sys.spawn([](actor_base&) -> behavior { return {[](int) {}}; });
    raw_client c{io.listen("127.0.0.1", 0, deaf)};
    CHECK(c.at_eof());
  }
}

TEST_CASE("tcp: a reader that stops reading holds its peer back: bounded bytes on both sides", "[net][tcp]") {
  actor_system sys;
  net::connection_options opts;
  opts.max_queued_bytes = 256 * 1024;
  net::tcp io{sys, opts};
  // The server's session allows 1000 bytes, then reads no more until told to.
  auto got = std::make_shared<std::atomic<std::size_t>>(0);
  auto first = std::make_shared<probe<std::size_t>>();
  struct resume {};
  auto all = std::make_shared<probe<std::size_t>>();  // the total, once the last byte ('d') is in
  auto sessions = std::make_shared<probe<actor>>();
  auto acceptor = sys.spawn([=](actor_base& self) -> behavior {
    return {[=, &self](net::accepted& a) {
      sessions->push(self.system().spawn([=](actor_base& s, net::connection c) -> behavior {
        c.attach(s.handle());
        c.read(1000);
        return {
            [=](net::received& r) {
              const auto before = got->fetch_add(r.bytes.size());
              if (before + r.bytes.size() == 1000) first->push(1000);
              if (before + r.bytes.size() > 1000) r.conn.read(r.bytes.size());  // reading freely now
              if (r.bytes.back() == 'd') all->push(before + r.bytes.size());
            },
            [c](resume) { c.read(1 << 20); },
            [](net::closed&) {},
        };
      }, a.conn));
    }};
  });
  const std::uint16_t port = io.listen("127.0.0.1", 0, acceptor);
  auto conn = *io.connect("127.0.0.1", port).get();
  auto writable = std::make_shared<probe<int>>();
  conn.attach(sys.spawn([writable](actor_base&) -> behavior {
    return {[writable](net::writable&) { writable->push(1); }, [](net::received&) {}, [](net::closed&) {}};
  }));
  const std::string chunk(64 * 1024, 'z');
  std::size_t accepted_bytes = 0;
  for (;;) {
    auto w = conn.write(chunk);
    if (!w) {
      CHECK(w.error() == errc::queue_full);
      break;
    }
    accepted_bytes += chunk.size();
    // The queue never passes the limit (plus the one write that an empty queue always takes).
    REQUIRE(conn.queued() <= opts.max_queued_bytes + chunk.size());
    REQUIRE(accepted_bytes < (std::size_t{256} << 20));  // the kernel's buffers are far smaller
  }
  CHECK(first->pop() == 1000u);
  // The writer's queue is full, so the kernel's buffers are: the reader got what it allowed,
  // not one byte more.
  CHECK(got->load() == 1000);
  CHECK(conn.queued() <= opts.max_queued_bytes + chunk.size());
  // The reader reads again: everything arrives, and the writer is told it may write.
  send(*sessions->pop(), resume{});
  CHECK(writable->pop() == 1);
  REQUIRE(conn.write("end").has_value());
  accepted_bytes += 3;
  CHECK(conn.flush().get().has_value());
  CHECK(all->pop() == accepted_bytes);
}

TEST_CASE("tcp: a thousand concurrent connections each get their echo", "[net][tcp]") {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < 2200) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 4096);
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  REQUIRE(lim.rlim_cur >= 2200);
  echo_server srv;
  auto& [sys, io, events, port] = srv;
  constexpr int n = 1000;
  auto echoes = std::make_shared<probe<std::string>>();
  std::vector<net::connection> conns;
  for (int i = 0; i < n; ++i) {
    auto c = io.connect("127.0.0.1", port).get();
    REQUIRE(c);
    conns.push_back(*c);
  }
  CHECK(io.open_connections() >= n);  // (both ends live in this process: the accepting ones too)
  for (int i = 0; i < n; ++i) {
    conns[i].attach(sys.spawn([echoes](actor_base&) -> behavior {
      return {[echoes](net::received& r) {
                echoes->push(r.bytes);
                r.conn.read();
              },
              [](net::closed&) {}};
    }));
    conns[i].read();
    REQUIRE(conns[i].write("ECHO " + std::to_string(i) + "\n"));
  }
  std::vector<bool> seen(n);
  for (int i = 0; i < n; ++i) {
    auto e = echoes->pop();
    REQUIRE(e);
    const int k = std::stoi(*e);
    CHECK(!seen[k]);
    seen[k] = true;
  }
  for (auto& c : conns) c.close();
  for (int i = 0; i < n; ++i) CHECK(events->pop().has_value());
}

TEST_CASE("tcp: on a node's loop, destroyed before the node with connections open", "[net][tcp]") {
  actor_system sys;
  net::node_config cfg;
  cfg.secret = "s";
  net::node nd{sys, cfg};
  auto events = std::make_shared<probe<std::string>>();
  auto closes = std::make_shared<probe<std::string>>();
  std::optional<net::tcp> io;
  io.emplace(nd);
  const std::uint16_t port = io->listen("127.0.0.1", 0, echo_acceptor(sys, events));
  raw_client c{port};
  c.send("ECHO via the node\n");
  CHECK(c.line() == "via the node\n");
  auto conn = *io->connect("127.0.0.1", port).get();
  conn.attach(sys.spawn([closes](actor_base&) -> behavior {
    return {[closes](net::closed& cl) { closes->push(std::string(cl.reason.detail())); }};
  }));
  auto pending = conn.flush();
  io.reset();  // every connection ends now, with its last messages, while the system lives
  CHECK(closes->pop() == "the tcp object was destroyed");
  CHECK(events->pop_until([](const std::string& e) { return e.starts_with("closed: the tcp object"); }).has_value());
  CHECK(c.at_eof());
  CHECK(conn.write("x").error() == errc::disconnected);
  (void)pending.get();  // completed either way: never left hanging
}

TEST_CASE("tcp: writes an actor makes while it handles a batch of messages go out together, in order", "[net][tcp]") {
  auto writes = std::make_shared<std::atomic<int>>(0);
  counting_transport counted{writes};
  actor_system sys;
  net::tcp io{sys, counted};
  auto events = std::make_shared<probe<std::string>>();
  auto conns = std::make_shared<probe<net::connection>>();
  auto acceptor = sys.spawn([conns](actor_base&) -> behavior {
    return {[conns](net::accepted& a) { conns->push(a.conn); }};
  });
  raw_client c{io.listen("127.0.0.1", 0, acceptor)};
  auto conn = *conns->pop();
  // A writer that gets 500 messages before it runs: one activation handles many of them, and
  // its writes reach the stream once per activation, not once per message.
  auto gate = std::make_shared<std::promise<void>>();
  auto opened = gate->get_future().share();
  auto writer = sys.spawn([conn, opened](actor_base&) -> behavior {
    return {[conn, opened](int i) {
      if (i == 0) opened.wait();  // (holds the actor until all 500 are queued)
      refused += !conn.write(std::to_string(i) + "\n");
    }};
  });
  for (int i = 0; i < 500; ++i) send(writer, i);
  gate->set_value();
  for (int i = 0; i < 500; ++i) REQUIRE(c.line() == std::to_string(i) + "\n");
  CHECK(writes->load() < 500 / 2);
  // Causal order across actors: A writes, then tells B, who writes; on the wire A's bytes come
  // first although A's are held until its activation ends.
  auto b = sys.spawn([conn](actor_base&) -> behavior {
    return {[conn](std::string s) { refused += !conn.write("b" + s + "\n"); }};
  });
  auto a = sys.spawn([conn, b](actor_base& self) -> behavior {
    return {[conn, b, &self](std::string s) {
      refused += !conn.write("a" + s + "\n");
      self.send(b, s);
    }};
  });
  for (int i = 0; i < 200; ++i) send(a, std::to_string(i));
  int next_a = 0, next_b = 0;
  for (int k = 0; k < 400; ++k) {
    const std::string l = c.line();
    if (l == "a" + std::to_string(next_a) + "\n") {
      ++next_a;
    } else {
      REQUIRE(l == "b" + std::to_string(next_b) + "\n");
      REQUIRE(next_b < next_a);  // b's line i only after a's line i
      ++next_b;
    }
  }
  CHECK(next_b == 200);
  // flush() from inside an activation counts what that activation wrote.
  auto flushed = std::make_shared<probe<bool>>();
  auto f = sys.spawn([conn, flushed](actor_base&) -> behavior {
    return {[conn, flushed](int) -> troupe::task<void> {
      refused += !conn.write(std::string(200000, 'f') + "\n");
      auto r = co_await conn.flush();
      flushed->push(r.has_value() && conn.queued() == 0);
    }};
  });
  send(f, 1);
  CHECK(c.line().size() == 200001);
  CHECK(flushed->pop() == true);
  CHECK(refused.exchange(0) == 0);
}

TEST_CASE("tcp: a connect that does not complete in time fails with timeout", "[net][tcp]") {
  // A listener that never accepts, its queue filled: the kernel drops the next handshakes, so
  // a connect there neither succeeds nor fails until the timeout.
  const int l = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(l, 0) == 0);
  socklen_t len = sizeof a;
  ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    fillers.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    ::connect(fillers.back(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  actor_system sys;
  net::tcp io{sys};
  auto r = io.connect("127.0.0.1", ntohs(a.sin_port), 200ms).get();
  REQUIRE(!r);
  CHECK(r.error() == errc::timeout);
  for (int fd : fillers) ::close(fd);
  ::close(l);
}

TEST_CASE("tcp: a write from outside an actor goes at once, after what a running activation wrote", "[net][tcp]") {
  actor_system sys;
  net::tcp io{sys};
  auto conns = std::make_shared<probe<net::connection>>();
  auto acceptor = sys.spawn([conns](actor_base&) -> behavior {
    return {[conns](net::accepted& a) { conns->push(a.conn); }};
  });
  raw_client c{io.listen("127.0.0.1", 0, acceptor)};
  auto conn = *conns->pop();
  std::promise<void> wrote, release;
  auto released = release.get_future().share();
  auto a = sys.spawn([conn, &wrote, released](actor_base&) -> behavior {
    return {[conn, &wrote, released](int) {
      refused += !conn.write("a\n");
      wrote.set_value();
      released.wait();  // this activation does not end until the test says so
    }};
  });
  send(a, 1);
  wrote.get_future().wait();
  REQUIRE(conn.write("b\n"));  // this thread is no actor: its bytes go now, the actor's first
  CHECK(c.line() == "a\n");
  CHECK(c.line() == "b\n");
  release.set_value();
  CHECK(refused.exchange(0) == 0);
}

TEST_CASE("tcp: attaching a connection that already ended sends the owner closed at once", "[net][tcp]") {
  echo_server srv;
  auto& [sys, io, events, port] = srv;
  auto conn = *io.connect("127.0.0.1", port).get();
  REQUIRE(conn.write("BYE\n"));
  // Wait for the end without an owner: the connection's actor exits with it.
  auto downs = std::make_shared<probe<int>>();
  auto watcher = sys.spawn([downs](actor_base& self, actor target) -> behavior {
    self.monitor(target);
    return {[downs](down_msg&) { downs->push(1); }};
  }, conn.as_actor());
  conn.read();  // (reading is what notices the peer's end)
  auto owner_closed = std::make_shared<probe<std::string>>();
  auto early = sys.spawn([](actor_base&) -> behavior { return {[](net::closed&) {}}; });
  conn.attach(early);  // an owner, to let reading start
  REQUIRE(downs->pop() == 1);
  auto late = sys.spawn([owner_closed](actor_base&) -> behavior {
    return {[owner_closed](net::closed& c) { owner_closed->push(std::string(c.reason.detail())); }};
  });
  conn.attach(late);
  CHECK(owner_closed->pop() == "the peer closed the connection");
  (void)watcher;
}
