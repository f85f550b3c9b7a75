// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: includes are evaluated before the test (atomicsHelper.js defines $262.agent.timeouts)
includes: [atomicsHelper.js]
---*/
assert.sameValue($262.agent.timeouts.small, 200);
assert.sameValue(typeof $262.agent.safeBroadcast, "function");
