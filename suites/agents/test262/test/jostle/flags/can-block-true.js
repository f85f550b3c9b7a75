// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: CanBlockIsTrue runs only where the main agent may block; a zero wait then times out
flags: [CanBlockIsTrue]
features: [SharedArrayBuffer, Atomics]
---*/
const i32a = new Int32Array(new SharedArrayBuffer(8));
assert.sameValue(Atomics.wait(i32a, 0, 0, 0), "timed-out");
