// Every bounded channel compiled in: the channel algorithm over each condition variable backend.
#pragma once

#include "channel_cv/cv_channel.h"
#include "condvar_backends.h"
#include "jostle/registry.h"

namespace jostle {

// The channel algorithm over a plugin's condvar is named "cv+NAME", so that "NAME" stays free for the plugin's
// own channel table.
template <class Cv>
struct CvChannelOverPlugin : CvChannel<Cv> {
  using CvChannel<Cv>::CvChannel;
  static std::string name() { return "cv+" + backend_name<Cv>(); }
};

using ChannelBackends =
    TypeList<CvChannel<StdCondvar>, CvChannel<PthreadCondvar>, CvChannel<FutexEpochCondvar<LinuxFutex>>,
             CvChannel<QueueCondvar<LinuxFutex>>, CvChannelOverPlugin<PluginCondvar<0>>, CvChannelOverPlugin<PluginCondvar<1>>,
             CvChannelOverPlugin<PluginCondvarKeeps<0>>, CvChannelOverPlugin<PluginCondvarKeeps<1>>, PluginChannel<0>,
             PluginChannel<1>,
             MutantChannelCloseNotifiesOne, MutantChannelTimedRecvDropsItem, MutantChannelMsTimeout>;

}  // namespace jostle
