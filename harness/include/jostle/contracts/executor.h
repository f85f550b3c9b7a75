// The virtual-thread contract: the surface a language runtime designs for virtual threads (catalog
// conformance.md §1.7, X1-X5). A backend E provides an executor type, a shareable task handle and the
// operations below; jostle::VtScope (bottom of this file) is structured concurrency built on them.
//
// Executor policy (ExecutorPolicy): min/max carrier threads, a queue limit (tasks admitted = queued + running
// + parked, at most queue_limit), what a saturated spawn does (Busy at once, or wait up to `timeout` and then
// Timeout). A policy with max_carriers < 1, min > max, queue_limit < 1 or a negative timeout is refused:
// spawn_on returns invalid.                                                                 [vt.policy.invalid]
//
// E::spawn_on(ex, task, body) -> VtStatus
//   ok: `task` refers to a new virtual thread running body(). busy: saturated and on_saturation = busy, at
//   once [vt.spawn.busy]. timeout: saturated for the whole policy timeout, never before it [vt.spawn.timeout];
//   a slot freed before the deadline admits the task [vt.spawn.admit]. closed: the executor is closed.
//   A submitter that gives up never strands one queued behind it                              [vt.spawn.no-strand]
//   Capacity is conserved: slots().in_use + slots().free == queue_limit at every observation  [vt.slots.conserved]
// E::spawn(task, body): spawn_on a per-backend default executor.
// E::join(task) -> VtResult
//   Waits for the terminal state. Precedence:                                                 [vt.join.precedence]
//     closed     the result was already taken by an earlier join (misuse); nothing else yields closed;
//     failed     the body threw (anything but VtCancelled), even when a cancel was requested: failure dominates;
//     cancelled  cancelled before it started (the body never ran), or the body threw VtCancelled;
//     ok         the body returned `value` (also when a cancel request came too late to matter).
// E::join_timeout(task, ns) -> VtResult
//   As join, or timeout when no terminal state exists by the deadline. A timed-out join_timeout does not
//   consume anything: a later join returns the result [vt.join-timeout.no-consume]. A terminal state that
//   exists when the wait ends wins over timeout [vt.join-timeout.terminal-wins]. ns < 0: invalid, consumes
//   nothing [vt.duration.negative].
// E::cancel(task)
//   Cooperative and idempotent: sets a request the body observes (E::cancelled(), sleep and park return
//   cancelled). A task that has not started never starts; its slot is released at once and a blocked
//   submitter is admitted [vt.cancel.handoff]. Cancelling a finished task changes nothing   [vt.cancel.idempotent]
// Inside a virtual thread:
//   E::sleep(ns) -> ok after at least ns [vt.sleep.lower-bound], cancelled early on a cancel request, invalid
//   for ns < 0. E::park(ns) (ns = kVtForever: no deadline) -> ok when it consumed a permit, timeout, cancelled,
//   invalid for ns < 0. E::unpark(task) makes one permit available (they do not accumulate); an unpark before
//   the park is not lost [vt.park.permit]. E::cancelled() -> the current task's cancel request.
#pragma once

#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <string_view>
#include <vector>

#include "jostle/clock.h"

namespace jostle {

enum class VtStatus { ok, timeout, cancelled, closed, busy, failed, invalid };

inline const char* to_string(VtStatus s) {
  switch (s) {
    case VtStatus::ok: return "ok";
    case VtStatus::timeout: return "timeout";
    case VtStatus::cancelled: return "cancelled";
    case VtStatus::closed: return "closed";
    case VtStatus::busy: return "busy";
    case VtStatus::failed: return "failed";
    case VtStatus::invalid: return "invalid";
  }
  return "?";
}

inline constexpr Nanos kVtForever = INT64_MAX;

enum class Saturation { busy, timeout };

struct ExecutorPolicy {
  int min_carriers = 1;
  int max_carriers = 2;
  int queue_limit = 1024;
  Nanos timeout = kVtForever;
  Saturation on_saturation = Saturation::timeout;

  bool valid() const { return max_carriers >= 1 && min_carriers >= 0 && min_carriers <= max_carriers &&
                              queue_limit >= 1 && timeout >= 0; }
};

struct VtResult {
  VtStatus status = VtStatus::invalid;
  std::int64_t value = 0;
};

struct SlotCount {
  int in_use = 0;
  int free = 0;
  int limit = 0;
};

// Thrown by a body to acknowledge a cancel request; join then reports cancelled.
struct VtCancelled {};

using VtBody = std::function<std::int64_t()>;

template <class E>
concept ExecutorBackend = requires(typename E::Executor& ex, typename E::Task& t, VtBody body, Nanos ns) {
  { E::kName } -> std::convertible_to<std::string_view>;
  { E::spawn_on(ex, t, body) } -> std::same_as<VtStatus>;
  { E::spawn(t, body) } -> std::same_as<VtStatus>;
  { E::join(t) } -> std::same_as<VtResult>;
  { E::join_timeout(t, ns) } -> std::same_as<VtResult>;
  { E::cancel(t) } -> std::same_as<void>;
  { E::cancelled() } -> std::same_as<bool>;
  { E::sleep(ns) } -> std::same_as<VtStatus>;
  { E::park(ns) } -> std::same_as<VtStatus>;
  { E::unpark(t) } -> std::same_as<void>;
  { ex.slots() } -> std::same_as<SlotCount>;
  { ex.close() } -> std::same_as<void>;
} && std::constructible_from<typename E::Executor, ExecutorPolicy> && std::copyable<typename E::Task>;

// Structured concurrency: every task spawned in a scope is joined by join_all(); the first failure cancels
// the others and is what join_all() reports (failed dominates cancelled, which dominates ok).
template <ExecutorBackend E>
class VtScope {
 public:
  explicit VtScope(typename E::Executor& ex) : ex_(ex) {}
  VtScope(const VtScope&) = delete;
  VtScope& operator=(const VtScope&) = delete;
  ~VtScope() { join_all(); }

  VtStatus spawn(VtBody body) {
    typename E::Task t;
    const VtStatus s = E::spawn_on(ex_, t, std::move(body));
    if (s == VtStatus::ok) tasks_.push_back(t);
    return s;
  }
  void cancel_all() {
    for (auto& t : tasks_) E::cancel(t);
  }
  // Joins every task. Results are collected as they come (polling with short join_timeouts), so a failure
  // cancels the others even when an earlier task only ends on cancellation.
  VtStatus join_all() {
    VtStatus worst = VtStatus::ok;
    while (!tasks_.empty()) {
      for (std::size_t i = 0; i < tasks_.size();) {
        const VtResult r = E::join_timeout(tasks_[i], kMilli);
        if (r.status == VtStatus::timeout) {
          ++i;
          continue;
        }
        if (r.status == VtStatus::failed && worst != VtStatus::failed) {
          worst = VtStatus::failed;
          cancel_all();
        } else if (r.status == VtStatus::cancelled && worst == VtStatus::ok) {
          worst = VtStatus::cancelled;
        }
        tasks_.erase(tasks_.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    return worst;
  }

 private:
  typename E::Executor& ex_;
  std::vector<typename E::Task> tasks_;
};

}  // namespace jostle
