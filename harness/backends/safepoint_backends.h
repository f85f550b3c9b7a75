// Every stop-the-world safepoint backend compiled in. Each folder's header declares its mutants and lists them
// (<Backend>Mutants). Adding a backend is a folder under harness/backends/ and one line here.
#pragma once

#include "jostle/registry.h"
#include "plugin/examples/mutant_plugin_backends.h"
#include "plugin/plugin_backends.h"
#include "safepoint_flag/flag_safepoint.h"

namespace jostle {

using SafepointBackends = Concat<TypeList<FlagSafepoint>, FlagSafepointMutants,
           TypeList<PluginSafepoint<0>, PluginSafepoint<1>>, MutantPluginsSafepoint, OpaqueMutantsSafepoint>;

}  // namespace jostle
