// `std`: std::thread, with the control block shared between the handle and the thread through a reference
// count (the other classic ownership scheme: whoever drops the last reference frees it). Names from the thread
// itself go through prctl(PR_SET_NAME), which truncates silently, so the backend enforces the length rule itself.
#pragma once

#include <pthread.h>
#include <sys/prctl.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>

#include "jostle/chaos.h"
#include "jostle/contracts/thread.h"
#include "jostle/sys.h"
#include "jostle/typelist.h"

namespace jostle {

enum class StdDefect { none, truncates, misses_exit };

template <StdDefect kDefect>
struct StdThreadT {
  static constexpr bool kTruncates = kDefect == StdDefect::truncates;
  static constexpr std::string_view kName = kTruncates                        ? "mutant.thread.name_truncates"
                                            : kDefect == StdDefect::misses_exit ? "mutant.thread.timed_join_misses_exit"
                                                                                : "std";
  static constexpr std::string_view kDescription =
      kTruncates ? "std backend whose self-naming passes long names straight to prctl(PR_SET_NAME), which "
                   "truncates them silently instead of failing with ERANGE"
                 : "std::thread; control block owned through a shared reference count; self-naming with "
                   "prctl(PR_SET_NAME) behind an explicit length check";
  static constexpr std::size_t kMaxNameLen = 15;

  struct Counters {
    std::atomic<std::uint64_t> acquired{0}, released{0}, exited{0};
  };
  static Counters& counters() {
    static Counters c;
    return c;
  }
  struct Block {
    Block() { counters().acquired.fetch_add(1, std::memory_order_relaxed); }
    ~Block() { counters().released.fetch_add(1, std::memory_order_relaxed); }
    Block(const Block&) = delete;
    Block& operator=(const Block&) = delete;
    std::thread thread;
    std::atomic<std::uint32_t> done{0};  // futex: 1 once the callable returned (the timed join waits on it)
  };
  struct Handle {
    std::shared_ptr<Block> blk;
  };

  static int spawn(Handle& h, ThreadEntry entry, void* arg) {
    auto b = std::make_shared<Block>();
    try {
      b->thread = std::thread([keep = b, entry, arg]() mutable {
        entry(arg);
        keep->done.store(1, std::memory_order_release);
        sys::futex_wake(keep->done);
        JOSTLE_CHAOS("thread.exit.cleanup");
        keep.reset();
        counters().exited.fetch_add(1, std::memory_order_release);
      });
    } catch (const std::system_error& e) {
      return e.code().value() ? e.code().value() : EAGAIN;
    }
    h.blk = std::move(b);
    return 0;
  }
  static void join(Handle& h) {
    JOSTLE_CHAOS_BLOCKING_BEGIN("thread.join");
    h.blk->thread.join();
    JOSTLE_CHAOS_BLOCKING_END("thread.join");
    h.blk.reset();
  }
  // std::thread has no timed join: wait (bounded) for the done word, then join, which returns promptly.
  static int timed_join(Handle& h, Nanos ns) {
    Block& b = *h.blk;
    const Nanos deadline = now_ns() + (ns > 0 ? ns : 0);
    if constexpr (kDefect == StdDefect::misses_exit) {
      // The defect: the joiner waits for the exit *notification* (the word changing), not the exit state: a
      // thread that finished before the call never notifies again, and the join times out on it.
      const std::uint32_t seen = b.done.load(std::memory_order_acquire);
      JOSTLE_CHAOS_BLOCKING_BEGIN("thread.timed_join");
      const Nanos left = deadline - now_ns();
      const int rc = sys::futex_wait(b.done, seen, left > 0 ? left : 0);
      JOSTLE_CHAOS_BLOCKING_END("thread.timed_join");
      if (rc == ETIMEDOUT) return ETIMEDOUT;
    }
    while (b.done.load(std::memory_order_acquire) == 0) {
      const Nanos left = deadline - now_ns();
      if (left <= 0) return ETIMEDOUT;
      JOSTLE_CHAOS_BLOCKING_BEGIN("thread.timed_join");
      sys::futex_wait(b.done, 0, left);
      JOSTLE_CHAOS_BLOCKING_END("thread.timed_join");
    }
    join(h);
    return 0;
  }
  static void detach(Handle& h) {
    h.blk->thread.detach();
    JOSTLE_CHAOS("thread.detach");
    h.blk.reset();
  }
  static int set_name(Handle& h, const char* name) {
    return pthread_setname_np(h.blk->thread.native_handle(), name);
  }
  static int get_name(Handle& h, char* buf, std::size_t len) {
    return pthread_getname_np(h.blk->thread.native_handle(), buf, len);
  }
  static int set_name_self(const char* name) {
    if (!kTruncates && std::strlen(name) > kMaxNameLen) return ERANGE;
    return prctl(PR_SET_NAME, name, 0, 0, 0) == 0 ? 0 : errno;
  }
  static int get_name_self(char* buf, std::size_t len) {
    if (len <= kMaxNameLen) return ERANGE;
    char tmp[kMaxNameLen + 1] = {};
    if (prctl(PR_GET_NAME, tmp, 0, 0, 0) != 0) return errno;
    std::memcpy(buf, tmp, sizeof tmp);
    return 0;
  }
  static std::uint64_t current_id() { return static_cast<std::uint64_t>(pthread_self()); }
  static void yield() { std::this_thread::yield(); }
  static void sleep(Nanos ns) {
    JOSTLE_CHAOS_BLOCKING_BEGIN("thread.sleep");
    std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
    JOSTLE_CHAOS_BLOCKING_END("thread.sleep");
  }
  static unsigned cpu_count() {
    const unsigned n = std::thread::hardware_concurrency();
    return n ? n : 1u;
  }
  static ThreadStats stats() {
    auto& c = counters();
    ThreadStats s;
    s.exited = c.exited.load(std::memory_order_acquire);
    s.acquired = c.acquired.load(std::memory_order_relaxed);
    s.released = c.released.load(std::memory_order_relaxed);
    return s;
  }
};
using StdThread = StdThreadT<StdDefect::none>;
static_assert(TimedJoinThreadBackend<StdThread>);

struct MutantNameTruncates : StdThreadT<StdDefect::truncates> {
  static constexpr std::string_view kCatches = "agents/thread_names";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "Zig std.Thread setName contract (NameTooLong); prctl(2) truncation";
};
static_assert(ThreadBackend<MutantNameTruncates>);

struct MutantTimedJoinMissesExit : StdThreadT<StdDefect::misses_exit> {
  static constexpr std::string_view kDescription =
      "the timed join waits for the thread's exit notification instead of its exit state: a thread that "
      "already finished makes it time out";
  static constexpr std::string_view kCatches = "agents/thread_timed_join_finished";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "completion signalled as an edge, not a state (lost wakeup on join)";
};
static_assert(TimedJoinThreadBackend<MutantTimedJoinMissesExit>);

using StdThreadMutants = TypeList<MutantNameTruncates, MutantTimedJoinMissesExit>;

}  // namespace jostle
