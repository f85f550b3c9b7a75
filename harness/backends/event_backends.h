// Every reset-event and semaphore backend compiled in (generic algorithms over a futex backend).
#pragma once

#include "event_futex/futex_event.h"
#include "jostle/registry.h"
#include "semaphore_futex/futex_semaphore.h"

namespace jostle {

using EventBackends = TypeList<EventOverLinux, EventOverParking, MutantEventEdgeNotLatched, MutantEventOnCheckThenEnqueue>;
using SemaphoreBackends =
    TypeList<SemaphoreOverLinux, SemaphoreOverParking, MutantSemTimeoutSwallowsPermit, MutantSemOnCheckThenEnqueue>;

}  // namespace jostle
