// Every thread-lifecycle backend compiled in. Each folder's header declares its mutants and lists them
// (<Backend>Mutants). Adding a backend is a folder under harness/backends/ and one line here.
#pragma once

#include "jostle/registry.h"
#include "plugin/examples/mutant_plugin_backends.h"
#include "plugin/plugin_backends.h"
#include "thread_pthread/pthread_thread.h"
#include "thread_std/std_thread.h"

namespace jostle {

using ThreadBackends = Concat<TypeList<PthreadThread, StdThread>, PthreadThreadMutants, StdThreadMutants,
           TypeList<PluginThread<0>, PluginThread<1>, PluginTimedThread<0>, PluginTimedThread<1>>, MutantPluginsThread, OpaqueMutantsThread>;

}  // namespace jostle
