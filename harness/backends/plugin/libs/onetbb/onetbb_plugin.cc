// oneTBB's mutexes through the jostle plugin ABI, one plugin per family (a plugin offers one mutex and one
// rwlock), chosen at build time with JOSTLE_TBB_FAMILY:
//   1 "tbb_spin"         tbb::spin_mutex, tbb::spin_rw_mutex (test-and-set with backoff: waiters spin and yield)
//   2 "tbb_queuing"      tbb::queuing_mutex, tbb::queuing_rw_mutex (MCS-style queues: fair, waiters spin locally)
//   3 "tbb"              tbb::mutex, tbb::rw_mutex (adaptive: spin, then sleep on the address)
//   4 "tbb_speculative"  tbb::speculative_spin_mutex, tbb::speculative_spin_rw_mutex (HTM where the CPU has RTM,
//                        else the spin locks)
// oneTBB has no condition variable, so no condvar table.
#include <utility>
#include <vector>

#include <oneapi/tbb/mutex.h>
#include <oneapi/tbb/queuing_mutex.h>
#include <oneapi/tbb/queuing_rw_mutex.h>
#include <oneapi/tbb/rw_mutex.h>
#include <oneapi/tbb/spin_mutex.h>
#include <oneapi/tbb/spin_rw_mutex.h>

#include "cxx_plugin.h"

namespace {

// The queuing and speculative mutexes are only reachable through a scoped_lock, one per acquisition (the queue
// node). The ABI's lock(void*)/unlock(void*) has nowhere to keep it, so each acquisition allocates one and the
// locking thread keeps it in a thread-local list until its unlock; unlock must come from the thread that locked
// (as the mutex and rwlock contracts require).
template <class M, bool kRw>
class ScopedLocked {
 public:
  void lock() { acquire(true); }
  bool try_lock() { return try_acquire(true); }
  void unlock() { release(); }
  void lock_shared() { acquire(false); }
  bool try_lock_shared() { return try_acquire(false); }
  void unlock_shared() { release(); }

 private:
  using Node = typename M::scoped_lock;
  static inline thread_local std::vector<std::pair<const ScopedLocked*, Node*>> held_;

  void acquire(bool write) {
    Node* n = new Node;
    if constexpr (kRw) n->acquire(m_, write); else n->acquire(m_);
    held_.emplace_back(this, n);
  }
  bool try_acquire(bool write) {
    Node* n = new Node;
    bool got;
    if constexpr (kRw) got = n->try_acquire(m_, write); else got = n->try_acquire(m_);
    if (!got) {
      delete n;
      return false;
    }
    held_.emplace_back(this, n);
    return true;
  }
  void release() {
    for (auto it = held_.rbegin(); it != held_.rend(); ++it) {
      if (it->first != this) continue;
      Node* n = it->second;
      held_.erase(std::next(it).base());
      n->release();
      delete n;
      return;
    }
    __builtin_trap();  // unlock by a thread that holds nothing here: a harness bug, stop loudly
  }

  M m_;
};

#if JOSTLE_TBB_FAMILY == 1
using Mutex = tbb::spin_mutex;
using RwLock = tbb::spin_rw_mutex;
constexpr const char* kName = "tbb_spin";
constexpr const char* kDescription = "oneTBB tbb::spin_mutex, tbb::spin_rw_mutex";
#elif JOSTLE_TBB_FAMILY == 2
using Mutex = ScopedLocked<tbb::queuing_mutex, false>;
using RwLock = ScopedLocked<tbb::queuing_rw_mutex, true>;
constexpr const char* kName = "tbb_queuing";
constexpr const char* kDescription = "oneTBB tbb::queuing_mutex, tbb::queuing_rw_mutex";
#elif JOSTLE_TBB_FAMILY == 3
using Mutex = tbb::mutex;
using RwLock = tbb::rw_mutex;
constexpr const char* kName = "tbb";
constexpr const char* kDescription = "oneTBB tbb::mutex, tbb::rw_mutex";
#elif JOSTLE_TBB_FAMILY == 4
using Mutex = ScopedLocked<tbb::speculative_spin_mutex, false>;
using RwLock = ScopedLocked<tbb::speculative_spin_rw_mutex, true>;
constexpr const char* kName = "tbb_speculative";
constexpr const char* kDescription = "oneTBB tbb::speculative_spin_mutex, tbb::speculative_spin_rw_mutex";
#else
#error "JOSTLE_TBB_FAMILY must be 1..4"
#endif

constexpr jostle_mutex_ops kMutex = jostle_libs::mutex_table<Mutex>();
constexpr jostle_rwlock_ops kRwLock = jostle_libs::rwlock_table<RwLock>();
constexpr jostle_plugin kPlugin = jostle_libs::plugin_table(kName, kDescription, &kMutex, &kRwLock);

}  // namespace

JOSTLE_LIBS_EXPORT_ENTRY(kPlugin)
