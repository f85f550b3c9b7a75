// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: sleep on the main thread and in an agent lasts at least the time asked for
includes: [atomicsHelper.js]
features: [SharedArrayBuffer, Atomics]
---*/
const t0 = $262.agent.monotonicNow();
$262.agent.sleep(50);
const slept = $262.agent.monotonicNow() - t0;
assert(slept >= 50, "main slept " + slept + " ms, asked for 50");
$262.agent.start(`
  const t0 = $262.agent.monotonicNow();
  $262.agent.sleep(80);
  $262.agent.report($262.agent.monotonicNow() - t0);
  $262.agent.leaving();
`);
const agentSlept = Number($262.agent.getReport());
assert(agentSlept >= 80, "agent slept " + agentSlept + " ms, asked for 80");
