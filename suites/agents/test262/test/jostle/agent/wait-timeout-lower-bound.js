// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: an agent's timed wait reports timed-out no earlier than its timeout, on monotonicNow
includes: [atomicsHelper.js]
features: [SharedArrayBuffer, Atomics]
---*/
const RUNNING = 1;
const TIMEOUT = $262.agent.timeouts.small;
const i32a = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * 2));
$262.agent.start(`
  $262.agent.receiveBroadcast(function (sab) {
    const i32a = new Int32Array(sab);
    Atomics.add(i32a, ${RUNNING}, 1);
    const before = $262.agent.monotonicNow();
    const result = Atomics.wait(i32a, 0, 0, ${TIMEOUT});
    $262.agent.report($262.agent.monotonicNow() - before);
    $262.agent.report(result);
    $262.agent.leaving();
  });
`);
$262.agent.safeBroadcast(i32a);
$262.agent.waitUntil(i32a, RUNNING, 1);
const lapse = Number($262.agent.getReport());
assert.sameValue($262.agent.getReport(), "timed-out");
assert(lapse >= TIMEOUT, "timed out after " + lapse + " ms, asked for " + TIMEOUT);
