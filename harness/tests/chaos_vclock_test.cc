// Self-tests of PCT's virtual clock (vclock=1, harness/src/chaos_vclock.cc): a timed wait's timeout is decided by
// the schedule, not the wall clock, it never returns before its wall-clock deadline, and a wait nobody can end is
// fired when every thread of the schedule is blocked.
#include <gtest/gtest.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>
#include <thread>

#include "chaos_event.h"
#include "jostle/chaos.h"
#include "jostle/clock.h"
#include "jostle/json.h"
#include "jostle/sys.h"
#include "jostle/watchdog.h"

namespace {

using jostle::Nanos;
using jostle::chaos::configure;

struct ChaosOff {
  ~ChaosOff() { configure("p=0", 1); }
};

int futex_once(std::atomic<std::uint32_t>& w, const timespec* ts) {
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), FUTEX_WAIT_PRIVATE, 0, ts, nullptr, 0) == 0
             ? 0
             : errno;
}

using jostle_test::schedule_event;

struct Race {
  int result = -1;  // what A's timed wait returned: 0 woken, EAGAIN the word changed, ETIMEDOUT
  Nanos elapsed = 0;
  std::string event;
};

// A waits on a futex word for 2 ms through chaos::timed_wait. B, once A is on its way in, takes 30 scheduling steps
// and then wakes it. On the wall clock B's 30 steps take far less than 2 ms, so the wake would win; on the virtual
// clock the outcome is what 30 ticks are worth against 2 ms.
Race timer_against_wake(std::uint64_t seed, const std::string& spec) {
  Race r;
  EXPECT_EQ(configure(spec, seed), "");
  std::atomic<std::uint32_t> word{0};
  std::atomic<bool> inside{false};
  std::thread a([&] {
    jostle::bind_current_thread(0);
    JOSTLE_CHAOS("a.start");
    const Nanos t0 = jostle::now_ns();
    inside.store(true);
    r.result = jostle::chaos::timed_wait("a.timed", 2 * jostle::kMilli,
                                         [&](const timespec* ts) { return futex_once(word, ts); });
    r.elapsed = jostle::now_ns() - t0;
    JOSTLE_CHAOS("a.after");
    jostle::release_actor_slot(0);
  });
  std::thread b([&] {
    jostle::bind_current_thread(1);
    while (!inside.load()) JOSTLE_CHAOS("b.wait");
    for (int i = 0; i < 30; ++i) JOSTLE_CHAOS("b.step");
    word.store(1);
    jostle::sys::futex_wake(word);
    JOSTLE_CHAOS("b.after");
    jostle::release_actor_slot(1);
  });
  a.join();
  b.join();
  r.event = schedule_event();
  return r;
}

TEST(ChaosVclock, TheScheduleDecidesATimerAgainstAWake) {
  ChaosOff off;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    // 30 steps of 1 us: the wake comes 30 us into a 2 ms wait. Whatever the wall clock says, A is woken.
    for (int rep = 0; rep < 2; ++rep) {
      const Race fast = timer_against_wake(seed, "mode=pct,d=2,actors=2,vclock=1,tick_ns=1000");
      // 0 (woken), or EAGAIN when the wake landed between two of A's slices: either way not a timeout.
      EXPECT_TRUE(fast.result == 0 || fast.result == EAGAIN) << "seed " << seed << " " << fast.event;
    }
    // 30 steps of 100 us: the 20th step passes the deadline and fires the wait before B's wake. A times out, and
    // not before its 2 ms of wall time.
    for (int rep = 0; rep < 2; ++rep) {
      const Race slow = timer_against_wake(seed, "mode=pct,d=2,actors=2,vclock=1,tick_ns=100000");
      EXPECT_EQ(slow.result, ETIMEDOUT) << "seed " << seed << " " << slow.event;
      EXPECT_GE(slow.elapsed, 2 * jostle::kMilli) << "seed " << seed;
      EXPECT_NE(slow.event.find("\"due\":1"), std::string::npos) << slow.event;
      EXPECT_NE(slow.event.find("\"late\":0"), std::string::npos) << slow.event;
    }
  }
}

TEST(ChaosVclock, AWaitNobodyCanEndFiresWhenEveryThreadIsBlocked) {
  ChaosOff off;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    ASSERT_EQ(configure("mode=pct,d=1,actors=1,vclock=1", seed), "");
    std::atomic<std::uint32_t> word{0};
    int result = -1;
    Nanos elapsed = 0;
    std::thread a([&] {
      jostle::bind_current_thread(0);
      JOSTLE_CHAOS("a.start");
      const Nanos t0 = jostle::now_ns();
      result = jostle::chaos::timed_wait("a.timed", 3 * jostle::kMilli,
                                         [&](const timespec* ts) { return futex_once(word, ts); });
      elapsed = jostle::now_ns() - t0;
      jostle::release_actor_slot(0);
    });
    a.join();
    const std::string event = schedule_event();
    EXPECT_EQ(result, ETIMEDOUT);
    EXPECT_GE(elapsed, 3 * jostle::kMilli);
    // Fired by the idle rule (the clock jumped to the deadline), not by the wall-clock backstop.
    EXPECT_NE(event.find("\"idle\":1"), std::string::npos) << event;
    EXPECT_NE(event.find("\"late\":0"), std::string::npos) << event;
  }
}

TEST(ChaosVclock, AHarnessPollKeepsTheClockFromJumpingPastIt) {
  ChaosOff off;
  // The case's main thread takes part in the schedule, then polls in a harness wait (as probe::await does) and
  // wakes A's 5 s wait after 20 ms of wall time. A poll comes back by itself on the wall clock, so the schedule is
  // not idle while it runs: A must be woken, not fired at its 5 s deadline by a jump of the clock.
  for (std::uint64_t seed = 1; seed <= 2; ++seed) {
    ASSERT_EQ(configure("mode=pct,d=1,actors=1,vclock=1", seed), "");
    jostle::bind_current_thread(-1);
    std::atomic<std::uint32_t> word{0};
    int result = -1;
    Nanos elapsed = 0;
    JOSTLE_CHAOS("main.start");
    std::thread a([&] {
      jostle::bind_current_thread(0);
      JOSTLE_CHAOS("a.start");
      const Nanos t0 = jostle::now_ns();
      result = jostle::chaos::timed_wait("a.timed", 5 * jostle::kSecond,
                                         [&](const timespec* ts) { return futex_once(word, ts); });
      elapsed = jostle::now_ns() - t0;
      jostle::release_actor_slot(0);
    });
    {
      jostle::chaos::HarnessWait wait;
      jostle::sleep_ns(20 * jostle::kMilli);
      word.store(1);
      jostle::sys::futex_wake(word);
      a.join();
    }
    jostle::release_actor_slot(-1);
    EXPECT_TRUE(result == 0 || result == EAGAIN) << "seed " << seed << " result " << result;
    EXPECT_LT(elapsed, 5 * jostle::kSecond);
  }
}

TEST(ChaosVclock, ADeadlineStaysOnTheWallClockUnlessItsWaitsAreTheSchedules) {
  ChaosOff off;
  ASSERT_EQ(configure("mode=pct,d=1,vclock=1", 1), "");
  EXPECT_TRUE(jostle::chaos::Deadline::after(jostle::kMilli, true).virt);
  EXPECT_FALSE(jostle::chaos::Deadline::after(jostle::kMilli, false).virt);
  ASSERT_EQ(configure("mode=pct,d=1", 1), "");
  const jostle::chaos::Deadline d = jostle::chaos::Deadline::after(jostle::kMilli, true);
  EXPECT_FALSE(d.virt);
  EXPECT_EQ(d.v, d.real);
  EXPECT_LE(d.left(), jostle::kMilli);
}

TEST(ChaosVclock, SleepAndClockFollowTheSchedule) {
  ChaosOff off;
  // Without chaos, chaos::now() is the monotonic clock and sleep_for sleeps.
  ASSERT_EQ(configure("p=0", 1), "");
  EXPECT_FALSE(jostle::chaos::vclock());
  const Nanos t0 = jostle::now_ns();
  jostle::chaos::sleep_for(jostle::kMilli);
  EXPECT_GE(jostle::now_ns() - t0, jostle::kMilli);
  EXPECT_GE(jostle::chaos::now(), t0);
  // Under vclock the clock moves by the tick at each step, and a lone sleeper's sleep ends by the idle rule: the
  // clock jumps by the whole sleep.
  ASSERT_EQ(configure("mode=pct,d=1,actors=1,vclock=1,tick_ns=5000", 2), "");
  EXPECT_TRUE(jostle::chaos::vclock());
  Nanos before = 0, after_steps = 0, after_sleep = 0;
  std::thread a([&] {
    jostle::bind_current_thread(0);
    JOSTLE_CHAOS("a.start");
    before = jostle::chaos::now();
    for (int i = 0; i < 10; ++i) JOSTLE_CHAOS("a.step");
    after_steps = jostle::chaos::now();
    const Nanos w0 = jostle::now_ns();
    jostle::chaos::sleep_for(2 * jostle::kMilli);
    EXPECT_GE(jostle::now_ns() - w0, 2 * jostle::kMilli);
    after_sleep = jostle::chaos::now();
    jostle::release_actor_slot(0);
  });
  a.join();
  EXPECT_EQ(after_steps - before, 10 * 5000);
  EXPECT_GE(after_sleep - after_steps, 2 * jostle::kMilli);
}

TEST(ChaosVclock, SpecIsAPctOption) {
  ChaosOff off;
  EXPECT_EQ(configure("mode=pct,vclock=1,tick_ns=250", 1), "");
  EXPECT_NE(configure("p=0.1,vclock=1", 1).find("PCT option"), std::string::npos);
  EXPECT_NE(configure("mode=pct,vclock=2", 1).find("vclock must be 0 or 1"), std::string::npos);
  EXPECT_NE(configure("mode=pct,tick_ns=0", 1).find("tick_ns"), std::string::npos);
}

}  // namespace
