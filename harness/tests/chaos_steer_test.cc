// Self-tests of steered preempt (preempt mode's steer=P, docs/amplification.md "Steered preempt"): interrupts
// aimed inside calls through the plugin ABI wrapper, never at timed waits or sleeps. Beside chaos_test.cc's
// ChaosPreempt tests, in the same binary.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "jostle/chaos.h"
#include "jostle/clock.h"
#include "jostle/json.h"
#include "jostle/watchdog.h"
#include "chaos_event.h"
#include "plugin/plugin_backends.h"

namespace {

using jostle::chaos::configure;

struct SteerChaosOff {
  ~SteerChaosOff() { configure("p=0", 1); }
};

using jostle_test::event_field;
using jostle_test::schedule_event;

// Steered preempt. A stand-in for a plugin call: 50 us of spinning without a system call, through the ABI
// boundary wrapper; between two calls, 50 us of the same spinning outside any call. Which side an interrupt lands
// on is seen from the thread's voluntary context switches (the sleep action is the only thing that makes one):
// an observation independent of the harness's own counts.
void spin_for(jostle::Nanos ns) {
  const jostle::Nanos until = jostle::now_ns() + ns;
  while (jostle::now_ns() < until) {
  }
}
long voluntary_switches() {
  rusage ru{};
  ::getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_nvcsw;
}

struct SteerRun {
  long inside = 0, outside = 0;  // voluntary switches during the calls, and between them
  std::string event;
};

template <bool Timed>
SteerRun steered_calls(const char* spec) {
  EXPECT_EQ(configure(spec, 5), "") << spec;
  SteerRun r;
  std::thread th([&] {
    jostle::bind_current_thread(0);
    for (int i = 0; i < 400; ++i) {
      const long a = voluntary_switches();
      if constexpr (Timed)
        JOSTLE_PLUGIN_CALL("selftest.timed_call", true, spin_for(50 * jostle::kMicro));
      else
        JOSTLE_PLUGIN_CALL("selftest.call", false, spin_for(50 * jostle::kMicro));
      const long b = voluntary_switches();
      spin_for(50 * jostle::kMicro);
      const long c = voluntary_switches();
      r.inside += b - a;
      r.outside += c - b;
    }
    jostle::release_actor_slot(0);
  });
  th.join();
  r.event = schedule_event();
  return r;
}

TEST(ChaosPreempt, SteerLandsInterruptsInsidePluginCallsAndNoneOutside) {
  SteerChaosOff off;
  const SteerRun s = steered_calls<false>("mode=preempt,interval_us=0,steer=1,actions=sleep,sleep_max_us=5,cap=100");
  if (s.event.find("\"off\"") != std::string::npos) GTEST_SKIP() << s.event;
  EXPECT_EQ(event_field(s.event, "steer_calls"), 400) << s.event;
  // Every call but the first of the process (which only teaches the site its duration) arms the timer; most
  // expire inside the 50 us call (cap=100: each one sleeps). A loaded machine delays some past the call's end:
  // disarmed first, or ignored (steer_late). With 20 us calls a CI run at load saw only 178 of 399 inside.
  EXPECT_GE(event_field(s.event, "steer_armed"), 399) << s.event;
  EXPECT_GT(event_field(s.event, "steer_fired"), 200) << s.event;
  EXPECT_EQ(event_field(s.event, "interrupts"), event_field(s.event, "steer_fired")) << s.event;
  EXPECT_EQ(event_field(s.event, "in_call"), event_field(s.event, "interrupts")) << s.event;
  // Seen from the thread itself: it slept inside the calls, never between them.
  EXPECT_GT(s.inside, 100) << s.event;
  EXPECT_EQ(s.outside, 0) << s.event;

  // The untargeted interrupts at the same rate land on both sides (the observation can tell them apart).
  const SteerRun u = steered_calls<false>("mode=preempt,clock=wall,interval_us=20,actions=sleep,sleep_max_us=5,cap=100");
  EXPECT_GT(u.outside, 0) << u.event;
  EXPECT_EQ(u.event.find("steer"), std::string::npos) << "steer off: the schedule event is as before\n" << u.event;
}

// Steering's own cost (arming the timer, reading the CPU clock) counts against the cap: a storm of tiny calls
// stops being tracked once it is spent, instead of stretching a correct run into its watchdog (steer=0.3 took
// a correct plugin's rmw_counter_storm past its 30 s deadline before).
long long tiny_calls(const char* spec, int calls) {
  EXPECT_EQ(configure(spec, 5), "") << spec;
  std::thread th([&] {
    jostle::bind_current_thread(0);
    for (int i = 0; i < calls; ++i) JOSTLE_PLUGIN_CALL("selftest.tiny", false, (void)0);
    jostle::release_actor_slot(0);
  });
  th.join();
  const std::string event = schedule_event();
  if (event.find("\"off\"") != std::string::npos) return -2;
  const long long tracked = event_field(event, "steer_calls"), over = event_field(event, "steer_over_cap");
  EXPECT_GE(over, 0) << event;
  EXPECT_EQ(tracked + over, calls) << "every call is aimed (steer=1) or counted over the cap\n" << event;
  return over;
}

TEST(ChaosPreempt, SteeringCostCountsAgainstTheCap) {
  SteerChaosOff off;
  const long long capped = tiny_calls("mode=preempt,interval_us=0,steer=1,actions=yield,cap=0.001", 50000);
  if (capped == -2) GTEST_SKIP() << "preempt mode unavailable";
  EXPECT_GT(capped, 25000) << "10 ms of budget cannot pay for 50,000 armed timers";
  EXPECT_EQ(tiny_calls("mode=preempt,interval_us=0,steer=1,actions=yield,cap=100", 2000), 0);
}

TEST(ChaosPreempt, SteerNeverAimsAtTimedWaitsOrSleeps) {
  SteerChaosOff off;
  static_assert(!jostle::plugin_detail::steerable("condvar.timed_wait"));
  static_assert(!jostle::plugin_detail::steerable("rwlock.try_lock_for"));
  static_assert(!jostle::plugin_detail::steerable("thread.sleep"));
  static_assert(!jostle::plugin_detail::steerable("executor.join_timeout"));
  static_assert(jostle::plugin_detail::steerable("futex.wait"));
  const SteerRun s = steered_calls<true>("mode=preempt,interval_us=0,steer=1,actions=sleep,sleep_max_us=5,cap=100");
  if (s.event.find("\"off\"") != std::string::npos) GTEST_SKIP() << s.event;
  EXPECT_EQ(event_field(s.event, "steer_calls"), 0) << s.event;
  EXPECT_EQ(event_field(s.event, "interrupts"), 0) << s.event;
  EXPECT_EQ(s.inside + s.outside, 0) << s.event;
}

// others_us=N: a thread the harness did not start (no bind_current_thread: a plugin's own worker) is interrupted
// while it runs; a thread the harness started is not (it has its own timers, here none: interval_us=0). Seen from
// each thread's voluntary context switches, which only the sleep action makes while it spins.
TEST(ChaosPreempt, OthersReachThreadsTheHarnessDidNotStart) {
  SteerChaosOff off;
  const char* spec = "mode=preempt,interval_us=0,others_us=100,actions=sleep,sleep_max_us=5,cap=100";
  ASSERT_EQ(configure(spec, 9), "");
  std::atomic<int> ready{0};
  long unbound = -1, bound = -1;
  std::thread outside([&] {
    ready.fetch_add(1);
    const long a = voluntary_switches();
    spin_for(300 * jostle::kMilli);
    unbound = voluntary_switches() - a;
  });
  std::thread inside([&] {
    jostle::bind_current_thread(0);
    ready.fetch_add(1);
    const long a = voluntary_switches();
    spin_for(300 * jostle::kMilli);
    bound = voluntary_switches() - a;
    jostle::release_actor_slot(0);
  });
  outside.join();
  inside.join();
  const std::string event = schedule_event();
  if (event.find("\"off\"") != std::string::npos) GTEST_SKIP() << event;
  EXPECT_GT(event_field(event, "others_sweeps"), 100) << event;
  EXPECT_GT(event_field(event, "others_hits"), 10) << event;
  EXPECT_GT(unbound, 10) << event;
  EXPECT_EQ(bound, 0) << event;
  EXPECT_EQ(event_field(event, "interrupts"), 0) << "no harness thread was interrupted\n" << event;
}

TEST(ChaosPreempt, SteerSpec) {
  SteerChaosOff off;
  EXPECT_EQ(configure("mode=preempt,steer=0.1,interval_us=0", 1), "");
  EXPECT_EQ(configure("mode=preempt,steer=0.3,clock=cpu,interval_us=500", 1), "");
  EXPECT_NE(configure("mode=preempt,steer=2", 1).find("[0,1]"), std::string::npos);
  EXPECT_NE(configure("p=0.1,steer=0.1", 1).find("preempt options"), std::string::npos);
  EXPECT_NE(configure("mode=pct,interval_us=0", 1).find("preempt options"), std::string::npos);
  EXPECT_EQ(configure("mode=preempt,interval_us=0,steer=0.1,others_us=500", 1), "");
  EXPECT_NE(configure("p=0.1,others_us=500", 1).find("preempt options"), std::string::npos);
  EXPECT_NE(configure("mode=preempt,others_us=0", 1).find("1..10000000"), std::string::npos);
}

}  // namespace
