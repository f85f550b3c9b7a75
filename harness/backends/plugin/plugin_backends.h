// Backends that forward to a loaded plugin (jostle/plugin.h), one set per slot and capability variant. Until a
// plugin fills the slot they carry an unfilled-slot name ("__plugin0_mutex_timed__") and are unavailable; the
// loader (harness/src/plugin_loader.cc) renames the registered entries of the variants the table offers.
// Each operation is one indirect call through the slot's copy of the table. Long because: one adapter per ABI table.
#pragma once

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string_view>
#include <utility>
#include <vector>

#include "jostle/chaos.h"
#include "jostle/clock.h"
#include "jostle/contracts/async.h"
#include "jostle/contracts/atomics.h"
#include "jostle/contracts/channel.h"
#include "jostle/contracts/condvar.h"
#include "jostle/contracts/event.h"
#include "jostle/contracts/executor.h"
#include "jostle/contracts/futex.h"
#include "jostle/contracts/mutex.h"
#include "jostle/contracts/rwlock.h"
#include "jostle/contracts/safepoint.h"
#include "jostle/contracts/semaphore.h"
#include "jostle/contracts/thread.h"
#include "jostle/contracts/waiter_list.h"
#include "jostle/contracts/waitgroup.h"
#include "jostle/plugin.h"
#include "jostle/plugin_host.h"

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

// "__plugin<slot>_<variant>__" as a compile-time string (the loader matches it).
template <std::size_t N>
struct Lit {
  char s[N]{};
  constexpr Lit(const char (&a)[N]) {  // NOLINT: implicit on purpose (template argument)
    for (std::size_t i = 0; i < N; ++i) s[i] = a[i];
  }
};

template <int S, Lit V>
struct UnfilledSlotName {
  static_assert(S >= 0 && S < 100, "one- or two-digit slot numbers");
  static constexpr std::size_t kDigits = S < 10 ? 1 : 2;
  static constexpr std::size_t kLen = 8 + kDigits + 1 + (sizeof(V.s) - 1) + 2;
  static constexpr std::array<char, kLen + 1> make() {
    std::array<char, kLen + 1> a{};
    std::size_t n = 0;
    for (char c : std::string_view("__plugin")) a[n++] = c;
    if (S >= 10) a[n++] = static_cast<char>('0' + S / 10);
    a[n++] = static_cast<char>('0' + S % 10);
    a[n++] = '_';
    for (std::size_t i = 0; i + 1 < sizeof(V.s); ++i) a[n++] = V.s[i];
    a[n++] = '_';
    a[n++] = '_';
    return a;
  }
  static constexpr std::array<char, kLen + 1> kChars = make();
  static constexpr std::string_view value{kChars.data(), kLen};
};

template <int S, Lit V>
inline constexpr std::string_view unfilled_slot_name = UnfilledSlotName<S, V>::value;

inline Nanos non_negative(Nanos t) { return t < 0 ? 0 : t; }

inline const plugin::Slot& slot(int s) { return plugin::g_slots[s]; }

// A plugin returned a code its function may not return: the contract is broken, say so and stop.
[[noreturn]] inline void bad_code(const char* fn, int rc) {
  std::fprintf(stderr, "jostle: plugin function %s returned %d, which its contract does not allow (jostle/plugin.h)\n",
               fn, rc);
  std::fflush(stderr);
  std::abort();
}

// Steered preempt never aims at a timed wait or a sleep: an interrupt there cuts the wait short (EINTR), and a
// plugin that then re-waits for the full timeout, or returns early, turns a correct run into a false failure.
constexpr bool steerable(std::string_view site) {
  for (std::string_view timed : {"timed", "_for", "sleep", "timeout"})
    if (site.find(timed) != std::string_view::npos) return false;
  return true;
}

// One running estimate of the call's duration per call site (chaos::steer_enter).
template <Lit Site>
struct SteerSiteOf {
  static constinit inline chaos::SteerSite state{};
};

// Chaos at the ABI boundary: a scheduling point before and after every call into a plugin, under the same
// random/PCT machinery as jostle's own points; a call that may block inside the plugin is also bracketed by the
// blocking hooks, so that PCT runs another thread meanwhile instead of stealing the token after poll_us. Steered
// preempt (steer=P) tracks the call itself, innermost (chaos::steer_enter/steer_exit).
template <bool Blocking, bool Steer, class F>
decltype(auto) boundary(const char* before, const char* name, const char* after, chaos::SteerSite& site,
                        F&& call) {
  struct After {
    const char* name;
    const char* after;
    chaos::SteerSite& site;
    std::int64_t steer;
    ~After() {
      if constexpr (Steer) chaos::steer_exit(site, steer);
      if constexpr (Blocking) chaos::blocking_end(name);
      chaos::point(after);
    }
  };
  // Nothing configured (the everyday case): one load and a branch (two for a steerable call), not six.
  if (__builtin_expect(!chaos::g_enabled.load(std::memory_order_relaxed) &&
                           !(Steer && chaos::g_steer.load(std::memory_order_relaxed)),
                       true))
    return call();
  chaos::point(before);
  if constexpr (Blocking) chaos::blocking_begin(name);
  std::int64_t steer = 0;
  if constexpr (Steer) steer = chaos::steer_enter(site);
  After done{name, after, site, steer};
  if constexpr (Steer) chaos::step_go(steer);  // aim=step: the trap flag, as late as it can be set
  return call();
}

}  // namespace plugin_detail

// JOSTLE_PLUGIN_CALL("mutex.lock", true, ops().lock(p)): the call with its boundary points
// ("plugin.mutex.lock.before" / ".after") and its steering site.
#define JOSTLE_PLUGIN_CALL(site, blocking, ...)                                                              \
  ::jostle::plugin_detail::boundary<blocking, ::jostle::plugin_detail::steerable(site)>(                      \
      "plugin." site ".before", "plugin." site, "plugin." site ".after",                                      \
      ::jostle::plugin_detail::SteerSiteOf<site>::state, [&]() -> decltype(auto) { return __VA_ARGS__; })

namespace plugin_detail {

}  // namespace plugin_detail

// ---- futex ----

template <int S>
struct PluginFutex {
  static constexpr std::string_view kPrimitive = "futex";
  static constexpr std::string_view kName = plugin_detail::unfilled_slot_name<S, "futex">;
  static constexpr std::string_view kDescription = "a plugin's futex wait/wake";
  static constexpr bool kCountsWakes = false;
  static bool available() { return false; }  // the loader makes registered entries available

  static const jostle_futex_ops& ops() { return plugin_detail::slot(S).futex; }
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

// ---- mutex: plain, timed, and the plain-only form a condvar uses ----

namespace plugin_detail {

// Per-acquisition nodes for queue locks (jostle_mutex_ops.node_size): each thread keeps the nodes of the locks
// it holds and a free list, so an acquisition costs no allocation once warm.
template <int S>
struct NodeCache {
  struct Held {
    const void* m;
    void* node;
  };
  std::vector<Held> held;
  std::vector<void*> spare;
  ~NodeCache() {
    const auto& ops = slot(S).mutex;
    for (void* n : spare) ::operator delete(n, std::align_val_t(ops.node_align));
  }
  static NodeCache& mine() {
    thread_local NodeCache c;
    return c;
  }
  void* take(const void* m) {
    const auto& ops = slot(S).mutex;
    void* n;
    if (spare.empty()) {
      n = ::operator new(ops.node_size, std::align_val_t(ops.node_align));
    } else {
      n = spare.back();
      spare.pop_back();
    }
    held.push_back({m, n});
    return n;
  }
  // The node of the last acquisition of m by this thread, removed from the held list.
  void* give_back(const void* m) {
    for (std::size_t i = held.size(); i-- > 0;) {
      if (held[i].m == m) {
        void* n = held[i].node;
        held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
        spare.push_back(n);
        return n;
      }
    }
    std::fprintf(stderr, "jostle: a plugin mutex with nodes was unlocked by a thread that does not hold it\n");
    std::abort();
  }
  void drop_failed(const void* m) { (void)give_back(m); }
};

enum class MutexMode { plain, timed, plain_ops_only };

}  // namespace plugin_detail

template <int S, plugin_detail::MutexMode Mode>
class PluginMutexT {
  using Cache = plugin_detail::NodeCache<S>;

 public:
  static constexpr std::string_view kPrimitive = "mutex";
  static constexpr std::string_view kName = Mode == plugin_detail::MutexMode::timed
                                                ? plugin_detail::unfilled_slot_name<S, "mutex_timed">
                                                : plugin_detail::unfilled_slot_name<S, "mutex">;
  static constexpr std::string_view kDescription = "a plugin's mutex";
  static bool available() { return false; }

  PluginMutexT() : obj_(ops().size, ops().align) { ops().init(obj_.get()); }
  ~PluginMutexT() { ops().destroy(obj_.get()); }
  PluginMutexT(const PluginMutexT&) = delete;
  PluginMutexT& operator=(const PluginMutexT&) = delete;

  void lock() {
    if (uses_nodes()) {
      JOSTLE_PLUGIN_CALL("mutex.lock_node", true, ops().lock_node(obj_.get(), Cache::mine().take(this)));
    } else {
      JOSTLE_PLUGIN_CALL("mutex.lock", true, ops().lock(obj_.get()));
    }
  }
  bool try_lock() {
    if (uses_nodes()) {
      Cache& c = Cache::mine();
      if (JOSTLE_PLUGIN_CALL("mutex.try_lock_node", false,
                             ops().try_lock_node(obj_.get(), c.take(this))) != 0) return true;
      c.drop_failed(this);
      return false;
    }
    return JOSTLE_PLUGIN_CALL("mutex.try_lock", false, ops().try_lock(obj_.get())) != 0;
  }
  void unlock() {
    if (uses_nodes()) {
      JOSTLE_PLUGIN_CALL("mutex.unlock_node", false, ops().unlock_node(obj_.get(), Cache::mine().give_back(this)));
    } else {
      JOSTLE_PLUGIN_CALL("mutex.unlock", false, ops().unlock(obj_.get()));
    }
  }
  bool try_lock_for(Nanos t)
    requires(Mode == plugin_detail::MutexMode::timed)
  {
    const Nanos d = plugin_detail::non_negative(t);
    int rc;
    if (uses_nodes()) {
      Cache& c = Cache::mine();
      rc = JOSTLE_PLUGIN_CALL("mutex.timed_lock_node", true, ops().timed_lock_node(obj_.get(), c.take(this), d));
      if (rc != JOSTLE_OK) c.drop_failed(this);
    } else {
      rc = JOSTLE_PLUGIN_CALL("mutex.timed_lock", true, ops().timed_lock(obj_.get(), d));
    }
    if (rc != JOSTLE_OK && rc != JOSTLE_TIMEDOUT) plugin_detail::bad_code("mutex.timed_lock", rc);
    return rc == JOSTLE_OK;
  }
  void* handle() { return obj_.get(); }

 private:
  static const jostle_mutex_ops& ops() { return plugin_detail::slot(S).mutex; }
  static bool uses_nodes() { return Mode != plugin_detail::MutexMode::plain_ops_only && ops().node_size != 0; }
  plugin_detail::Storage obj_;
};

template <int S>
using PluginMutex = PluginMutexT<S, plugin_detail::MutexMode::plain>;
template <int S>
using PluginTimedMutex = PluginMutexT<S, plugin_detail::MutexMode::timed>;

// ---- owner-checked mutex: recursive or error-checking ----

template <int S, bool Recursive>
class PluginOwnedMutexT {
 public:
  static constexpr std::string_view kPrimitive = "mutex";
  static constexpr std::string_view kName = Recursive ? plugin_detail::unfilled_slot_name<S, "owned_mutex_recursive">
                                                      : plugin_detail::unfilled_slot_name<S, "owned_mutex_errorcheck">;
  static constexpr std::string_view kDescription =
      Recursive ? "a plugin's recursive mutex" : "a plugin's error-checking mutex";
  static constexpr bool kRecursive = Recursive;
  static bool available() { return false; }

  PluginOwnedMutexT() : obj_(ops().size, ops().align) { ops().init(obj_.get()); }
  ~PluginOwnedMutexT() { ops().destroy(obj_.get()); }
  PluginOwnedMutexT(const PluginOwnedMutexT&) = delete;
  PluginOwnedMutexT& operator=(const PluginOwnedMutexT&) = delete;

  void lock() { (void)checked_lock(); }
  bool try_lock() {
    const int rc = JOSTLE_PLUGIN_CALL("owned_mutex.try_lock", false, ops().try_lock(obj_.get()));
    if (rc != JOSTLE_OK && rc != JOSTLE_BUSY && rc != JOSTLE_DEADLOCK) plugin_detail::bad_code("owned_mutex.try_lock", rc);
    return rc == JOSTLE_OK;
  }
  void unlock() { (void)checked_unlock(); }
  LockResult checked_lock() {
    const int rc = JOSTLE_PLUGIN_CALL("owned_mutex.lock", true, ops().lock(obj_.get()));
    if (rc == JOSTLE_OK) return LockResult::ok;
    if (rc == JOSTLE_DEADLOCK) return LockResult::deadlock;
    plugin_detail::bad_code("owned_mutex.lock", rc);
  }
  LockResult checked_unlock() {
    const int rc = JOSTLE_PLUGIN_CALL("owned_mutex.unlock", false, ops().unlock(obj_.get()));
    if (rc == JOSTLE_OK) return LockResult::ok;
    if (rc == JOSTLE_NOT_OWNER) return LockResult::not_owner;
    plugin_detail::bad_code("owned_mutex.unlock", rc);
  }

 private:
  static const jostle_owned_mutex_ops& ops() { return plugin_detail::slot(S).owned_mutex; }
  plugin_detail::Storage obj_;
};

template <int S>
using PluginRecursiveMutex = PluginOwnedMutexT<S, true>;
template <int S>
using PluginErrorCheckMutex = PluginOwnedMutexT<S, false>;

// ---- rwlock ----

template <int S>
class PluginRwLock {
 public:
  static constexpr std::string_view kPrimitive = "rwlock";
  static constexpr std::string_view kName = plugin_detail::unfilled_slot_name<S, "rwlock">;
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
  static const jostle_rwlock_ops& ops() { return plugin_detail::slot(S).rwlock; }
  plugin_detail::Storage obj_;
};

// ---- condvar (over the plugin's own mutex, plain operations) ----

template <int S, bool Keeps>
class PluginCondvarT {
 public:
  static constexpr std::string_view kPrimitive = "condvar";
  static constexpr std::string_view kName =
      Keeps ? plugin_detail::unfilled_slot_name<S, "condvar_keeps"> : plugin_detail::unfilled_slot_name<S, "condvar">;
  static constexpr std::string_view kDescription = "a plugin's condition variable with its own mutex";
  // Registered as strict so strict-only cases keep an entry; the loader sets the profile the plugin declares
  // and leaves strict-only entries unavailable for a posix plugin.
  static constexpr std::string_view kProfile = "strict";
  // [condvar.timed.no-swallow]: the loader exposes this variant only for a table that declares it.
  static constexpr bool kTimeoutKeepsSignal = Keeps;
  static constexpr int kPluginSlot = S;
  static bool available() { return false; }
  using Mutex = PluginMutexT<S, plugin_detail::MutexMode::plain_ops_only>;

  PluginCondvarT() : obj_(ops().size, ops().align) { ops().init(obj_.get()); }
  ~PluginCondvarT() { ops().destroy(obj_.get()); }
  void wait(Mutex& m) { JOSTLE_PLUGIN_CALL("condvar.wait", true, ops().wait(obj_.get(), m.handle())); }
  bool wait_for(Mutex& m, Nanos t) {
    return JOSTLE_PLUGIN_CALL("condvar.timed_wait", true,
                              ops().timed_wait(obj_.get(), m.handle(), plugin_detail::non_negative(t))) == JOSTLE_OK;
  }
  void notify_one() { JOSTLE_PLUGIN_CALL("condvar.notify_one", false, ops().signal(obj_.get())); }
  void notify_all() { JOSTLE_PLUGIN_CALL("condvar.notify_all", false, ops().broadcast(obj_.get())); }

 private:
  static const jostle_condvar_ops& ops() { return plugin_detail::slot(S).condvar; }
  plugin_detail::Storage obj_;
};

template <int S>
using PluginCondvar = PluginCondvarT<S, false>;
template <int S>
using PluginCondvarKeeps = PluginCondvarT<S, true>;

// ---- semaphore ----

template <int S>
class PluginSemaphore {
 public:
  static constexpr std::string_view kPrimitive = "semaphore";
  static constexpr std::string_view kName = plugin_detail::unfilled_slot_name<S, "semaphore">;
  static constexpr std::string_view kDescription = "a plugin's counting semaphore";
  static bool available() { return false; }

  PluginSemaphore() : obj_(ops().size, ops().align) { ops().init(obj_.get(), 0); }
  ~PluginSemaphore() { ops().destroy(obj_.get()); }
  void post() { JOSTLE_PLUGIN_CALL("semaphore.release", false, ops().release(obj_.get())); }
  void wait() { JOSTLE_PLUGIN_CALL("semaphore.acquire", true, ops().acquire(obj_.get())); }
  bool try_wait() { return JOSTLE_PLUGIN_CALL("semaphore.try_acquire", false, ops().try_acquire(obj_.get())) != 0; }
  bool timed_wait(Nanos t) {
    const int rc = JOSTLE_PLUGIN_CALL("semaphore.timed_acquire", true,
                                      ops().timed_acquire(obj_.get(), plugin_detail::non_negative(t)));
    if (rc != JOSTLE_OK && rc != JOSTLE_TIMEDOUT) plugin_detail::bad_code("semaphore.timed_acquire", rc);
    return rc == JOSTLE_OK;
  }
  // Asked only when no thread is inside another operation (contracts/semaphore.h): without the optional
  // permits() the permits are counted by taking them all and giving them back.
  std::uint32_t permits() {
    if (ops().permits != nullptr) return JOSTLE_PLUGIN_CALL("semaphore.permits", false, ops().permits(obj_.get()));
    std::uint32_t n = 0;
    while (JOSTLE_PLUGIN_CALL("semaphore.try_acquire", false, ops().try_acquire(obj_.get())) != 0) ++n;
    for (std::uint32_t i = 0; i < n; ++i) JOSTLE_PLUGIN_CALL("semaphore.release", false, ops().release(obj_.get()));
    return n;
  }

 private:
  static const jostle_semaphore_ops& ops() { return plugin_detail::slot(S).semaphore; }
  plugin_detail::Storage obj_;
};

// ---- event ----

template <int S>
class PluginEvent {
 public:
  static constexpr std::string_view kPrimitive = "event";
  static constexpr std::string_view kName = plugin_detail::unfilled_slot_name<S, "event">;
  static constexpr std::string_view kDescription = "a plugin's reset event";
  static bool available() { return false; }

  PluginEvent() : obj_(ops().size, ops().align) { ops().init(obj_.get()); }
  ~PluginEvent() { ops().destroy(obj_.get()); }
  void set() { JOSTLE_PLUGIN_CALL("event.set", false, ops().set(obj_.get())); }
  void reset() { JOSTLE_PLUGIN_CALL("event.reset", false, ops().reset(obj_.get())); }
  bool is_set() { return JOSTLE_PLUGIN_CALL("event.is_set", false, ops().is_set(obj_.get())) != 0; }
  void wait() { JOSTLE_PLUGIN_CALL("event.wait", true, ops().wait(obj_.get())); }
  bool timed_wait(Nanos t) {
    const int rc = JOSTLE_PLUGIN_CALL("event.timed_wait", true,
                                      ops().timed_wait(obj_.get(), plugin_detail::non_negative(t)));
    if (rc != JOSTLE_OK && rc != JOSTLE_TIMEDOUT) plugin_detail::bad_code("event.timed_wait", rc);
    return rc == JOSTLE_OK;
  }

 private:
  static const jostle_event_ops& ops() { return plugin_detail::slot(S).event; }
  plugin_detail::Storage obj_;
};

// ---- wait group ----

template <int S, bool Timed>
class PluginWaitGroupT {
 public:
  static constexpr std::string_view kPrimitive = "waitgroup";
  static constexpr std::string_view kName =
      Timed ? plugin_detail::unfilled_slot_name<S, "waitgroup_timed"> : plugin_detail::unfilled_slot_name<S, "waitgroup">;
  static constexpr std::string_view kDescription = "a plugin's wait group";
  static bool available() { return false; }

  PluginWaitGroupT() : obj_(ops().size, ops().align) { ops().init(obj_.get()); }
  ~PluginWaitGroupT() { ops().destroy(obj_.get()); }
  void start() { JOSTLE_PLUGIN_CALL("waitgroup.start", false, ops().start(obj_.get(), 1)); }
  void start(std::uint32_t n) { JOSTLE_PLUGIN_CALL("waitgroup.start", false, ops().start(obj_.get(), n)); }
  void finish() { JOSTLE_PLUGIN_CALL("waitgroup.finish", false, ops().finish(obj_.get())); }
  void wait() { JOSTLE_PLUGIN_CALL("waitgroup.wait", true, ops().wait(obj_.get())); }
  bool is_done() { return JOSTLE_PLUGIN_CALL("waitgroup.is_done", false, ops().is_done(obj_.get())) != 0; }
  void reset() { JOSTLE_PLUGIN_CALL("waitgroup.reset", false, ops().reset(obj_.get())); }
  bool wait_for(Nanos t)
    requires Timed
  {
    const int rc = JOSTLE_PLUGIN_CALL("waitgroup.timed_wait", true,
                                      ops().timed_wait(obj_.get(), plugin_detail::non_negative(t)));
    if (rc != JOSTLE_OK && rc != JOSTLE_TIMEDOUT) plugin_detail::bad_code("waitgroup.timed_wait", rc);
    return rc == JOSTLE_OK;
  }

 private:
  static const jostle_waitgroup_ops& ops() { return plugin_detail::slot(S).waitgroup; }
  plugin_detail::Storage obj_;
};

template <int S>
using PluginWaitGroup = PluginWaitGroupT<S, false>;
template <int S>
using PluginTimedWaitGroup = PluginWaitGroupT<S, true>;

// ---- channel ----

template <int S>
class PluginChannel {
 public:
  static constexpr std::string_view kPrimitive = "channel";
  static constexpr std::string_view kName = plugin_detail::unfilled_slot_name<S, "channel">;
  static constexpr std::string_view kDescription = "a plugin's bounded channel";
  static bool available() { return false; }

  explicit PluginChannel(std::size_t capacity) : obj_(ops().size, ops().align) { ops().init(obj_.get(), capacity); }
  ~PluginChannel() { ops().destroy(obj_.get()); }
  ChannelStatus send(std::uint64_t v) { return map("channel.send", JOSTLE_PLUGIN_CALL("channel.send", true,
                                                                                      ops().send(obj_.get(), v))); }
  ChannelStatus try_send(std::uint64_t v) { return map("channel.try_send", JOSTLE_PLUGIN_CALL("channel.try_send", false,
                                                                                              ops().try_send(obj_.get(), v))); }
  ChannelStatus send_for(std::uint64_t v, Nanos t) {
    return map("channel.timed_send", JOSTLE_PLUGIN_CALL("channel.timed_send", true,
                                                        ops().timed_send(obj_.get(), v, plugin_detail::non_negative(t))));
  }
  ChannelStatus recv(std::uint64_t& out) { return map("channel.recv", JOSTLE_PLUGIN_CALL("channel.recv", true,
                                                                                         ops().recv(obj_.get(), &out))); }
  ChannelStatus try_recv(std::uint64_t& out) { return map("channel.try_recv", JOSTLE_PLUGIN_CALL("channel.try_recv", false,
                                                                                                 ops().try_recv(obj_.get(), &out))); }
  ChannelStatus recv_for(std::uint64_t& out, Nanos t) {
    return map("channel.timed_recv", JOSTLE_PLUGIN_CALL("channel.timed_recv", true,
                                                        ops().timed_recv(obj_.get(), &out, plugin_detail::non_negative(t))));
  }
  void close() { JOSTLE_PLUGIN_CALL("channel.close", false, ops().close(obj_.get())); }

 private:
  static ChannelStatus map(const char* fn, int rc) {
    switch (rc) {
      case JOSTLE_OK: return ChannelStatus::ok;
      case JOSTLE_CLOSED: return ChannelStatus::closed;
      case JOSTLE_TIMEDOUT: return ChannelStatus::timeout;
      case JOSTLE_FULL: return ChannelStatus::full;
      case JOSTLE_EMPTY: return ChannelStatus::empty;
      default: plugin_detail::bad_code(fn, rc);
    }
  }
  static const jostle_channel_ops& ops() { return plugin_detail::slot(S).channel; }
  plugin_detail::Storage obj_;
};

// ---- threads ----

template <int S, bool Timed>
struct PluginThreadT {
  static constexpr std::string_view kPrimitive = "thread";
  static constexpr std::string_view kName =
      Timed ? plugin_detail::unfilled_slot_name<S, "thread_timed"> : plugin_detail::unfilled_slot_name<S, "thread">;
  static constexpr std::string_view kDescription = "a plugin's threads";
  // The thread cases check Linux's limit; the loader refuses a thread table that declares another one.
  static constexpr std::size_t kMaxNameLen = 15;
  static bool available() { return false; }
  using Handle = jostle_thread_handle;

  static const jostle_thread_ops& ops() { return plugin_detail::slot(S).thread; }
  static int spawn(Handle& h, ThreadEntry e, void* a) { return JOSTLE_PLUGIN_CALL("thread.spawn", false,
                                                                                  ops().spawn(&h, e, a)); }
  static void join(Handle& h) { JOSTLE_PLUGIN_CALL("thread.join", true, ops().join(&h)); }
  static int timed_join(Handle& h, Nanos ns)
    requires Timed
  {
    return JOSTLE_PLUGIN_CALL("thread.timed_join", true, ops().timed_join(&h, plugin_detail::non_negative(ns)));
  }
  static void detach(Handle& h) { JOSTLE_PLUGIN_CALL("thread.detach", false, ops().detach(&h)); }
  static int set_name(Handle& h, const char* n) { return JOSTLE_PLUGIN_CALL("thread.set_name", false,
                                                                            ops().set_name(&h, n)); }
  static int get_name(Handle& h, char* b, std::size_t len) { return JOSTLE_PLUGIN_CALL("thread.get_name", false,
                                                                                       ops().get_name(&h, b, len)); }
  static int set_name_self(const char* n) { return JOSTLE_PLUGIN_CALL("thread.set_name_self", false,
                                                                      ops().set_name_self(n)); }
  static int get_name_self(char* b, std::size_t len) { return JOSTLE_PLUGIN_CALL("thread.get_name_self", false,
                                                                                 ops().get_name_self(b, len)); }
  static std::uint64_t current_id() { return JOSTLE_PLUGIN_CALL("thread.current_id", false, ops().current_id()); }
  static void yield() { JOSTLE_PLUGIN_CALL("thread.yield", false, ops().yield()); }
  static void sleep(Nanos ns) { JOSTLE_PLUGIN_CALL("thread.sleep", true,
                                                   ops().sleep(plugin_detail::non_negative(ns))); }
  static unsigned cpu_count() { return JOSTLE_PLUGIN_CALL("thread.cpu_count", false, ops().cpu_count()); }
  static ThreadStats stats() {
    jostle_thread_stats s{};
    JOSTLE_PLUGIN_CALL("thread.stats", false, ops().stats(&s));
    return ThreadStats{s.acquired, s.released, s.double_released, s.exited};
  }
};

template <int S>
using PluginThread = PluginThreadT<S, false>;
template <int S>
using PluginTimedThread = PluginThreadT<S, true>;

// ---- virtual-thread executor ----

template <int S>
struct PluginExecutor {
  static constexpr std::string_view kPrimitive = "executor";
  static constexpr std::string_view kName = plugin_detail::unfilled_slot_name<S, "executor">;
  static constexpr std::string_view kDescription = "a plugin's virtual-thread executor";
  static bool available() { return false; }

  static const jostle_executor_ops& ops() { return plugin_detail::slot(S).executor; }

  class Executor {
   public:
    explicit Executor(ExecutorPolicy p) : obj_(ops().size, ops().align) {
      const jostle_executor_policy cp{p.min_carriers, p.max_carriers, p.queue_limit,
                                      p.on_saturation == Saturation::busy ? JOSTLE_SATURATION_BUSY
                                                                          : JOSTLE_SATURATION_TIMEOUT,
                                      p.timeout};
      const int rc = ops().init(obj_.get(), &cp);
      if (rc != JOSTLE_OK && rc != JOSTLE_INVALID) plugin_detail::bad_code("executor.init", rc);
      live_ = rc == JOSTLE_OK;
    }
    ~Executor() {
      if (live_) {
        JOSTLE_PLUGIN_CALL("executor.close", false, ops().close(obj_.get()));
        ops().destroy(obj_.get());
      }
    }
    Executor(const Executor&) = delete;
    Executor& operator=(const Executor&) = delete;
    SlotCount slots() const {
      if (!live_) return {};
      std::int32_t in_use = 0, free_slots = 0, limit = 0;
      JOSTLE_PLUGIN_CALL("executor.slots", false, ops().slots(obj_.get(), &in_use, &free_slots, &limit));
      return SlotCount{in_use, free_slots, limit};
    }
    void close() {
      if (live_) JOSTLE_PLUGIN_CALL("executor.close", false, ops().close(obj_.get()));
    }
    bool live() const { return live_; }
    void* get() const { return obj_.get(); }

   private:
    plugin_detail::Storage obj_;
    bool live_ = false;
  };

  // A shared reference to the plugin's task; the last copy gives it back with release().
  using Task = std::shared_ptr<void>;

  static VtStatus status(const char* fn, int rc) {
    switch (rc) {
      case JOSTLE_OK: return VtStatus::ok;
      case JOSTLE_TIMEDOUT: return VtStatus::timeout;
      case JOSTLE_CANCELLED: return VtStatus::cancelled;
      case JOSTLE_CLOSED: return VtStatus::closed;
      case JOSTLE_BUSY: return VtStatus::busy;
      case JOSTLE_FAILED: return VtStatus::failed;
      case JOSTLE_INVALID: return VtStatus::invalid;
      default: plugin_detail::bad_code(fn, rc);
    }
  }

  static VtStatus spawn_on(Executor& ex, Task& t, VtBody body) {
    if (!ex.live()) return VtStatus::invalid;
    auto* fn = new VtBody(std::move(body));
    jostle_vt_body b{
        [](void* arg, std::int64_t* value) -> int {
          try {
            *value = (*static_cast<VtBody*>(arg))();
            return JOSTLE_OK;
          } catch (const VtCancelled&) {
            return JOSTLE_CANCELLED;
          } catch (...) {
            return JOSTLE_FAILED;
          }
        },
        [](void* arg) { delete static_cast<VtBody*>(arg); }, fn};
    void* task = nullptr;
    const int rc = JOSTLE_PLUGIN_CALL("executor.spawn_on", false, ops().spawn_on(ex.get(), b, &task));
    if (rc == JOSTLE_OK) t = Task(task, [](void* p) { JOSTLE_PLUGIN_CALL("executor.release", false,
                                                                         ops().release(p)); });
    return status("executor.spawn_on", rc);
  }
  static Executor& default_executor() {
    static Executor* ex = new Executor(ExecutorPolicy{1, 2, 4096, kVtForever, Saturation::timeout});
    return *ex;
  }
  static VtStatus spawn(Task& t, VtBody body) { return spawn_on(default_executor(), t, std::move(body)); }
  static VtResult join(Task& t) {
    std::int64_t v = 0;
    const VtStatus s = status("executor.join", JOSTLE_PLUGIN_CALL("executor.join", true, ops().join(t.get(), &v)));
    return VtResult{s, s == VtStatus::ok ? v : 0};
  }
  static VtResult join_timeout(Task& t, Nanos ns) {
    std::int64_t v = 0;
    const VtStatus s = status("executor.join_timeout", JOSTLE_PLUGIN_CALL("executor.join_timeout", true,
                                                                          ops().join_timeout(t.get(), ns, &v)));
    return VtResult{s, s == VtStatus::ok ? v : 0};
  }
  static void cancel(Task& t) { JOSTLE_PLUGIN_CALL("executor.cancel", false, ops().cancel(t.get())); }
  static bool cancelled() { return JOSTLE_PLUGIN_CALL("executor.cancelled", false, ops().cancelled()) != 0; }
  static VtStatus sleep(Nanos ns) { return status("executor.sleep", JOSTLE_PLUGIN_CALL("executor.sleep", true,
                                                                                       ops().sleep(ns))); }
  static VtStatus park(Nanos ns) { return status("executor.park", JOSTLE_PLUGIN_CALL("executor.park", true,
                                                                                     ops().park(ns))); }
  static void unpark(Task& t) { JOSTLE_PLUGIN_CALL("executor.unpark", false, ops().unpark(t.get())); }
};

// ---- waiter list (Atomics.wait / waitAsync / notify) ----

template <int S>
class PluginWaiterList {
 public:
  static constexpr std::string_view kPrimitive = "waiter_list";
  static constexpr std::string_view kName = plugin_detail::unfilled_slot_name<S, "waiter_list">;
  static constexpr std::string_view kDescription = "a plugin's waiter list (Atomics.wait/notify/waitAsync)";
  static bool available() { return false; }

  PluginWaiterList() : obj_(ops().size, ops().align) { ops().init(obj_.get()); }
  ~PluginWaiterList() { ops().destroy(obj_.get()); }
  PluginWaiterList(const PluginWaiterList&) = delete;
  PluginWaiterList& operator=(const PluginWaiterList&) = delete;

  // The spec's argument checks are the harness's (the engine's list starts after them).
  template <WaitableElement T>
  WaitStatus wait(const TypedView<T>& view, std::size_t i, T expected, Nanos timeout, bool can_block) {
    if (!view.buffer().is_shared()) throw AtomicsError(AtomicsError::type_error, "Atomics.wait on an unshared buffer");
    T* cell = checked(view, i);
    if (!can_block) throw AtomicsError(AtomicsError::type_error, "Atomics.wait with [[CanBlock]] false");
    const int rc = JOSTLE_PLUGIN_CALL("waiter_list.wait", true,
                                      ops().wait(obj_.get(), cell, sizeof(T), static_cast<std::int64_t>(expected), ns(timeout)));
    return status("waiter_list.wait", rc);
  }

  template <WaitableElement T>
  WaitAsyncResult wait_async(const TypedView<T>& view, std::size_t i, T expected, Nanos timeout, AgentLoop& loop,
                             AsyncSettle settle) {
    if (!view.buffer().is_shared())
      throw AtomicsError(AtomicsError::type_error, "Atomics.waitAsync on an unshared buffer");
    T* cell = checked(view, i);
    auto* pending = new Pending{&loop, std::move(settle)};
    const int rc = JOSTLE_PLUGIN_CALL("waiter_list.wait_async", false,
                                      ops().wait_async(obj_.get(), cell, sizeof(T), static_cast<std::int64_t>(expected), ns(timeout),
                                    &Pending::fire, pending));
    if (rc == JOSTLE_OK) return {true, WaitStatus::ok};
    delete pending;
    return {false, status("waiter_list.wait_async", rc)};
  }

  template <WaitableElement T>
  std::uint64_t notify(const TypedView<T>& view, std::size_t i, NotifyCount count) {
    T* cell = checked(view, i);
    if (!view.buffer().is_shared()) return 0;
    return JOSTLE_PLUGIN_CALL("waiter_list.notify", false, ops().notify(obj_.get(), cell, count.n));
  }

  void on_write(const SharedBuffer& buf, std::size_t byte_index) {
    if (ops().on_write != nullptr) JOSTLE_PLUGIN_CALL("waiter_list.on_write", false,
                                                      ops().on_write(obj_.get(), buf.data() + byte_index));
  }

  template <WaitableElement T>
  std::size_t waiter_count(const TypedView<T>& view, std::size_t i) {
    return JOSTLE_PLUGIN_CALL("waiter_list.waiter_count", false, ops().waiter_count(obj_.get(), view.element(i)));
  }

 private:
  // A waitAsync settlement the plugin may deliver from any thread: it becomes a job on the agent's loop.
  struct Pending {
    AgentLoop* loop;
    AsyncSettle settle;
    static void fire(void* arg, int rc) {
      std::unique_ptr<Pending> p(static_cast<Pending*>(arg));
      const WaitStatus s = rc == JOSTLE_OK ? WaitStatus::ok : rc == JOSTLE_TIMEDOUT ? WaitStatus::timed_out
                                                                                    : (plugin_detail::bad_code("waiter_list settle", rc), WaitStatus::ok);
      p->loop->post([settle = std::move(p->settle), s] { settle(s); });
    }
  };
  template <class T>
  static T* checked(const TypedView<T>& view, std::size_t i) {
    if (i >= view.length()) throw AtomicsError(AtomicsError::range_error, "index out of range");
    return view.element(i);
  }
  static std::int64_t ns(Nanos t) { return t == kForever ? -1 : plugin_detail::non_negative(t); }
  static WaitStatus status(const char* fn, int rc) {
    if (rc == JOSTLE_OK) return WaitStatus::ok;
    if (rc == JOSTLE_AGAIN) return WaitStatus::not_equal;
    if (rc == JOSTLE_TIMEDOUT) return WaitStatus::timed_out;
    plugin_detail::bad_code(fn, rc);
  }
  static const jostle_waiter_list_ops& ops() { return plugin_detail::slot(S).waiter_list; }
  plugin_detail::Storage obj_;
};

// ---- atomics ----

template <int S, bool Native>
struct PluginAtomicsT {
  static constexpr std::string_view kPrimitive = "atomics";
  static constexpr std::string_view kName =
      Native ? plugin_detail::unfilled_slot_name<S, "atomics"> : plugin_detail::unfilled_slot_name<S, "atomics_locked">;
  static constexpr std::string_view kDescription = "a plugin's Atomics operations";
  static constexpr bool kNativeAtomics = Native;
  static bool available() { return false; }

  static const jostle_atomics_ops& ops() { return plugin_detail::slot(S).atomics; }
  template <class T>
  static T from(std::uint64_t v) {
    return static_cast<T>(v);  // modulo 2^bits: the zero-extended value narrowed back
  }
  template <class T>
  static std::uint64_t to(T v) {
    return static_cast<std::uint64_t>(static_cast<std::make_unsigned_t<T>>(v));
  }
  template <class T>
  static T load(T* p) {
    return from<T>(JOSTLE_PLUGIN_CALL("atomics.load", false, ops().load(p, sizeof(T))));
  }
  template <class T>
  static void store(T* p, T v) {
    JOSTLE_PLUGIN_CALL("atomics.store", false, ops().store(p, sizeof(T), to(v)));
  }
  template <class T>
  static T rmw(T* p, int op, T v) {
    return from<T>(JOSTLE_PLUGIN_CALL("atomics.rmw", false, ops().rmw(p, sizeof(T), op, to(v))));
  }
  template <class T>
  static T fetch_add(T* p, T v) {
    return rmw(p, JOSTLE_RMW_ADD, v);
  }
  template <class T>
  static T fetch_sub(T* p, T v) {
    return rmw(p, JOSTLE_RMW_SUB, v);
  }
  template <class T>
  static T fetch_and(T* p, T v) {
    return rmw(p, JOSTLE_RMW_AND, v);
  }
  template <class T>
  static T fetch_or(T* p, T v) {
    return rmw(p, JOSTLE_RMW_OR, v);
  }
  template <class T>
  static T fetch_xor(T* p, T v) {
    return rmw(p, JOSTLE_RMW_XOR, v);
  }
  template <class T>
  static T exchange(T* p, T v) {
    return rmw(p, JOSTLE_RMW_EXCHANGE, v);
  }
  template <class T>
  static T compare_exchange(T* p, T expected, T replacement) {
    return from<T>(JOSTLE_PLUGIN_CALL("atomics.compare_exchange", false,
                                      ops().compare_exchange(p, sizeof(T), to(expected), to(replacement))));
  }
  static bool is_lock_free(std::size_t n) { return JOSTLE_PLUGIN_CALL("atomics.is_lock_free", false,
                                                                      ops().is_lock_free(static_cast<unsigned>(n))) != 0; }
  static void pause() {
    if (ops().pause != nullptr) JOSTLE_PLUGIN_CALL("atomics.pause", false, ops().pause());
  }
};

template <int S>
using PluginAtomics = PluginAtomicsT<S, true>;
template <int S>
using PluginLockedAtomics = PluginAtomicsT<S, false>;

// ---- safepoint ----

template <int S>
class PluginSafepoint {
 public:
  static constexpr std::string_view kPrimitive = "safepoint";
  static constexpr std::string_view kName = plugin_detail::unfilled_slot_name<S, "safepoint">;
  static constexpr std::string_view kDescription = "a plugin's stop-the-world safepoints";
  static bool available() { return false; }
  using MutatorId = std::uint64_t;

  PluginSafepoint() : obj_(ops().size, ops().align) { ops().init(obj_.get()); }
  ~PluginSafepoint() { ops().destroy(obj_.get()); }
  PluginSafepoint(const PluginSafepoint&) = delete;
  PluginSafepoint& operator=(const PluginSafepoint&) = delete;
  MutatorId attach() { return JOSTLE_PLUGIN_CALL("safepoint.attach", false, ops().attach(obj_.get())); }
  void detach(MutatorId id) { JOSTLE_PLUGIN_CALL("safepoint.detach", false, ops().detach(obj_.get(), id)); }
  void poll(MutatorId id) { JOSTLE_PLUGIN_CALL("safepoint.poll", true, ops().poll(obj_.get(), id)); }
  void stop_the_world() { JOSTLE_PLUGIN_CALL("safepoint.stop_the_world", true, ops().stop_the_world(obj_.get())); }
  void resume() { JOSTLE_PLUGIN_CALL("safepoint.resume", false, ops().resume(obj_.get())); }

 private:
  static const jostle_safepoint_ops& ops() { return plugin_detail::slot(S).safepoint; }
  plugin_detail::Storage obj_;
};

// ---- async notifier (loop side: a pollable fd) ----

template <int S>
class PluginAsync {
 public:
  static constexpr std::string_view kPrimitive = "async";
  static constexpr std::string_view kName = plugin_detail::unfilled_slot_name<S, "async">;
  static constexpr std::string_view kDescription = "a plugin's cross-thread async notifier (pollable fd)";
  static bool available() { return false; }

  PluginAsync() : obj_(ops().size, ops().align) {
    const int rc = ops().init(obj_.get());
    if (rc != 0) {
      std::fprintf(stderr, "jostle: plugin async.init failed: %s\n", std::strerror(rc));
      std::abort();
    }
  }
  ~PluginAsync() { ops().destroy(obj_.get()); }
  PluginAsync(const PluginAsync&) = delete;
  PluginAsync& operator=(const PluginAsync&) = delete;
  void notify() { JOSTLE_PLUGIN_CALL("async.notify", false, ops().notify(obj_.get())); }
  int fd() const { return JOSTLE_PLUGIN_CALL("async.fd", false, ops().fd(obj_.get())); }
  void arm() { JOSTLE_PLUGIN_CALL("async.arm", false, ops().arm(obj_.get())); }
  void drain() { JOSTLE_PLUGIN_CALL("async.drain", false, ops().drain(obj_.get())); }

 private:
  static const jostle_async_ops& ops() { return plugin_detail::slot(S).async; }
  plugin_detail::Storage obj_;
};

// The slot lists the backend lists splice in (plugin::kSlots == 2).
static_assert(plugin::kSlots == 2, "the slot lists below name two slots");

static_assert(TimedFutexBackend<PluginFutex<0>>);
static_assert(MutexBackend<PluginMutex<0>>);
static_assert(TimedMutexBackend<PluginTimedMutex<0>>);
static_assert(RecursiveMutexBackend<PluginRecursiveMutex<0>>);
static_assert(ErrorCheckMutexBackend<PluginErrorCheckMutex<0>>);
static_assert(TimedRwLockBackend<PluginRwLock<0>>);
static_assert(CondvarBackend<PluginCondvar<0>> && !TimeoutKeepsSignal<PluginCondvar<0>>);
static_assert(TimeoutKeepsSignal<PluginCondvarKeeps<0>>);
static_assert(SemaphoreBackend<PluginSemaphore<0>>);
static_assert(EventBackend<PluginEvent<0>>);
static_assert(WaitGroupBackend<PluginWaitGroup<0>> && !TimedWaitGroupBackend<PluginWaitGroup<0>>);
static_assert(TimedWaitGroupBackend<PluginTimedWaitGroup<0>>);
static_assert(ChannelBackend<PluginChannel<0>>);
static_assert(ThreadBackend<PluginThread<0>> && !TimedJoinThreadBackend<PluginThread<0>>);
static_assert(TimedJoinThreadBackend<PluginTimedThread<0>>);
static_assert(ExecutorBackend<PluginExecutor<0>>);
static_assert(WaiterListBackend<PluginWaiterList<0>>);
static_assert(AtomicsOps<PluginAtomics<0>> && AtomicsOps<PluginLockedAtomics<0>>);
static_assert(SafepointBackend<PluginSafepoint<0>>);
static_assert(AsyncNotifier<PluginAsync<0>>);

}  // namespace jostle
