#include <troupe/testing/test_system.hpp>

#include <troupe/detail/random.hpp>

#include <troupe/actor_base.hpp>

#include <cstdio>
#include <cstdlib>

namespace troupe::detail {
envelope* testing_access::peek(const actor& a) {
  return static_cast<actor_base*>(a.get())->peek_envelope();
}
}  // namespace troupe::detail

namespace troupe::testing {

std::uint64_t default_seed(std::uint64_t fallback) {
  if (const char* s = std::getenv("TROUPE_SEED"); s && *s) return std::strtoull(s, nullptr, 10);
  return fallback;
}

namespace {
actor_system_config make_config(std::uint64_t seed, pick_order order, deterministic_scheduler*& s, virtual_clock*& c) {
  actor_system_config cfg;
  cfg.worker_count = 1;
  cfg.node = node_id{detail::splitmix64(seed) | 1};  // from the seed: replays hash alike
  cfg.scheduler_factory = [seed, order, &s](actor_system&) {
    auto p = std::make_unique<deterministic_scheduler>(seed, order);
    s = p.get();
    return p;
  };
  cfg.timer_factory = [&c](actor_system& sys) {
    auto p = std::make_unique<virtual_clock>(sys);
    c = p.get();
    return p;
  };
  return cfg;
}
}  // namespace

test_system::test_system(std::uint64_t seed, pick_order order)
    : sys(make_config(seed, order, sched_, clock_)), seed_(seed) {}

test_system::~test_system() = default;

std::size_t test_system::run_all(std::size_t max_timer_jumps) {
  std::size_t n = run_until_idle();
  for (std::size_t j = 0; j < max_timer_jumps && clock_->fire_next(); ++j) n += run_until_idle();
  return n;
}

std::size_t test_system::advance_time(duration d) {
  // Step from deadline to deadline, letting actors react at each instant (and arm new timers
  // that may fall inside the same advance).
  const time_point target = clock_->now() + d;
  std::size_t n = run_until_idle();
  for (auto next = clock_->next_deadline(); next && *next <= target; next = clock_->next_deadline()) {
    clock_->advance_to(*next);
    n += run_until_idle();
  }
  clock_->advance_to(target);
  return n + run_until_idle();
}

void test_system::fail(const char* what, const actor& receiver, const std::string& why) const {
  std::ostringstream os;
  os << what << " failed";
  if (receiver) os << " for " << receiver;
  os << ": " << why << " [seed " << seed_ << "; replay with TROUPE_SEED=" << seed_ << "]";
  throw expectation_failure(os.str());
}

seed_report for_each_seed(std::size_t count, const std::function<void(std::uint64_t)>& body, std::uint64_t first) {
  seed_report report;
  const char* fixed = std::getenv("TROUPE_SEED");
  const bool replay = fixed && *fixed;
  const std::uint64_t start = replay ? default_seed() : first;
  const std::size_t n = replay ? 1 : count;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t seed = start + i;
    ++report.runs;
    try {
      body(seed);
    } catch (const std::exception& e) {
      report.failing_seed = seed;
      report.failure = e.what();
      std::fprintf(stderr, "troupe: seed %llu failed: %s (replay with TROUPE_SEED=%llu)\n",
                   static_cast<unsigned long long>(seed), e.what(), static_cast<unsigned long long>(seed));
      return report;
    }
  }
  return report;
}

}  // namespace troupe::testing
