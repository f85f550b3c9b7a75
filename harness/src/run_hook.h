// The one narrow view of the running instance that the harness's own machinery takes: the chaos modes and the
// preemption timers ask which iteration runs, how many actors the case declared and whether it has failed yet,
// and nothing else. Run implements it (run.h); the machinery includes only this header.
#pragma once

#include <cstdint>

namespace jostle {

class RunHook {
 public:
  virtual std::uint64_t iterations_done() const = 0;
  // Actor threads the case declared (at least 1).
  virtual int declared_threads() const = 0;
  // Failed checks plus forbidden outcomes recorded so far.
  virtual std::uint64_t failures() const = 0;

 protected:
  ~RunHook() = default;
};

// The running instance, or null outside a run (self-tests that drive chaos directly).
RunHook* run_hook();

}  // namespace jostle
