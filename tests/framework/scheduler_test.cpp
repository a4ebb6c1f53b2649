#include <support/test_actors.hpp>

#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <atomic>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

using namespace troupe;
using namespace troupe::test;

namespace {

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](timeval tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

struct spin {
  int remaining;
};
struct get_count {};

}  // namespace

TEST_CASE("an idle system parks its workers instead of polling", "[framework][scheduler]") {
  actor_system sys{two_workers()};
  std::vector<actor> idle;
  for (int i = 0; i < 1000; ++i) idle.push_back(sys.spawn(echo_plus_one));
  // Make sure every worker has run and gone idle again.
  for (auto& a : idle) CHECK(request<pong>(a, ping{}, prompt).get().has_value());
  const double before = process_cpu_seconds();
  // Not synchronisation: this is the idle period being measured.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const double used = process_cpu_seconds() - before;
  // Polling workers would burn ~1 s of CPU here (2 workers x 0.5 s). Parked ones use ~0.
  CHECK(used < 0.05);
}

TEST_CASE("the message budget keeps a busy actor from starving others", "[framework][scheduler]") {
  actor_system_config cfg;
  cfg.worker_count = 1;  // one worker: only fairness can let the second actor run
  cfg.messages_per_activation = 8;
  actor_system sys{cfg};
  std::atomic<bool> stop{false};
  // A self-feeding actor that would run forever without a budget.
  auto busy = sys.spawn([](actor_base& self, std::atomic<bool>* s) -> behavior {
    return {[&self, s](spin) {
      if (!s->load()) self.send(self.handle(), spin{});
    }};
  }, &stop);
  send(busy, spin{});
  auto other = sys.spawn(echo_plus_one);
  auto r = request<pong>(other, ping{1}, prompt).get();
  stop = true;
  REQUIRE(r);
  CHECK(r->value == 2);
}

TEST_CASE("work spreads across workers", "[framework][scheduler]") {
  actor_system sys{two_workers()};
  CHECK(detail::system_access::sched(sys).worker_count() == 2);
  // Two actors each doing CPU work: both workers get used (the pool steals).
  std::atomic<int> seen_threads{0};
  std::mutex m;
  std::set<std::thread::id> ids;
  std::vector<actor> actors;
  for (int i = 0; i < 8; ++i) {
    actors.push_back(sys.spawn([&](actor_base&) -> behavior {
      return {[&](ping p) {
        volatile long x = 0;
        for (long k = 0; k < 2'000'000; ++k) x = x + k;
        std::lock_guard lock(m);
        ids.insert(std::this_thread::get_id());
        return pong{p.value};
      }};
    }));
  }
  std::vector<future<pong>> fs;
  for (int round = 0; round < 4; ++round)
    for (auto& a : actors) fs.push_back(request<pong>(a, ping{round}, prompt));
  CHECK(when_all(std::move(fs)).get().has_value());
  std::lock_guard lock(m);
  CHECK(ids.size() == 2);
  (void)seen_threads;
}

namespace {
// A scheduler that runs nothing by itself: the test thread drives it. Proves the seam that the
// deterministic test scheduler plugs into.
class manual_scheduler final : public scheduler {
 public:
  void start() override {}
  void stop() noexcept override { run_until_idle(); }
  void run_during_shutdown() noexcept override { run_until_idle(); }
  std::size_t worker_count() const noexcept override { return 0; }
  void schedule(resumable* r) noexcept override {
    std::lock_guard lock(m_);
    ready_.push_back(r);
  }
  /// Runs ready actors on this thread until none is left; returns how many activations ran.
  std::size_t run_until_idle() {
    std::size_t n = 0;
    for (;;) {
      resumable* r;
      {
        std::lock_guard lock(m_);
        if (ready_.empty()) return n;
        r = ready_.front();
        ready_.pop_front();
      }
      ++n;
      if (r->resume(16) == resumable::resume_result::resume_later)
        schedule(r);
      else
        r->unref_for_scheduler();
    }
  }

 private:
  std::mutex m_;
  std::deque<resumable*> ready_;
};
}  // namespace

TEST_CASE("a custom scheduler replaces the thread pool", "[framework][scheduler]") {
  manual_scheduler* manual = nullptr;
  actor_system_config cfg;
  cfg.scheduler_factory = [&](actor_system&) {
    auto s = std::make_unique<manual_scheduler>();
    manual = s.get();
    return s;
  };
  actor_system sys{cfg};
  REQUIRE(manual != nullptr);
  auto a = sys.spawn(echo_plus_one);
  auto f = request<pong>(a, ping{1}, infinite);
  CHECK_FALSE(f.ready());  // nothing runs until the test says so
  CHECK(manual->run_until_idle() == 1);
  REQUIRE(f.ready());
  CHECK(f.get()->value == 2);
}

namespace {

struct volley {};

/// Two actors that hand a message back and forth until `stop` is set: each hand-off wakes the
/// partner on the same worker (the LIFO slot), the pattern that used to starve everyone else.
void start_ping_pong_pair(actor_system& sys, std::atomic<bool>& stop) {
  auto player = [](actor_base& self, std::atomic<bool>* s) -> behavior {
    return {[&self, s](volley) {
      if (!s->load(std::memory_order_relaxed)) self.send(self.current_sender(), volley{});
    }};
  };
  auto a = sys.spawn(player, &stop);
  auto b = sys.spawn(player, &stop);
  // b serves first, with a as the sender: from then on they answer each other.
  detail::deliver_to(b, detail::make_message(volley{}, a));
}

void idle_actor_answers_while_pairs_play(std::size_t workers) {
  actor_system_config cfg;
  cfg.worker_count = workers;
  actor_system sys{cfg};
  std::atomic<bool> stop{false};
  for (std::size_t i = 0; i < workers; ++i) start_ping_pong_pair(sys, stop);
  auto idle = sys.spawn(echo_plus_one);
  int answered = 0;
  for (int i = 0; i < 5; ++i)
    if (request<pong>(idle, ping{i}, prompt).get()) ++answered;
  stop = true;
  CHECK(answered == 5);
}

}  // namespace

TEST_CASE("a ping-pong pair on the only worker does not starve a request from outside",
          "[framework][scheduler][fairness]") {
  idle_actor_answers_while_pairs_play(1);
}

TEST_CASE("a ping-pong pair on each worker does not starve a request from outside", "[framework][scheduler][fairness]") {
  idle_actor_answers_while_pairs_play(2);
}

TEST_CASE("an actor woken by a long handler runs on another worker meanwhile", "[framework][scheduler][fairness]") {
  actor_system sys{two_workers()};
  struct go {};
  struct mark {};
  auto ran = std::make_shared<std::promise<void>>();
  auto marker = sys.spawn([](actor_base&, std::shared_ptr<std::promise<void>> p) -> behavior {
    return {[p](mark) { p->set_value(); }};
  }, ran);
  // The long handler wakes `marker` (which lands in this worker's LIFO slot) and then keeps its
  // worker busy until `marker` has run somewhere else, for at most `prompt`: a stand-in for a
  // long computation that does not end by itself while the woken actor waits behind it.
  auto long_handler = sys.spawn([](actor_base& self, actor m, std::shared_ptr<std::promise<void>> p) -> behavior {
    return {[&self, m, p](go) {
      self.send(m, mark{});
      return p->get_future().wait_for(prompt) == std::future_status::ready;
    }};
  }, marker, ran);
  auto r = request<bool>(long_handler, go{}, infinite).get();
  REQUIRE(r);
  CHECK(*r);
}
