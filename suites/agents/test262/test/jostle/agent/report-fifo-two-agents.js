// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: with two agents, each agent's reports keep their order and none is lost
includes: [atomicsHelper.js]
features: [SharedArrayBuffer, Atomics]
---*/
const DONE = 0;
const NUMAGENT = 2;
const i32a = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * 2));
for (let a = 0; a < NUMAGENT; a++) {
  $262.agent.start(`
    $262.agent.receiveBroadcast(function (sab) {
      const i32a = new Int32Array(sab);
      for (let k = 0; k < 3; k++) $262.agent.report("${a}:" + k);
      Atomics.add(i32a, ${DONE}, 1);
      $262.agent.leaving();
    });
  `);
}
$262.agent.safeBroadcast(i32a);
$262.agent.waitUntil(i32a, DONE, NUMAGENT);
const next = [0, 0];
for (let n = 0; n < 3 * NUMAGENT; n++) {
  const [agent, k] = $262.agent.getReport().split(":").map(Number);
  assert.sameValue(k, next[agent], "agent " + agent + "'s reports in order");
  next[agent]++;
}
assert.sameValue(next.join(), "3,3", "every report arrived once");
