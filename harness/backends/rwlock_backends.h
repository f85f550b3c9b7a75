// Every reader-writer lock backend compiled in (and the plugin slots).
#pragma once

#include "plugin/opaque/opaque_backends.h"
#include "plugin/plugin_backends.h"
#include "rwlock_futex/futex_rwlock.h"
#include "rwlock_pthread/pthread_rwlock.h"
#include "rwlock_std/std_rwlock.h"
#include "jostle/registry.h"

namespace jostle {

using RwLockBackends =
    TypeList<StdRwLock, PthreadRwLock, PthreadWriterPrefRwLock, FutexRwLock<LinuxFutex>,
             PluginRwLock<0>, PluginRwLock<1>, FutexRwLock<PluginFutex<0>>, FutexRwLock<PluginFutex<1>>,
             MutantRwTimedWriterStrandsReaders, MutantRwReaderIgnoresHolder, MutantRwUnlockWakesOneReader,
             MutantOpaqueRwLockReaderCheckThenAct>;

}  // namespace jostle
