// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: noStrict runs once, in sloppy mode
flags: [noStrict]
---*/
assert.sameValue((function () { return this; })(), this, "sloppy function this is the global");
with ({}) {}
