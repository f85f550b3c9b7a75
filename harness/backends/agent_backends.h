// Every agent-cluster backend compiled in. Each folder's header declares its mutants and lists them
// (<Backend>Mutants). Adding a backend is a folder under harness/backends/ and one line here.
#pragma once

#include "agent_cooperative/cooperative_agents.h"
#include "agent_process/process_agents.h"
#include "agent_thread/thread_agents.h"
#include "jostle/registry.h"

namespace jostle {

using AgentBackends =
    Concat<TypeList<ThreadAgents, ProcessAgents>, ThreadAgentsMutants, ProcessAgentsMutants, CooperativeAgentsMutants>;

}  // namespace jostle
