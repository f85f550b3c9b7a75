// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: raw runs the source as is, without the harness files
flags: [raw]
---*/
if (typeof assert !== "undefined" || typeof Test262Error !== "undefined") {
  throw new Error("a raw test got the harness files");
}
