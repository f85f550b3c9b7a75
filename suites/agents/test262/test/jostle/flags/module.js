// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: module code is strict and has an undefined this
flags: [module]
---*/
export const value = 1;
assert.sameValue(this, undefined, "module this");
assert.sameValue((function () { return this; })(), undefined, "module code is strict");
