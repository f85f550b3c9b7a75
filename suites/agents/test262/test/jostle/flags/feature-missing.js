// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: a feature the engine's list marks as missing makes the test UNSUPPORTED, with the reason
features: [jostle-feature-nobody-has]
---*/
throw new Test262Error("a test needing a missing feature was run");
