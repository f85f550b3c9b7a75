// Every cross-thread async notifier compiled in; each runs under EpollLoop (async_loop/epoll_loop.h).
#pragma once

#include "async_eventfd/eventfd_async.h"
#include "async_loop/epoll_loop.h"
#include "async_pipe/pipe_async.h"
#include "jostle/registry.h"
#include "plugin/plugin_backends.h"

namespace jostle {

using AsyncBackends =
    TypeList<EventfdAsync, PipeAsync, MutantAsyncNotCoalesced, MutantAsyncEdgeNotLatched, MutantPipeNotCoalesced,
             PluginAsync<0>, PluginAsync<1>>;

}  // namespace jostle
