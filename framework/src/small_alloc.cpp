#include <troupe/detail/small_alloc.hpp>

#include <array>
#include <cstdint>

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
constexpr std::uint32_t max_cached = 1024;

struct free_block {
  free_block* next;
};

struct thread_cache {
  std::array<free_block*, classes> heads{};
  std::array<std::uint32_t, classes> counts{};

  ~thread_cache() {
    for (std::size_t c = 0; c < classes; ++c) {
      while (free_block* b = heads[c]) {
        heads[c] = b->next;
        ::operator delete(b, (c + 1) * granule);
      }
    }
  }
};

thread_local thread_cache cache;

std::size_t class_of(std::size_t n) noexcept { return (n + granule - 1) / granule - 1; }

}  // namespace

void* small_allocate(std::size_t n) {
  if (n == 0 || n > max_small) return ::operator new(n);
  const std::size_t c = class_of(n);
  if (free_block* b = cache.heads[c]) {
    cache.heads[c] = b->next;
    --cache.counts[c];
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
  if (cache.counts[c] >= max_cached) {
    ::operator delete(p, (c + 1) * granule);
    return;
  }
  auto* b = static_cast<free_block*>(p);
  b->next = cache.heads[c];
  cache.heads[c] = b;
  ++cache.counts[c];
}

#else

void* small_allocate(std::size_t n) { return ::operator new(n); }
void small_deallocate(void* p, std::size_t n) noexcept { ::operator delete(p, n); }

#endif

}  // namespace troupe::detail
