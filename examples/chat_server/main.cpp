// chat_server: a chat service whose every connection and every room is an actor, over
// troupe::net::tcp. Speak to it with `nc 127.0.0.1 7000`, load it with chat_load.
//
// Shows: listening, an actor per accepted connection (attach, active-once reads through a
// line_framer), writes from any actor (a room writes to its members' connections directly),
// a slow client dropped instead of buffered without bound (errc::queue_full), and a
// connection's end as a message.
//
// The line protocol (docs/guide.md, "Connections as actors"; tools/bench/chat_baseline speaks
// it too, without actors). Lines end in "\n"; a line over 4096 bytes closes the connection.
//   NICK <name>            -> OK
//   JOIN <room>            -> OK                (a connection may be in several rooms)
//   LEAVE <room>           -> OK | ERR not in <room>
//   SAY <room> <text...>   -> every member, the sender too, gets "MSG <room> <nick> <text...>"
//   QUIT                   -> the server closes the connection
// Anything else gets "ERR unknown command".
//
// The actors: a session per connection parses lines and holds the rooms it is in; a directory
// maps room names to room actors and is the only one that adds or removes members, so it
// knows when a room is empty (and retires it); a room writes each MSG line to every member's
// connection. A member whose connection has --max-queued bytes waiting (it does not read) is
// dropped. Runs until SIGINT or SIGTERM (or --seconds), then prints what it served and an
// invariant: once the connections are closed, every actor finishes (sessions leave their
// rooms, rooms retire, nothing is left behind). chat_load checks the deliveries.
#include "../common/cli.hpp"

#include <troupe/net/framing.hpp>
#include <troupe/net/tcp.hpp>
#include <troupe/troupe.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace net = troupe::net;
using namespace std::chrono_literals;

namespace {

struct stats {
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> dropped_slow{0};
  std::atomic<std::uint64_t> messages_in{0};
  std::atomic<std::uint64_t> deliveries{0};
};

// -- messages -----------------------------------------------------------------------------------

struct join_room {
  std::string room;
  troupe::actor session;
  net::connection conn;
};
struct leave_room {
  std::string room;
  troupe::actor session;
  bool reply;  // false: the connection is gone
};
struct joined {  // to the session, from the room: SAYs go there now
  std::string room;
  troupe::actor room_actor;
};
struct say {
  std::string line;  // "MSG <room> <nick> <text>\n", built by the session
  troupe::actor session;
};
struct add_member {
  troupe::actor session;
  net::connection conn;
};
struct remove_member {
  troupe::actor session;
  bool reply;
};
struct retire {};

// -- a room -------------------------------------------------------------------------------------

class room final : public troupe::actor_base {
 public:
  room(std::string name, std::shared_ptr<stats> st) : name_(std::move(name)), stats_(std::move(st)) {}

 protected:
  troupe::behavior make_behavior() override {
    set_name("room " + name_);
    return {
        [this](add_member& m) {
          (void)m.conn.write("OK\n");  // before any MSG of this room reaches the new member
          members_.insert_or_assign(m.session, m.conn);
          send(m.session, joined{name_, handle()});
        },
        [this](remove_member& m) {
          auto it = members_.find(m.session);
          if (it == members_.end()) return;
          if (m.reply) (void)it->second.write("OK\n");
          members_.erase(it);
        },
        [this](say& s) {
          if (!members_.contains(s.session)) return;  // it left meanwhile
          stats_->messages_in.fetch_add(1, std::memory_order_relaxed);
          std::size_t delivered = 0;
          for (auto it = members_.begin(); it != members_.end();) {
            auto w = it->second.write(s.line);
            if (w) {
              ++delivered;
            } else if (w.error() == troupe::errc::queue_full) {
              // It does not read: drop it rather than buffer for it (its session then leaves
              // through the directory; this room writes to it no more).
              stats_->dropped_slow.fetch_add(1, std::memory_order_relaxed);
              it->second.abort("the client does not read fast enough");
              it = members_.erase(it);
              continue;
            }
            ++it;
          }
          stats_->deliveries.fetch_add(delivered, std::memory_order_relaxed);
        },
        [this](retire) {
          if (members_.empty()) quit();
        },
    };
  }

 private:
  std::string name_;
  std::shared_ptr<stats> stats_;
  std::unordered_map<troupe::actor, net::connection> members_;
};

// -- the directory of rooms ---------------------------------------------------------------------

class directory final : public troupe::actor_base {
 public:
  explicit directory(std::shared_ptr<stats> st) : stats_(std::move(st)) {}

 protected:
  troupe::behavior make_behavior() override {
    set_name("directory");
    return {
        [this](join_room& j) {
          auto& r = rooms_[j.room];
          if (!r.actor) r.actor = system().spawn<room>(j.room, stats_);
          r.members.insert(j.session);
          send(r.actor, add_member{j.session, j.conn});
        },
        [this](leave_room& l) {
          auto it = rooms_.find(l.room);
          if (it == rooms_.end()) return;
          send(it->second.actor, remove_member{l.session, l.reply});
          it->second.members.erase(l.session);
          if (it->second.members.empty()) {  // every join and leave passes here: no race
            send(it->second.actor, retire{});
            rooms_.erase(it);
          }
        },
    };
  }

 private:
  struct entry {
    troupe::actor actor;
    std::set<troupe::actor> members;
  };
  std::shared_ptr<stats> stats_;
  std::unordered_map<std::string, entry> rooms_;
};

// -- a session (one per connection) -------------------------------------------------------------

class session final : public troupe::actor_base {
 public:
  session(net::connection c, troupe::actor dir, std::uint64_t n) : conn_(std::move(c)), dir_(std::move(dir)), nick_("guest" + std::to_string(n)) {}

 protected:
  troupe::behavior make_behavior() override {
    conn_.attach(handle());
    conn_.read();  // active once: the next read() comes after these bytes are handled
    return {
        [this](net::received& r) {
          if (!lines_.feed(r.bytes, [this](std::string_view l) { backlog_.emplace_back(l); })) {
            (void)conn_.write("ERR line too long\n");
            conn_.close();
            return;
          }
          drain();
        },
        [](net::writable&) {},  // (a refused write drops the client: nothing waits for this)
        [this](joined& j) {
          rooms_[j.room] = j.room_actor;
          joining_ = false;
          drain();
        },
        [this](net::closed&) {
          for (auto& [name, r] : rooms_) send(dir_, leave_room{name, handle(), false});
          if (joining_) send(dir_, leave_room{joining_room_, handle(), false});
          quit();
        },
    };
  }

 private:
  /// Handles the lines received, up to a JOIN (whose room answers before the next line), then
  /// asks for more bytes.
  void drain() {
    while (!joining_ && !backlog_.empty()) {
      std::string line = std::move(backlog_.front());
      backlog_.pop_front();
      handle_line(line);
    }
    if (!joining_ && !quitting_) conn_.read();
  }

  void handle_line(std::string_view line) {
    const auto sp = line.find(' ');
    const std::string_view cmd = line.substr(0, sp);
    const std::string_view arg = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    const bool one_word = !arg.empty() && arg.find(' ') == std::string_view::npos;
    if (cmd == "SAY" && !arg.empty()) {
      const auto sp2 = arg.find(' ');
      if (sp2 != std::string_view::npos) {
        const std::string_view name = arg.substr(0, sp2);
        auto it = rooms_.find(std::string(name));
        if (it == rooms_.end()) return reply("ERR not in " + std::string(name) + "\n");
        std::string out;
        out.reserve(6 + line.size() + nick_.size());
        out.append("MSG ").append(name).append(" ").append(nick_).append(" ").append(arg.substr(sp2 + 1)).append("\n");
        send(it->second, say{std::move(out), handle()});
        return;
      }
    } else if (cmd == "JOIN" && one_word) {
      joining_ = true;
      joining_room_ = std::string(arg);
      send(dir_, join_room{joining_room_, handle(), conn_});  // the room writes OK, then `joined`
      return;
    } else if (cmd == "LEAVE" && one_word) {
      auto it = rooms_.find(std::string(arg));
      if (it == rooms_.end()) return reply("ERR not in " + std::string(arg) + "\n");
      rooms_.erase(it);
      send(dir_, leave_room{std::string(arg), handle(), true});  // the room writes OK
      return;
    } else if (cmd == "NICK" && one_word) {
      nick_ = std::string(arg);
      return reply("OK\n");
    } else if (line == "QUIT") {
      quitting_ = true;
      backlog_.clear();
      conn_.close();
      return;
    }
    reply("ERR unknown command\n");
  }

  void reply(const std::string& s) {
    if (auto w = conn_.write(s); !w && w.error() == troupe::errc::queue_full)
      conn_.abort("the client does not read its replies");
  }

  net::connection conn_;
  troupe::actor dir_;
  std::string nick_;
  net::line_framer lines_{4096};
  std::deque<std::string> backlog_;
  std::map<std::string, troupe::actor> rooms_;
  bool joining_ = false;
  std::string joining_room_;
  bool quitting_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  example::cli cli("chat_server", "A chat server: an actor per connection and per room (line protocol; try nc).");
  std::string host = "127.0.0.1";
  std::uint16_t port = 7000;
  std::size_t max_queued = 256 * 1024;
  double seconds = 0;
  std::size_t workers = 0;
  cli.add_option("--host", host, "Address to listen on");
  cli.add_option("--workers", workers, "Worker threads of the actor system (0: one per core)");
  cli.add_option("--port", port, "Port to listen on (0: any free port; the line 'listening on' says which)");
  cli.add_option("--max-queued", max_queued, "Bytes a client may leave unread before it is dropped");
  cli.add_option("--seconds", seconds, "Stop after this long (0: at SIGINT or SIGTERM)");
  CLI11_PARSE(cli, argc, argv);

  // Every connection is a file descriptor: take what the hard limit allows.
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  // SIGINT and SIGTERM stop the server: blocked here (every thread inherits it), main waits for
  // them with sigtimedwait (no polling).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto st = std::make_shared<stats>();
  troupe::actor_system_config cfg;
  cfg.worker_count = workers;
  troupe::actor_system sys{cli.config(cfg)};
  {
    net::connection_options opts;
    opts.max_queued_bytes = max_queued;
    net::tcp io{sys, opts};
    auto dir = sys.spawn<directory>(st);
    auto acceptor = sys.spawn([dir, st](troupe::actor_base& self) -> troupe::behavior {
      self.set_name("acceptor");
      return {[&self, dir, st](net::accepted& a) {
        const auto n = st->connections.fetch_add(1, std::memory_order_relaxed) + 1;
        self.system().spawn<session>(a.conn, dir, n);
      }};
    });
    std::uint16_t bound = 0;
    try {
      bound = io.listen(host, port, acceptor);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "chat_server: cannot listen on %s:%u: %s\n", host.c_str(), unsigned{port}, e.what());
      return 1;
    }
    std::printf("listening on %s:%u\n", host.c_str(), unsigned{bound});
    std::fflush(stdout);
    if (seconds > 0) {
      const auto ns = static_cast<long long>(seconds * 1e9);
      const timespec limit{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
      sigtimedwait(&stop_signals, nullptr, &limit);
    } else {
      int sig = 0;
      sigwait(&stop_signals, &sig);
    }
  }  // the tcp closes every connection; main's handles go
  // Every session hears that its connection closed, leaves its rooms and quits; every room
  // retires with its last member; the directory and the acceptor, unreferenced, quit too.
  auto all_done = std::async(std::launch::async, [&sys] { sys.await_all_actors_done(); });
  const bool finished = all_done.wait_for(10s) == std::future_status::ready;
  const auto running = sys.running_actors();
  sys.shutdown();
  std::printf("stats: connections=%llu dropped_slow=%llu messages_in=%llu deliveries=%llu\n",
              static_cast<unsigned long long>(st->connections.load()), static_cast<unsigned long long>(st->dropped_slow.load()),
              static_cast<unsigned long long>(st->messages_in.load()), static_cast<unsigned long long>(st->deliveries.load()));
  if (!finished) std::printf("%zu actors still running 10 s after the last connection closed\n", running);
  return example::report(finished, "after the last connection closed, every session, room and the directory finished");
}
