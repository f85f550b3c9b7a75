// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: four agents wait on one cell; notify wakes exactly those that wait, each reports ok
includes: [atomicsHelper.js]
features: [SharedArrayBuffer, Atomics]
---*/
const WAIT = 0, RUNNING = 1, NUMAGENT = 4;
const i32a = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * 2));
for (let a = 0; a < NUMAGENT; a++) {
  $262.agent.start(`
    $262.agent.receiveBroadcast(function (sab) {
      const i32a = new Int32Array(sab);
      Atomics.add(i32a, ${RUNNING}, 1);
      $262.agent.report(Atomics.wait(i32a, ${WAIT}, 0));
      $262.agent.leaving();
    });
  `);
}
$262.agent.safeBroadcast(i32a);
$262.agent.waitUntil(i32a, RUNNING, NUMAGENT);
$262.agent.tryYield();
let woken = 0;
while (woken < NUMAGENT) {
  woken += Atomics.notify(i32a, WAIT);
}
assert.sameValue(woken, NUMAGENT, "notify woke every waiter once");
for (let a = 0; a < NUMAGENT; a++) {
  assert.sameValue($262.agent.getReport(), "ok");
}
