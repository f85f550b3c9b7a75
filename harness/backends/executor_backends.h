// Every virtual-thread executor backend compiled in; each folder's header declares its mutants (the correct
// backend with one defect from vt::Defect) and lists them. Adding a backend is a folder under harness/backends/
// and one line here.
#pragma once

#include "executor_fiber/fiber_vt.h"
#include "executor_os_thread/os_thread_vt.h"
#include "jostle/registry.h"
#include "plugin/examples/mutant_plugin_backends.h"
#include "plugin/plugin_backends.h"

namespace jostle {

using ExecutorBackends = Concat<TypeList<OsThreadVt, FiberVt>, OsThreadVtMutants, FiberVtMutants,
           TypeList<PluginExecutor<0>, PluginExecutor<1>>, MutantPluginsExecutor, OpaqueMutantsExecutor>;

}  // namespace jostle
