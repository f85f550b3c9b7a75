// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: >
  monotonicNow is one clock for every agent: a reading taken by an agent after the main thread's
  reading is not smaller, and readings on one agent never go backwards
includes: [atomicsHelper.js]
features: [SharedArrayBuffer, Atomics]
---*/
const i32a = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * 2));
let last = $262.agent.monotonicNow();
for (let i = 0; i < 1000; i++) {
  const t = $262.agent.monotonicNow();
  assert(t >= last, "main thread: " + t + " after " + last);
  last = t;
}
$262.agent.sleep(150);
$262.agent.start(`
  $262.agent.receiveBroadcast(function (sab) {
    $262.agent.report(String($262.agent.monotonicNow()));
    $262.agent.leaving();
  });
`);
$262.agent.sleep(50);
const before = $262.agent.monotonicNow();
$262.agent.safeBroadcast(i32a);
const agentTime = Number($262.agent.getReport());
const after = $262.agent.monotonicNow();
assert(agentTime >= before, "agent read " + agentTime + " ms after the main thread read " + before + " ms");
assert(after >= agentTime, "main read " + after + " ms after the agent read " + agentTime + " ms");
assert.sameValue(typeof agentTime, "number");
