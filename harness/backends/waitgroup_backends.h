// Every wait group backend compiled in. Adding one is a folder under harness/backends/ and one line here.
#pragma once

#include "jostle/registry.h"
#include "plugin/plugin_backends.h"
#include "waitgroup_event/event_waitgroup.h"
#include "waitgroup_futex/futex_waitgroup.h"
#include "waitgroup_std/std_waitgroup.h"

namespace jostle {

using WaitGroupBackends =
    TypeList<WaitGroupOverLinux, WaitGroupOverParking, WaitGroupOverAtomicWait, WaitGroupOverEventLinux,
             WaitGroupOverEventParking, StdWaitGroup,
             // mutants
             MutantWgCheckBeforeDecrement, MutantWgCheckBeforeDecrementNatural, MutantWgWakeOne,
             MutantWgDoneOffByOne, MutantWgResetKeepsWaiting, MutantWgEventCheckBeforeDecrement,
             PluginWaitGroup<0>, PluginWaitGroup<1>, PluginTimedWaitGroup<0>, PluginTimedWaitGroup<1>>;

}  // namespace jostle
