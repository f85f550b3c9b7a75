// Every stop-the-world safepoint backend compiled in. Adding one is a folder under harness/backends/ and one
// line here.
#pragma once

#include "jostle/registry.h"
#include "safepoint_flag/flag_safepoint.h"

namespace jostle {

using SafepointBackends = TypeList<FlagSafepoint, MutantSafepointStraggler>;

}  // namespace jostle
