// Every reset-event and semaphore backend compiled in (generic algorithms over a futex backend).
#pragma once

#include "event_futex/futex_event.h"
#include "jostle/registry.h"
#include "plugin/plugin_backends.h"
#include "semaphore_futex/futex_semaphore.h"

namespace jostle {

using EventBackends = TypeList<EventOverLinux, EventOverParking, MutantEventEdgeNotLatched, MutantEventOnCheckThenEnqueue,
                               PluginEvent<0>, PluginEvent<1>>;
using SemaphoreBackends =
    TypeList<SemaphoreOverLinux, SemaphoreOverParking, MutantSemTimeoutSwallowsPermit, MutantSemOnCheckThenEnqueue,
             PluginSemaphore<0>, PluginSemaphore<1>>;

}  // namespace jostle
