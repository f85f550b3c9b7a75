// Every condition variable backend compiled in (and the plugin slots). Profiles: `queue` claims strict (no
// spurious wakeups, FIFO); the others posix. docs/profiles.md.
#pragma once

#include "condvar_futex_epoch/futex_epoch_condvar.h"
#include "condvar_pthread/pthread_condvar.h"
#include "condvar_queue/queue_condvar.h"
#include "condvar_std/std_condvar.h"
#include "plugin/plugin_backends.h"
#include "jostle/registry.h"

namespace jostle {

using CondvarBackends =
    TypeList<StdCondvar, PthreadCondvar, FutexEpochCondvar<LinuxFutex>, QueueCondvar<LinuxFutex>,
             PluginCondvar<0>, PluginCondvar<1>, PluginCondvarKeeps<0>, PluginCondvarKeeps<1>,
             FutexEpochCondvar<PluginFutex<0>>, FutexEpochCondvar<PluginFutex<1>>,
             QueueCondvar<PluginFutex<0>>, QueueCondvar<PluginFutex<1>>,
             MutantCvTokenSteal, MutantCvStealUndo, MutantCvBroadcastAsSignals, MutantCvTimeoutSwallow,
             MutantCvWakeSharedKey, MutantCvMsTimeout, MutantCvQueueLifo, MutantCvArrivalWakesQueued>;

}  // namespace jostle
