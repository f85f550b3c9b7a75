// Every agent-cluster backend compiled in, with its mutants. Adding one is a folder under harness/backends/
// and one line here.
#pragma once

#include "agent_cooperative/cooperative_agents.h"
#include "agent_process/process_agents.h"
#include "agent_thread/thread_agents.h"
#include "jostle/registry.h"

namespace jostle {

using AgentBackends =
    TypeList<ThreadAgents, ProcessAgents, MutantBroadcastNotRendezvous, MutantWedgedTeardown, MutantCooperativeAgents>;

}  // namespace jostle
