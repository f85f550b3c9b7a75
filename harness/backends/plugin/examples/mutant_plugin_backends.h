// The mutant plugins (mutant_plugin.c, one library per kind in <build>/plugins/) as first-class mutants: each
// backend below declares the mutant's name, catchers and source like any mutant backend, and reaches its library
// through the plugin ABI exactly as a user's plugin is reached (validated, copied into a slot, every call through
// the table). So `--list-backends` lists them, docs/mutants.md's index and the detect baseline are generated from
// them (jostle.mutant_facts), and the mutant gate (`jostle selftest --mutants`, ctest suite.*.mutants-caught) runs
// their catchers; an escape is a failure there unless harness/tests/known_gaps.txt lists it with a reason.
//
// Names: mutant.<primitive>.plugin_<defect>. Each library lives in its own slot after the opaque mutants' and is
// loaded the first time the registry asks whether the backend is available (a missing library: unavailable).
#pragma once

#include <string_view>

#include "jostle/plugin_host.h"
#include "jostle/typelist.h"
#include "plugin/opaque/opaque_backends.h"
#include "plugin/plugin_backends.h"

namespace jostle::mutant_plugin {

// One slot per library, in CMake's JOSTLE_PLUGIN_MUTANT_KINDS order (plugin::kMutantPluginSlots of them).
enum Kind : int {
  kFutexWakeZero,
  kTimedMsDeadline,
  kCvClaimsKeeps,
  kCvBroadcastWakesOne,
  kRwWriterShared,
  kSemTimeoutSwallows,
  kEventNotLatched,
  kWgWakeOne,
  kRecursiveUnowned,
  kCloseWakesOne,
  kCachedThreadId,
  kCancelKeepsSlot,
  kLifoNotify,
  kRmwNotAtomic,
  kSafepointStraggler,
  kAsyncDrainOnArm,
  kKinds
};
static_assert(kKinds == plugin::kMutantPluginSlots, "one slot per mutant plugin (plugin_host.h)");

constexpr int slot(Kind k) { return plugin::kSlots + plugin::kOpaqueSlots + k; }

}  // namespace jostle::mutant_plugin

// Every backend: the adapter of the table the library breaks, in that library's slot, plus the facts.
#define JOSTLE_MUTANT_PLUGIN_AVAILABLE(kind, lib) \
  static bool available() { return opaque::load(mutant_plugin::slot(mutant_plugin::kind), "libjostle-plugin-mutant-" lib ".so"); }

namespace jostle {

struct MutantPluginFutexWakeZero : PluginFutex<mutant_plugin::slot(mutant_plugin::kFutexWakeZero)> {
  static constexpr std::string_view kName = "mutant.futex.plugin_wake_zero";
  static constexpr std::string_view kDescription = "mutant plugin: wake(n) passes n = 0 to FUTEX_WAKE, which wakes one";
  static constexpr std::string_view kCatches = "futex/wake_n_exact";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "the FUTEX_WAKE pitfall: the kernel counts after waking, so 0 wakes one";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kFutexWakeZero, "futex_wake_zero")
};

struct MutantPluginTimedMsDeadline : PluginTimedMutex<mutant_plugin::slot(mutant_plugin::kTimedMsDeadline)> {
  static constexpr std::string_view kName = "mutant.mutex.plugin_timed_ms_deadline";
  static constexpr std::string_view kDescription = "mutant plugin: timed_lock rounds its timeout down to whole ms";
  static constexpr std::string_view kCatches = "condvar/mutex_timed_not_early";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "libuv#4773, nodejs/node#26578 (timers up to 1 ms early)";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kTimedMsDeadline, "timed_ms_deadline")
};

struct MutantPluginCvClaimsKeeps : PluginCondvarKeeps<mutant_plugin::slot(mutant_plugin::kCvClaimsKeeps)> {
  static constexpr std::string_view kName = "mutant.condvar.plugin_claims_keeps";
  static constexpr std::string_view kDescription =
      "mutant plugin: declares TIMEOUT_KEEPS_SIGNAL on a sequence condvar that does not promise it";
  static constexpr std::string_view kCatches = "condvar/cv_timeout_signal_handoff";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource = "POSIX lets a timed-out waiter consume a signal; the claim is false";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kCvClaimsKeeps, "cv_claims_keeps")
};

struct MutantPluginCvBroadcastWakesOne : PluginCondvar<mutant_plugin::slot(mutant_plugin::kCvBroadcastWakesOne)> {
  static constexpr std::string_view kName = "mutant.condvar.plugin_broadcast_wakes_one";
  static constexpr std::string_view kDescription = "mutant plugin: broadcast() wakes one waiter, not all";
  static constexpr std::string_view kCatches = "condvar/cv_broadcast_parked,condvar/cv_broadcasting_wake_all";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "a broadcast done as a signal (Zig #12877 shape)";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kCvBroadcastWakesOne, "cv_broadcast_wakes_one")
};

struct MutantPluginRwWriterShared : PluginRwLock<mutant_plugin::slot(mutant_plugin::kRwWriterShared)> {
  static constexpr std::string_view kName = "mutant.rwlock.plugin_writer_shared";
  static constexpr std::string_view kDescription = "mutant plugin: lock()/try_lock() take the lock shared: writers overlap";
  static constexpr std::string_view kCatches = "condvar/rwlock_concurrent_access";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "an inverted read/write mode flag on the exclusive path";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kRwWriterShared, "rw_writer_shared")
};

struct MutantPluginSemTimeoutSwallows : PluginSemaphore<mutant_plugin::slot(mutant_plugin::kSemTimeoutSwallows)> {
  static constexpr std::string_view kName = "mutant.semaphore.plugin_timeout_swallows";
  static constexpr std::string_view kDescription =
      "mutant plugin: a timed-out acquire takes a permit on its way out and still reports the timeout";
  static constexpr std::string_view kCatches = "futex/semaphore_conservation";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "wasmtime PR #5871";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kSemTimeoutSwallows, "sem_timeout_swallows")
};

struct MutantPluginEventNotLatched : PluginEvent<mutant_plugin::slot(mutant_plugin::kEventNotLatched)> {
  static constexpr std::string_view kName = "mutant.event.plugin_not_latched";
  static constexpr std::string_view kDescription = "mutant plugin: set() wakes the sleepers but does not latch";
  static constexpr std::string_view kCatches = "futex/event_set_before_wait";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "tensorflow PR #4064 (condition variables are not latches)";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kEventNotLatched, "event_not_latched")
};

struct MutantPluginWgWakeOne : PluginTimedWaitGroup<mutant_plugin::slot(mutant_plugin::kWgWakeOne)> {
  static constexpr std::string_view kName = "mutant.waitgroup.plugin_wake_one";
  static constexpr std::string_view kDescription = "mutant plugin: the last finish wakes one waiter, not all";
  static constexpr std::string_view kCatches = "futex/wg_all_waiters_released";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "a broadcast done as a signal (Zig #12877 shape)";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kWgWakeOne, "wg_wake_one")
};

struct MutantPluginRecursiveUnowned : PluginRecursiveMutex<mutant_plugin::slot(mutant_plugin::kRecursiveUnowned)> {
  static constexpr std::string_view kName = "mutant.mutex.plugin_recursive_unowned";
  static constexpr std::string_view kDescription = "mutant plugin: recursive unlock checks \"held\", not \"held by me\"";
  static constexpr std::string_view kCatches = "condvar/mutex_owner_semantics";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "a recurring VM lock bug: ownership checked as a held flag";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kRecursiveUnowned, "recursive_unowned")
};

struct MutantPluginCloseWakesOne : PluginChannel<mutant_plugin::slot(mutant_plugin::kCloseWakesOne)> {
  using PluginChannel::PluginChannel;  // constructed with a capacity (ChannelBackend)
  static constexpr std::string_view kName = "mutant.channel.plugin_close_wakes_one";
  static constexpr std::string_view kDescription =
      "mutant plugin: close() signals one blocked sender and one receiver instead of all";
  static constexpr std::string_view kCatches = "condvar/channel_close_wakes_all";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "a close that signals instead of broadcasting";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kCloseWakesOne, "close_wakes_one")
};

struct MutantPluginCachedThreadId : PluginTimedThread<mutant_plugin::slot(mutant_plugin::kCachedThreadId)> {
  static constexpr std::string_view kName = "mutant.thread.plugin_cached_id";
  static constexpr std::string_view kDescription = "mutant plugin: current_id() cached process-wide on first use";
  static constexpr std::string_view kCatches = "agents/thread_ids_unique";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "glibc before 2.25 (a cached tid shared across threads)";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kCachedThreadId, "cached_thread_id")
};

struct MutantPluginCancelKeepsSlot : PluginExecutor<mutant_plugin::slot(mutant_plugin::kCancelKeepsSlot)> {
  static constexpr std::string_view kName = "mutant.executor.plugin_cancel_keeps_slot";
  static constexpr std::string_view kDescription =
      "mutant plugin: cancelling a queued task frees its slot only when a carrier reaches it";
  static constexpr std::string_view kCatches = "agents/vt_cancel_handoff";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "golang/go #37852 (cancelled waiter kept its slot)";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kCancelKeepsSlot, "cancel_keeps_slot")
};

struct MutantPluginLifoNotify : PluginWaiterList<mutant_plugin::slot(mutant_plugin::kLifoNotify)> {
  static constexpr std::string_view kName = "mutant.waiter_list.plugin_lifo_notify";
  static constexpr std::string_view kDescription = "mutant plugin: notify removes the newest waiter first";
  static constexpr std::string_view kCatches = "atomics/wait_fifo";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "test262 notify-in-order (Atomics.notify is FIFO)";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kLifoNotify, "lifo_notify")
};

struct MutantPluginRmwNotAtomic : PluginAtomics<mutant_plugin::slot(mutant_plugin::kRmwNotAtomic)> {
  static constexpr std::string_view kName = "mutant.atomics.plugin_rmw_not_atomic";
  static constexpr std::string_view kDescription = "mutant plugin: add/sub/... as a load and a store (a lost update)";
  static constexpr std::string_view kCatches = "atomics/rmw_counter_storm";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "zig-js plan: RMW in interpreter code done as load then store";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kRmwNotAtomic, "rmw_not_atomic")
};

struct MutantPluginSafepointStraggler : PluginSafepoint<mutant_plugin::slot(mutant_plugin::kSafepointStraggler)> {
  static constexpr std::string_view kName = "mutant.safepoint.plugin_straggler";
  static constexpr std::string_view kDescription =
      "mutant plugin: the collector proceeds when all but one mutator stopped";
  static constexpr std::string_view kCatches = "agents/safepoint_stopped_phase";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "an off-by-one in a stop-the-world rendezvous count";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kSafepointStraggler, "safepoint_straggler")
};

struct MutantPluginAsyncDrainOnArm : PluginAsync<mutant_plugin::slot(mutant_plugin::kAsyncDrainOnArm)> {
  static constexpr std::string_view kName = "mutant.async.plugin_drain_on_arm";
  static constexpr std::string_view kDescription =
      "mutant plugin: arm() drains stale readiness, so a notify before the wait is armed is lost";
  static constexpr std::string_view kCatches = "futex/async_notify_first";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "libxev 'async: notify first'";
  JOSTLE_MUTANT_PLUGIN_AVAILABLE(kAsyncDrainOnArm, "async_drain_on_arm")
};

#undef JOSTLE_MUTANT_PLUGIN_AVAILABLE

// Each family's list, spliced into its backend list next to that family's other mutants.
using MutantPluginsFutexFamily =
    TypeList<MutantPluginFutexWakeZero, MutantPluginTimedMsDeadline, MutantPluginCvClaimsKeeps,
             MutantPluginCvBroadcastWakesOne, MutantPluginRwWriterShared, MutantPluginSemTimeoutSwallows,
             MutantPluginEventNotLatched, MutantPluginWgWakeOne, MutantPluginRecursiveUnowned, MutantPluginCloseWakesOne>;
using MutantPluginsThread = TypeList<MutantPluginCachedThreadId>;
using MutantPluginsExecutor = TypeList<MutantPluginCancelKeepsSlot>;
using MutantPluginsWaiterList = TypeList<MutantPluginLifoNotify>;
using MutantPluginsAtomics = TypeList<MutantPluginRmwNotAtomic>;
using MutantPluginsSafepoint = TypeList<MutantPluginSafepointStraggler>;
using MutantPluginsAsync = TypeList<MutantPluginAsyncDrainOnArm>;

}  // namespace jostle
