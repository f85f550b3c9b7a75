// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: >
  an agent whose only pending work is an Atomics.waitAsync timeout (no receiver, no leaving yet) lives
  until the promise settles and its report arrives
includes: [atomicsHelper.js]
features: [SharedArrayBuffer, Atomics, Atomics.waitAsync]
---*/
$262.agent.start(`
  const i32a = new Int32Array(new SharedArrayBuffer(8));
  Atomics.waitAsync(i32a, 0, 0, 300).value.then(function (result) {
    $262.agent.report(result);
    $262.agent.leaving();
  });
`);
assert.sameValue($262.agent.getReport(), "timed-out");
