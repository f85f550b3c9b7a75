// Tables of the jostle plugin ABI (jostle/plugin.h) for C++ lock types, shared by the real-library plugins.
//
// A library's type is wrapped, where its spelling differs, in a small adapter with the standard names (lock,
// try_lock, unlock, lock_shared, ...); these templates turn any such type into an ABI table. The harness owns the
// storage (sizeof/alignof the adapter) and calls init/destroy around its life: init is placement new, destroy the
// destructor. Nothing here may throw across the C boundary: the functions are noexcept, so a library exception
// ends the process (a crash the runner reports) instead of unwinding into the harness.
#pragma once

#include <chrono>
#include <cstdint>
#include <new>

#include "jostle/plugin.h"

namespace jostle_libs {

template <class T>
T& as(void* p) noexcept {
  return *static_cast<T*>(p);
}
template <class T>
void construct(void* p) noexcept {
  ::new (p) T();
}
template <class T>
void destruct(void* p) noexcept {
  as<T>(p).~T();
}

inline std::chrono::nanoseconds ns(int64_t t) { return std::chrono::nanoseconds(t); }

// M: lock(), try_lock() -> bool, unlock().
template <class M>
constexpr jostle_mutex_ops mutex_table() {
  return {sizeof(M),
          alignof(M),
          construct<M>,
          destruct<M>,
          [](void* m) noexcept { as<M>(m).lock(); },
          [](void* m) noexcept -> int { return as<M>(m).try_lock() ? 1 : 0; },
          [](void* m) noexcept { as<M>(m).unlock(); }};
}

// R: the mutex operations plus lock_shared(), try_lock_shared() -> bool, unlock_shared(); with kTimed, also
// try_lock_for(nanoseconds) and try_lock_shared_for(nanoseconds) -> bool.
template <class R, bool kTimed = false>
constexpr jostle_rwlock_ops rwlock_table() {
  jostle_rwlock_ops t = {sizeof(R),
                         alignof(R),
                         construct<R>,
                         destruct<R>,
                         [](void* r) noexcept { as<R>(r).lock(); },
                         [](void* r) noexcept -> int { return as<R>(r).try_lock() ? 1 : 0; },
                         [](void* r) noexcept { as<R>(r).unlock(); },
                         [](void* r) noexcept { as<R>(r).lock_shared(); },
                         [](void* r) noexcept -> int { return as<R>(r).try_lock_shared() ? 1 : 0; },
                         [](void* r) noexcept { as<R>(r).unlock_shared(); },
                         nullptr,
                         nullptr};
  if constexpr (kTimed) {
    t.timed_lock = [](void* r, int64_t timeout) noexcept -> int {
      return as<R>(r).try_lock_for(ns(timeout)) ? JOSTLE_OK : JOSTLE_TIMEDOUT;
    };
    t.timed_lock_shared = [](void* r, int64_t timeout) noexcept -> int {
      return as<R>(r).try_lock_shared_for(ns(timeout)) ? JOSTLE_OK : JOSTLE_TIMEDOUT;
    };
  }
  return t;
}

// C: wait(M&), wait_for(M&, nanoseconds) -> bool (true: woken, false: timed out), notify_one(), notify_all(),
// where M is the plugin's mutex type (the harness passes an object made from the mutex table).
template <class C, class M>
constexpr jostle_condvar_ops condvar_table(const char* profile) {
  return {sizeof(C),
          alignof(C),
          construct<C>,
          destruct<C>,
          [](void* c, void* m) noexcept { as<C>(c).wait(as<M>(m)); },
          [](void* c, void* m, int64_t timeout) noexcept -> int {
            return as<C>(c).wait_for(as<M>(m), ns(timeout)) ? JOSTLE_OK : JOSTLE_TIMEDOUT;
          },
          [](void* c) noexcept { as<C>(c).notify_one(); },
          [](void* c) noexcept { as<C>(c).notify_all(); },
          profile};
}

constexpr jostle_plugin plugin_table(const char* name, const char* description, const jostle_mutex_ops* mutex,
                                     const jostle_rwlock_ops* rwlock, const jostle_condvar_ops* condvar = nullptr) {
  return {JOSTLE_PLUGIN_ABI_VERSION, sizeof(jostle_plugin), name, description, nullptr, mutex, rwlock, condvar,
          nullptr};
}

}  // namespace jostle_libs

#define JOSTLE_LIBS_EXPORT_ENTRY(table) \
  extern "C" __attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &(table); }
