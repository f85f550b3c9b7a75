// Every bounded channel compiled in: the channel algorithm over each condition variable backend.
#pragma once

#include "channel_cv/cv_channel.h"
#include "condvar_backends.h"
#include "jostle/registry.h"

namespace jostle {

using ChannelBackends =
    TypeList<CvChannel<StdCondvar>, CvChannel<PthreadCondvar>, CvChannel<FutexEpochCondvar<LinuxFutex>>,
             CvChannel<QueueCondvar<LinuxFutex>>, CvChannel<PluginCondvar<0>>, CvChannel<PluginCondvar<1>>,
             MutantChannelCloseNotifiesOne, MutantChannelTimedRecvDropsItem, MutantChannelMsTimeout>;

}  // namespace jostle
