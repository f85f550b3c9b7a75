// `pthread`: threads on pthread_create with a control block whose ownership after detach is decided by one
// state word (the JOINABLE / DETACHED / EXITED machine of glibc's fix for BZ #19951). The mutant
// `detach-exit-race` decides it from two separate flags instead.
#pragma once

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "jostle/chaos.h"
#include "jostle/contracts/thread.h"
#include "jostle/sys.h"
#include "jostle/typelist.h"

namespace jostle {

namespace thread_detail {

// Control blocks come from a per-backend pool that never returns memory, so a double release is counted
// (and survives) instead of being undefined behaviour: the ownership counters are the oracle even without ASan.
struct Block {
  pthread_t tid{};
  ThreadEntry entry = nullptr;
  void* arg = nullptr;
  std::atomic<std::uint32_t> state{0};     // correct backend: 0 joinable, 1 detached, 2 exited
  std::atomic<std::uint32_t> detached{0};  // mutant: the two separate fields
  std::atomic<std::uint32_t> exited{0};
  std::atomic<std::uint32_t> in_pool{0};
  Nanos spawned_at = 0;  // read only by the timed-join-start-anchored mutant
  Block* next_free = nullptr;
};

template <class Tag>
class BlockPool {
 public:
  static Block* acquire() {
    Block* b;
    {
      sys::RawLockGuard g(lock());
      b = free_head();
      if (b) free_head() = b->next_free;
    }
    if (!b) b = new Block;
    b->state.store(0, std::memory_order_relaxed);
    b->detached.store(0, std::memory_order_relaxed);
    b->exited.store(0, std::memory_order_relaxed);
    b->in_pool.store(0, std::memory_order_relaxed);
    counters().acquired.fetch_add(1, std::memory_order_relaxed);
    return b;
  }
  static void release(Block* b) {
    if (b->in_pool.exchange(1, std::memory_order_acq_rel) != 0) {
      counters().double_released.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    counters().released.fetch_add(1, std::memory_order_relaxed);
    sys::RawLockGuard g(lock());
    b->next_free = free_head();
    free_head() = b;
  }
  static void note_exit() { counters().exited.fetch_add(1, std::memory_order_release); }
  static ThreadStats stats() {
    auto& c = counters();
    ThreadStats s;
    s.exited = c.exited.load(std::memory_order_acquire);
    s.acquired = c.acquired.load(std::memory_order_relaxed);
    s.released = c.released.load(std::memory_order_relaxed);
    s.double_released = c.double_released.load(std::memory_order_relaxed);
    return s;
  }

 private:
  struct Counters {
    std::atomic<std::uint64_t> acquired{0}, released{0}, double_released{0}, exited{0};
  };
  static Counters& counters() {
    static Counters c;
    return c;
  }
  static sys::RawLock& lock() {
    static sys::RawLock l;
    return l;
  }
  static Block*& free_head() {
    static Block* h = nullptr;
    return h;
  }
};

}  // namespace thread_detail

// The injected defects of the mutants built on this backend (none for `pthread` itself).
enum class PthreadDefect { none, two_flags, join_ignores_einval, cached_id, timed_join_consumes, timed_join_start_anchored };

template <PthreadDefect kDefect>
struct PthreadThreadT {
  static constexpr bool kTwoFlags = kDefect == PthreadDefect::two_flags;
  static constexpr std::string_view kName = kDefect == PthreadDefect::two_flags ? "mutant.thread.detach_exit_race"
                                            : kDefect == PthreadDefect::join_ignores_einval
                                                ? "mutant.thread.join_ignores_einval"
                                            : kDefect == PthreadDefect::cached_id ? "mutant.thread.cached_thread_id"
                                            : kDefect == PthreadDefect::timed_join_consumes
                                                ? "mutant.thread.timed_join_consumes"
                                            : kDefect == PthreadDefect::timed_join_start_anchored
                                                ? "mutant.thread.timed_join_start_anchored"
                                                : "pthread";
  static constexpr std::string_view kDescription =
      kTwoFlags ? "pthread threads whose detach and exit paths each decide ownership of the control block from "
                  "two separate flags (check, cleanup, then mark), so a detach racing exit leaks or double-frees"
                : "pthread_create/join/detach; control-block ownership decided by one state word exchanged by "
                  "detach and by the exiting thread";
  static constexpr std::size_t kMaxNameLen = 15;
  using Pool = thread_detail::BlockPool<PthreadThreadT>;

  struct Handle {
    thread_detail::Block* blk = nullptr;
    bool given_up = false;  // timed-join-consumes: a timed join that timed out detached the thread
  };

  static void* trampoline(void* p) {
    auto* b = static_cast<thread_detail::Block*>(p);
    b->entry(b->arg);
    if constexpr (kTwoFlags) {
      // The defect: "am I detached?" is read first, the thread-exit cleanup runs, and only then is "exited"
      // published; detach reads "exited" on its own. A detach landing in the cleanup leaks the block, one
      // landing between the read and the publish makes both sides release it.
      const bool det = b->detached.load(std::memory_order_acquire) != 0;
      JOSTLE_CHAOS("thread.exit.cleanup");
      exit_cleanup();
      b->exited.store(1, std::memory_order_release);
      if (det) Pool::release(b);
    } else {
      // T_exit: exchange(EXITED) vs T_detach: exchange(DETACHED). Exactly one of the two sees the other's
      // value, and that one releases: no window in which both or neither own the block.
      JOSTLE_CHAOS("thread.exit.cleanup");
      exit_cleanup();
      if (b->state.exchange(2, std::memory_order_acq_rel) == 1) Pool::release(b);
    }
    Pool::note_exit();
    return nullptr;
  }

  // Stands in for the exit-time work of a thread library (TLS destructors, stack cache): a couple of
  // microseconds during which the thread is finished but not yet marked as such.
  static void exit_cleanup() {
    const Nanos until = now_ns() + 2 * kMicro;
    while (now_ns() < until) sys::cpu_relax();
  }

  static int spawn(Handle& h, ThreadEntry entry, void* arg) {
    auto* b = Pool::acquire();
    b->entry = entry;
    b->arg = arg;
    b->spawned_at = now_ns();
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    // The join-ignores-einval defect: threads are created detached "so that nobody leaks a zombie", and join
    // then ignores pthread_join's EINVAL and returns while the thread is still running.
    if constexpr (kDefect == PthreadDefect::join_ignores_einval)
      pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    const int rc = pthread_create(&b->tid, &attr, &trampoline, b);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      Pool::release(b);
      return rc;
    }
    h.blk = b;
    return 0;
  }

  static void join(Handle& h) {
    if constexpr (kDefect == PthreadDefect::join_ignores_einval) {
      // pthread_join on a detached thread is EINVAL, ignored: join returns while the thread may still run.
      // The block is then handed over like a detach so that only the visibility defect remains.
      if (h.blk->state.exchange(1, std::memory_order_acq_rel) == 2) Pool::release(h.blk);
    } else if (kDefect == PthreadDefect::timed_join_consumes && h.given_up) {
      // pthread_join on the thread the timed join detached: EINVAL at once, ignored. The exit path owns the
      // block (the detach handed it over), so the joiner neither waits nor releases.
    } else {
      JOSTLE_CHAOS_BLOCKING_BEGIN("thread.join");
      pthread_join(h.blk->tid, nullptr);
      JOSTLE_CHAOS_BLOCKING_END("thread.join");
      Pool::release(h.blk);  // the joiner is the only owner left
    }
    h.blk = nullptr;
  }

  // pthread_clockjoin_np on CLOCK_MONOTONIC (glibc 2.31+; pthread_timedjoin_np would measure CLOCK_REALTIME).
  static int timed_join(Handle& h, Nanos ns) {
    if constexpr (kDefect == PthreadDefect::join_ignores_einval) {
      join(h);  // the thread was created detached: EINVAL at once, ignored like join's
      return 0;
    }
    // The start-anchored defect: the deadline is counted from the thread's creation, not from this call, so
    // a timed join made some time after spawn gives up that much too early.
    const Nanos from = kDefect == PthreadDefect::timed_join_start_anchored ? h.blk->spawned_at : now_ns();
    const timespec abs = to_timespec(from + (ns > 0 ? ns : 0));
    int rc;
    JOSTLE_CHAOS_BLOCKING_BEGIN("thread.timed_join");
#if defined(__SANITIZE_THREAD__)
    // ThreadSanitizer intercepts pthread_timedjoin_np but not pthread_clockjoin_np: a join it does not see is
    // reported as a leaked thread. Under TSan the monotonic deadline is turned into a CLOCK_REALTIME one (a
    // clock step during the wait would skew it; TSan runs check races, not timing).
    timespec real{};
    {
      timespec mono{};
      ::clock_gettime(CLOCK_MONOTONIC, &mono);
      ::clock_gettime(CLOCK_REALTIME, &real);
      const Nanos left = (from + (ns > 0 ? ns : 0)) - (static_cast<Nanos>(mono.tv_sec) * kSecond + mono.tv_nsec);
      const Nanos at = static_cast<Nanos>(real.tv_sec) * kSecond + real.tv_nsec + (left > 0 ? left : 0);
      real.tv_sec = static_cast<time_t>(at / kSecond);
      real.tv_nsec = static_cast<long>(at % kSecond);
    }
    (void)abs;
    do {
      rc = pthread_timedjoin_np(h.blk->tid, nullptr, &real);
    } while (rc == EINTR);
#else
    do {
      rc = pthread_clockjoin_np(h.blk->tid, nullptr, CLOCK_MONOTONIC, &abs);
    } while (rc == EINTR);
#endif
    JOSTLE_CHAOS_BLOCKING_END("thread.timed_join");
    if (rc == 0) {
      Pool::release(h.blk);  // joined: the joiner is the only owner left, as in join()
      h.blk = nullptr;
      return 0;
    }
    if constexpr (kDefect == PthreadDefect::timed_join_consumes) {
      // The defect: a timed join that gives up detaches the thread "so that it cannot leak", which consumes
      // the handle: the later join returns at once without the result.
      pthread_detach(h.blk->tid);
      if (h.blk->state.exchange(1, std::memory_order_acq_rel) == 2) Pool::release(h.blk);
      h.given_up = true;
    }
    return rc;
  }

  static void detach(Handle& h) {
    auto* b = h.blk;
    h.blk = nullptr;
    if constexpr (kDefect != PthreadDefect::join_ignores_einval)
      pthread_detach(b->tid);  // the pthread itself (glibc's state machine); our block is the part under test
    JOSTLE_CHAOS("thread.detach");
    if constexpr (kTwoFlags) {
      b->detached.store(1, std::memory_order_release);
      if (b->exited.load(std::memory_order_acquire) != 0) Pool::release(b);
    } else {
      if (b->state.exchange(1, std::memory_order_acq_rel) == 2) Pool::release(b);
    }
  }

  static int set_name(Handle& h, const char* name) { return pthread_setname_np(h.blk->tid, name); }
  static int get_name(Handle& h, char* buf, std::size_t len) { return pthread_getname_np(h.blk->tid, buf, len); }
  static int set_name_self(const char* name) { return pthread_setname_np(pthread_self(), name); }
  static int get_name_self(char* buf, std::size_t len) { return pthread_getname_np(pthread_self(), buf, len); }
  static std::uint64_t current_id() {
    if constexpr (kDefect == PthreadDefect::cached_id) {
      // The defect: the id is cached process-wide on first use (glibc's old cached-tid bug class: a cache
      // that outlives the thread or the clone it was taken in).
      static const std::uint64_t cached = static_cast<std::uint64_t>(sys::gettid());
      return cached;
    }
    return static_cast<std::uint64_t>(sys::gettid());
  }
  static void yield() { sched_yield(); }
  static void sleep(Nanos ns) {
    JOSTLE_CHAOS_BLOCKING_BEGIN("thread.sleep");
    sleep_ns(ns);
    JOSTLE_CHAOS_BLOCKING_END("thread.sleep");
  }
  static unsigned cpu_count() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    const int n = CPU_COUNT(&set);
    return n > 0 ? static_cast<unsigned>(n) : 1u;
  }
  static ThreadStats stats() { return Pool::stats(); }
};

using PthreadThread = PthreadThreadT<PthreadDefect::none>;
static_assert(TimedJoinThreadBackend<PthreadThread>);

struct MutantDetachExitRace : PthreadThreadT<PthreadDefect::two_flags> {
  static constexpr std::string_view kCatches = "agents/thread_detach_exit_race,agents/thread_detached_runs";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "glibc BZ #19951 (fix 5da15b15ad)";
};
static_assert(ThreadBackend<MutantDetachExitRace>);

struct MutantJoinIgnoresEinval : PthreadThreadT<PthreadDefect::join_ignores_einval> {
  static constexpr std::string_view kDescription =
      "threads created detached; join ignores pthread_join's EINVAL and returns while the thread still runs";
  static constexpr std::string_view kCatches = "agents/thread_join_visible";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "ignored pthread_join error (Zig Thread.zig join contract, T1)";
};
static_assert(ThreadBackend<MutantJoinIgnoresEinval>);

struct MutantCachedThreadId : PthreadThreadT<PthreadDefect::cached_id> {
  static constexpr std::string_view kDescription = "current_id() cached process-wide on first use";
  static constexpr std::string_view kCatches = "agents/thread_ids_unique";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "glibc cached PID/TID after clone (removed in glibc 2.25)";
};
static_assert(ThreadBackend<MutantCachedThreadId>);

}  // namespace jostle

namespace jostle {

struct MutantTimedJoinConsumes : PthreadThreadT<PthreadDefect::timed_join_consumes> {
  static constexpr std::string_view kDescription =
      "a timed join that times out detaches the thread; the later join returns at once without the result";
  static constexpr std::string_view kCatches = "agents/thread_timed_join_running";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource =
      "timeout must not consume (the X1 rule for thread joins; std::thread-style 'give up and detach' wrappers)";
};
static_assert(TimedJoinThreadBackend<MutantTimedJoinConsumes>);

struct MutantTimedJoinStartAnchored : PthreadThreadT<PthreadDefect::timed_join_start_anchored> {
  static constexpr std::string_view kDescription =
      "the timed join's deadline is counted from the thread's creation instead of from the call";
  static constexpr std::string_view kCatches = "agents/thread_timed_join_running";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "timeout anchored at the wrong instant (early timeout class)";
};
static_assert(TimedJoinThreadBackend<MutantTimedJoinStartAnchored>);

using PthreadThreadMutants = TypeList<MutantDetachExitRace, MutantJoinIgnoresEinval, MutantCachedThreadId,
                                      MutantTimedJoinConsumes, MutantTimedJoinStartAnchored>;

}  // namespace jostle
