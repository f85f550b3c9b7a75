// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: $262.createRealm gives a realm with its own global and intrinsics and its own $262
---*/
const other = $262.createRealm();
assert.notSameValue(other.global, this, "a new global object");
assert.notSameValue(other.global.Array, Array, "its own intrinsics");
assert.sameValue(other.evalScript("var inOther = 7; inOther"), 7, "evalScript returns the completion value");
assert.sameValue(other.global.inOther, 7, "declared in the other realm");
assert.sameValue(typeof inOther, "undefined", "not in this one");
assert.sameValue(typeof other.global.$262.createRealm, "function", "the new realm has $262 too");
