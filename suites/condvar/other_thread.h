// Runs one step on another thread and returns its result: the owner-sensitive checks (try_lock by a
// non-owner, unlock by a non-owner) need a second thread for a single call.
#pragma once

#include "jostle/jostle.h"

namespace jostle {

template <class F>
auto on_other_thread(Context& ctx, F f) {
  decltype(f()) result{};
  ctx.actors(1, [&](int) { result = f(); });
  return result;
}

}  // namespace jostle

namespace jostle {

// The profile the running backend claims (a plugin's comes from its table, so ask the instance).
inline bool claims_strict(Context& ctx) { return ctx.instance().backend->backend.profile == "strict"; }

}  // namespace jostle
