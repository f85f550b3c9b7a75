// Boost.Thread through the jostle plugin ABI: boost::mutex, boost::shared_mutex (with its timed operations) and
// boost::condition_variable with boost::mutex.
#include <boost/chrono.hpp>
#include <boost/thread/condition_variable.hpp>
#include <boost/thread/locks.hpp>
#include <boost/thread/mutex.hpp>
#include <boost/thread/shared_mutex.hpp>

#include "cxx_plugin.h"

namespace {

boost::chrono::nanoseconds bns(std::chrono::nanoseconds t) { return boost::chrono::nanoseconds(t.count()); }

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

constexpr jostle_mutex_ops kMutex = jostle_libs::mutex_table<boost::mutex>();
constexpr jostle_rwlock_ops kRwLock = jostle_libs::rwlock_table<SharedMutex, true>();
constexpr jostle_condvar_ops kCondVar = jostle_libs::condvar_table<CondVar, boost::mutex>("posix");
constexpr jostle_plugin kPlugin = jostle_libs::plugin_table(
    "boost", "Boost.Thread boost::mutex, boost::shared_mutex (timed), boost::condition_variable", &kMutex, &kRwLock,
    &kCondVar);

}  // namespace

JOSTLE_LIBS_EXPORT_ENTRY(kPlugin)
