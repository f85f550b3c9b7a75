// What the virtual-thread backends share: the task's terminal state, the join/join_timeout precedence logic
// and the admission counter. Each backend adds how a task runs and blocks. Raw futex words throughout, so a
// joiner may be an OS thread or a carrier.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "jostle/chaos.h"
#include "jostle/contracts/executor.h"
#include "jostle/sys.h"

namespace jostle::vt {

// sys::futex_wait inside the chaos blocking hooks: the PCT scheduler runs another thread while this one sleeps
// in the kernel instead of stealing the token from it.
inline int blocking_futex_wait(const char* what, std::atomic<std::uint32_t>& w, std::uint32_t expected,
                               Nanos rel_timeout = -1) {
  if (rel_timeout >= 0)  // a timeout the schedule decides under PCT with vclock=1
    return chaos::timed_wait(what, rel_timeout, [&](const timespec* ts) {
      return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), FUTEX_WAIT_PRIVATE, expected, ts, nullptr,
                       0) == 0
                 ? 0
                 : errno;
    });
  JOSTLE_CHAOS_BLOCKING_BEGIN(what);
  const int rc = sys::futex_wait(w, expected, rel_timeout);
  JOSTLE_CHAOS_BLOCKING_END(what);
  return rc;
}

// The defects the mutants inject (none for the correct backends).
enum class Defect {
  none,
  join_timeout_consumes,     // completion hands the result to a registered joiner, which may then report timeout
  cancel_keeps_slot,         // cancelling a queued task releases its slot only when a carrier reaches it
  ms_truncated_deadline,     // deadlines rounded down to whole milliseconds (libuv#4773-style early timers)
  cancel_overrides_failure,  // a body that fails after a cancel request is reported cancelled
  parker_no_fence,           // permit handed over with relaxed atomics (D4: invisible on x86)
  runqueue_aba,              // fiber run queue: Treiber stack without an ABA tag
};

// Relative timeout -> absolute deadline on CLOCK_MONOTONIC (kVtForever stays forever).
template <Defect D>
inline Nanos deadline_after(Nanos rel) {
  if (rel >= kVtForever / 2) return kVtForever;
  if constexpr (D == Defect::ms_truncated_deadline) rel = rel / kMilli * kMilli;
  return now_ns() + rel;
}

struct TaskCore {
  VtBody body;
  std::atomic<std::uint32_t> done{0};        // futex word: 1 once the terminal state is published
  std::atomic<std::uint32_t> joined{0};      // 1 once a join took the result
  std::atomic<std::uint32_t> cancel_req{0};  // futex word (os_thread sleepers wait on it)
  std::atomic<std::uint32_t> permit{0};      // futex word (os_thread parkers wait on it)
  std::atomic<std::uint32_t> started{0};
  std::atomic<std::uint32_t> waiting{0};     // join-timeout-consumes only: a joiner is registered
  std::atomic<std::uint32_t> sleepers{0};    // joiners (about to be) asleep on `done`
  VtStatus outcome = VtStatus::ok;
  std::int64_t value = 0;

  void publish(VtStatus s, std::int64_t v) {
    outcome = s;
    value = v;
    // T_publish: done = 1 (seq_cst); read sleepers. T_join: sleepers++ (seq_cst); read done, then sleep.
    // One of the two sees the other: the wake is skipped only when no joiner can be asleep.
    done.store(1, std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_seq_cst) != 0) sys::futex_wake(done);
  }

  // Runs the body and publishes its terminal state.
  template <Defect D>
  void run() {
    started.store(1, std::memory_order_release);
    VtStatus s = VtStatus::ok;
    std::int64_t v = 0;
    try {
      v = body();
    } catch (const VtCancelled&) {
      s = VtStatus::cancelled;
    } catch (...) {
      s = VtStatus::failed;
      if constexpr (D == Defect::cancel_overrides_failure)
        if (cancel_req.load(std::memory_order_acquire) != 0) s = VtStatus::cancelled;
    }
    body = nullptr;  // drop captures before anyone is told the task is done
    if constexpr (D == Defect::join_timeout_consumes) {
      // Hand the result straight to a registered joiner: it is marked taken on the joiner's behalf.
      if (waiting.exchange(0, std::memory_order_acq_rel) != 0) joined.store(1, std::memory_order_release);
    }
    publish(s, v);
  }

  bool is_done() const { return done.load(std::memory_order_acquire) != 0; }

  // Waits for done until `deadline` (absolute); true when done.
  bool wait_done(Nanos deadline) {
    // Short tasks are often done within a microsecond or two: a brief spin saves the joiner a sleep/wake.
    for (int i = 0; i < 64 && !is_done(); ++i) sys::cpu_relax();
    if (is_done()) return true;
    sleepers.fetch_add(1, std::memory_order_seq_cst);
    bool finished = true;
    while (done.load(std::memory_order_seq_cst) == 0) {
      if (deadline == kVtForever) {
        blocking_futex_wait("vt.join", done, 0);
      } else {
        const Nanos left = deadline - now_ns();
        if (left <= 0) {
          finished = is_done();
          break;
        }
        blocking_futex_wait("vt.join_timeout", done, 0, left);
      }
    }
    sleepers.fetch_sub(1, std::memory_order_seq_cst);
    return finished;
  }

  VtResult take() {
    if (joined.exchange(1, std::memory_order_acq_rel) != 0) return {VtStatus::closed, 0};
    return {outcome, value};
  }
};

template <Defect D>
VtResult join(TaskCore& t) {
  if (t.joined.load(std::memory_order_acquire) != 0) return {VtStatus::closed, 0};
  t.wait_done(kVtForever);
  return t.take();
}

template <Defect D>
VtResult join_timeout(TaskCore& t, Nanos ns) {
  if (ns < 0) return {VtStatus::invalid, 0};
  if (t.joined.load(std::memory_order_acquire) != 0) return {VtStatus::closed, 0};
  if constexpr (D == Defect::join_timeout_consumes) {
    // The defect, twice: the joiner registers for a hand-off, trusts the futex's ETIMEDOUT without
    // re-checking the task, and then drops its registration. A completion that lands between the deadline and
    // the futex returning hands the result to a joiner that reports timeout: the result is gone.
    t.waiting.store(1, std::memory_order_seq_cst);
    const Nanos deadline = deadline_after<D>(ns);
    bool timed_out = false;
    t.sleepers.fetch_add(1, std::memory_order_seq_cst);
    while (!t.is_done()) {
      const Nanos left = deadline - now_ns();
      if (left <= 0 || blocking_futex_wait("vt.join_timeout", t.done, 0, left) == ETIMEDOUT) {
        timed_out = true;
        break;
      }
    }
    t.sleepers.fetch_sub(1, std::memory_order_seq_cst);
    if (!timed_out) {
      if (t.waiting.exchange(0, std::memory_order_acq_rel) == 0) return {t.outcome, t.value};  // handed to us
      return t.take();
    }
    JOSTLE_CHAOS("vt.join_timeout.timed_out");
    t.waiting.store(0, std::memory_order_release);
    return {VtStatus::timeout, 0};
  } else {
    // No claim while waiting: a timeout leaves the task exactly as it was. A terminal state that exists when
    // the wait ends wins over the timeout.
    if (!t.wait_done(deadline_after<D>(ns)) && !t.is_done()) return {VtStatus::timeout, 0};
    return t.take();
  }
}

// Admission: at most `limit` tasks admitted; saturated submitters wait (or get busy) per policy. A tiny
// futex-based monitor: `seq` changes on every release so waiters re-check.
template <Defect D>
class Admission {
 public:
  explicit Admission(const ExecutorPolicy& p) : policy_(p) {}

  VtStatus acquire() {
    if (closed_.load(std::memory_order_acquire)) return VtStatus::closed;
    if (try_take()) return VtStatus::ok;
    if (policy_.on_saturation == Saturation::busy) return VtStatus::busy;
    const Nanos deadline = deadline_after<D>(policy_.timeout);
    waiting_.fetch_add(1, std::memory_order_seq_cst);
    VtStatus result = VtStatus::ok;
    for (;;) {
      const std::uint32_t seq = seq_.load(std::memory_order_seq_cst);
      if (closed_.load(std::memory_order_acquire)) {
        result = VtStatus::closed;
        break;
      }
      if (try_take()) break;
      const Nanos left = deadline == kVtForever ? -1 : deadline - now_ns();
      if (deadline != kVtForever && left <= 0) {
        result = VtStatus::timeout;
        break;
      }
      JOSTLE_CHAOS("vt.admission.before-wait");
      blocking_futex_wait("vt.admission", seq_, seq, left);
    }
    waiting_.fetch_sub(1, std::memory_order_seq_cst);
    return result;
  }

  void release() {
    in_use_.fetch_sub(1, std::memory_order_acq_rel);
    seq_.fetch_add(1, std::memory_order_seq_cst);
    // Every waiter re-checks: one that times out cannot strand another behind it [vt.spawn.no-strand].
    if (waiting_.load(std::memory_order_seq_cst) > 0) sys::futex_wake(seq_);
  }

  void close() {
    closed_.store(true, std::memory_order_release);
    seq_.fetch_add(1, std::memory_order_seq_cst);
    sys::futex_wake(seq_);
  }
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  int in_use() const { return in_use_.load(std::memory_order_acquire); }

  SlotCount slots() const {
    const int used = in_use_.load(std::memory_order_acquire);
    return SlotCount{used, policy_.queue_limit - used, policy_.queue_limit};
  }

 private:
  bool try_take() {
    int cur = in_use_.load(std::memory_order_acquire);
    while (cur < policy_.queue_limit) {
      if (in_use_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel)) return true;
    }
    return false;
  }

  ExecutorPolicy policy_;
  std::atomic<int> in_use_{0};
  std::atomic<std::uint32_t> seq_{0};
  std::atomic<int> waiting_{0};
  std::atomic<bool> closed_{false};
};

}  // namespace jostle::vt
