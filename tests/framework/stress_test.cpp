// Stress: many threads and actors, checking per-pair FIFO order and that nothing is lost.
#include <support/test_actors.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <thread>
#include <unordered_map>
#include <vector>

using namespace troupe;
using namespace troupe::test;

namespace {

struct seq_msg {
  std::uint64_t from;  // a thread index (< 1000) or 1000 + actor index
  std::uint64_t seq;
};
struct stats_req {};
struct stats {
  std::uint64_t received = 0;
  std::uint64_t out_of_order = 0;
};
struct set_next {
  actor next;
};

struct shared_progress {
  std::atomic<std::uint64_t> delivered{0};
  std::uint64_t expected = 0;
  std::promise<void> all_done;
  void one() {
    if (delivered.fetch_add(1, std::memory_order_acq_rel) + 1 == expected) all_done.set_value();
  }
};

// Checks that messages from each sender arrive in sequence; forwards every message from a
// thread to the next actor in the ring with its own per-destination sequence number.
class order_checker : public actor_base {
 public:
  order_checker(std::uint64_t index, shared_progress* progress) : index_(index), progress_(progress) {}

 protected:
  behavior make_behavior() override {
    return {
        [this](set_next n) { next_ = std::move(n.next); },
        [this](seq_msg m) {
          auto& expected = last_[m.from];
          if (m.seq != expected) ++stats_.out_of_order;
          expected = m.seq + 1;
          ++stats_.received;
          if (m.from < 1000) send(next_, seq_msg{1000 + index_, forwarded_++});
          progress_->one();
        },
        [this](stats_req) {
          next_.reset();  // break the ring so that the actors can go away
          return stats_;
        },
    };
  }

 private:
  std::uint64_t index_;
  shared_progress* progress_;
  actor next_;
  std::uint64_t forwarded_ = 0;
  std::unordered_map<std::uint64_t, std::uint64_t> last_;
  stats stats_;
};

}  // namespace

TEST_CASE("8 threads and 1000 actors exchange a million messages in per-pair order", "[framework][stress]") {
  constexpr int threads = 8;
  constexpr int actors = 1000;
  constexpr std::uint64_t per_thread = 125'000;  // 1,000,000 from threads, as many forwarded
  actor_system sys{two_workers()};
  shared_progress progress;
  progress.expected = 2 * threads * per_thread;
  std::vector<actor> ring;
  for (int i = 0; i < actors; ++i) ring.push_back(sys.spawn<order_checker>(static_cast<std::uint64_t>(i), &progress));
  for (int i = 0; i < actors; ++i) send(ring[static_cast<std::size_t>(i)], set_next{ring[static_cast<std::size_t>((i + 1) % actors)]});

  std::vector<std::thread> senders;
  for (int t = 0; t < threads; ++t) {
    senders.emplace_back([&, t] {
      // Each thread sends its own sequence to every actor, interleaving destinations.
      std::vector<std::uint64_t> seq(actors, 0);
      for (std::uint64_t i = 0; i < per_thread; ++i) {
        std::size_t dest = (i * 7 + static_cast<std::uint64_t>(t)) % actors;
        send(ring[dest], seq_msg{static_cast<std::uint64_t>(t), seq[dest]++});
      }
    });
  }
  for (auto& s : senders) s.join();
  auto done = progress.all_done.get_future();
  REQUIRE(done.wait_for(std::chrono::seconds(120)) == std::future_status::ready);

  std::uint64_t received = 0, out_of_order = 0;
  for (auto& a : ring) {
    auto s = request<stats>(a, stats_req{}, prompt).get();
    REQUIRE(s);
    received += s->received;
    out_of_order += s->out_of_order;
  }
  CHECK(received == 2 * threads * per_thread);
  CHECK(out_of_order == 0);
  CHECK(sys.dead_letters() == 0);
}

TEST_CASE("coroutines interleave with ordinary messages under load", "[framework][stress][coroutine]") {
  actor_system sys{two_workers()};
  auto echo = sys.spawn(echo_plus_one);
  struct bump {};
  struct total {};
  // Each ping runs a coroutine that awaits three requests; bumps arrive in between. A plain
  // int counter: any concurrent execution would be a data race (tsan) or a lost update.
  auto a = sys.spawn([](actor_base& self, actor e) -> behavior {
    auto counter = std::make_shared<long>(0);
    return {
        [&self, e, counter](ping p) -> task<int> {
          int v = p.value;
          for (int i = 0; i < 3; ++i) {
            auto r = co_await self.request<pong>(e, ping{v}, prompt);
            if (!r) co_return -1;
            v = r->value;
            ++*counter;
          }
          co_return v;
        },
        [counter](bump) { ++*counter; },
        [counter](total) { return *counter; },
    };
  }, echo);
  constexpr int n = 2000;
  std::vector<future<int>> fs;
  for (int i = 0; i < n; ++i) {
    fs.push_back(request<int>(a, ping{i}, prompt));
    send(a, bump{});
  }
  int wrong = 0;
  for (int i = 0; i < n; ++i) {
    auto r = fs[static_cast<std::size_t>(i)].get();
    if (!r || *r != i + 3) ++wrong;
  }
  CHECK(wrong == 0);
  CHECK(*request<long>(a, total{}, prompt).get() == 4L * n);
}
