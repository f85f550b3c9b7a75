// Backends that forward to a loaded plugin (jostle/plugin.h), one set per slot. Until a plugin fills the slot
// they carry a placeholder name and are unavailable; plugin/loader.h renames the registered entries on load.
#pragma once

#include <cstdint>
#include <new>
#include <string_view>

#include "jostle/chaos.h"
#include "jostle/clock.h"
#include "jostle/contracts/condvar.h"
#include "jostle/contracts/futex.h"
#include "jostle/contracts/mutex.h"
#include "jostle/contracts/rwlock.h"
#include "jostle/plugin.h"
#include "plugin/loader.h"

namespace jostle {

namespace plugin_detail {

// Harness-owned storage for one opaque plugin object of the declared size and alignment.
class Storage {
 public:
  Storage(std::size_t size, std::size_t align)
      : align_(align), p_(::operator new(size, std::align_val_t(align))) {}
  ~Storage() { ::operator delete(p_, std::align_val_t(align_)); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* get() const { return p_; }

 private:
  std::size_t align_;
  void* p_;
};

constexpr std::string_view placeholder(int slot, std::string_view prim) {
  // Two slots (plugin::kSlots); the loader matches "__plugin<slot>_<primitive>__".
  if (prim == "futex") return slot == 0 ? "__plugin0_futex__" : "__plugin1_futex__";
  if (prim == "mutex") return slot == 0 ? "__plugin0_mutex__" : "__plugin1_mutex__";
  if (prim == "rwlock") return slot == 0 ? "__plugin0_rwlock__" : "__plugin1_rwlock__";
  if (prim == "condvar") return slot == 0 ? "__plugin0_condvar__" : "__plugin1_condvar__";
  return slot == 0 ? "__plugin0_semaphore__" : "__plugin1_semaphore__";
}

inline Nanos non_negative(Nanos t) { return t < 0 ? 0 : t; }

// Chaos at the ABI boundary: a scheduling point before and after every call into a plugin, under the same
// random/PCT machinery as jostle's own points; a call that may block inside the plugin is also bracketed by the
// blocking hooks, so that PCT runs another thread meanwhile instead of stealing the token after poll_us.
template <bool Blocking, class F>
decltype(auto) boundary(const char* before, const char* name, const char* after, F&& call) {
  struct After {
    const char* name;
    const char* after;
    ~After() {
      if constexpr (Blocking) chaos::blocking_end(name);
      chaos::point(after);
    }
  };
  chaos::point(before);
  if constexpr (Blocking) chaos::blocking_begin(name);
  After done{name, after};
  return call();
}

}  // namespace plugin_detail

// JOSTLE_PLUGIN_CALL("mutex.lock", true, ops().lock(p)): the call with its boundary points
// ("plugin.mutex.lock.before" / ".after").
#define JOSTLE_PLUGIN_CALL(site, blocking, ...)                                                      \
  ::jostle::plugin_detail::boundary<blocking>("plugin." site ".before", "plugin." site,               \
                                              "plugin." site ".after", [&]() -> decltype(auto) { return __VA_ARGS__; })

namespace plugin_detail {

}  // namespace plugin_detail

static_assert(plugin::kSlots == 2, "plugin_detail::placeholder knows two slots");

template <int S>
struct PluginFutex {
  static constexpr std::string_view kPrimitive = "futex";
  static constexpr std::string_view kName = plugin_detail::placeholder(S, "futex");
  static constexpr std::string_view kDescription = "a plugin's futex wait/wake";
  static constexpr bool kCountsWakes = false;
  static bool available() { return false; }  // the loader makes registered entries available

  static const jostle_futex_ops& ops() { return *plugin::table(S).futex; }
  static std::uint32_t* addr(FutexWord& w) { return reinterpret_cast<std::uint32_t*>(&w); }

  static void wait(FutexWord& w, std::uint32_t expected) {
    JOSTLE_PLUGIN_CALL("futex.wait", true, ops().wait(addr(w), expected, -1));
  }
  static FutexStatus timed_wait(FutexWord& w, std::uint32_t expected, Nanos timeout) {
    const int rc = JOSTLE_PLUGIN_CALL("futex.timed_wait", true,
                                      ops().wait(addr(w), expected, plugin_detail::non_negative(timeout)));
    return rc == JOSTLE_TIMEDOUT ? FutexStatus::timed_out
           : rc == JOSTLE_AGAIN  ? FutexStatus::value_changed
                                 : FutexStatus::woken;
  }
  static int wake(FutexWord& w, int n) { return JOSTLE_PLUGIN_CALL("futex.wake", false, ops().wake(addr(w), n)); }
};

template <int S>
class PluginMutex {
 public:
  static constexpr std::string_view kPrimitive = "mutex";
  static constexpr std::string_view kName = plugin_detail::placeholder(S, "mutex");
  static constexpr std::string_view kDescription = "a plugin's mutex";
  static bool available() { return false; }

  PluginMutex() : obj_(ops().size, ops().align) { ops().init(obj_.get()); }
  ~PluginMutex() { ops().destroy(obj_.get()); }
  void lock() {
    JOSTLE_PLUGIN_CALL("mutex.lock", true, ops().lock(obj_.get()));
  }
  bool try_lock() {
    return JOSTLE_PLUGIN_CALL("mutex.try_lock", false, ops().try_lock(obj_.get())) != 0;
  }
  void unlock() {
    JOSTLE_PLUGIN_CALL("mutex.unlock", false, ops().unlock(obj_.get()));
  }
  void* handle() { return obj_.get(); }

 private:
  static const jostle_mutex_ops& ops() { return *plugin::table(S).mutex; }
  plugin_detail::Storage obj_;
};

template <int S>
class PluginRwLock {
 public:
  static constexpr std::string_view kPrimitive = "rwlock";
  static constexpr std::string_view kName = plugin_detail::placeholder(S, "rwlock");
  static constexpr std::string_view kDescription = "a plugin's reader-writer lock";
  static bool available() { return false; }
  // Timed operations are optional in the ABI; cases that need them ask first.
  static bool supports_timed() { return ops().timed_lock != nullptr; }

  PluginRwLock() : obj_(ops().size, ops().align) { ops().init(obj_.get()); }
  ~PluginRwLock() { ops().destroy(obj_.get()); }
  void lock() {
    JOSTLE_PLUGIN_CALL("rwlock.lock", true, ops().lock(obj_.get()));
  }
  bool try_lock() {
    return JOSTLE_PLUGIN_CALL("rwlock.try_lock", false, ops().try_lock(obj_.get())) != 0;
  }
  void unlock() {
    JOSTLE_PLUGIN_CALL("rwlock.unlock", false, ops().unlock(obj_.get()));
  }
  void lock_shared() {
    JOSTLE_PLUGIN_CALL("rwlock.lock_shared", true, ops().lock_shared(obj_.get()));
  }
  bool try_lock_shared() {
    return JOSTLE_PLUGIN_CALL("rwlock.try_lock_shared", false, ops().try_lock_shared(obj_.get())) != 0;
  }
  void unlock_shared() {
    JOSTLE_PLUGIN_CALL("rwlock.unlock_shared", false, ops().unlock_shared(obj_.get()));
  }
  bool try_lock_for(Nanos t) {
    return JOSTLE_PLUGIN_CALL("rwlock.try_lock_for", true,
                              ops().timed_lock(obj_.get(), plugin_detail::non_negative(t))) == JOSTLE_OK;
  }
  bool try_lock_shared_for(Nanos t) {
    return JOSTLE_PLUGIN_CALL("rwlock.try_lock_shared_for", true,
                              ops().timed_lock_shared(obj_.get(), plugin_detail::non_negative(t))) == JOSTLE_OK;
  }

 private:
  static const jostle_rwlock_ops& ops() { return *plugin::table(S).rwlock; }
  plugin_detail::Storage obj_;
};

template <int S>
class PluginCondvar {
 public:
  static constexpr std::string_view kPrimitive = "condvar";
  static constexpr std::string_view kName = plugin_detail::placeholder(S, "condvar");
  static constexpr std::string_view kDescription = "a plugin's condition variable with its own mutex";
  // Registered as strict so strict-only cases keep an entry; the loader sets the profile the plugin declares
  // and leaves strict-only entries unavailable for a posix plugin.
  static constexpr std::string_view kProfile = "strict";
  static bool available() { return false; }
  using Mutex = PluginMutex<S>;

  PluginCondvar() : obj_(ops().size, ops().align) { ops().init(obj_.get()); }
  ~PluginCondvar() { ops().destroy(obj_.get()); }
  void wait(Mutex& m) {
    JOSTLE_PLUGIN_CALL("condvar.wait", true, ops().wait(obj_.get(), m.handle()));
  }
  bool wait_for(Mutex& m, Nanos t) {
    return JOSTLE_PLUGIN_CALL("condvar.wait_for", true,
                              ops().timed_wait(obj_.get(), m.handle(), plugin_detail::non_negative(t))) == JOSTLE_OK;
  }
  void notify_one() {
    JOSTLE_PLUGIN_CALL("condvar.notify_one", false, ops().signal(obj_.get()));
  }
  void notify_all() {
    JOSTLE_PLUGIN_CALL("condvar.notify_all", false, ops().broadcast(obj_.get()));
  }

 private:
  static const jostle_condvar_ops& ops() { return *plugin::table(S).condvar; }
  plugin_detail::Storage obj_;
};

// A counting semaphore from a plugin: acquire/try_acquire/try_acquire_for/release, constructed with its
// initial permit count. (For a semaphore suite; see docs/writing-a-plugin.md.)
template <int S>
class PluginSemaphore {
 public:
  static constexpr std::string_view kPrimitive = "semaphore";
  static constexpr std::string_view kName = plugin_detail::placeholder(S, "semaphore");
  static constexpr std::string_view kDescription = "a plugin's counting semaphore";
  static bool available() { return false; }

  explicit PluginSemaphore(std::uint32_t initial = 0) : obj_(ops().size, ops().align) {
    ops().init(obj_.get(), initial);
  }
  ~PluginSemaphore() { ops().destroy(obj_.get()); }
  void acquire() {
    JOSTLE_PLUGIN_CALL("semaphore.acquire", true, ops().acquire(obj_.get()));
  }
  bool try_acquire() {
    return JOSTLE_PLUGIN_CALL("semaphore.try_acquire", false, ops().try_acquire(obj_.get())) != 0;
  }
  bool try_acquire_for(Nanos t) {
    return JOSTLE_PLUGIN_CALL("semaphore.try_acquire_for", true,
                              ops().timed_acquire(obj_.get(), plugin_detail::non_negative(t))) == JOSTLE_OK;
  }
  void release() {
    JOSTLE_PLUGIN_CALL("semaphore.release", false, ops().release(obj_.get()));
  }

 private:
  static const jostle_semaphore_ops& ops() { return *plugin::table(S).semaphore; }
  plugin_detail::Storage obj_;
};

static_assert(TimedFutexBackend<PluginFutex<0>>);
static_assert(MutexBackend<PluginMutex<0>>);
static_assert(TimedRwLockBackend<PluginRwLock<0>>);
static_assert(CondvarBackend<PluginCondvar<0>>);

}  // namespace jostle
