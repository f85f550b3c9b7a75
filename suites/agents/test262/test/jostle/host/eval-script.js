// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: $262.evalScript runs global code in this realm and throws a SyntaxError for bad source
---*/
$262.evalScript("var fromEvalScript = 42;");
assert.sameValue(fromEvalScript, 42);
assert.throws(SyntaxError, function () { $262.evalScript("var = ;"); });
assert.sameValue($262.global, this);
