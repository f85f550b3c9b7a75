// Every Atomics ops backend compiled in. Each folder's header declares its mutants and lists them
// (<Backend>Mutants). Adding a backend is a folder under harness/backends/ and one line here.
#pragma once

#include "atomics_builtin/builtin_ops.h"
#include "atomics_locked/locked_ops.h"
#include "atomics_std/std_ops.h"
#include "jostle/registry.h"
#include "plugin/examples/mutant_plugin_backends.h"
#include "plugin/plugin_backends.h"

namespace jostle {

using AtomicsBackends =
    Concat<TypeList<StdOps, BuiltinOps, WordCasOps, LockedOps, GilOps>, StdOpsMutants, BuiltinOpsMutants,
           TypeList<PluginAtomics<0>, PluginAtomics<1>, PluginLockedAtomics<0>, PluginLockedAtomics<1>>, MutantPluginsAtomics, OpaqueMutantsAtomics>;

}  // namespace jostle
