// Every futex backend compiled in. Adding one is a folder under harness/backends/ and one line here.
#pragma once

#include "futex_atomic_wait/atomic_wait_futex.h"
#include "futex_linux/linux_futex.h"
#include "futex_parking/parking_futex.h"
#include "jostle/registry.h"
#include "plugin/opaque/opaque_backends.h"
#include "plugin/plugin_backends.h"

namespace jostle {

using FutexBackends =
    TypeList<LinuxFutex, LinuxSharedFutex, ParkingFutex, Parking1Bucket, AtomicWaitFutex,
             // outside code loaded with --plugin (listed only once a plugin offers a futex)
             PluginFutex<0>, PluginFutex<1>,
             // mutants
             MutantCheckThenEnqueue, MutantWakerFastpathNoBarrier, MutantTimeoutSwallowsSignal,
             MutantCollisionWakesWrong, MutantNarrowCompare, MutantEarlyTimeout, MutantWakeZeroWakesOne,
             MutantSharedUsesPrivate, MutantCheckThenEnqueueNatural, MutantWakerFastpathNoBarrierNatural,
             MutantOpaqueFutexCheckThenEnqueue>;

}  // namespace jostle
