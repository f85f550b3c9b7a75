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

// M: lock(), try_lock() -> bool, unlock(); with kTimed, also try_lock_for(nanoseconds) -> bool (the table's
// optional timed_lock).
template <class M, bool kTimed = false>
constexpr jostle_mutex_ops mutex_table() {
  jostle_mutex_ops t{};  // value-initialized: the ABI's later (optional) fields stay null
  t.size = sizeof(M);
  t.align = alignof(M);
  t.init = construct<M>;
  t.destroy = destruct<M>;
  t.lock = [](void* m) noexcept { as<M>(m).lock(); };
  t.try_lock = [](void* m) noexcept -> int { return as<M>(m).try_lock() ? 1 : 0; };
  t.unlock = [](void* m) noexcept { as<M>(m).unlock(); };
  if constexpr (kTimed) {
    t.timed_lock = [](void* m, int64_t timeout) noexcept -> int {
      return as<M>(m).try_lock_for(ns(timeout)) ? JOSTLE_OK : JOSTLE_TIMEDOUT;
    };
  }
  return t;
}

// R: the mutex operations plus lock_shared(), try_lock_shared() -> bool, unlock_shared(); with kTimed, also
// try_lock_for(nanoseconds) and try_lock_shared_for(nanoseconds) -> bool.
template <class R, bool kTimed = false>
constexpr jostle_rwlock_ops rwlock_table() {
  jostle_rwlock_ops t{};
  t.size = sizeof(R);
  t.align = alignof(R);
  t.init = construct<R>;
  t.destroy = destruct<R>;
  t.lock = [](void* r) noexcept { as<R>(r).lock(); };
  t.try_lock = [](void* r) noexcept -> int { return as<R>(r).try_lock() ? 1 : 0; };
  t.unlock = [](void* r) noexcept { as<R>(r).unlock(); };
  t.lock_shared = [](void* r) noexcept { as<R>(r).lock_shared(); };
  t.try_lock_shared = [](void* r) noexcept -> int { return as<R>(r).try_lock_shared() ? 1 : 0; };
  t.unlock_shared = [](void* r) noexcept { as<R>(r).unlock_shared(); };
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
  jostle_condvar_ops t{};
  t.size = sizeof(C);
  t.align = alignof(C);
  t.init = construct<C>;
  t.destroy = destruct<C>;
  t.wait = [](void* c, void* m) noexcept { as<C>(c).wait(as<M>(m)); };
  t.timed_wait = [](void* c, void* m, int64_t timeout) noexcept -> int {
    return as<C>(c).wait_for(as<M>(m), ns(timeout)) ? JOSTLE_OK : JOSTLE_TIMEDOUT;
  };
  t.signal = [](void* c) noexcept { as<C>(c).notify_one(); };
  t.broadcast = [](void* c) noexcept { as<C>(c).notify_all(); };
  t.profile = profile;
  return t;
}

constexpr jostle_plugin plugin_table(const char* name, const char* description, const jostle_mutex_ops* mutex,
                                     const jostle_rwlock_ops* rwlock, const jostle_condvar_ops* condvar = nullptr) {
  jostle_plugin t{};
  t.abi_version = JOSTLE_PLUGIN_ABI_VERSION;
  t.struct_size = sizeof(jostle_plugin);
  t.name = name;
  t.description = description;
  t.mutex = mutex;
  t.rwlock = rwlock;
  t.condvar = condvar;
  return t;
}

}  // namespace jostle_libs

#define JOSTLE_LIBS_EXPORT_ENTRY(table) \
  extern "C" __attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &(table); }
