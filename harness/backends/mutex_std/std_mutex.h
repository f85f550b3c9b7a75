// `std`: std::mutex, the baseline every other mutex is compared with.
#pragma once

#include <mutex>
#include <string_view>

#include "jostle/contracts/mutex.h"

namespace jostle {

struct StdMutex {
  static constexpr std::string_view kName = "std";
  static constexpr std::string_view kDescription = "std::mutex (libstdc++ over pthread_mutex_t)";

  void lock() { m_.lock(); }
  bool try_lock() { return m_.try_lock(); }
  void unlock() { m_.unlock(); }
  std::mutex& native() { return m_; }

 private:
  std::mutex m_;
};
static_assert(MutexBackend<StdMutex>);

}  // namespace jostle
