// Harness self-tests. Most run the purpose-built cases in selftest_cases.cc as a child process, because the
// process boundary (exit codes, the event file, the watchdog) is the harness's contract.
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "jostle/chaos.h"
#include "jostle/clock.h"
#include "jostle/counter.h"
#include "jostle/json.h"
#include "jostle/probe.h"
#include "jostle/sys.h"
#include "jostle/watchdog.h"

extern char** environ;

namespace {

struct Result {
  int code = -1;
  std::string out;     // stdout + stderr
  std::string events;  // the event file
  std::vector<std::string> lines() const {
    std::vector<std::string> v;
    std::istringstream in(events);
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
  }
  bool has_event(const std::string& needle) const { return events.find(needle) != std::string::npos; }
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Result run_cases(std::vector<std::string> args, bool with_events = true) {
  static int counter = 0;
  const std::string dir = ::testing::TempDir();
  const std::string events = dir + "/jostle-selftest-" + std::to_string(::getpid()) + "-" +
                             std::to_string(counter++) + ".jsonl";
  const std::string out = events + ".out";
  std::remove(events.c_str());
  std::vector<std::string> argv_s{JOSTLE_SELFTEST_CASES};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  if (with_events) {
    argv_s.push_back("--events");
    argv_s.push_back(events);
  }
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  EXPECT_EQ(posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  waitpid(pid, &status, 0);
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.events = slurp(events);
  return r;
}

TEST(Process, ListsEveryInstanceWithExpectations) {
  Result r = run_cases({"--list"}, false);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(R"("id":"selftest/passes@plain")"), std::string::npos) << r.out;
  // Parameters expand into ids in declaration order.
  EXPECT_NE(r.out.find(R"("id":"selftest/outcomes@plain/mode=forbidden")"), std::string::npos);
  // The mutant's declared catcher expects failure; its other instances are informative.
  EXPECT_NE(r.out.find(R"("id":"selftest/check_fails@mutant.plain")"), std::string::npos);
  EXPECT_NE(r.out.find(R"(check_fails@mutant.plain","suite":"selftest","case":"check_fails","backend":"mutant.plain")"),
            std::string::npos);
  std::istringstream in(r.out);
  int mutant_fail = 0, mutant_informative = 0;
  for (std::string l; std::getline(in, l);) {
    if (l.find(R"("backend":"mutant.plain")") == std::string::npos) continue;
    if (l.find(R"("expect":"fail")") != std::string::npos) ++mutant_fail;
    if (l.find(R"("expect":"informative")") != std::string::npos) ++mutant_informative;
  }
  EXPECT_EQ(mutant_fail, 1);
  EXPECT_GT(mutant_informative, 3);
  // A body constrained to backends with kBroken is instantiated for the mutant only.
  EXPECT_EQ(r.out.find("selftest/constrained@plain"), std::string::npos);
  EXPECT_NE(r.out.find("selftest/constrained@mutant.plain"), std::string::npos);
}

TEST(Process, ListsBackends) {
  Result r = run_cases({"--list-backends"}, false);
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find(R"("name":"mutant.plain","primitive":"selftest","mutant":true)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("catches":["selftest/check_fails"])"), std::string::npos) << r.out;
}

TEST(Process, PassingRunWritesStartAndEnd) {
  Result r = run_cases({"--run", "selftest/passes@plain", "--seed", "42"});
  ASSERT_EQ(r.code, 0) << r.out;
  auto lines = r.lines();
  ASSERT_GE(lines.size(), 2u) << r.events;
  EXPECT_NE(lines.front().find(R"("ev":"start")"), std::string::npos);
  EXPECT_NE(lines.front().find(R"("seed":42)"), std::string::npos);
  EXPECT_NE(lines.back().find(R"("ev":"end")"), std::string::npos) << lines.back();
  EXPECT_NE(lines.back().find(R"("status":"pass")"), std::string::npos) << lines.back();
  EXPECT_NE(lines.back().find(R"("iterations_done":50)"), std::string::npos);
  EXPECT_NE(lines.back().find(R"("iteration":{"n":50,"min":0,"max":49)"), std::string::npos) << lines.back();
}

TEST(Process, FailedCheckIsRecordedWithPlaceAndMessageAndRunContinues) {
  Result r = run_cases({"--run", "selftest/check_fails@plain"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(r.has_event(R"("fatal":false,"file":"harness/tests/selftest_cases.cc","line":35)")) << r.events;
  EXPECT_TRUE(r.has_event(R"("msg":"odd iteration 1")")) << r.events;
  EXPECT_TRUE(r.has_event(R"("status":"fail")"));
  EXPECT_TRUE(r.has_event(R"("iterations_done":5)"));
  EXPECT_TRUE(r.has_event(R"("checks_failed":2)"));
}

TEST(Process, FailedRequireStopsTheRun) {
  Result r = run_cases({"--run", "selftest/require_fails@plain"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(r.has_event(R"("fatal":true)")) << r.events;
  EXPECT_TRUE(r.has_event(R"("status":"fail","iterations_done":2)")) << r.events;
}

TEST(Process, CheckInActorThreadNamesTheActor) {
  Result r = run_cases({"--run", "selftest/actor_check@plain"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.has_event(R"("thread":2)")) << r.events;
}

TEST(Process, OutcomeGrades) {
  Result clean = run_cases({"--run", "selftest/outcomes@plain/mode=clean"});
  EXPECT_EQ(clean.code, 0) << clean.events;
  EXPECT_TRUE(clean.has_event(R"("rare":{"count":4,"grade":"INTERESTING")")) << clean.events;
  EXPECT_TRUE(clean.has_event(R"("ok":{"count":16,"grade":"ACCEPTABLE")")) << clean.events;

  Result forbidden = run_cases({"--run", "selftest/outcomes@plain/mode=forbidden"});
  EXPECT_EQ(forbidden.code, 1);
  EXPECT_TRUE(forbidden.has_event(R"("bad":{"count":1,"grade":"FORBIDDEN")")) << forbidden.events;

  // A key the case never declared is FORBIDDEN too.
  Result undeclared = run_cases({"--run", "selftest/outcomes@plain/mode=undeclared"});
  EXPECT_EQ(undeclared.code, 1);
  EXPECT_TRUE(undeclared.has_event(R"("who-knows":{"count":1,"grade":"FORBIDDEN")")) << undeclared.events;
}

TEST(Process, WatchdogReportsHangWithPhases) {
  Result r = run_cases({"--run", "selftest/hangs@plain", "--timeout", "300ms"});
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_TRUE(r.has_event(R"("reason":")")) << r.events;
  EXPECT_TRUE(r.has_event(R"("ev":"hang")")) << r.events;
  EXPECT_TRUE(r.has_event(R"("phase":"blocked-forever")")) << r.events;
  EXPECT_FALSE(r.has_event(R"("ev":"end")"));
}

TEST(Process, LostWakeupReportedBeforeTheDeadline) {
  const jostle::Nanos t0 = jostle::now_ns();
  Result r = run_cases({"--run", "selftest/hangs@plain", "--timeout", "20s"});
  const jostle::Nanos took = jostle::now_ns() - t0;
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_TRUE(r.has_event(R"("ev":"hang","t_ms")")) << r.events;
  EXPECT_TRUE(r.has_event(R"("reason":"deadlock")")) << r.events;
  EXPECT_TRUE(r.has_event(R"("phase":"blocked-forever")")) << r.events;
  EXPECT_LT(took, 10 * jostle::kSecond) << "the deadlock check should end the run long before the 20 s deadline";
}

TEST(Process, DeadlockCheckOffWaitsForTheDeadline) {
  Result r = run_cases({"--run", "selftest/hangs@plain", "--timeout", "600ms", "--deadlock-after", "0"});
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_TRUE(r.has_event(R"("reason":"deadline")")) << r.events;
}

TEST(Process, TimedWaitsAreNotADeadlock) {
  // Both actors and the joining main thread sleep for 700 ms, far past --deadlock-after; the actors' waits are
  // timed, so nothing may be reported.
  Result r = run_cases({"--run", "selftest/timed_sleepers@plain", "--deadlock-after", "50ms"});
  EXPECT_EQ(r.code, 0) << r.out << r.events;
  EXPECT_FALSE(r.has_event(R"("ev":"hang")")) << r.events;
}

TEST(Process, Unsupported) {
  Result r = run_cases({"--run", "selftest/unsupported@mutant.plain"});
  EXPECT_EQ(r.code, 5);
  EXPECT_TRUE(r.has_event(R"("status":"unsupported","reason":"mutant.plain cannot do this")")) << r.events;
}

TEST(Process, ParkedProbeTellsBlockedFromSpinning) {
  Result r = run_cases({"--run", "selftest/parked_probe@plain"});
  EXPECT_EQ(r.code, 0) << r.out << r.events;
}

TEST(Process, DurationBoundsTheRun) {
  Result r = run_cases({"--run", "selftest/long_body@plain", "--duration", "100ms"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(r.has_event(R"("iterations":null,"duration_ms":100)")) << r.events;
  EXPECT_FALSE(r.has_event(R"("iterations_done":1000000)"));
}

TEST(BadInput, UnknownInstanceSuggestsCloseOnes) {
  Result r = run_cases({"--run", "selftest/pases@plain"}, false);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("unknown instance 'selftest/pases@plain'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("did you mean"), std::string::npos) << r.out;
}

TEST(BadInput, IterationCounts) {
  for (const char* bad : {"-1", "0", "abc", "1000000001", "99999999999999999999999"}) {
    Result r = run_cases({"--run", "selftest/passes@plain", "--iterations", bad}, false);
    EXPECT_EQ(r.code, 2) << bad;
    EXPECT_NE(r.out.find("--iterations takes a whole number from 1 to 1000000000"), std::string::npos) << r.out;
  }
}

TEST(BadInput, DurationsAndOptions) {
  EXPECT_EQ(run_cases({"--run", "selftest/passes@plain", "--duration", "5 parsecs"}, false).code, 2);
  EXPECT_EQ(run_cases({"--run", "selftest/passes@plain", "--timeout", "0s"}, false).code, 2);
  EXPECT_EQ(run_cases({"--frobnicate"}, false).code, 2);
  EXPECT_EQ(run_cases({"--run"}, false).code, 2);
  EXPECT_EQ(run_cases({"--run", "selftest/passes@plain", "--chaos", "p=2"}, false).code, 2);
  Result r = run_cases({"--run", "selftest/passes@plain", "--deadlock-after", "soon"}, false);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--deadlock-after takes a duration (0 = off)"), std::string::npos) << r.out;
  EXPECT_EQ(run_cases({"--run", "selftest/passes@plain", "--deadlock-after", "0"}, false).code, 0);
}

TEST(BadInput, UnwritableEventFile) {
  Result r = run_cases({"--run", "selftest/passes@plain", "--events", "/nonexistent-dir/e.jsonl"}, false);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.out.find("cannot open event file"), std::string::npos) << r.out;
}

TEST(BadInput, FullDiskIsAnInfrastructureError) {
  Result r = run_cases({"--run", "selftest/passes@plain", "--events", "/dev/full"}, false);
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("cannot write events"), std::string::npos) << r.out;
}

TEST(Json, EscapesEverythingThatNeedsIt) {
  jostle::Json j;
  j.begin_object().kv("k", std::string_view("a\"b\\c\n\x01<")).kv("n", 3).end_object();
  EXPECT_EQ(j.text(), R"({"k":"a\"b\\c\n\u0001<","n":3})");
}

TEST(Probe, TaskStateOfSelfIsRunning) {
  EXPECT_EQ(jostle::probe::task_state(jostle::sys::gettid()), 'R');
  EXPECT_EQ(jostle::probe::task_state(999999999), '?');
}

TEST(WideCounter, CountsAndStaysConsistentSingleThreaded) {
  jostle::WideCounter c;
  for (int i = 0; i < 1000; ++i) c.increment();
  EXPECT_EQ(c.value(), 1000u);
  EXPECT_TRUE(c.consistent());
}

TEST(Chaos, SpecErrorsAreOneLine) {
  EXPECT_EQ(jostle::chaos::configure("p=0.5,actions=yield+spin", 1), "");
  EXPECT_NE(jostle::chaos::configure("p=0.5,actions=dance", 1).find("accepted: yield, spin, sleep, stall"),
            std::string::npos);
  EXPECT_NE(jostle::chaos::configure("q=1", 1).find("unknown chaos setting"), std::string::npos);
  // Off again: points cost nothing and count nothing.
  EXPECT_EQ(jostle::chaos::configure("p=0", 1), "");
  for (int i = 0; i < 100; ++i) JOSTLE_CHAOS("test.point");
  EXPECT_EQ(jostle::chaos::hits(), 0u);
  EXPECT_EQ(jostle::chaos::configure("p=1,actions=yield", 1), "");
  for (int i = 0; i < 100; ++i) JOSTLE_CHAOS("test.point");
  EXPECT_EQ(jostle::chaos::hits(), 100u);
  jostle::chaos::configure("p=0", 1);
}

}  // namespace
