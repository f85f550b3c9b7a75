// Copyright (C) 2026 the jostle authors. All rights reserved.
// This code is governed by the license found in the LICENSE file of the jostle repository.
/*---
description: a runtime negative test passes when evaluation throws the named error
negative:
  phase: runtime
  type: TypeError
---*/
null.property;
