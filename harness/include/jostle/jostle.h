// Everything a suite needs: include this one header.
#pragma once

#include "jostle/chaos.h"
#include "jostle/check.h"
#include "jostle/clock.h"
#include "jostle/context.h"
#include "jostle/counter.h"
#include "jostle/gate.h"
#include "jostle/probe.h"
#include "jostle/registry.h"
#include "jostle/watchdog.h"
