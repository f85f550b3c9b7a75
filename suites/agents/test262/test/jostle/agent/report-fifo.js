// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: getReport hands out one agent's reports in the order they were made
includes: [atomicsHelper.js]
features: [SharedArrayBuffer, Atomics]
---*/
const DONE = 0;
const i32a = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * 2));
$262.agent.start(`
  $262.agent.receiveBroadcast(function (sab) {
    const i32a = new Int32Array(sab);
    $262.agent.report("first");
    $262.agent.report("second");
    $262.agent.report(3);
    Atomics.add(i32a, ${DONE}, 1);
    $262.agent.leaving();
  });
`);
$262.agent.safeBroadcast(i32a);
$262.agent.waitUntil(i32a, DONE, 1);
assert.sameValue($262.agent.getReport(), "first", "oldest report first");
assert.sameValue($262.agent.getReport(), "second", "then the next");
assert.sameValue($262.agent.getReport(), "3", "reports are String(v)");
