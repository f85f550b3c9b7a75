// Opaque mutants: defective primitives in separate shared libraries (this folder's .c files, built into
// <build>/plugins/), reached through the plugin ABI exactly as a user's plugin is. The libraries contain no chaos
// points; the only places jostle can act are the ABI boundary (plugin_backends.h) and, inside, preempt mode.
// Their natural race windows are what docs/detection.md measures preempt mode on.
//
// Each backend loads its library into a fixed plugin slot after the --plugin ones (plugin::kOpaqueSlots) the
// first time the registry asks whether it is available; a library that is missing makes it unavailable (listed
// by --list-backends as escaped, never silently passing).
#pragma once

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <string_view>

#include "jostle/plugin_host.h"
#include "jostle/typelist.h"
#include "plugin/plugin_backends.h"

namespace jostle::opaque {

inline constexpr int kFutexSlot = plugin::kSlots, kCondvarSlot = plugin::kSlots + 1, kRwLockSlot = plugin::kSlots + 2,
                     kSemaphoreSlot = plugin::kSlots + 3, kEventSlot = plugin::kSlots + 4,
                     kWaitGroupSlot = plugin::kSlots + 5, kThreadSlot = plugin::kSlots + 6,
                     kWaiterListSlot = plugin::kSlots + 7, kSafepointSlot = plugin::kSlots + 8,
                     kAsyncSlot = plugin::kSlots + 9, kChannelSlot = plugin::kSlots + 10,
                     kExecutorSlot = plugin::kSlots + 11, kAtomicsSlot = plugin::kSlots + 12;
static_assert(kAtomicsSlot < plugin::kSlots + plugin::kOpaqueSlots, "one opaque slot per library");

// <dir of the running binary>/../plugins/<lib>, loaded once into `slot` (copied and validated like a --plugin
// library, plugin_host.h). False when it cannot be.
inline bool load(int slot, const char* lib) {
  plugin::Slot& s = plugin::g_slots[slot];
  if (s.loaded) return true;
  if (!s.path.empty()) return false;  // tried and failed
  char exe[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string dir = n > 0 ? std::string(exe, static_cast<std::size_t>(n)) : std::string();
  dir = dir.substr(0, dir.rfind('/'));
  const std::string path = dir + "/../plugins/" + lib;
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr || !plugin::fill_slot(slot, resolved).empty()) {
    s.path = path;  // remembered as tried
    return false;
  }
  return true;
}

}  // namespace jostle::opaque

namespace jostle {

struct MutantOpaqueFutexCheckThenEnqueue : PluginFutex<opaque::kFutexSlot> {
  static constexpr std::string_view kName = "mutant.futex.opaque_check_then_enqueue";
  static constexpr std::string_view kDescription =
      "opaque plugin: user-space futex emulation that checks the value before queueing the waiter";
  static constexpr std::string_view kCatches = "futex/broadcasting,futex/signaling_ring";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource = "parking-lot style futex emulations that check before enqueueing";
  static bool available() { return opaque::load(opaque::kFutexSlot, "libjostle-opaque-futex.so"); }
};

struct MutantOpaqueCondvarLateSnapshot : PluginCondvar<opaque::kCondvarSlot> {
  static constexpr std::string_view kName = "mutant.condvar.opaque_late_snapshot";
  static constexpr std::string_view kDescription =
      "opaque plugin: sequence condvar whose waiter reads the sequence after releasing the mutex";
  static constexpr std::string_view kProfile = "posix";
  static constexpr std::string_view kCatches = "condvar/cv_multi_signal,condvar/cv_producer_consumer_soak";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource = "sequence-counter condvars that snapshot after unlock (lost signal)";
  static bool available() { return opaque::load(opaque::kCondvarSlot, "libjostle-opaque-condvar.so"); }
};

struct MutantOpaqueRwLockReaderCheckThenAct : PluginRwLock<opaque::kRwLockSlot> {
  static constexpr std::string_view kName = "mutant.rwlock.opaque_reader_check_then_act";
  static constexpr std::string_view kDescription =
      "opaque plugin: rwlock whose readers check for a writer before announcing themselves";
  static constexpr std::string_view kCatches = "condvar/rwlock_concurrent_access";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource = "reader fast paths that test the writer flag before incrementing";
  static bool available() { return opaque::load(opaque::kRwLockSlot, "libjostle-opaque-rwlock.so"); }
};

struct MutantOpaqueSemaphorePostReadsSleepersFirst : PluginSemaphore<opaque::kSemaphoreSlot> {
  static constexpr std::string_view kName = "mutant.semaphore.opaque_post_reads_sleepers_first";
  static constexpr std::string_view kDescription =
      "opaque plugin: futex semaphore whose release reads the sleeper count before publishing the permit";
  static constexpr std::string_view kCatches = "futex/semaphore_as_mutex";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource =
      "futex semaphores that test for waiters before the increment (lost wakeup)";
  static bool available() { return opaque::load(opaque::kSemaphoreSlot, "libjostle-opaque-semaphore.so"); }
};

struct MutantOpaqueEventLateGeneration : PluginEvent<opaque::kEventSlot> {
  static constexpr std::string_view kName = "mutant.event.opaque_late_generation";
  static constexpr std::string_view kDescription =
      "opaque plugin: reset event whose waiter reads the futex generation after testing the flag";
  static constexpr std::string_view kCatches = "futex/event_ping_pong,futex/event_broadcast";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource =
      "hand-written futex events that sample the generation too late (lost wakeup)";
  static bool available() { return opaque::load(opaque::kEventSlot, "libjostle-opaque-event.so"); }
};

struct MutantOpaqueWaitGroupClearByStore : PluginWaitGroup<opaque::kWaitGroupSlot> {
  static constexpr std::string_view kName = "mutant.waitgroup.opaque_clear_by_store";
  static constexpr std::string_view kDescription =
      "opaque plugin: wait group whose last finish clears the packed counter/waiter word with a load and a store";
  static constexpr std::string_view kCatches = "futex/wg_finish_races_wait,futex/wg_waiter_meets_last_finish";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource = "packed counter/waiter state words updated without a CAS (lost update)";
  static bool available() { return opaque::load(opaque::kWaitGroupSlot, "libjostle-opaque-waitgroup.so"); }
};

struct MutantOpaqueThreadJoinLateSnapshot : PluginTimedThread<opaque::kThreadSlot> {
  static constexpr std::string_view kName = "mutant.thread.opaque_join_late_snapshot";
  static constexpr std::string_view kDescription =
      "opaque plugin: thread join that tests the done flag, then snapshots the exit futex word";
  static constexpr std::string_view kCatches = "agents/thread_join_visible,agents/thread_ids_unique";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource =
      "isAlive()-then-wait joins (lost wakeup; the asterinas exit/join family, PR #1469)";
  static bool available() { return opaque::load(opaque::kThreadSlot, "libjostle-opaque-thread.so"); }
};

struct MutantOpaqueWaiterListCompareOutsideLock : PluginWaiterList<opaque::kWaiterListSlot> {
  static constexpr std::string_view kName = "mutant.waiter_list.opaque_compare_outside_lock";
  static constexpr std::string_view kDescription =
      "opaque plugin: Atomics waiter list whose wait compares the cell before taking the list lock";
  static constexpr std::string_view kCatches = "atomics/wait_notify_storm";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource =
      "futex-emulating Atomics.wait that checks the value outside the WaiterList critical section";
  static bool available() { return opaque::load(opaque::kWaiterListSlot, "libjostle-opaque-waiter_list.so"); }
};

struct MutantOpaqueSafepointAttachCheckThenCount : PluginSafepoint<opaque::kSafepointSlot> {
  static constexpr std::string_view kName = "mutant.safepoint.opaque_attach_check_then_count";
  static constexpr std::string_view kDescription =
      "opaque plugin: safepoint whose attach tests the stop flag before counting itself";
  static constexpr std::string_view kCatches = "agents/safepoint_churn";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource =
      "VM thread attach paths that test the safepoint state outside the stopper's count";
  static bool available() { return opaque::load(opaque::kSafepointSlot, "libjostle-opaque-safepoint.so"); }
};

struct MutantOpaqueAsyncClearBeforeRead : PluginAsync<opaque::kAsyncSlot> {
  static constexpr std::string_view kName = "mutant.async.opaque_clear_before_read";
  static constexpr std::string_view kDescription =
      "opaque plugin: async notifier whose drain clears the coalescing flag before reading the eventfd";
  static constexpr std::string_view kCatches = "futex/async_last_not_lost";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource =
      "the pending-flag coalescing of event-loop async handles (libuv uv_async_t, libev ev_async), reset moved before the read";
  static bool available() { return opaque::load(opaque::kAsyncSlot, "libjostle-opaque-async.so"); }
};

struct MutantOpaqueChannelCancelTrustsStaleSlot : PluginChannel<opaque::kChannelSlot> {
  using PluginChannel::PluginChannel;  // constructed with a capacity (ChannelBackend)
  static constexpr std::string_view kName = "mutant.channel.opaque_cancel_trusts_stale_slot";
  static constexpr std::string_view kDescription =
      "opaque plugin: hand-off channel whose timed-out receiver trusts a load of its slot taken before the lock";
  static constexpr std::string_view kCatches = "condvar/channel_item_conservation";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource =
      "the cancel-versus-fulfil race of hand-off queues (SynchronousQueue, Go select): a giving-up waiter that "
      "tests its slot and then unlinks loses an item handed over in between";
  static bool available() { return opaque::load(opaque::kChannelSlot, "libjostle-opaque-channel.so"); }
};

struct MutantOpaqueExecutorParkPermitOutsideLock : PluginExecutor<opaque::kExecutorSlot> {
  static constexpr std::string_view kName = "mutant.executor.opaque_park_permit_outside_lock";
  static constexpr std::string_view kDescription =
      "opaque plugin: executor whose park tests the permit outside the lock and does not test it again once parked";
  static constexpr std::string_view kCatches = "agents/vt_sleep_park";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource =
      "lost unparks of permit-based parking (LockSupport.park/unpark, Go runtime notesleep): permit test and sleep "
      "registration in two steps";
  static bool available() { return opaque::load(opaque::kExecutorSlot, "libjostle-opaque-executor.so"); }
};

struct MutantOpaqueAtomicsSubwordReloadBeforeCas : PluginAtomics<opaque::kAtomicsSlot> {
  static constexpr std::string_view kName = "mutant.atomics.opaque_subword_reload_before_cas";
  static constexpr std::string_view kDescription =
      "opaque plugin: 1/2-byte Atomics emulated on the containing word, the CAS's expected value re-read after "
      "the new word was computed";
  static constexpr std::string_view kCatches = "atomics/rmw_counter_storm/type=Int8,atomics/cas_loop_storm/type=Int16";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource =
      "sub-word atomic expansions on the containing word (targets without byte atomics) with the expected value "
      "reloaded before the CAS (lost update, neighbour restored)";
  static bool available() { return opaque::load(opaque::kAtomicsSlot, "libjostle-opaque-atomics.so"); }
};

using OpaqueMutants = TypeList<MutantOpaqueFutexCheckThenEnqueue, MutantOpaqueCondvarLateSnapshot,
                               MutantOpaqueRwLockReaderCheckThenAct, MutantOpaqueSemaphorePostReadsSleepersFirst,
                               MutantOpaqueEventLateGeneration, MutantOpaqueWaitGroupClearByStore,
                               MutantOpaqueChannelCancelTrustsStaleSlot>;
// The other families' opaque mutants, spliced into their backend lists (thread_backends.h, ...).
using OpaqueMutantsThread = TypeList<MutantOpaqueThreadJoinLateSnapshot>;
using OpaqueMutantsWaiterList = TypeList<MutantOpaqueWaiterListCompareOutsideLock>;
using OpaqueMutantsSafepoint = TypeList<MutantOpaqueSafepointAttachCheckThenCount>;
using OpaqueMutantsAsync = TypeList<MutantOpaqueAsyncClearBeforeRead>;
using OpaqueMutantsExecutor = TypeList<MutantOpaqueExecutorParkPermitOutsideLock>;
using OpaqueMutantsAtomics = TypeList<MutantOpaqueAtomicsSubwordReloadBeforeCas>;

}  // namespace jostle
