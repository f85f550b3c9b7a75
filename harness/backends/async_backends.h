// Every cross-thread async notifier compiled in; each runs under EpollLoop (async_loop/epoll_loop.h). Each
// folder's header declares its mutants and lists them (<Backend>Mutants). Adding a backend is a folder under
// harness/backends/ and one line here.
#pragma once

#include "async_eventfd/eventfd_async.h"
#include "async_loop/epoll_loop.h"
#include "async_pipe/pipe_async.h"
#include "jostle/registry.h"
#include "plugin/examples/mutant_plugin_backends.h"
#include "plugin/plugin_backends.h"

namespace jostle {

using AsyncBackends = Concat<TypeList<EventfdAsync, PipeAsync>, EventfdAsyncMutants, PipeAsyncMutants,
           TypeList<PluginAsync<0>, PluginAsync<1>>, MutantPluginsAsync, OpaqueMutantsAsync>;

}  // namespace jostle
