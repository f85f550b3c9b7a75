// Boost.Thread through the jostle plugin ABI. Two plugins are built from this file:
//   boost        boost::mutex, boost::shared_mutex (with its timed operations), boost::condition_variable with
//                boost::mutex, boost::recursive_mutex as the recursive owner-checked mutex, boost::thread as the
//                thread table;
//   boost_timed  (JOSTLE_BOOST_TIMED) boost::timed_mutex as the mutex with its timed lock (try_lock_for), and
//                boost::condition_variable_any waiting on it. A plugin has one mutex table, which the condvar
//                table waits on, and boost::condition_variable only waits on a boost::mutex: the timed mutex
//                needs the _any condvar, so it gets its own plugin and boost::condition_variable keeps its
//                coverage in the first.
#include <cerrno>
#include <cstdint>
#include <cstring>

#include <pthread.h>

#include <atomic>
#include <boost/chrono.hpp>
#include <boost/thread/condition_variable.hpp>
#include <boost/thread/locks.hpp>
#include <boost/thread/mutex.hpp>  // boost::mutex, boost::timed_mutex
#include <boost/thread/recursive_mutex.hpp>
#include <boost/thread/shared_mutex.hpp>
#include <boost/thread/thread.hpp>

#include "cxx_plugin.h"

namespace {

using jostle_libs::as;

boost::chrono::nanoseconds bns(std::chrono::nanoseconds t) { return boost::chrono::nanoseconds(t.count()); }

#ifndef JOSTLE_BOOST_TIMED

struct SharedMutex {
  boost::shared_mutex rw;
  void lock() { rw.lock(); }
  bool try_lock() { return rw.try_lock(); }
  void unlock() { rw.unlock(); }
  void lock_shared() { rw.lock_shared(); }
  bool try_lock_shared() { return rw.try_lock_shared(); }
  void unlock_shared() { rw.unlock_shared(); }
  bool try_lock_for(std::chrono::nanoseconds t) { return rw.try_lock_for(bns(t)); }
  bool try_lock_shared_for(std::chrono::nanoseconds t) { return rw.try_lock_shared_for(bns(t)); }
};

// boost::condition_variable waits on a boost::unique_lock: adopt the mutex the caller holds and give it back
// (still held) with release().
struct CondVar {
  boost::condition_variable cv;
  void wait(boost::mutex& m) {
    boost::unique_lock<boost::mutex> lk(m, boost::adopt_lock);
    cv.wait(lk);
    lk.release();
  }
  bool wait_for(boost::mutex& m, std::chrono::nanoseconds t) {
    boost::unique_lock<boost::mutex> lk(m, boost::adopt_lock);
    const bool woken = cv.wait_for(lk, bns(t)) == boost::cv_status::no_timeout;
    lk.release();
    return woken;
  }
  void notify_one() { cv.notify_one(); }
  void notify_all() { cv.notify_all(); }
};

// ---- threads: boost::thread ----
// The id of the calling thread: boost::this_thread::get_id() (Boost's own, also for threads Boost did not start),
// reduced with Boost's hash_value, which is one-to-one on it (a pthread_t or a pointer to the thread's data).
uint64_t self_id() noexcept { return static_cast<uint64_t>(hash_value(boost::this_thread::get_id())); }

// The handle holds a pointer to a heap boost::thread (our "control block": acquired at spawn, released by the
// join or the detach that ends the handle). The thread body gets entry and arg by value, never the block, so
// detach can free it at once while the thread runs on: the thread's own state is Boost's (a shared thread_data
// that the thread and the boost::thread object release, whichever is last), which is what thread.detach.once
// exercises. Names: Boost.Thread has no naming API; set_name/get_name go to pthread_setname_np/getname_np on
// the thread's native_handle() (an adapter, stated in docs/real-libraries.md).
std::atomic<uint64_t> g_acquired{0}, g_released{0}, g_exited{0};

boost::thread* block(jostle_thread_handle* h) noexcept {
  boost::thread* t;
  std::memcpy(&t, h->words, sizeof t);
  return t;
}
void release(boost::thread* t) noexcept {
  delete t;
  g_released.fetch_add(1);
}
void run_entry(void (*entry)(void*), void* arg) {
  entry(arg);
  g_exited.fetch_add(1);  // the last step of our code on the thread; Boost's teardown follows
}

constexpr jostle_thread_ops thread_table() {
  jostle_thread_ops t{};
  t.max_name_len = 15;
  t.spawn = [](jostle_thread_handle* h, void (*entry)(void*), void* arg) noexcept -> int {
    try {
      auto* th = new boost::thread(run_entry, entry, arg);
      g_acquired.fetch_add(1);
      std::memcpy(h->words, &th, sizeof th);
      return 0;
    } catch (const boost::thread_resource_error& e) {
      return e.code().value() != 0 ? e.code().value() : EAGAIN;
    } catch (const std::bad_alloc&) {
      return EAGAIN;
    }
  };
  t.join = [](jostle_thread_handle* h) noexcept {
    boost::thread* th = block(h);
    th->join();
    release(th);
  };
  t.timed_join = [](jostle_thread_handle* h, int64_t timeout) noexcept -> int {
    boost::thread* th = block(h);
    if (!th->try_join_for(boost::chrono::nanoseconds(timeout))) return ETIMEDOUT;
    release(th);
    return 0;
  };
  t.detach = [](jostle_thread_handle* h) noexcept {
    boost::thread* th = block(h);
    th->detach();
    release(th);
  };
  t.set_name = [](jostle_thread_handle* h, const char* name) noexcept -> int {
    return pthread_setname_np(block(h)->native_handle(), name);
  };
  t.get_name = [](jostle_thread_handle* h, char* buf, size_t len) noexcept -> int {
    return pthread_getname_np(block(h)->native_handle(), buf, len);
  };
  t.set_name_self = [](const char* name) noexcept -> int { return pthread_setname_np(pthread_self(), name); };
  t.get_name_self = [](char* buf, size_t len) noexcept -> int {
    return pthread_getname_np(pthread_self(), buf, len);
  };
  t.current_id = []() noexcept -> uint64_t { return self_id(); };
  t.yield = []() noexcept { boost::this_thread::yield(); };
  t.sleep = [](int64_t ns) noexcept { boost::this_thread::sleep_for(boost::chrono::nanoseconds(ns)); };
  t.cpu_count = []() noexcept -> unsigned {
    const unsigned n = boost::thread::hardware_concurrency();  // 0: unknown
    return n == 0 ? 1u : n;
  };
  t.stats = [](jostle_thread_stats* out) noexcept {
    out->acquired = g_acquired.load();
    out->released = g_released.load();
    out->double_released = 0;  // release() runs once per handle by construction: join or detach, not both
    out->exited = g_exited.load();
  };
  return t;
}

// ---- recursive mutex: boost::recursive_mutex ----
// Boost counts the recursion (the holder's lock/try_lock succeed, the mutex is free when the count is back to
// 0). Boost does not report a non-owner unlock (its unlock ignores pthread's EPERM), and the table needs one:
// the adapter keeps the holder's id, written only by the holder, so a non-owner's unlock is refused before it
// reaches Boost.
struct RecursiveMutex {
  boost::recursive_mutex m;
  std::atomic<uint64_t> owner{0};  // 0: free; else the holder's self_id() (others read it only to compare)
  uint32_t count = 0;              // the holder's recursion depth, touched by the holder only
  void took() noexcept {
    if (count++ == 0) owner.store(self_id(), std::memory_order_relaxed);
  }
};

constexpr jostle_owned_mutex_ops recursive_table() {
  jostle_owned_mutex_ops t{};
  t.size = sizeof(RecursiveMutex);
  t.align = alignof(RecursiveMutex);
  t.recursive = 1;
  t.init = jostle_libs::construct<RecursiveMutex>;
  t.destroy = jostle_libs::destruct<RecursiveMutex>;
  t.lock = [](void* p) noexcept -> int {
    auto& m = as<RecursiveMutex>(p);
    m.m.lock();
    m.took();
    return JOSTLE_OK;
  };
  t.try_lock = [](void* p) noexcept -> int {
    auto& m = as<RecursiveMutex>(p);
    if (!m.m.try_lock()) return JOSTLE_BUSY;
    m.took();
    return JOSTLE_OK;
  };
  t.unlock = [](void* p) noexcept -> int {
    auto& m = as<RecursiveMutex>(p);
    if (m.owner.load(std::memory_order_relaxed) != self_id()) return JOSTLE_NOT_OWNER;
    if (--m.count == 0) m.owner.store(0, std::memory_order_relaxed);
    m.m.unlock();
    return JOSTLE_OK;
  };
  return t;
}

constexpr jostle_mutex_ops kMutex = jostle_libs::mutex_table<boost::mutex>();
constexpr jostle_rwlock_ops kRwLock = jostle_libs::rwlock_table<SharedMutex, true>();
constexpr jostle_condvar_ops kCondVar = jostle_libs::condvar_table<CondVar, boost::mutex>("posix");
constexpr jostle_thread_ops kThread = thread_table();
constexpr jostle_owned_mutex_ops kRecursive = recursive_table();
constexpr jostle_plugin kPlugin = [] {
  jostle_plugin t = jostle_libs::plugin_table(
      "boost",
      "Boost.Thread boost::mutex, boost::shared_mutex (timed), boost::condition_variable, boost::recursive_mutex, "
      "boost::thread",
      &kMutex, &kRwLock, &kCondVar);
  t.owned_mutex = &kRecursive;
  t.thread = &kThread;
  return t;
}();

#else  // JOSTLE_BOOST_TIMED

// boost::timed_mutex: lock/try_lock/unlock and try_lock_for as they are.
struct TimedMutex {
  boost::timed_mutex m;
  void lock() { m.lock(); }
  bool try_lock() { return m.try_lock(); }
  void unlock() { m.unlock(); }
  bool try_lock_for(std::chrono::nanoseconds t) { return m.try_lock_for(bns(t)); }
};

// boost::condition_variable_any waits on any lockable: on the timed mutex itself (it unlocks and relocks it).
struct CondVarAny {
  boost::condition_variable_any cv;
  void wait(TimedMutex& m) { cv.wait(m.m); }
  bool wait_for(TimedMutex& m, std::chrono::nanoseconds t) {
    return cv.wait_for(m.m, bns(t)) == boost::cv_status::no_timeout;
  }
  void notify_one() { cv.notify_one(); }
  void notify_all() { cv.notify_all(); }
};

constexpr jostle_mutex_ops kMutex = jostle_libs::mutex_table<TimedMutex, true>();
constexpr jostle_condvar_ops kCondVar = jostle_libs::condvar_table<CondVarAny, TimedMutex>("posix");
constexpr jostle_plugin kPlugin = jostle_libs::plugin_table(
    "boost_timed", "Boost.Thread boost::timed_mutex (try_lock_for), boost::condition_variable_any on it", &kMutex,
    nullptr, &kCondVar);

#endif

}  // namespace

JOSTLE_LIBS_EXPORT_ENTRY(kPlugin)
