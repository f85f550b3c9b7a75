// Every thread-lifecycle backend compiled in. Adding one is a folder under harness/backends/ and one line here.
#pragma once

#include "jostle/registry.h"
#include "plugin/plugin_backends.h"
#include "thread_pthread/pthread_thread.h"
#include "thread_std/std_thread.h"

namespace jostle {

using ThreadBackends =
    TypeList<PthreadThread, StdThread, MutantDetachExitRace, MutantJoinIgnoresEinval, MutantCachedThreadId,
             MutantNameTruncates, MutantTimedJoinConsumes, MutantTimedJoinStartAnchored, MutantTimedJoinMissesExit,
             PluginThread<0>, PluginThread<1>, PluginTimedThread<0>, PluginTimedThread<1>>;

}  // namespace jostle
