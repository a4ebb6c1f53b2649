#include <troupe/detail/small_alloc.hpp>

#include <array>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define TROUPE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TROUPE_ASAN 1
#endif
#endif

#ifdef TROUPE_ASAN
#include <sanitizer/asan_interface.h>

#include <cstring>
#endif

namespace troupe::detail {

namespace {

constexpr std::size_t granule = 16;
constexpr std::size_t max_small = 512;
constexpr std::size_t classes = max_small / granule;
constexpr std::uint32_t batch = 64;          // blocks moved between a thread and the depot at once
constexpr std::size_t max_depot_batches = 256;  // per class; beyond, blocks go back to malloc

struct free_block {
  free_block* next;
};

// Under AddressSanitizer a cached block is zeroed (so that stale pointers in it cannot hide a
// leaked object from LeakSanitizer) and poisoned (so that a use after free is reported even
// though the memory was not returned to malloc), all but its first 8 bytes: the link to the next
// cached block stays readable, because LeakSanitizer ignores pointers in poisoned memory and
// would take every block behind the first for a leak.
#ifdef TROUPE_ASAN
void on_cache(void* p, std::size_t c) noexcept {
  std::memset(p, 0, (c + 1) * granule);
  ASAN_POISON_MEMORY_REGION(static_cast<char*>(p) + sizeof(free_block), (c + 1) * granule - sizeof(free_block));
}
void on_reuse(void* p, std::size_t c) noexcept { ASAN_UNPOISON_MEMORY_REGION(p, (c + 1) * granule); }
#else
void on_cache(void*, std::size_t) noexcept {}
void on_reuse(void*, std::size_t) noexcept {}
#endif

/// Blocks in transit between threads, in batches: a thread that only frees (a receiver) hands
/// full batches to the depot, a thread that only allocates (a sender) takes them back, one lock
/// round trip per `batch` blocks. This is what keeps a producer/consumer pair off malloc.
struct depot {
  std::mutex m;
  std::vector<free_block*> batches[classes];  // each a list of exactly `batch` blocks
};
depot& the_depot() {
  // Never destroyed: threads may free into it during static destruction, and the blocks it
  // holds stay reachable (not leaks) to the very end.
  static depot* d = new depot;
  return *d;
}

void free_list(free_block* b, std::size_t c) noexcept {
  while (b) {
    free_block* next = b->next;
    on_reuse(b, c);
    ::operator delete(b, (c + 1) * granule);
    b = next;
  }
}

/// Per thread and class, two "magazines" of up to `batch` blocks: `current` serves allocations
/// and takes frees; `spare` is a full one kept back, so that a thread alternating between
/// allocating and freeing around a batch boundary does not go to the depot each time.
struct magazine {
  free_block* head = nullptr;
  std::uint32_t count = 0;
};

// Set (for good) when this thread's cache has been destroyed. A thread's thread_local objects
// are destroyed before static ones (the main thread's too), so a static actor_system frees
// blocks after its thread's cache is gone: from then on they go straight to malloc. A plain
// bool needs no destructor, so it stays readable to the end.
thread_local bool cache_gone = false;

struct thread_cache {
  std::array<magazine, classes> current{};
  std::array<magazine, classes> spare{};

  ~thread_cache() {
    cache_gone = true;
    for (std::size_t c = 0; c < classes; ++c) {
      free_list(std::exchange(current[c].head, nullptr), c);
      free_list(std::exchange(spare[c].head, nullptr), c);
      current[c].count = spare[c].count = 0;
    }
  }
};

thread_local thread_cache cache;

std::size_t class_of(std::size_t n) noexcept { return (n + granule - 1) / granule - 1; }

}  // namespace

void* small_allocate(std::size_t n) {
  if (n == 0 || n > max_small) return ::operator new(n);
  const std::size_t c = class_of(n);
  // Always the class's size, cache or not: a block may be freed on a thread whose cache is in
  // another state than the allocating thread's, and sized delete must see the size of the new.
  if (cache_gone) return ::operator new((c + 1) * granule);
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
    on_reuse(b, c);
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
  if (cache_gone) {
    ::operator delete(p, (c + 1) * granule);
    return;
  }
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
  on_cache(p, c);
  auto* b = static_cast<free_block*>(p);
  b->next = cur.head;
  cur.head = b;
  ++cur.count;
}

}  // namespace troupe::detail
