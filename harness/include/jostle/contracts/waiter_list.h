// The waiter list behind Atomics.wait / Atomics.waitAsync / Atomics.notify (ECMA-262 "WaiterList",
// DoWait, Atomics.notify), and the tiny per-agent event loop that waitAsync settles on.
//
// A backend W is one agent cluster's set of waiter lists: default-constructible, shared by every agent of the
// cluster, one FIFO per (data block, byte index) [waiter.list.per-cell], holding synchronous and asynchronous
// waiters in arrival order [waiter.list.mixed].
//
// w.wait(view, i, expected, timeout, can_block) -> WaitStatus            (view: Int32View or BigInt64View)
//   Checks in DoWait order, each throwing AtomicsError:
//     unshared buffer -> type_error [waiter.wait.unshared]; i >= length -> range_error;
//     (the caller has converted `expected` with ToInt32/ToBigInt64 and the timeout with timeout_from_ms)
//     can_block false -> type_error, before the value is compared           [waiter.wait.can-block]
//   Then, under the list lock, one step: compare the cell with `expected` (seq_cst) and, if equal, enqueue.
//     not equal -> not_equal at once                                         [waiter.wait.not-equal]
//     equal -> the agent blocks until one of:
//       - a notify removed it from the list -> ok                             [waiter.wait.ok]
//       - the deadline (start + timeout on CLOCK_MONOTONIC) passed and it is still in the list: it removes
//         itself -> timed_out. Never before the deadline                      [waiter.wait.timeout-lower-bound]
//     A notify that removed the waiter wins over its deadline, even a deadline already past: the decision is
//     made under the list lock by "is it still in the list", not by the clock [waiter.wait.notify-wins]
//     No notify can fall between the compare and the enqueue               [waiter.wait.no-lost-wakeup]
//     Nothing else ends the wait: no store or RMW on the cell, no notify on another index
//                                                                             [waiter.wait.no-spurious]
//   timeout 0: not_equal or timed_out without blocking.
//
// w.wait_async(view, i, expected, timeout, loop, settle) -> WaitAsyncResult
//   Same checks minus [[CanBlock]]. {async=false, not_equal} or {async=false, timed_out} (timeout 0 only) at
//   once; otherwise {async=true} (also if the deadline passed before the enqueue [waiter.async.positive-timeout])
//   and the waiter joins the FIFO; `settle(ok | timed_out)` runs once, as a job on `loop` [waiter.async.own-loop]
//   (timed_out no earlier than the deadline), on that agent's loop thread. `loop` must outlive its waiters.
//
// w.notify(view, i, count) -> std::uint64_t
//   i >= length -> range_error (index and count are evaluated first); an unshared buffer -> 0
//                                                                             [waiter.notify.unshared]
//   Removes min(count, waiters) waiters from the head of that cell's list (oldest first) [waiter.notify.fifo]
//   and returns exactly how many it removed                                   [waiter.notify.exact-count]
//   A second notify with nobody left returns 0.
//
// w.on_write(buffer, byte_index)
//   The engine's write hook: an engine calls it after every Atomics.store and RMW on a shared cell (engines
//   that park waiters on the cell itself wake them here). A conforming list must not let it end any wait
//   [waiter.wait.no-spurious].
//
// w.waiter_count(view, i) -> std::size_t
//   Waiters (sync and async) in that cell's list now: the exact "confirmed enqueued" hook for cases.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include "jostle/chaos.h"
#include "jostle/clock.h"
#include "jostle/contracts/shared_buffer.h"
#include "jostle/sys.h"

namespace jostle {

enum class WaitStatus { ok, not_equal, timed_out };

inline const char* to_string(WaitStatus s) {
  switch (s) {
    case WaitStatus::ok: return "ok";
    case WaitStatus::not_equal: return "not-equal";
    case WaitStatus::timed_out: return "timed-out";
  }
  return "?";
}

inline constexpr Nanos kForever = std::numeric_limits<Nanos>::max();

// Atomics.wait's timeout argument (ms, a JS Number) as nanoseconds: NaN/undefined/+Infinity -> forever,
// negative -> 0, fractional milliseconds kept.
inline Nanos timeout_from_ms(double ms) {
  if (std::isnan(ms) || ms >= 9.2e12) return kForever;
  if (ms <= 0) return 0;
  return static_cast<Nanos>(std::ceil(ms * 1e6));
}

// Atomics.notify's count: undefined/+Infinity -> all; otherwise ToIntegerOrInfinity, negatives and NaN -> 0.
struct NotifyCount {
  std::uint64_t n;
  static constexpr std::uint64_t kAll = std::numeric_limits<std::uint64_t>::max();
  static NotifyCount all() { return {kAll}; }
  static NotifyCount undefined() { return all(); }
  static NotifyCount from_number(double c) {
    if (std::isnan(c) || c <= 0) return {0};
    if (c >= 1.8e19) return all();
    return {static_cast<std::uint64_t>(std::trunc(c))};
  }
  bool is_all() const { return n == kAll; }
};

struct WaitAsyncResult {
  bool async;
  WaitStatus value;  // meaningful when !async
};

// A per-agent job queue with timers: what an agent's event loop needs for waitAsync. post() may be called
// from any thread; everything else from the agent's own thread. Plumbing only (raw lock and raw futex).
class AgentLoop {
 public:
  using Job = std::function<void()>;

  void post(Job job) {
    {
      sys::RawLockGuard g(lock_);
      jobs_.push_back(std::move(job));
    }
    seq_.fetch_add(1, std::memory_order_release);
    sys::futex_wake(seq_);
  }

  // Owner thread: `fn` runs as a job once now_ns() >= deadline.
  void add_timer(Nanos deadline, Job fn) { timers_.emplace_back(deadline, std::move(fn)); }

  // Runs every posted job and every due timer; returns how many ran.
  std::size_t run_once() {
    std::vector<Job> batch;
    {
      sys::RawLockGuard g(lock_);
      batch.swap(jobs_);
    }
    std::size_t ran = batch.size();
    for (auto& j : batch) j();
    const Nanos now = now_ns();
    for (std::size_t i = 0; i < timers_.size();) {
      if (timers_[i].first <= now) {
        Job fn = std::move(timers_[i].second);
        timers_.erase(timers_.begin() + static_cast<std::ptrdiff_t>(i));
        fn();
        ++ran;
      } else {
        ++i;
      }
    }
    return ran;
  }

  // Runs jobs and timers on the calling thread until done() or `deadline`; returns done().
  template <class Pred>
  bool run_until(Pred done, Nanos deadline = kForever) {
    for (;;) {
      const std::uint32_t seen = seq_.load(std::memory_order_acquire);
      run_once();
      if (done()) return true;
      const Nanos now = now_ns();
      if (now >= deadline) return false;
      Nanos until = deadline;
      for (const auto& t : timers_) until = std::min(until, t.first);
      if (until <= now) continue;
      JOSTLE_CHAOS_BLOCKING_BEGIN("waiters.loop");
      sys::futex_wait(seq_, seen, until == kForever ? -1 : until - now);
      JOSTLE_CHAOS_BLOCKING_END("waiters.loop");
    }
  }

  std::size_t pending_timers() const { return timers_.size(); }

 private:
  sys::RawLock lock_;
  std::vector<Job> jobs_;
  std::atomic<std::uint32_t> seq_{0};
  std::vector<std::pair<Nanos, Job>> timers_;
};

using AsyncSettle = std::function<void(WaitStatus)>;

template <class T>
concept WaitableElement = std::same_as<T, std::int32_t> || std::same_as<T, std::int64_t>;

template <class W>
concept WaiterListBackend =
    std::default_initializable<W> &&
    requires(W& w, const Int32View& v32, const BigInt64View& v64, std::size_t i, std::int32_t e32,
             std::int64_t e64, Nanos t, bool can_block, NotifyCount c, AgentLoop& loop, AsyncSettle settle,
             const SharedBuffer& buf) {
      { W::kName } -> std::convertible_to<std::string_view>;
      { w.wait(v32, i, e32, t, can_block) } -> std::same_as<WaitStatus>;
      { w.wait(v64, i, e64, t, can_block) } -> std::same_as<WaitStatus>;
      { w.wait_async(v32, i, e32, t, loop, settle) } -> std::same_as<WaitAsyncResult>;
      { w.wait_async(v64, i, e64, t, loop, settle) } -> std::same_as<WaitAsyncResult>;
      { w.notify(v32, i, c) } -> std::same_as<std::uint64_t>;
      { w.notify(v64, i, c) } -> std::same_as<std::uint64_t>;
      { w.on_write(buf, i) } -> std::same_as<void>;
      { w.waiter_count(v32, i) } -> std::same_as<std::size_t>;
      { w.waiter_count(v64, i) } -> std::same_as<std::size_t>;
    };

}  // namespace jostle
