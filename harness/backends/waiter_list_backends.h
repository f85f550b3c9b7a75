// Every Atomics waiter-list backend compiled in; each folder's header declares its mutants and lists them.
// Adding a backend is a folder under harness/backends/ and one line here.
#pragma once

#include "jostle/registry.h"
#include "plugin/examples/mutant_plugin_backends.h"
#include "plugin/plugin_backends.h"
#include "waiter_condvar/condvar_waiters.h"
#include "waiter_futex/futex_waiters.h"

namespace jostle {

using WaiterListBackends = Concat<TypeList<CondvarWaiters, FutexWaiters>, CondvarWaitersMutants, FutexWaitersMutants,
           TypeList<PluginWaiterList<0>, PluginWaiterList<1>>, MutantPluginsWaiterList, OpaqueMutantsWaiterList>;

}  // namespace jostle
