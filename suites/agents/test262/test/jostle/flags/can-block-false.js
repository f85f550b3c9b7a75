// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: CanBlockIsFalse runs only where the main agent may not block; a wait then throws
flags: [CanBlockIsFalse]
features: [SharedArrayBuffer, Atomics]
---*/
const i32a = new Int32Array(new SharedArrayBuffer(8));
assert.throws(TypeError, function () { Atomics.wait(i32a, 0, 0, 0); });
