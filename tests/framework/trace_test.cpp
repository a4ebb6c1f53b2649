// The trace recorder (troupe/trace.hpp): what a traced system writes, read back from the file.
#include <support/test_actors.hpp>
#include <support/trace_file.hpp>

#include <troupe/detail/trace_hooks.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <set>
#include <thread>
#include <csignal>
#include <unistd.h>
#include <sys/wait.h>

using namespace troupe;
using namespace troupe::test;

namespace {

namespace tf = troupe::trace_format;

/// A fresh path in the temporary directory, removed when the test ends.
struct temp_trace {
  explicit temp_trace(const std::string& name)
      : path((std::filesystem::temp_directory_path() /
              ("troupe-trace-test-" + std::to_string(::getpid()) + "-" + name + ".trace"))
                 .string()) {
    std::filesystem::remove(path);
  }
  ~temp_trace() { std::filesystem::remove(path); }
  std::string path;
};

actor_system_config traced(const std::string& path) {
  auto cfg = two_workers();
  cfg.trace.path = path;
  return cfg;
}

struct add {
  int x;
};
struct go {
  int x;
};
struct release_all {};
struct tick {};

}  // namespace

TEST_CASE("a traced request chain: the request, a coroutine's sub-request, the reply and the resumption share one trace",
          "[framework][trace]") {
  temp_trace t("chain");
  actor_id server_id = 0, client_id = 0;
  {
    actor_system sys{traced(t.path)};
    auto server = sys.spawn([](actor_base& self) -> behavior {
      self.set_name("server");
      return {[](ping p) { return pong{p.value + 1}; }};
    });
    auto client = sys.spawn([](actor_base& self, actor s) -> behavior {
      return {[&self, s](go g) -> task<int> {
        auto r = co_await self.request<pong>(s, ping{g.x}, prompt);
        co_return r ? r->value : -1;
      }};
    }, server);
    server_id = server.id();
    client_id = client.id();
    auto r = request<int>(client, go{41}, prompt).get();
    REQUIRE(r);
    CHECK(*r == 42);
    CHECK(sys.tracing_stats().enabled);
    CHECK(sys.tracing_stats().path == t.path);
  }
  const trace_file f = read_trace(t.path);
  CHECK(f.dropped == 0);
  CHECK(f.trailing == 0);
  CHECK_FALSE(f.clocks.empty());

  // Spawns, with the type and the given name.
  REQUIRE(f.spawn_of(server_id));
  REQUIRE(f.spawn_of(client_id));
  CHECK(f.spawn_of(client_id)->r.other == 0);  // spawned from outside any actor
  REQUIRE(f.names.size() == 1);
  CHECK(f.names[0].r.actor == server_id);
  CHECK(f.names[0].text == "server");

  // go (request from outside) -> ping (request from the coroutine) -> reply -> resume.
  auto gos = f.runs_of(std::string(type_id<go>()->name));
  auto pings = f.runs_of(std::string(type_id<ping>()->name));
  REQUIRE(gos.size() == 1);
  REQUIRE(pings.size() == 1);
  const auto& g = gos[0];
  const auto& p = pings[0];
  CHECK(g.actor == client_id);
  CHECK(g.sender == 0);
  CHECK(g.cause == 0);
  CHECK(g.trace != 0);
  CHECK((g.h.flags & tf::request_flag));
  CHECK(g.sent <= g.start);
  CHECK(g.start <= g.end);
  CHECK(p.actor == server_id);
  CHECK(p.sender == client_id);
  CHECK(p.trace == g.trace);
  CHECK(p.cause == g.id);
  CHECK(g.h.aux >= 1);  // its mailbox held at least itself

  // The coroutine suspended in the go run.
  REQUIRE(f.suspends.size() == 1);
  CHECK(f.suspends[0].actor == client_id);
  CHECK(f.suspends[0].cause == g.id);

  // The server's reply: in the chain, caused by the ping run, naming the request it answers.
  const tf::reply_record* ping_reply = nullptr;
  for (auto& r : f.replies)
    if (r.request == p.id) ping_reply = &r;
  REQUIRE(ping_reply);
  CHECK(ping_reply->actor == server_id);
  CHECK(ping_reply->trace == g.trace);
  CHECK(ping_reply->cause == p.id);
  CHECK(ping_reply->h.aux == 0);
  CHECK(ping_reply->sent == p.sent);

  // The resumption on the client, caused by the server's run (the reply woke it).
  std::vector<tf::handled_record> resumes;
  for (auto& r : f.runs)
    if (r.ekind == static_cast<std::uint8_t>(tf::run_kind::resume)) resumes.push_back(r);
  REQUIRE(resumes.size() == 1);
  CHECK(resumes[0].actor == client_id);
  CHECK(resumes[0].cause == p.id);
  CHECK(resumes[0].trace == g.trace);

  // Then the coroutine's own answer to go, from the resumed run.
  const tf::reply_record* go_reply = nullptr;
  for (auto& r : f.replies)
    if (r.request == g.id) go_reply = &r;
  REQUIRE(go_reply);
  CHECK(go_reply->cause == resumes[0].id);

  // Ids are unique.
  std::set<std::uint64_t> ids;
  for (auto& r : f.runs) CHECK(ids.insert(r.id).second);

  // Exits at shutdown.
  std::set<std::uint64_t> exited;
  for (auto& e : f.exits) exited.insert(e.r.actor);
  CHECK(exited.count(server_id));
  CHECK(exited.count(client_id));
}

TEST_CASE("a traced response promise: the reply is caused by the run that delivers it", "[framework][trace]") {
  temp_trace t("promise");
  {
    actor_system sys{traced(t.path)};
    auto keeper = sys.spawn([](actor_base& self) -> behavior {
      auto held = std::make_shared<std::vector<response_promise<pong>>>();
      return {
          [&self, held](ping) {
            held->push_back(self.make_response_promise<pong>());
            return held->back();
          },
          [held](release_all) {
            for (auto& p : *held) p.deliver(pong{7});
            held->clear();
          },
      };
    });
    auto f = request<pong>(keeper, ping{1}, prompt);
    send(keeper, release_all{});
    auto r = f.get();
    REQUIRE(r);
  }
  const trace_file f = read_trace(t.path);
  auto pings = f.runs_of(std::string(type_id<ping>()->name));
  auto releases = f.runs_of(std::string(type_id<release_all>()->name));
  REQUIRE(pings.size() == 1);
  REQUIRE(releases.size() == 1);
  REQUIRE(f.replies.size() == 1);
  CHECK(f.replies[0].request == pings[0].id);
  CHECK(f.replies[0].cause == releases[0].id);
  CHECK(f.replies[0].trace == pings[0].trace);  // the request's chain, whoever delivered it
}

TEST_CASE("a traced timeout, delay and delayed send stay in the chain that armed them", "[framework][trace]") {
  temp_trace t("timers");
  {
    actor_system sys{traced(t.path)};
    auto sleeper = sys.spawn([](actor_base& self, actor s) -> behavior {
      return {[&self, s](go) -> task<int> {
        co_await self.delay(std::chrono::milliseconds(1));
        auto r = co_await self.request<pong>(s, add{1}, std::chrono::milliseconds(20));
        co_return r ? 0 : static_cast<int>(r.error().code());
      }};
    }, sys.spawn([](actor_base& self) -> behavior {
      auto kept = std::make_shared<std::vector<response_promise<pong>>>();
      return {[&self, kept](add) {  // keeps the promise and never answers
        kept->push_back(self.make_response_promise<pong>());
        return kept->back();
      }};
    }));
    auto r = request<int>(sleeper, go{0}, prompt).get();
    REQUIRE(r);
    CHECK(*r == static_cast<int>(errc::timeout));
  }
  const trace_file f = read_trace(t.path);
  auto gos = f.runs_of(std::string(type_id<go>()->name));
  REQUIRE(gos.size() == 1);
  REQUIRE(f.armed.size() == 1);  // the delay (request timeouts are not timers of their own)
  CHECK(f.armed[0].cause == gos[0].id);
  CHECK(f.armed[0].trace == gos[0].trace);
  CHECK(f.armed[0].delay_ns <= 1'000'000);  // what was left of the 1 ms when it was queued
  REQUIRE(f.fired.size() == 1);
  CHECK(f.fired[0].id == f.armed[0].id);
  // The resumption after the delay is caused by the timer.
  bool resumed_by_timer = false;
  for (auto& r : f.runs) resumed_by_timer |= r.cause == f.armed[0].id && r.trace == gos[0].trace;
  CHECK(resumed_by_timer);
  // The timeout of the request made after it.
  REQUIRE(f.timeouts.size() == 1);
  CHECK(f.timeouts[0].trace == gos[0].trace);
  CHECK(f.timeouts[0].h.aux == static_cast<std::uint32_t>(errc::timeout));
}

TEST_CASE("traced senders on many threads: every run recorded once, ids unique", "[framework][trace]") {
  temp_trace t("threads");
  constexpr int threads = 4, per_thread = 2000;
  {
    actor_system sys{traced(t.path)};
    auto counter = sys.spawn([](actor_base&) -> behavior {
      auto n = std::make_shared<int>(0);
      return {[n](add a) { *n += a.x; }, [n](ping) { return pong{*n}; }};
    });
    std::vector<std::thread> senders;
    for (int i = 0; i < threads; ++i)
      senders.emplace_back([&] {
        for (int k = 0; k < per_thread; ++k) send(counter, add{1});
      });
    for (auto& s : senders) s.join();
    auto r = request<pong>(counter, ping{}, prompt).get();
    REQUIRE(r);
    CHECK(r->value == threads * per_thread);
  }
  const trace_file f = read_trace(t.path);
  CHECK(f.dropped == 0);
  auto adds = f.runs_of(std::string(type_id<add>()->name));
  CHECK(adds.size() == threads * per_thread);
  std::set<std::uint64_t> ids, traces;
  std::uint32_t peak = 0;
  for (auto& r : adds) {
    CHECK(ids.insert(r.id).second);
    traces.insert(r.trace);
    CHECK(r.cause == 0);  // each sent from outside any actor: each its own chain
    peak = std::max(peak, r.h.aux);
  }
  CHECK(traces.size() == adds.size());
  CHECK(peak >= 1);
  CHECK(peak <= threads * per_thread + 1);  // (the ping after them may be taken in with them)
}

TEST_CASE("a full trace buffer drops records and counts every one", "[framework][trace]") {
  temp_trace t("overflow");
  constexpr int messages = 20000;  // 20000 runs of 88 bytes: far more than a 64 KiB ring
  std::size_t dropped_in_stats = 0;
  {
    auto cfg = traced(t.path);
    cfg.trace.buffer_bytes = 64 * 1024;
    actor_system sys{cfg};
    detail::trace_hold_writer(sys, true);  // nothing drains until shutdown
    auto sink = sys.spawn([](actor_base&) -> behavior {
      auto n = std::make_shared<int>(0);
      return {[n](add a) { *n += a.x; }, [n](ping) { return pong{*n}; }};
    });
    for (int k = 0; k < messages; ++k) send(sink, add{1});
    auto r = request<pong>(sink, ping{}, prompt).get();
    REQUIRE(r);
    CHECK(r->value == messages);
    sys.shutdown();
    dropped_in_stats = sys.tracing_stats().dropped;
  }
  const trace_file f = read_trace(t.path);
  auto adds = f.runs_of(std::string(type_id<add>()->name));
  CHECK(f.dropped > 0);
  CHECK(f.dropped == dropped_in_stats);
  CHECK(adds.size() < messages);
  // Every run was either written or counted as dropped (the other records: ping's run, its
  // reply, spawn, type and thread names, exit).
  // Every run of add was either written or counted as dropped; the few other events (ping's
  // run and reply, the actor's exit, the shutdown signal's run) may have been dropped too.
  CHECK(adds.size() + f.dropped >= messages);
  CHECK(adds.size() + f.dropped <= messages + 4);
}

TEST_CASE("sampling records only the chains a chosen message type starts", "[framework][trace]") {
  temp_trace t("sampling");
  actor_id echo_id = 0;
  {
    auto cfg = traced(t.path);
    cfg.trace.sample_types = {"go"};  // by the last component of the type's name
    actor_system sys{cfg};
    auto echo = sys.spawn(echo_plus_one);
    echo_id = echo.id();
    auto relay = sys.spawn([](actor_base& self, actor e) -> behavior {
      return {[&self, e](go g) -> task<int> {
                auto r = co_await self.request<pong>(e, ping{g.x}, prompt);
                co_return r ? r->value : -1;
              },
              [&self, e](add a) -> task<int> {
                auto r = co_await self.request<pong>(e, ping{a.x}, prompt);
                co_return r ? r->value : -1;
              }};
    }, echo);
    REQUIRE(*request<int>(relay, add{1}, prompt).get() == 2);  // not sampled
    REQUIRE(*request<int>(relay, go{5}, prompt).get() == 6);   // sampled, with what it causes
    REQUIRE(*request<int>(relay, add{2}, prompt).get() == 3);  // not sampled
  }
  const trace_file f = read_trace(t.path);
  CHECK(f.runs_of(std::string(type_id<add>()->name)).empty());
  auto gos = f.runs_of(std::string(type_id<go>()->name));
  auto pings = f.runs_of(std::string(type_id<ping>()->name));
  REQUIRE(gos.size() == 1);
  REQUIRE(pings.size() == 1);  // only the ping go caused
  CHECK(pings[0].trace == gos[0].trace);
  for (auto& r : f.runs) CHECK(r.trace == gos[0].trace);
  CHECK(f.spawn_of(echo_id));  // lifecycle events are always recorded
}

TEST_CASE("dead letters, links, monitors and exit reasons are recorded", "[framework][trace]") {
  temp_trace t("lifecycle");
  actor_id victim_id = 0, watcher_id = 0;
  {
    actor_system sys{traced(t.path)};
    auto victim = sys.spawn([](actor_base& self) -> behavior {
      return {[&self](tick) { self.quit(error(errc::user, "told to stop")); }};
    });
    victim_id = victim.id();
    auto down = std::make_shared<std::promise<void>>();
    auto watcher = sys.spawn([down](actor_base& self, actor v) -> behavior {
      self.monitor(v);
      return {[down](const down_msg&) { down->set_value(); }};
    }, victim);
    watcher_id = watcher.id();
    send(victim, tick{});
    REQUIRE(down->get_future().wait_for(prompt) == std::future_status::ready);
    send(victim, add{1});  // dead now: a dead letter
    send(watcher, add{1});  // no handler: a dead letter
    // (a request after it, so that the watcher handles add before the system shuts down)
    CHECK(request<pong>(watcher, ping{}, prompt).get().error() == errc::unhandled_message);
  }
  const trace_file f = read_trace(t.path);
  const actor_event* exit = nullptr;
  for (auto& e : f.exits)
    if (e.r.actor == victim_id) exit = &e;
  REQUIRE(exit);
  CHECK(exit->r.h.flags == static_cast<std::uint8_t>(tf::exit_category::error));
  CHECK(exit->text.find("told to stop") != std::string::npos);
  // The exit happened in the tick run, which also caused the down signal.
  auto ticks = f.runs_of(std::string(type_id<tick>()->name));
  REQUIRE(ticks.size() == 1);
  CHECK(exit->r.other == ticks[0].id);
  bool monitored = false, got_down = false;
  for (auto& r : f.runs) {
    monitored |= r.actor == victim_id && r.ekind == static_cast<std::uint8_t>(tf::run_kind::monitor) && r.sender == watcher_id;
    if (r.actor == watcher_id && r.ekind == static_cast<std::uint8_t>(tf::run_kind::down_signal) && r.sender == victim_id) {
      got_down = true;
      CHECK(r.cause == ticks[0].id);
      CHECK(r.trace == ticks[0].trace);
    }
  }
  CHECK(monitored);
  CHECK(got_down);
  std::set<std::uint32_t> reasons;
  for (auto& d : f.dead_letters) {
    CHECK(f.type_name(d.type) == type_id<add>()->name);
    reasons.insert(d.h.aux);
  }
  CHECK(reasons == std::set<std::uint32_t>{static_cast<std::uint32_t>(tf::dead_letter_reason::not_alive),
                                           static_cast<std::uint32_t>(tf::dead_letter_reason::no_handler)});
}

TEST_CASE("tracing is off unless asked for, and TROUPE_TRACE turns it on", "[framework][trace]") {
  temp_trace t("env");
  {
    actor_system sys{two_workers()};
    CHECK_FALSE(sys.tracing_stats().enabled);
    CHECK_FALSE(detail::tracing());
  }
  ::setenv("TROUPE_TRACE", (t.path.substr(0, t.path.size() - 6) + "-{node}.trace").c_str(), 1);
  std::string expected;
  {
    actor_system sys{two_workers()};
    ::unsetenv("TROUPE_TRACE");
    REQUIRE(sys.tracing_stats().enabled);
    CHECK(detail::tracing());
    expected = sys.tracing_stats().path;
    CHECK(expected.find(sys.node().to_string().substr(0, 4)) == std::string::npos);  // {node} is hex
    CHECK(expected.find("{node}") == std::string::npos);
    auto e = sys.spawn(echo_plus_one);
    REQUIRE(request<pong>(e, ping{1}, prompt).get());
  }
  CHECK_FALSE(detail::tracing());
  const trace_file f = read_trace(expected);
  CHECK(f.runs_of(std::string(type_id<ping>()->name)).size() == 1);
  std::filesystem::remove(expected);
}

TEST_CASE("two traced systems of one process never share a file", "[framework][trace]") {
  temp_trace t("two");
  std::string a_path, b_path;
  {
    actor_system a{traced(t.path)};
    actor_system b{traced(t.path)};
    a_path = a.tracing_stats().path;
    b_path = b.tracing_stats().path;
    auto ea = a.spawn(echo_plus_one);
    auto eb = b.spawn(echo_plus_one);
    REQUIRE(request<pong>(ea, ping{1}, prompt).get());
    REQUIRE(request<pong>(eb, ping{1}, prompt).get());
  }
  CHECK(a_path == t.path);
  CHECK(b_path != a_path);
  CHECK(read_trace(a_path).header.node != read_trace(b_path).header.node);
  CHECK(read_trace(a_path).runs_of(std::string(type_id<ping>()->name)).size() == 1);
  CHECK(read_trace(b_path).runs_of(std::string(type_id<ping>()->name)).size() == 1);
  // A later system of the process, asked for the same file, does not overwrite it either.
  std::string c_path;
  {
    actor_system c{traced(t.path)};
    c_path = c.tracing_stats().path;
  }
  CHECK(c_path != a_path);
  CHECK(c_path != b_path);
  CHECK(read_trace(a_path).runs_of(std::string(type_id<ping>()->name)).size() == 1);
  std::filesystem::remove(b_path);
  std::filesystem::remove(c_path);
}

TEST_CASE("a message from another traced system starts a chain of this system's own", "[framework][trace]") {
  temp_trace ta("from_a"), tb("to_b");
  {
    actor_system a{traced(ta.path)};
    actor_system b{traced(tb.path)};
    auto echo = b.spawn(echo_plus_one);
    auto relay = a.spawn([](actor_base& self, actor e) -> behavior {
      return {[&self, e](go g) -> task<int> {
        auto r = co_await self.request<pong>(e, ping{g.x}, prompt);
        co_return r ? r->value : -1;
      }};
    }, echo);
    REQUIRE(*request<int>(relay, go{1}, prompt).get() == 2);
  }
  const trace_file fa = read_trace(ta.path), fb = read_trace(tb.path);
  auto gos = fa.runs_of(std::string(type_id<go>()->name));
  auto pings = fb.runs_of(std::string(type_id<ping>()->name));
  REQUIRE(gos.size() == 1);
  REQUIRE(pings.size() == 1);
  // a's ids mean nothing in b's file: the ping starts a chain there (a root id, bit 39 alone),
  // caused by no run of b's.
  CHECK(pings[0].cause == 0);
  CHECK(pings[0].trace >> 39 == 1);
}

TEST_CASE("a trace file that cannot be created is the caller's error", "[framework][trace]") {
  auto cfg = two_workers();
  cfg.trace.path = "/nonexistent-dir/x.trace";
  CHECK_THROWS_AS(actor_system{cfg}, std::system_error);
}

TEST_CASE("a process that dies leaves a readable prefix of its trace", "[framework][trace]") {
  temp_trace t("crash");
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto cfg = traced(t.path);
    cfg.trace.flush_interval = std::chrono::milliseconds(5);
    actor_system sys{cfg};
    auto e = sys.spawn(echo_plus_one);
    for (int i = 0; i < 100; ++i) (void)request<pong>(e, ping{i}, prompt).get();
    // Wait for the writer's periodic drains (each begins with a clock record, so the byte
    // count grows at every one) to have written something after the runs, then die without
    // any shutdown: what reached the file must be readable.
    const std::size_t before = sys.tracing_stats().bytes;
    while (sys.tracing_stats().bytes < before + 2 * sizeof(tf::clock_record)) std::this_thread::yield();
    ::kill(::getpid(), SIGKILL);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  const trace_file f = read_trace(t.path);  // (throws on anything malformed)
  CHECK(!f.runs.empty());
  CHECK(f.spawns.size() == 1);
  CHECK(f.clocks.size() >= 2);
}

TEST_CASE("a delegated request stays in its chain: caused by the run that delegated it", "[framework][trace]") {
  temp_trace t("delegate");
  actor_id front_id = 0, back_id = 0;
  {
    actor_system sys{traced(t.path)};
    auto back = sys.spawn(echo_plus_one);
    auto front = sys.spawn([](actor_base& self, actor b) -> behavior {
      return {[&self, b](ping p) { return self.delegate<pong>(b, ping{p.value * 10}); }};
    }, back);
    front_id = front.id();
    back_id = back.id();
    auto r = request<pong>(front, ping{4}, prompt).get();
    REQUIRE(r);
    CHECK(r->value == 41);
  }
  const trace_file f = read_trace(t.path);
  auto pings = f.runs_of(std::string(type_id<ping>()->name));
  REQUIRE(pings.size() == 2);
  const auto& first = pings[0].actor == front_id ? pings[0] : pings[1];
  const auto& second = pings[0].actor == front_id ? pings[1] : pings[0];
  CHECK(second.actor == back_id);
  CHECK(second.cause == first.id);
  CHECK(second.trace == first.trace);
  CHECK((second.h.flags & tf::request_flag));  // it carries the original request's answer
  REQUIRE(f.replies.size() == 1);
  CHECK(f.replies[0].actor == back_id);  // answered by the delegate, to the original requester
  CHECK(f.replies[0].request == second.id);
}
