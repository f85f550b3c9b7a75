// Every Atomics ops backend compiled in. Each folder's header declares its mutants and lists them
// (<Backend>Mutants). Adding a backend is a folder under harness/backends/ and one line here.
#pragma once

#include "atomics_builtin/builtin_ops.h"
#include "atomics_locked/locked_ops.h"
#include "atomics_std/std_ops.h"
#include "jostle/registry.h"

namespace jostle {

using AtomicsBackends =
    Concat<TypeList<StdOps, BuiltinOps, WordCasOps, LockedOps, GilOps>, StdOpsMutants, BuiltinOpsMutants>;

}  // namespace jostle
