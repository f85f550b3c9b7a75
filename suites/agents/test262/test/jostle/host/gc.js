// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: $262.gc runs a collection where the host provides it
features: [host-gc-required]
---*/
assert.sameValue(typeof $262.gc, "function");
$262.gc();
