// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: >
  broadcast blocks until every agent retrieved the message; an agent that registers its receiver late
  delays it (the agent reports when it registers, on the clock the main thread reads too)
includes: [atomicsHelper.js]
features: [SharedArrayBuffer, Atomics]
---*/
const i32a = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * 2));
$262.agent.start(`
  $262.agent.sleep(300);
  $262.agent.report(String($262.agent.monotonicNow()));
  $262.agent.receiveBroadcast(function (sab) {
    $262.agent.leaving();
  });
`);
$262.agent.safeBroadcast(i32a);
const returned = $262.agent.monotonicNow();
const registered = Number($262.agent.getReport());
assert(returned >= registered,
  "broadcast returned at " + returned + " ms, before the agent could retrieve it (registered at " + registered + " ms)");
