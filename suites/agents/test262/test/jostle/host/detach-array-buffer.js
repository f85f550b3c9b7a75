// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: $262.detachArrayBuffer detaches an ArrayBuffer (its length becomes 0, views see nothing)
---*/
const buffer = new ArrayBuffer(16);
const view = new Uint8Array(buffer);
$262.detachArrayBuffer(buffer);
assert.sameValue(buffer.byteLength, 0, "detached buffer has no bytes");
assert.sameValue(view.length, 0, "views of it are empty");
