// deterministic_scheduler: runs actors one message at a time on the test's own thread, picking
// the next ready actor with a seeded generator (or in FIFO order). No worker threads: nothing
// runs unless the test calls run_once() / run_until_idle() (or a fixture helper does). The same
// seed and the same test give the same interleaving, so an order-dependent failure found with
// one seed replays exactly with that seed.
//
// Thread safety: schedule() may be called from any thread (e.g. a blocking-pool job completing
// a future); everything else belongs to the test thread.
#pragma once

#include <troupe/actor.hpp>
#include <troupe/scheduler.hpp>

#include <cstdint>
#include <mutex>
#include <random>
#include <vector>

namespace troupe::testing {

enum class pick_order : std::uint8_t {
  seeded,  // pick uniformly among ready actors with a generator seeded by the seed
  fifo,    // pick the actor that became ready first
};

class deterministic_scheduler final : public scheduler {
 public:
  explicit deterministic_scheduler(std::uint64_t seed = 1, pick_order order = pick_order::seeded);
  ~deterministic_scheduler() override;

  void start() override {}
  void schedule(resumable* r) noexcept override;
  void stop() noexcept override;
  void run_during_shutdown() noexcept override;
  std::size_t worker_count() const noexcept override { return 0; }

  /// Delivers one message to one ready actor; false if no actor is ready.
  bool run_once();
  /// run_once() until no actor is ready (at most `limit` times); returns how many ran.
  std::size_t run_until_idle(std::size_t limit = 100'000'000);
  /// Delivers the next message of `a`; false if `a` has nothing ready.
  bool run_actor(const actor& a);
  bool is_ready(const actor& a) const;
  std::size_t ready_count() const;

  std::uint64_t seed() const noexcept { return seed_; }
  pick_order order() const noexcept { return order_; }

 private:
  void run(resumable* r);
  resumable* take(std::size_t index);

  std::uint64_t seed_;
  pick_order order_;
  std::mt19937_64 rng_;
  mutable std::mutex m_;
  std::vector<resumable*> ready_;
};

}  // namespace troupe::testing
