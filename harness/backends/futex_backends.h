// Every futex backend compiled in. Adding one is a folder under harness/backends/ and one line here.
#pragma once

#include "futex_linux/linux_futex.h"
#include "jostle/registry.h"

namespace jostle {

using FutexBackends = TypeList<LinuxFutex, LinuxSharedFutex>;

}  // namespace jostle
