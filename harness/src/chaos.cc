#include "jostle/chaos.h"

#include <sched.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "jostle/clock.h"
#include "jostle/context.h"
#include "jostle/sys.h"

namespace jostle::chaos {

std::atomic<bool> g_enabled{false};

namespace {

enum Action : unsigned { kYield = 1, kSpin = 2, kSleep = 4, kStall = 8 };

struct Config {
  double p = 0.0;
  unsigned actions = kYield;
  Nanos sleep_max = 100 * kMicro;
  Nanos stall = 2 * kMilli;
  std::uint64_t seed = 1;
};

Config g_config;
std::atomic<std::uint64_t> g_hits{0};
std::atomic<std::uint64_t> g_thread_counter{0};

Rng& thread_rng() {
  thread_local Rng rng(g_config.seed ^ (0x9e3779b97f4a7c15ULL * (g_thread_counter.fetch_add(1) + 1)));
  return rng;
}

bool parse_double(std::string_view s, double& out) {
  std::string tmp(s);
  char* end = nullptr;
  out = std::strtod(tmp.c_str(), &end);
  return end && *end == '\0' && !tmp.empty();
}

}  // namespace

void point_slow(const char* /*name*/) {
  Rng& rng = thread_rng();
  if (!rng.chance(g_config.p)) return;
  g_hits.fetch_add(1, std::memory_order_relaxed);
  std::vector<Action> enabled;
  for (Action a : {kYield, kSpin, kSleep, kStall})
    if (g_config.actions & a) enabled.push_back(a);
  switch (enabled[rng.below(enabled.size())]) {
    case kYield:
      sched_yield();
      break;
    case kSpin: {
      const std::uint64_t spins = 1 + rng.below(2000);
      for (std::uint64_t i = 0; i < spins; ++i) sys::cpu_relax();
      break;
    }
    case kSleep: {
      // Log-uniform between 1 us and sleep_max: most pauses short, a few long.
      const double lo = std::log(1000.0), hi = std::log(static_cast<double>(g_config.sleep_max));
      const double u = static_cast<double>(rng.below(1u << 20)) / (1u << 20);
      sleep_ns(static_cast<Nanos>(std::exp(lo + (hi - lo) * u)));
      break;
    }
    case kStall:
      sleep_ns(g_config.stall);
      break;
  }
}

std::string configure(std::string_view spec, std::uint64_t seed) {
  Config c;
  c.seed = seed;
  while (!spec.empty()) {
    auto comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) return "chaos setting '" + std::string(item) + "' is not key=value";
    std::string_view k = item.substr(0, eq), v = item.substr(eq + 1);
    double d = 0;
    if (k == "p") {
      if (!parse_double(v, d) || d < 0 || d > 1) return "chaos p must be a probability in [0,1], got '" + std::string(v) + "'";
      c.p = d;
    } else if (k == "actions") {
      c.actions = 0;
      while (!v.empty()) {
        auto plus = v.find('+');
        std::string_view a = v.substr(0, plus);
        v = plus == std::string_view::npos ? std::string_view{} : v.substr(plus + 1);
        if (a == "yield") c.actions |= kYield;
        else if (a == "spin") c.actions |= kSpin;
        else if (a == "sleep") c.actions |= kSleep;
        else if (a == "stall") c.actions |= kStall;
        else return "unknown chaos action '" + std::string(a) + "' (accepted: yield, spin, sleep, stall)";
      }
      if (c.actions == 0) return "chaos actions must name at least one of yield, spin, sleep, stall";
    } else if (k == "sleep_max_us" || k == "stall_us") {
      if (!parse_double(v, d) || d < 1 || d > 1e7) return "chaos " + std::string(k) + " must be 1..10000000";
      (k == "stall_us" ? c.stall : c.sleep_max) = static_cast<Nanos>(d * 1000);
    } else {
      return "unknown chaos setting '" + std::string(k) + "' (accepted: p, actions, sleep_max_us, stall_us)";
    }
  }
  g_config = c;
  g_hits.store(0);
  g_enabled.store(c.p > 0, std::memory_order_release);
  return {};
}

std::uint64_t hits() { return g_hits.load(std::memory_order_relaxed); }

}  // namespace jostle::chaos
