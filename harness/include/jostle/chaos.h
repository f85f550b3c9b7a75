// Chaos points: named places at primitive boundaries where, when the runner asks for it (--chaos), a seeded
// action perturbs the schedule (yield, spin, short sleep, a longer stall of a victim thread). With chaos off a
// point is one relaxed load of a global flag and a predicted-not-taken branch.
//
// Backends mark their race windows: JOSTLE_CHAOS("futex.wait.after-check").
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace jostle::chaos {

extern std::atomic<bool> g_enabled;

void point_slow(const char* name);

inline void point(const char* name) {
  if (__builtin_expect(g_enabled.load(std::memory_order_relaxed), false)) point_slow(name);
}

// Parses and installs a spec such as "p=0.01,actions=yield+spin+sleep,stall_us=2000". Returns an empty string
// on success, otherwise a one-line description of what was wrong.
std::string configure(std::string_view spec, std::uint64_t seed);

// Points hit since configure (for figures and for tests that the hooks are reached).
std::uint64_t hits();

}  // namespace jostle::chaos

#define JOSTLE_CHAOS(name) ::jostle::chaos::point(name)
