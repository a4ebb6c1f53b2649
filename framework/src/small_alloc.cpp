#include <troupe/detail/small_alloc.hpp>

#include <array>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TROUPE_SMALL_ALLOC_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TROUPE_SMALL_ALLOC_CACHE 0
#endif
#endif
#ifndef TROUPE_SMALL_ALLOC_CACHE
#define TROUPE_SMALL_ALLOC_CACHE 1
#endif

namespace troupe::detail {

#if TROUPE_SMALL_ALLOC_CACHE
namespace {

constexpr std::size_t granule = 16;
constexpr std::size_t max_small = 512;
constexpr std::size_t classes = max_small / granule;
constexpr std::uint32_t batch = 64;          // blocks moved between a thread and the depot at once
constexpr std::size_t max_depot_batches = 256;  // per class; beyond, blocks go back to malloc

struct free_block {
  free_block* next;
};

/// Blocks in transit between threads, in batches: a thread that only frees (a receiver) hands
/// full batches to the depot, a thread that only allocates (a sender) takes them back, one lock
/// round trip per `batch` blocks. This is what keeps a producer/consumer pair off malloc.
struct depot {
  std::mutex m;
  std::vector<free_block*> batches[classes];  // each a list of exactly `batch` blocks
};
depot& the_depot() {
  static depot d;  // never destroyed: threads may free into it during static destruction
  return d;
}

void free_list(free_block* b, std::size_t c) noexcept {
  while (b) ::operator delete(std::exchange(b, b->next), (c + 1) * granule);
}

/// Per thread and class, two "magazines" of up to `batch` blocks: `current` serves allocations
/// and takes frees; `spare` is a full one kept back, so that a thread alternating between
/// allocating and freeing around a batch boundary does not go to the depot each time.
struct magazine {
  free_block* head = nullptr;
  std::uint32_t count = 0;
};

struct thread_cache {
  std::array<magazine, classes> current{};
  std::array<magazine, classes> spare{};

  ~thread_cache() {
    for (std::size_t c = 0; c < classes; ++c) {
      free_list(current[c].head, c);
      free_list(spare[c].head, c);
    }
  }
};

thread_local thread_cache cache;

std::size_t class_of(std::size_t n) noexcept { return (n + granule - 1) / granule - 1; }

}  // namespace

void* small_allocate(std::size_t n) {
  if (n == 0 || n > max_small) return ::operator new(n);
  const std::size_t c = class_of(n);
  magazine& cur = cache.current[c];
  if (!cur.head) {
    if (cache.spare[c].head) {
      std::swap(cur, cache.spare[c]);
    } else {
      auto& d = the_depot();
      std::lock_guard lock(d.m);
      if (!d.batches[c].empty()) {
        cur.head = d.batches[c].back();
        cur.count = batch;
        d.batches[c].pop_back();
      }
    }
  }
  if (free_block* b = cur.head) {
    cur.head = b->next;
    --cur.count;
    return b;
  }
  return ::operator new((c + 1) * granule);
}

void small_deallocate(void* p, std::size_t n) noexcept {
  if (!p) return;
  if (n == 0 || n > max_small) {
    ::operator delete(p, n);
    return;
  }
  const std::size_t c = class_of(n);
  magazine& cur = cache.current[c];
  if (cur.count == batch) {
    magazine& sp = cache.spare[c];
    if (sp.head) {  // both full: the spare goes to the depot (or back to malloc)
      bool kept = false;
      {
        auto& d = the_depot();
        std::lock_guard lock(d.m);
        if (d.batches[c].size() < max_depot_batches) {
          try {
            d.batches[c].push_back(sp.head);
            kept = true;
          } catch (...) {
          }
        }
      }
      if (!kept) free_list(sp.head, c);
    }
    sp = cur;
    cur = magazine{};
  }
  auto* b = static_cast<free_block*>(p);
  b->next = cur.head;
  cur.head = b;
  ++cur.count;
}

#else

void* small_allocate(std::size_t n) { return ::operator new(n); }
void small_deallocate(void* p, std::size_t n) noexcept { ::operator delete(p, n); }

#endif

}  // namespace troupe::detail
