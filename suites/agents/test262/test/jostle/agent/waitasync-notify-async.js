// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: async test; an agent's waitAsync is resolved by the main thread's notify, read with getReportAsync
includes: [atomicsHelper.js]
flags: [async]
features: [SharedArrayBuffer, Atomics, Atomics.waitAsync]
---*/
const RUNNING = 1;
const i32a = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * 2));
$262.agent.start(`
  $262.agent.receiveBroadcast(async function (sab) {
    const i32a = new Int32Array(sab);
    Atomics.add(i32a, ${RUNNING}, 1);
    $262.agent.report(await Atomics.waitAsync(i32a, 0, 0).value);
    $262.agent.leaving();
  });
`);
$262.agent.safeBroadcast(i32a);
$262.agent.waitUntil(i32a, RUNNING, 1);
$262.agent.tryYield();
let woken = 0;
while ((woken = Atomics.notify(i32a, 0)) === 0) {
  $262.agent.sleep(1);
}
$262.agent.getReportAsync().then(function (report) {
  assert.sameValue(woken, 1, "one waiter woken");
  assert.sameValue(report, "ok");
}).then($DONE, $DONE);
