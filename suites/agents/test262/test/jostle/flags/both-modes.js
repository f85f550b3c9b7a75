// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: a test without mode flags runs twice; the two runs see different strictness
---*/
var strict = (function () { return this === undefined; })();
assert.sameValue(typeof strict, "boolean");
