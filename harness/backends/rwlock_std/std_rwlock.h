// `std`: std::shared_mutex (no timed operations).
#pragma once

#include <shared_mutex>
#include <string_view>

#include "jostle/chaos.h"
#include "jostle/contracts/rwlock.h"

namespace jostle {

class StdRwLock {
 public:
  static constexpr std::string_view kPrimitive = "rwlock";
  static constexpr std::string_view kName = "std";
  static constexpr std::string_view kDescription = "std::shared_mutex";

  // The blocking calls go straight to libstdc++/glibc: chaos BLOCKING hooks here.
  void lock() {
    JOSTLE_CHAOS_BLOCKING_BEGIN("rwlock.std.lock");
    m_.lock();
    JOSTLE_CHAOS_BLOCKING_END("rwlock.std.lock");
  }
  bool try_lock() { return m_.try_lock(); }
  void unlock() { m_.unlock(); }
  void lock_shared() {
    JOSTLE_CHAOS_BLOCKING_BEGIN("rwlock.std.lock_shared");
    m_.lock_shared();
    JOSTLE_CHAOS_BLOCKING_END("rwlock.std.lock_shared");
  }
  bool try_lock_shared() { return m_.try_lock_shared(); }
  void unlock_shared() { m_.unlock_shared(); }

 private:
  std::shared_mutex m_;
};
static_assert(RwLockBackend<StdRwLock> && !TimedRwLockBackend<StdRwLock>);

}  // namespace jostle
