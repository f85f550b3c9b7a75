// Self-tests of steered preempt's stepped aim (mode=preempt,steer=P,aim=step; docs/amplification.md, "Stepped
// aim"): an aimed call is single-stepped and the action lands between two instructions of the outside code,
// including within its first few instructions, where no timer can reach.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <string>
#include <thread>

#include "chaos_event.h"
#include "jostle/chaos.h"
#include "jostle/watchdog.h"
#include "plugin/plugin_backends.h"

extern "C" void jostle_standin_call(int loop, volatile long* sink, long* early_end);
extern "C" int jostle_standin_spawn(void);

namespace {

using jostle::chaos::configure;

struct StepChaosOff {
  ~StepChaosOff() { configure("p=0", 1); }
};

using jostle_test::schedule_event;
long long field(const std::string& text, const char* key) { return jostle_test::event_field(text, key); }

long switches() {
  rusage ru{};
  ::getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_nvcsw;
}

struct Observed {
  long early = 0;    // voluntary switches between the call's entry and its first system call (a few instructions)
  long late = 0;     // ... in the rest of the call
  long outside = 0;  // ... between calls
  std::string event;
};

// 120 calls of the stand-in (a few thousand instructions each), with the thread's own voluntary context
// switches (only the sleep action makes one) read before the call, at the stand-in's first system call, after
// the call, and after a stretch of work outside any call.
Observed observe(const char* spec) {
  EXPECT_EQ(configure(spec, 9), "") << spec;
  Observed o;
  std::thread th([&] {
    jostle::bind_current_thread(0);
    volatile long sink = 1;
    for (int i = 0; i < 120; ++i) {
      long at_first_syscall = 0;
      const long before = switches();
      JOSTLE_PLUGIN_CALL("selftest.standin", false, jostle_standin_call(400, &sink, &at_first_syscall));
      const long after = switches();
      for (int j = 0; j < 2000; ++j) sink = sink + j;
      const long later = switches();
      o.early += at_first_syscall - before;
      o.late += after - at_first_syscall;
      o.outside += later - after;
    }
    jostle::release_actor_slot(0);
  });
  th.join();
  o.event = schedule_event();
  return o;
}

TEST(ChaosStep, StepSpec) {
  StepChaosOff off;
  EXPECT_EQ(configure("mode=preempt,interval_us=0,steer=0.1,aim=step", 1), "");
  EXPECT_NE(configure("mode=preempt,interval_us=0,aim=step", 1).find("steer=P"), std::string::npos);
  EXPECT_NE(configure("mode=preempt,steer=0.1,aim=sideways", 1).find("timer or step"), std::string::npos);
  EXPECT_NE(configure("p=0.1,aim=step", 1).find("preempt options"), std::string::npos);
}

TEST(ChaosStep, StepLandsInsideTheCallsFirstInstructions) {
  StepChaosOff off;
  const Observed s = observe("mode=preempt,interval_us=0,steer=1,aim=step,actions=sleep,sleep_max_us=5,cap=100");
  if (s.event.find("\"off\"") != std::string::npos) GTEST_SKIP() << s.event;
  // Every call is aimed, and each stops at its drawn instruction within the call's first 64 (the call is a few
  // thousand long, so none returns first). None stays inside the harness.
  EXPECT_EQ(field(s.event, "steer_armed"), 120) << s.event;
  EXPECT_EQ(field(s.event, "step_acted"), 120) << s.event;
  EXPECT_EQ(field(s.event, "step_short"), 0) << s.event;
  EXPECT_EQ(field(s.event, "step_gave_up"), 0) << s.event;
  EXPECT_GT(field(s.event, "step_traps"), 120 * 4) << s.event;
  EXPECT_EQ(field(s.event, "sleeps"), field(s.event, "step_acted")) << s.event;
  // Seen from the thread itself: every sleep was inside a call, and a good share of them (about half, by the
  // log-uniform draw over the first 64 instructions) before the stand-in's first system call.
  EXPECT_EQ(s.outside, 0) << s.event;
  // (A sleep of a microsecond or two may end before the thread was switched out.)
  EXPECT_LE(s.early + s.late, field(s.event, "sleeps")) << s.event;
  EXPECT_GE((s.early + s.late) * 10, field(s.event, "sleeps") * 9) << s.event;
  EXPECT_GE(s.early, 30) << s.event;
  RecordProperty("step_early", static_cast<int>(s.early));
  RecordProperty("step_late", static_cast<int>(s.late));
  RecordProperty("step_traps", static_cast<int>(field(s.event, "step_traps")));
  RecordProperty("step_harness_traps", static_cast<int>(field(s.event, "step_harness_traps")));

  // A timer aimed at the same calls cannot expire that soon after the entry.
  const Observed t = observe("mode=preempt,interval_us=0,steer=1,actions=sleep,sleep_max_us=5,cap=100");
  EXPECT_LT(t.early * 3, s.early) << t.event;
  RecordProperty("timer_early", static_cast<int>(t.early));
  RecordProperty("timer_late", static_cast<int>(t.late));
  EXPECT_EQ(t.event.find("step_"), std::string::npos) << "aim=timer: no step counts\n" << t.event;
}

// A call that starts a thread: glibc blocks every signal around the clone, and a single-step trap while SIGTRAP
// is blocked makes the kernel kill the process (the first version died so on the thread and executor mutants).
// Stepping ends before the signal mask changes, and the calls complete.
TEST(ChaosStep, StepStopsBeforeASystemCallThatBlocksItsTrap) {
  StepChaosOff off;
  ASSERT_EQ(configure("mode=preempt,interval_us=0,steer=1,aim=step,actions=yield,cap=100", 3), "");
  int failed = 0;
  std::thread th([&] {
    jostle::bind_current_thread(0);
    for (int i = 0; i < 40; ++i) failed += JOSTLE_PLUGIN_CALL("selftest.spawn", false, jostle_standin_spawn()) != 0;
    jostle::release_actor_slot(0);
  });
  th.join();
  const std::string event = schedule_event();
  if (event.find("\"off\"") != std::string::npos) GTEST_SKIP() << event;
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(field(event, "steer_armed"), 40) << event;
  EXPECT_GE(field(event, "step_syscall_stop"), 1) << event;
  EXPECT_EQ(field(event, "step_acted") + field(event, "step_short") + field(event, "step_syscall_stop"), 40) << event;
}

}  // namespace
