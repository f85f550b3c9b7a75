// The harness's own overhead: iterations of a case body driven the way `--run` drives them (Context,
// begin_iteration, the type-erased backend entry, the iteration counter) against the same body called in a
// bare loop. Two bodies: an empty one (the absolute per-iteration cost) and the cheapest real case body in the
// tree, futex/wake_no_waiters (three wake calls), against which the overhead target is stated.
#include <benchmark/benchmark.h>

#include <climits>

#include "../src/run.h"
#include "futex_linux/linux_futex.h"
#include "jostle/context.h"
#include "jostle/registry.h"

namespace {

void wake_no_waiters_body() {
  jostle::FutexWord w{0};
  for (int n : {0, 1, INT_MAX}) benchmark::DoNotOptimize(jostle::LinuxFutex::wake(w, n));
}

template <bool Empty>
void body(jostle::Context& ctx) {
  if constexpr (Empty) {
    benchmark::DoNotOptimize(ctx.iteration());
  } else {
    wake_no_waiters_body();
  }
}

template <bool Empty>
void BM_Bare(benchmark::State& state) {
  std::uint64_t i = 0;
  for (auto _ : state) {
    if constexpr (Empty) {
      benchmark::DoNotOptimize(i);
    } else {
      wake_no_waiters_body();
    }
    ++i;
  }
}

template <bool Empty>
void BM_Harness(benchmark::State& state) {
  jostle::CaseDef def;
  def.suite = "bench";
  def.name = Empty ? "empty" : "wake_no_waiters";
  def.backends.push_back(jostle::BackendEntry{jostle::BackendInfo{}, [](jostle::Context& c) { body<Empty>(c); }});
  jostle::Instance inst{"bench/" + def.name + "@none", &def, &def.backends[0], {}, "pass"};
  jostle::EventSink sink;  // disabled, as with no --events
  jostle::Run run(inst, sink);
  jostle::Context ctx(run, inst, 1);
  std::uint64_t i = 0;
  for (auto _ : state) {
    ctx.begin_iteration(i);
    inst.backend->run(ctx);
    run.set_iterations_done(++i);
  }
}

BENCHMARK_TEMPLATE(BM_Bare, true)->Name("harness/empty_body/bare_loop");
BENCHMARK_TEMPLATE(BM_Harness, true)->Name("harness/empty_body/harness_loop");
BENCHMARK_TEMPLATE(BM_Bare, false)->Name("harness/wake_no_waiters/bare_loop");
BENCHMARK_TEMPLATE(BM_Harness, false)->Name("harness/wake_no_waiters/harness_loop");

}  // namespace

BENCHMARK_MAIN();
