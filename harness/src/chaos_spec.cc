// The --chaos SPEC grammar (docs/amplification.md, "The spec"). Every error is one line.
#include <cmath>
#include <cstdlib>
#include <string>

#include "chaos_internal.h"
#include "jostle/watchdog.h"

namespace jostle::chaos::detail {

namespace {

bool parse_double(std::string_view s, double& out) {
  std::string tmp(s);
  char* end = nullptr;
  out = std::strtod(tmp.c_str(), &end);
  return end && *end == '\0' && !tmp.empty();
}

}  // namespace

std::string parse_spec(std::string_view spec, std::uint64_t seed, Config& out) {
  Config c;
  c.seed = seed;
  c.spec = std::string(spec);
  bool actions_given = false;
  while (!spec.empty()) {
    auto comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) return "chaos setting '" + std::string(item) + "' is not key=value";
    std::string_view k = item.substr(0, eq), v = item.substr(eq + 1);
    double d = 0;
    if (k == "mode") {
      if (v == "random") c.mode = Mode::random;
      else if (v == "pct") c.mode = Mode::pct;
      else if (v == "preempt") c.mode = Mode::preempt;
      else return "chaos mode must be random, pct or preempt, got '" + std::string(v) + "'";
    } else if (k == "p") {
      if (!parse_double(v, d) || d < 0 || d > 1) return "chaos p must be a probability in [0,1], got '" + std::string(v) + "'";
      c.p = d;
    } else if (k == "actions") {
      actions_given = true;
      c.actions = 0;
      while (!v.empty()) {
        auto plus = v.find('+');
        std::string_view a = v.substr(0, plus);
        v = plus == std::string_view::npos ? std::string_view{} : v.substr(plus + 1);
        if (a == "yield") c.actions |= kYield;
        else if (a == "spin") c.actions |= kSpin;
        else if (a == "sleep") c.actions |= kSleep;
        else if (a == "stall") c.actions |= kStall;
        else if (a == "spurious") c.actions |= kSpurious;
        else if (a == "timeout") c.actions |= kTimeout;
        else return "unknown chaos action '" + std::string(a) + "' (accepted: " + kActionNames + ")";
      }
      if (c.actions == 0) return std::string("chaos actions must name at least one of ") + kActionNames;
    } else if (k == "interval_us" && v == "0") {
      c.interval = 0;  // preempt: no untargeted interrupts (only steered ones, with steer=P)
    } else if (k == "steer") {
      if (!parse_double(v, d) || d < 0 || d > 1) return "chaos steer must be a probability in [0,1], got '" + std::string(v) + "'";
      c.steer = d;
    } else if (k == "aim") {
      if (v != "timer" && v != "step") return "chaos aim must be timer or step (step: single-step into the call), got '" + std::string(v) + "'";
      c.aim_step = v == "step";
    } else if (k == "sleep_max_us" || k == "stall_us" || k == "token_wait_us" || k == "poll_us" ||
               k == "start_wait_us" || k == "interval_us" || k == "others_us") {
      if (!parse_double(v, d) || d < 1 || d > 1e7) return "chaos " + std::string(k) + " must be 1..10000000";
      const Nanos ns = static_cast<Nanos>(d * 1000);
      if (k == "sleep_max_us") c.sleep_max = std::max<Nanos>(ns, 1000);
      else if (k == "stall_us") c.stall = ns;
      else if (k == "token_wait_us") c.token_wait = ns;
      else if (k == "start_wait_us") c.start_wait = ns;
      else if (k == "interval_us") c.interval = ns;
      else if (k == "others_us") c.others = ns;
      else c.poll = ns;
    } else if (k == "cap") {
      if (!parse_double(v, d) || d < 0 || d > 100) return "chaos cap must be 0..100 (fraction of wall time), got '" + std::string(v) + "'";
      c.cap = d;
    } else if (k == "restart") {
      if (v != "0" && v != "1") return "chaos restart must be 0 (interrupted calls return EINTR) or 1 (SA_RESTART)";
      c.restart = v == "1";
    } else if (k == "clock") {
      if (v != "wall" && v != "cpu") return "chaos clock must be wall or cpu, got '" + std::string(v) + "'";
      c.cpu_clock = v == "cpu";
    } else if (k == "settle") {
      if (v != "0" && v != "1") return "chaos settle must be 0 or 1 (1: PCT waits for woken threads before each choice)";
      c.settle = v == "1";
    } else if (k == "vclock") {
      if (v != "0" && v != "1") return "chaos vclock must be 0 or 1 (1: PCT decides timeouts on a virtual clock)";
      c.vclock = v == "1";
    } else if (k == "tick_ns") {
      if (!parse_double(v, d) || d < 1 || d > 1e9 || d != std::floor(d)) return "chaos tick_ns must be a whole number 1..1000000000";
      c.tick = static_cast<Nanos>(d);
    } else if (k == "swarm") {
      if (v != "0" && v != "1") return "chaos swarm must be 0 or 1";
      c.swarm = v == "1";
    } else if (k == "d") {
      if (!parse_double(v, d) || d < 1 || d > 10 || d != std::floor(d)) return "chaos d (PCT depth) must be 1..10";
      c.d = static_cast<int>(d);
    } else if (k == "actors") {
      if (!parse_double(v, d) || d < 0 || d > kMaxActors || d != std::floor(d)) return "chaos actors must be 0..256";
      c.actors = static_cast<int>(d);
    } else if (k == "k" || k == "spin_bound") {
      if (!parse_double(v, d) || d < 0 || d > 1e9 || d != std::floor(d)) return "chaos " + std::string(k) + " must be a whole number 0..1000000000";
      (k == "k" ? c.k : c.spin_bound) = static_cast<std::uint64_t>(d);
    } else {
      return "unknown chaos setting '" + std::string(k) +
             "' (accepted: mode, p, actions, sleep_max_us, stall_us, cap, swarm, d, k, token_wait_us, poll_us, start_wait_us, spin_bound, actors, settle, vclock, tick_ns, interval_us, restart, clock, steer, aim, others_us)";
    }
  }
  if (c.vclock && c.mode != Mode::pct) return "chaos vclock=1 is a PCT option (mode=pct,vclock=1)";
  if (c.mode == Mode::pct && !actions_given) c.actions = 0;  // pct: no delays; spurious/timeout only if asked
  if (c.mode == Mode::preempt) {
    if (!actions_given) c.actions = kYield | kSleep;
    if (c.actions & ~(kYield | kSleep))
      return "chaos mode=preempt takes actions yield and sleep only (a signal handler cannot spin, stall or fake a "
             "return)";
#if !defined(__x86_64__)
    if (c.aim_step) return "chaos aim=step needs x86-64 (it single-steps with the trap flag); use aim=timer";
#endif
    if (c.aim_step && c.steer <= 0) return "chaos aim=step aims steered calls: give steer=P too (mode=preempt,steer=P,aim=step)";
  } else if (c.steer > 0 || c.interval == 0 || c.others > 0 || c.aim_step) {
    return "chaos steer, aim, others_us and interval_us=0 are preempt options (mode=preempt,steer=P)";
  }
  out = c;
  return {};
}

}  // namespace jostle::chaos::detail
