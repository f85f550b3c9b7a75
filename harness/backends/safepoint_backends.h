// Every stop-the-world safepoint backend compiled in. Adding one is a folder under harness/backends/ and one
// line here.
#pragma once

#include "jostle/registry.h"
#include "plugin/plugin_backends.h"
#include "safepoint_flag/flag_safepoint.h"

namespace jostle {

using SafepointBackends = TypeList<FlagSafepoint, MutantSafepointStraggler, PluginSafepoint<0>, PluginSafepoint<1>>;

}  // namespace jostle
