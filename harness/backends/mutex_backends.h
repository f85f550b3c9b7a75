// Every mutex backend compiled in (and the slots a plugin's mutex fills). Adding one is a folder and one line.
#pragma once

#include "mutex_futex/futex_mutex.h"
#include "mutex_pthread/pthread_mutex.h"
#include "mutex_spin/spin_mutex.h"
#include "mutex_std/std_mutex.h"
#include "plugin/plugin_backends.h"
#include "jostle/registry.h"

namespace jostle {

using MutexBackends =
    TypeList<StdMutex, StdTimedMutex, PthreadMutex, PthreadErrorCheckMutex, PthreadRecursiveMutex, FutexMutex<LinuxFutex>,
             SpinMutex, RecursiveMutex,
             PluginMutex<0>, PluginMutex<1>, FutexMutex<PluginFutex<0>>, FutexMutex<PluginFutex<1>>,
             PluginTimedMutex<0>, PluginTimedMutex<1>, PluginRecursiveMutex<0>, PluginRecursiveMutex<1>,
             PluginErrorCheckMutex<0>, PluginErrorCheckMutex<1>,
             MutantWaitersFlagDropped, MutantRecursiveOwnerUnchecked, MutantSpinTestThenSet,
             MutantTimeoutClearsContended, MutantTimedMsDeadline, MutantTimedWakeMeansOwned>;

}  // namespace jostle
