// The backend map of the futex family: which backends the cases of futex, event, semaphore, wait group, mutex,
// rwlock, condvar and channel run on, written as data. Read it in three parts:
//
//   1. bases: backends written by hand, one line each (adding a futex or a mutex backend: its folder + a line);
//   2. generic algorithms: "for every futex F, these algorithms over F" (and the same over a mutex, an event,
//      a condvar); adding a futex-generic algorithm: its folder + a name in FutexAlgorithms;
//   3. mutants: each folder's own list (<Backend>Mutants, declared at the bottom of the backend's header);
//      adding a mutant to a folder touches only that folder.
//
// The per-primitive lists at the bottom (FutexBackends, MutexBackends, ...) are what a case instantiates over
// (`.body<jostle::MutexBackends>`); they are derived, never edited. An algorithm skips a base its concept does not
// accept (a condvar needs a timed futex, so none over `atomic_wait`): Compose leaves that pair out.
//
// Second-level compositions (an algorithm over a primitive that is itself built over a futex: a recursive
// mutex over the futex mutex, a channel over the futex condvars, a wait group over the futex event) run over
// every hand-written base of that primitive and over the futex-built ones on the reference futex only: the
// futex dimension is covered one level down, and the cross product would multiply case instantiations (build
// time) without testing anything new.
//
// Backends include backends, never this file. docs/architecture.md has the picture.
#pragma once

#include "channel_cv/cv_channel.h"
#include "condvar_futex_epoch/futex_epoch_condvar.h"
#include "condvar_pthread/pthread_condvar.h"
#include "condvar_queue/queue_condvar.h"
#include "condvar_std/std_condvar.h"
#include "event_futex/futex_event.h"
#include "futex_atomic_wait/atomic_wait_futex.h"
#include "futex_linux/linux_futex.h"
#include "futex_parking/parking_futex.h"
#include "jostle/typelist.h"
#include "mutex_futex/futex_mutex.h"
#include "mutex_pthread/pthread_mutex.h"
#include "mutex_spin/spin_mutex.h"
#include "mutex_std/std_mutex.h"
#include "plugin/examples/mutant_plugin_backends.h"
#include "plugin/opaque/opaque_backends.h"
#include "plugin/plugin_backends.h"
#include "rwlock_futex/futex_rwlock.h"
#include "rwlock_pthread/pthread_rwlock.h"
#include "rwlock_std/std_rwlock.h"
#include "semaphore_futex/futex_semaphore.h"
#include "waitgroup_event/event_waitgroup.h"
#include "waitgroup_futex/futex_waitgroup.h"
#include "waitgroup_std/std_waitgroup.h"

namespace jostle {

// ---- 1. Bases: one line per backend --------------------------------------------------------------------------

using Futexes = TypeList<LinuxFutex, LinuxSharedFutex, ParkingFutex, Parking1Bucket, AtomicWaitFutex>;
using Mutexes = TypeList<StdMutex, StdTimedMutex, PthreadMutex, PthreadErrorCheckMutex, PthreadRecursiveMutex, SpinMutex>;
using RwLocks = TypeList<StdRwLock, PthreadRwLock, PthreadWriterPrefRwLock>;
using Condvars = TypeList<StdCondvar, PthreadCondvar>;
using WaitGroups = TypeList<StdWaitGroup>;

// The reference futex: second-level compositions use the futex-built backends over it only (see above).
using ReferenceFutex = LinuxFutex;

// Plugin slots (plugin/plugin_backends.h): registered but unavailable until `--plugin` fills one; then every
// algorithm over them runs on the plugin's primitive like on ours.
// Each table's capability variants (ABI v2) are separate types; the loader exposes the one the table selects.
using PluginSlots =
    TypeList<PluginFutex<0>, PluginFutex<1>, PluginMutex<0>, PluginMutex<1>, PluginTimedMutex<0>, PluginTimedMutex<1>,
             PluginRwLock<0>, PluginRwLock<1>, PluginCondvar<0>, PluginCondvar<1>, PluginCondvarKeeps<0>,
             PluginCondvarKeeps<1>, PluginSemaphore<0>, PluginSemaphore<1>, PluginEvent<0>, PluginEvent<1>,
             PluginWaitGroup<0>, PluginWaitGroup<1>, PluginTimedWaitGroup<0>, PluginTimedWaitGroup<1>,
             PluginChannel<0>, PluginChannel<1>>;
// The owned-mutex table (recursive / error-checking): run as a base, never composed over (a recursive mutex
// over the plugin's plain mutex already covers the algorithm, and would take the same name).
using PluginOwnedSlots = TypeList<PluginRecursiveMutex<0>, PluginRecursiveMutex<1>, PluginErrorCheckMutex<0>,
                                  PluginErrorCheckMutex<1>>;

// ---- 2. Generic algorithms -----------------------------------------------------------------------------------

// For every futex F, these algorithms over F (each where F satisfies its concept).
using FutexAlgorithms = Algorithms<FutexEvent, FutexSemaphore, FutexWaitGroup, FutexMutex, FutexEpochCondvar,
                                   QueueCondvar, FutexRwLock>;
// For every event E, every (non-recursive) mutex M, every condvar C: these algorithms over it.
using EventAlgorithms = Algorithms<EventWaitGroup>;
using MutexAlgorithms = Algorithms<RecursiveOver>;
using CondvarAlgorithms = Algorithms<CvChannel>;

// ---- 3. Mutants: one list per folder that declares some ------------------------------------------------------

using FutexFamilyMutants =
    Concat<LinuxFutexMutants, ParkingFutexMutants, FutexEventMutants, FutexSemaphoreMutants, FutexWaitGroupMutants,
           EventWaitGroupMutants, FutexMutexMutants, SpinMutexMutants, FutexEpochCondvarMutants, QueueCondvarMutants,
           FutexRwLockMutants, CvChannelMutants, OpaqueMutants, MutantPluginsFutexFamily>;

// ---- Derived: what the cases instantiate over (do not edit) --------------------------------------------------

static_assert(all_primitive_in(Futexes{}, {"futex"}) && all_primitive_in(Mutexes{}, {"mutex"}) &&
                  all_primitive_in(RwLocks{}, {"rwlock"}) && all_primitive_in(Condvars{}, {"condvar"}) &&
                  all_primitive_in(WaitGroups{}, {"waitgroup"}),
              "each base declares the primitive of its line (kPrimitive)");

namespace backend_map {
using AllFutexes = Concat<Futexes, Only<"futex", PluginSlots>>;
using OverFutexes = Compose<FutexAlgorithms, AllFutexes>;
using OverReference = Compose<FutexAlgorithms, TypeList<ReferenceFutex>>;
template <PrimitiveName P>
using FirstLevel = Concat<Only<P, Concat<Futexes, Mutexes, RwLocks, Condvars, WaitGroups, PluginSlots, PluginOwnedSlots>>, Only<P, OverFutexes>>;
template <PrimitiveName P>
using SecondLevelBases = Concat<Only<P, Concat<Mutexes, Condvars, PluginSlots>>, Only<P, OverReference>>;
using OverSecondLevel = Concat<Compose<EventAlgorithms, SecondLevelBases<"event">>,
                               Compose<MutexAlgorithms, SecondLevelBases<"mutex">>,
                               Compose<CondvarAlgorithms, SecondLevelBases<"condvar">>>;
template <PrimitiveName P>
using Backends = Concat<FirstLevel<P>, Only<P, OverSecondLevel>, Only<P, FutexFamilyMutants>>;
}  // namespace backend_map
static_assert(all_primitive_in(Concat<PluginSlots, PluginOwnedSlots, backend_map::OverFutexes,
                                      backend_map::OverSecondLevel, FutexFamilyMutants>{},
                               {"futex", "event", "semaphore", "waitgroup", "mutex", "rwlock", "condvar", "channel"}),
              "every plugin slot, composition and mutant declares a primitive of this family (kPrimitive), or no "
              "list below would hold it");

using FutexBackends = backend_map::Backends<"futex">;
using EventBackends = backend_map::Backends<"event">;
using SemaphoreBackends = backend_map::Backends<"semaphore">;
using WaitGroupBackends = backend_map::Backends<"waitgroup">;
using MutexBackends = backend_map::Backends<"mutex">;
using RwLockBackends = backend_map::Backends<"rwlock">;
using CondvarBackends = backend_map::Backends<"condvar">;
using ChannelBackends = backend_map::Backends<"channel">;

}  // namespace jostle
