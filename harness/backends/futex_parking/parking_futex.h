// `parking`: a portable futex emulation in the spirit of Zig's Futex PosixImpl and WebKit's ParkingLot. Words
// hash to buckets; a bucket is a small lock, a FIFO queue of waiters and a `pending` count that lets wake()
// skip the lock when nobody can be waiting. Each waiter parks on a word of its own (a raw futex here; any
// per-thread parker would do), so the emulation only needs the OS to park and unpark one thread.
//
// The mutants of this file are the same code with one `Defect` switched on; each defect is a flag test in the
// exact place the historical bug lived, so the diff between a mutant and `parking` is the defect alone.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>

#include "jostle/chaos.h"
#include "jostle/contracts/futex.h"
#include "jostle/sys.h"
#include "jostle/typelist.h"

namespace jostle {

namespace parking_detail {

inline long raw_wait(std::atomic<std::uint32_t>& w, std::uint32_t v, const timespec* rel) {
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), FUTEX_WAIT_PRIVATE, v, rel, nullptr, 0);
}
inline void raw_wake(std::atomic<std::uint32_t>& w, int n) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
}

// The bucket lock: 0 free, 1 locked, 2 locked with sleepers (Drepper's "Futexes are tricky", mutex 2). The
// backend owns it, so the harness's own RawLock is never on the path under test.
class BucketLock {
 public:
  void lock() {
    std::uint32_t c = 0;
    if (s_.compare_exchange_strong(c, 1, std::memory_order_acquire)) return;
    for (int i = 0; i < 64 && c != 0; ++i) {
      sys::cpu_relax();
      c = 0;
      if (s_.compare_exchange_weak(c, 1, std::memory_order_acquire)) return;
    }
    while (s_.exchange(2, std::memory_order_acquire) != 0) {
      JOSTLE_CHAOS_BLOCKING_BEGIN("futex.parking.bucket-lock");
      raw_wait(s_, 2, nullptr);
      JOSTLE_CHAOS_BLOCKING_END("futex.parking.bucket-lock");
    }
  }
  void unlock() {
    if (s_.exchange(0, std::memory_order_release) == 2) raw_wake(s_, 1);
  }

 private:
  std::atomic<std::uint32_t> s_{0};
};

// Lives on the waiting thread's stack for the duration of one wait.
struct Waiter {
  const FutexWord* addr;
  Waiter* next = nullptr;
  Waiter* prev = nullptr;
  bool queued = false;                       // guarded by the bucket lock
  std::atomic<std::uint32_t> unparked{0};    // 1 once a waker has dequeued it and will not touch it again
};

struct alignas(64) Bucket {
  BucketLock lock;
  Waiter* head = nullptr;
  Waiter* tail = nullptr;
  // Waiters enqueued or about to be (announced before their value check). wake() may skip the lock when 0.
  std::atomic<std::uint32_t> pending{0};

  void push(Waiter* w) {
    w->prev = tail;
    w->next = nullptr;
    (tail ? tail->next : head) = w;
    tail = w;
    w->queued = true;
  }
  void remove(Waiter* w) {
    (w->prev ? w->prev->next : head) = w->next;
    (w->next ? w->next->prev : tail) = w->prev;
    w->queued = false;
  }
};

}  // namespace parking_detail

// One flag per historical defect; `none` is the correct backend.
enum class ParkingDefect {
  none,
  check_then_enqueue,    // value check and enqueue are two critical sections (nanos #1601, unikraft #1763)
  fastpath_no_barrier,   // wake's pending==0 fast path not ordered against the waiter's check (linux 76835b0ebf8a)
  timeout_swallows,      // a timed waiter dequeued by wake whose timer also fired reports timed_out (wasmtime #5871)
  collision_wakes_wrong, // wake dequeues the bucket's head whatever its address (libstdc++ PR 100334)
  narrow_compare,        // the value check compares only the low 16 bits (proxied sub-word waits)
};

// Widen: the mutants' race windows are widened by a short spin (window()) so that plain repetition finds them in
// seconds; the `.natural` mutants keep the window the defect has by itself, which only amplification hits often.
template <std::size_t Buckets, ParkingDefect D = ParkingDefect::none, bool Widen = true>
struct ParkingFutexT {
  static_assert(Buckets > 0 && (Buckets & (Buckets - 1)) == 0, "bucket count must be a power of two");
  static constexpr std::string_view kPrimitive = "futex";
  static constexpr bool kCountsWakes = true;
  static constexpr std::size_t kBuckets = Buckets;
  static constexpr std::string_view kProfile = "strict";  // no spurious returns; FIFO per word

  using Waiter = parking_detail::Waiter;
  using Bucket = parking_detail::Bucket;

  static Bucket& bucket_of(const FutexWord& w) {
    static Bucket table[Buckets];
    const auto a = reinterpret_cast<std::uintptr_t>(&w) >> 2;
    return table[(a * 0x9e3779b97f4a7c15ULL) >> 32 & (Buckets - 1)];
  }

  static bool differs(const FutexWord& w, std::uint32_t expected) {
    const std::uint32_t v = w.load(std::memory_order_relaxed);
    if constexpr (D == ParkingDefect::narrow_compare) return (v & 0xffff) != (expected & 0xffff);
    return v != expected;
  }

  // Enqueues `me` unless the word already differs. Returns false when it did not enqueue.
  //
  // Ordering of the fast path: T1 (waker) stores the word then wake() loads `pending`; T2 (waiter) increments
  // `pending` then loads the word. Both sides have a seq_cst operation between their store and load (the fence in
  // wake, the RMW here), so at least one sees the other: either T2 sees the new value and does not sleep, or T1
  // sees pending > 0 and takes the lock, where it finds T2 queued (the check and the push share a critical section).
  static bool enqueue(Bucket& b, Waiter& me, const FutexWord& w, std::uint32_t expected) {
    if constexpr (D != ParkingDefect::fastpath_no_barrier) b.pending.fetch_add(1, std::memory_order_seq_cst);
    b.lock.lock();
    if (differs(w, expected)) {
      if constexpr (D != ParkingDefect::fastpath_no_barrier) b.pending.fetch_sub(1, std::memory_order_relaxed);
      b.lock.unlock();
      return false;
    }
    if constexpr (D == ParkingDefect::check_then_enqueue) {
      // The defect: the bucket is released between the check and the push. A wake in the gap finds no one.
      b.lock.unlock();
      JOSTLE_CHAOS("futex.parking.check-enqueue-gap");
      window();
      b.lock.lock();
    }
    if constexpr (D == ParkingDefect::fastpath_no_barrier) {
      // The defect: `pending` is published after the value check, the program-order form of a waker whose
      // pending load passed its own value store. A waker storing now sees pending == 0 and leaves.
      JOSTLE_CHAOS("futex.parking.pending-late");
      window();
      b.pending.fetch_add(1, std::memory_order_relaxed);
    }
    b.push(&me);
    b.lock.unlock();
    return true;
  }

  // Parks until a waker sets `unparked`, or until `deadline` (absolute, monotonic; < 0 = none) passes.
  // Returns false on timeout. EINTR and spurious futex returns just loop: only `unparked` ends the wait.
  static bool park(Waiter& me, Nanos deadline) {
    while (me.unparked.load(std::memory_order_acquire) == 0) {
      if (deadline < 0) {
        JOSTLE_CHAOS_BLOCKING_BEGIN("futex.parking.park");
        parking_detail::raw_wait(me.unparked, 0, nullptr);
        JOSTLE_CHAOS_BLOCKING_END("futex.parking.park");
        continue;
      }
      const Nanos left = deadline - now_ns();
      if (left <= 0) return me.unparked.load(std::memory_order_acquire) != 0;
      const timespec ts = to_timespec(left);
      JOSTLE_CHAOS_BLOCKING_BEGIN("futex.parking.park");
      parking_detail::raw_wait(me.unparked, 0, &ts);
      JOSTLE_CHAOS_BLOCKING_END("futex.parking.park");
    }
    return true;
  }

  // Chaos `timeout` action: the waiter stays queued but does not look at `unparked` until its deadline, then
  // takes the timer-fired path, as if its timer fired at the same moment as any wake that came meanwhile. That
  // path must still report a wake that dequeued it as woken ([futex.timed-wait.no-swallow]).
  static void sleep_to(Nanos deadline) {
    JOSTLE_CHAOS_BLOCKING_BEGIN("futex.parking.timeout");
    for (Nanos left = deadline - now_ns(); left > 0; left = deadline - now_ns()) sleep_ns(left);
    JOSTLE_CHAOS_BLOCKING_END("futex.parking.timeout");
  }

  static void wait(FutexWord& w, std::uint32_t expected) {
    JOSTLE_CHAOS("futex.wait.before");
    Bucket& b = bucket_of(w);
    Waiter me{&w};
    if (!enqueue(b, me, w, expected)) return;
    park(me, -1);
    JOSTLE_CHAOS("futex.wait.after");
  }

  static FutexStatus timed_wait(FutexWord& w, std::uint32_t expected, Nanos timeout) {
    JOSTLE_CHAOS("futex.wait.before");
    if (differs(w, expected)) return FutexStatus::value_changed;
    if (timeout <= 0) return FutexStatus::timed_out;
    const Nanos deadline = now_ns() + timeout;
    Bucket& b = bucket_of(w);
    Waiter me{&w};
    if (!enqueue(b, me, w, expected)) return FutexStatus::value_changed;
    if (JOSTLE_CHAOS_TIMEOUT("futex.timed_wait")) sleep_to(deadline);
    else if (park(me, deadline)) return FutexStatus::woken;
    // The timer fired. A waker may have dequeued us meanwhile: then it owns the wake and we report it.
    JOSTLE_CHAOS("futex.parking.timed-out");
    if constexpr (D == ParkingDefect::timeout_swallows) window();
    b.lock.lock();
    const bool still_queued = me.queued;
    if (still_queued) {
      b.remove(&me);
      b.pending.fetch_sub(1, std::memory_order_relaxed);
    }
    b.lock.unlock();
    if (still_queued) return FutexStatus::timed_out;
    park(me, -1);  // the waker is about to set `unparked`; our stack frame must outlive its store
    if constexpr (D == ParkingDefect::timeout_swallows) return FutexStatus::timed_out;  // the defect
    return FutexStatus::woken;
  }

  static int wake(FutexWord& w, int n) {
    JOSTLE_CHAOS("futex.wake.before");
    if (n <= 0) return 0;
    Bucket& b = bucket_of(w);
    if constexpr (D != ParkingDefect::fastpath_no_barrier) std::atomic_thread_fence(std::memory_order_seq_cst);
    if (b.pending.load(std::memory_order_relaxed) == 0) return 0;
    Waiter* woken = nullptr;
    int count = 0;
    b.lock.lock();
    for (Waiter* it = b.head; it != nullptr && count < n;) {
      Waiter* next = it->next;
      if (it->addr == &w || D == ParkingDefect::collision_wakes_wrong) {
        b.remove(it);
        it->next = woken;
        woken = it;
        ++count;
      }
      it = next;
    }
    b.pending.fetch_sub(static_cast<std::uint32_t>(count), std::memory_order_relaxed);
    b.lock.unlock();
    JOSTLE_CHAOS("futex.parking.before-unpark");
    while (woken != nullptr) {
      Waiter* next = woken->next;  // read before the store: the waiter may return and pop its frame after it
      std::atomic<std::uint32_t>& flag = woken->unparked;
      flag.store(1, std::memory_order_release);
      parking_detail::raw_wake(flag, 1);  // a wake on a just-freed stack word is harmless (spurious at worst)
      woken = next;
    }
    return count;
  }

  // The exact parked probe: threads enqueued on this word right now.
  static int waiters(const FutexWord& w) {
    Bucket& b = bucket_of(w);
    int c = 0;
    b.lock.lock();
    for (Waiter* it = b.head; it != nullptr; it = it->next) c += it->addr == &w;
    b.lock.unlock();
    return c;
  }

 private:
  // Mutants widen their race window by a couple of microseconds (the length of a preemption-free slow path on
  // a busy machine), so the defect shows in default-length runs without --chaos.
  static void window() {
    if constexpr (Widen) {
      for (int i = 0; i < 400; ++i) sys::cpu_relax();
    }
  }
};

struct ParkingFutex : ParkingFutexT<64> {
  static constexpr std::string_view kName = "parking";
  static constexpr std::string_view kDescription =
      "portable emulation: 64 hashed buckets of FIFO waiter queues under a lock, one parking word per waiter";
};

struct Parking1Bucket : ParkingFutexT<1> {
  static constexpr std::string_view kName = "parking_1bucket";
  static constexpr std::string_view kDescription =
      "`parking` with a single bucket: every word collides, for the address-isolation cases";
};

struct MutantCheckThenEnqueue : ParkingFutexT<64, ParkingDefect::check_then_enqueue> {
  static constexpr std::string_view kName = "mutant.futex.check_then_enqueue";
  static constexpr std::string_view kDescription =
      "parking, but the value check and the enqueue are two critical sections: a wake in the gap is lost";
  static constexpr std::string_view kCatches = "futex/lost_wakeup_storm,futex/signaling_ring";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "nanos PR #1601; unikraft PR #1763; asterinas PR #1642";
};

struct MutantWakerFastpathNoBarrier : ParkingFutexT<64, ParkingDefect::fastpath_no_barrier> {
  static constexpr std::string_view kName = "mutant.futex.waker_fastpath_no_barrier";
  static constexpr std::string_view kDescription =
      "parking whose wake() pending==0 fast path is not ordered against the waiter's value check (modelled in "
      "program order: the waiter publishes itself after checking), so a wake can see no waiter and leave";
  static constexpr std::string_view kCatches = "futex/lost_wakeup_storm,futex/signaling_ring";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource =
      "linux 76835b0ebf8a (after b0c29f79ecea); Zig Futex PosixImpl comments; osv PR #1480";
};

// The same two lost-wakeup defects with their natural windows: a few instructions between the check and the
// enqueue, as in the historical bugs. Plain repetition rarely lands a wake in them (docs/detection.md); a chaos
// point in the gap does, so their catchers are declared under chaos (kCatchesUnder).
struct MutantCheckThenEnqueueNatural : ParkingFutexT<64, ParkingDefect::check_then_enqueue, false> {
  static constexpr std::string_view kName = "mutant.futex.check_then_enqueue_natural";
  static constexpr std::string_view kDescription =
      "mutant.futex.check_then_enqueue without the widening spin: the gap is one unlock and one lock";
  static constexpr std::string_view kCatches = "futex/lost_wakeup_storm,futex/signaling_ring,futex/broadcasting";
  static constexpr std::string_view kCatchesUnder = "p=0.1,actions=yield+sleep";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource = "nanos PR #1601; unikraft PR #1763; asterinas PR #1642";
};

struct MutantWakerFastpathNoBarrierNatural : ParkingFutexT<64, ParkingDefect::fastpath_no_barrier, false> {
  static constexpr std::string_view kName = "mutant.futex.waker_fastpath_no_barrier_natural";
  static constexpr std::string_view kDescription =
      "mutant.futex.waker_fastpath_no_barrier without the widening spin: `pending` is published a few instructions "
      "after the value check";
  static constexpr std::string_view kCatches = "futex/lost_wakeup_storm,futex/signaling_ring,futex/broadcasting";
  static constexpr std::string_view kCatchesUnder = "p=0.1,actions=yield+sleep";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource = "linux 76835b0ebf8a (after b0c29f79ecea); osv PR #1480";
};

struct MutantTimeoutSwallowsSignal : ParkingFutexT<64, ParkingDefect::timeout_swallows> {
  static constexpr std::string_view kName = "mutant.futex.timeout_swallows_signal";
  static constexpr std::string_view kDescription =
      "parking whose timed waiter, dequeued by a wake while its timer fired, reports timed_out: the wake is lost";
  static constexpr std::string_view kCatches = "futex/timed_wake_accounting";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "wasmtime PR #5871, #7623 -> #7629; Zig Condition timeout path";
};

struct MutantCollisionWakesWrong : ParkingFutexT<1, ParkingDefect::collision_wakes_wrong> {
  static constexpr std::string_view kName = "mutant.futex.collision_wakes_wrong";
  static constexpr std::string_view kDescription =
      "parking_1bucket whose wake dequeues the bucket's first waiters whatever word they wait on";
  static constexpr std::string_view kCatches = "futex/address_isolation";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "libstdc++ PR 100334 (notify_one woke a waiter on another address)";
};

struct MutantNarrowCompare : ParkingFutexT<64, ParkingDefect::narrow_compare> {
  static constexpr std::string_view kName = "mutant.futex.narrow_compare";
  static constexpr std::string_view kDescription =
      "parking whose value check compares only the low 16 bits, as a proxied sub-word wait might";
  static constexpr std::string_view kCatches = "futex/value_check";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "libc++ #109290 and libstdc++ proxied-wait width bugs";
};

static_assert(TimedFutexBackend<ParkingFutex> && WaiterCountingFutex<ParkingFutex>);
static_assert(TimedFutexBackend<Parking1Bucket> && WaiterCountingFutex<Parking1Bucket>);

using ParkingFutexMutants =
    TypeList<MutantCheckThenEnqueue, MutantWakerFastpathNoBarrier, MutantTimeoutSwallowsSignal, MutantCollisionWakesWrong,
             MutantNarrowCompare, MutantCheckThenEnqueueNatural, MutantWakerFastpathNoBarrierNatural>;

}  // namespace jostle
