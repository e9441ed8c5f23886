// A caching host allocator for libtorch's CPU tensors. Every training step allocates and frees
// the same large activations; glibc serves blocks over its mmap threshold with fresh mmap()s,
// and even heap blocks come back as fresh pages once the heap top is trimmed, so each step paid
// a page fault per 4 KiB of every big tensor (an add of two 9 MB tensors measured 37 ms instead
// of 0.3 ms). Freed blocks of 64 KiB and more are kept by their (4 KiB rounded) size and handed
// out again; smaller ones go straight back to malloc, which serves them from its bins without
// faults. The cache holds at most UNPAIRED_CPU_CACHE_MB (default a quarter of physical memory,
// at most 8 GiB); past that the largest idle blocks are freed. UNPAIRED_CPU_CACHE_MB=0 leaves
// libtorch's own allocator in place.
#include "registry.h"

#include <c10/core/CPUAllocator.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <unistd.h>
#include <unordered_map>

namespace ut {
namespace {

constexpr size_t kMinCached = size_t(1) << 16;
constexpr size_t kAlignment = 64;  // as c10's own CPU allocator

struct Cache {
  std::mutex mu;
  std::unordered_map<void*, size_t> live;  // cached-class blocks in use, by their rounded size
  std::multimap<size_t, void*> idle;
  size_t idleBytes = 0;
  size_t limit = 0;
  uint64_t hits = 0, misses = 0;
};

// Never destroyed: tensors may be freed during process exit, after static destructors ran.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

void* alignedAlloc(size_t n) {
  void* p = nullptr;
  if (posix_memalign(&p, kAlignment, n == 0 ? kAlignment : n) != 0) return nullptr;
  return p;
}

// Frees idle blocks, largest first, until `need` more bytes fit under the limit. Caller holds mu.
void evictFor(Cache& c, size_t need) {
  while (!c.idle.empty() && c.idleBytes + need > c.limit) {
    auto it = std::prev(c.idle.end());
    c.idleBytes -= it->first;
    std::free(it->second);
    c.idle.erase(it);
  }
}

// Frees every idle block. Caller holds mu.
void freeIdle(Cache& c) {
  for (auto& [n, p] : c.idle) std::free(p);
  c.idle.clear();
  c.idleBytes = 0;
}

void release(void* p) {
  if (!p) return;
  Cache& c = cache();
  std::unique_lock<std::mutex> lock(c.mu);
  auto it = c.live.find(p);
  if (it == c.live.end()) {
    lock.unlock();
    std::free(p);
    return;
  }
  size_t n = it->second;
  c.live.erase(it);
  if (n > c.limit) {
    lock.unlock();
    std::free(p);
    return;
  }
  evictFor(c, n);
  c.idle.emplace(n, p);
  c.idleBytes += n;
}

struct CachingAllocator final : public c10::Allocator {
  c10::DataPtr allocate(size_t n) const override {
    Cache& c = cache();
    void* p = nullptr;
    if (n >= kMinCached) {
      size_t r = (n + 4095) & ~size_t(4095);
      {
        std::lock_guard<std::mutex> lock(c.mu);
        auto it = c.idle.find(r);
        if (it != c.idle.end()) {
          p = it->second;
          c.idle.erase(it);
          c.idleBytes -= r;
          c.live.emplace(p, r);
          c.hits++;
        } else {
          c.misses++;
        }
      }
      if (!p) {
        p = alignedAlloc(r);
        if (!p) {  // memory is short: give the idle blocks back and try once more
          {
            std::lock_guard<std::mutex> lock(c.mu);
            freeIdle(c);
          }
          p = alignedAlloc(r);
        }
        if (p) {
          std::lock_guard<std::mutex> lock(c.mu);
          c.live.emplace(p, r);
        }
      }
    } else {
      p = alignedAlloc(n);
    }
    TORCH_CHECK(p != nullptr, "can't allocate memory: you tried to allocate ", n, " bytes");
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
};

size_t defaultLimit() {
  const char* env = std::getenv("UNPAIRED_CPU_CACHE_MB");
  if (env && *env) {
    char* end = nullptr;
    long long mb = std::strtoll(env, &end, 10);
    if (end && *end == '\0' && mb >= 0) return static_cast<size_t>(mb) << 20;
    // A malformed value is reported by the JavaScript side (lib/engine/torch/native.ts); here
    // it falls back to the default.
  }
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  size_t quarter = pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) / 4 : size_t(1) << 30;
  return std::min(quarter, size_t(8) << 30);
}

// cacheStats() -> { enabled, idleBytes, limitBytes, hits, misses }
Napi::Value CacheStats(const Napi::CallbackInfo& info) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
  o.Set("enabled", Napi::Boolean::New(env, c.limit > 0));
  o.Set("idleBytes", Napi::Number::New(env, static_cast<double>(c.idleBytes)));
  o.Set("limitBytes", Napi::Number::New(env, static_cast<double>(c.limit)));
  o.Set("hits", Napi::Number::New(env, static_cast<double>(c.hits)));
  o.Set("misses", Napi::Number::New(env, static_cast<double>(c.misses)));
  return o;
}

}  // namespace

void registerAllocator(Napi::Env env, Napi::Object exports) {
  size_t limit = defaultLimit();
  if (limit > 0) {
    cache().limit = limit;
    static CachingAllocator* allocator = new CachingAllocator();
    // Above the priority of libtorch's default CPU allocator (0), so ours is the one used.
    c10::SetCPUAllocator(allocator, /*priority=*/10);
  }
  exports.Set("cacheStats", Napi::Function::New(env, CacheStats));
}

}  // namespace ut
