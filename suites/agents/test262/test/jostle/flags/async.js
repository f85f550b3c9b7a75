// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: an async test passes when $DONE() is called after the synchronous part ended
flags: [async]
---*/
var ran = false;
Promise.resolve().then(function () {
  assert(ran, "the synchronous part ran first");
}).then($DONE, $DONE);
ran = true;
