// Every virtual-thread executor backend compiled in, with the mutants (each the correct backend with one
// defect from vt::Defect). Adding one is a folder under harness/backends/ and one line here.
#pragma once

#include "executor_fiber/fiber_vt.h"
#include "executor_os_thread/os_thread_vt.h"
#include "jostle/registry.h"
#include "plugin/plugin_backends.h"

namespace jostle {

struct MutantJoinTimeoutConsumes : OsThreadVtT<vt::Defect::join_timeout_consumes> {
  static constexpr std::string_view kName = "mutant.join-timeout-consumes";
  static constexpr std::string_view kDescription =
      "os_thread executor whose join_timeout takes the join claim up front and keeps it when the completion "
      "lands between the timed-out wait and the give-back";
  static constexpr std::string_view kCatches = "agents/vt_join_timeout_no_consume";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "Zig Condition timeout path; wasmtime PR #5871";
};

struct MutantCancelKeepsSlot : OsThreadVtT<vt::Defect::cancel_keeps_slot> {
  static constexpr std::string_view kName = "mutant.cancel-keeps-slot";
  static constexpr std::string_view kDescription =
      "os_thread executor where cancelling a queued task releases its slot only once a thread reaches it";
  static constexpr std::string_view kCatches = "agents/vt_cancel_handoff";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "golang/go #37852 (cancelled waiter kept its slot)";
};

struct MutantMsTruncatedDeadline : OsThreadVtT<vt::Defect::ms_truncated_deadline> {
  static constexpr std::string_view kName = "mutant.ms-truncated-deadline";
  static constexpr std::string_view kDescription =
      "os_thread executor computing deadlines from whole milliseconds (rounded down), so timeouts end early";
  static constexpr std::string_view kCatches = "agents/vt_saturation,agents/vt_sleep_park";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "libuv/libuv#4773, nodejs/node#26578 (timers up to 1 ms early)";
};

struct MutantCancelOverridesFailure : OsThreadVtT<vt::Defect::cancel_overrides_failure> {
  static constexpr std::string_view kName = "mutant.cancel-overrides-failure";
  static constexpr std::string_view kDescription =
      "os_thread executor that reports cancelled for a body that failed after a cancel request";
  static constexpr std::string_view kCatches = "agents/vt_precedence";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "catalog §1.7 precedence rule: Failed dominates";
};

struct MutantParkerNoFence : OsThreadVtT<vt::Defect::parker_no_fence> {
  static constexpr std::string_view kName = "mutant.parker-no-fence";
  static constexpr std::string_view kDescription =
      "os_thread parker whose permit hand-over uses relaxed atomics (no release on unpark, no acquire on park)";
  static constexpr std::string_view kDifficulty = "D4";
  static constexpr std::string_view kSource = "JDK CR 6822370; rust-lang/rust #53366";
};

struct MutantRunqueueAba : FiberVtT<vt::Defect::runqueue_aba> {
  static constexpr std::string_view kName = "mutant.runqueue-aba";
  static constexpr std::string_view kDescription =
      "fiber executor whose run queue is a Treiber stack of recycled nodes without an ABA tag";
  static constexpr std::string_view kCatches = "agents/vt_runqueue_integrity";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource = "argobots #178; boostorg/lockfree PR #135; ponyc #1319";
};

using ExecutorBackends =
    TypeList<OsThreadVt, FiberVt, MutantJoinTimeoutConsumes, MutantCancelKeepsSlot, MutantMsTruncatedDeadline,
             MutantCancelOverridesFailure, MutantParkerNoFence, MutantRunqueueAba,
             PluginExecutor<0>, PluginExecutor<1>>;

}  // namespace jostle
