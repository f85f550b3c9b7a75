// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: onlyStrict runs once, in strict mode
flags: [onlyStrict]
---*/
assert.sameValue((function () { return this; })(), undefined, "strict function this");
