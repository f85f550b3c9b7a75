from jostle.plan import MIN_RUN_SECONDS, Plan, Settings


def insts(n, timeout_ms=30000):
    return [{"id": f"s/c{i}@b", "suite": "s", "case": f"c{i}", "backend": "b", "iterations": 100,
             "timeout_ms": timeout_ms, "expect": "pass"} for i in range(n)]


BINARIES = {"s": "/bin/jostle-s"}


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def drain(plan):
    specs = []
    while (spec := plan.take()) is not None:
        specs.append(spec)
    return specs


def test_run_with_runs_is_batch_major_with_consecutive_seeds():
    plan = Plan(insts(3), BINARIES, Settings("run", runs=2, budget_s=None, jobs=2, seed=7))
    specs = drain(plan)
    assert plan.total == 6
    assert [(s.instance, s.seed) for s in specs] == [
        ("s/c0@b", 7), ("s/c1@b", 7), ("s/c2@b", 7), ("s/c0@b", 8), ("s/c1@b", 8), ("s/c2@b", 8)]
    assert all(s.duration_s is None and s.iterations == 100 and s.timeout_s == 30 for s in specs)


def test_seed_wraps_at_64_bits():
    plan = Plan(insts(1), BINARIES, Settings("run", runs=2, budget_s=None, jobs=1, seed=2 ** 64 - 1))
    assert [s.seed for s in drain(plan)] == [2 ** 64 - 1, 0]


def test_run_budget_caps_each_run_by_its_share():
    plan = Plan(insts(4), BINARIES, Settings("run", runs=None, budget_s=60, jobs=2, seed=1))
    specs = drain(plan)
    assert len(specs) == 4 and plan.warnings == []
    # 60 s x 2 workers / 4 instances = 30 s each, but never more than half the watchdog.
    assert all(s.duration_s == 15 for s in specs)


def test_run_budget_too_small_warns_and_still_runs_everything():
    plan = Plan(insts(100), BINARIES, Settings("run", runs=None, budget_s=1, jobs=2, seed=1))
    specs = drain(plan)
    assert len(specs) == 100
    assert all(s.duration_s == MIN_RUN_SECONDS for s in specs)
    assert len(plan.warnings) == 1 and "cannot cover 100 instances" in plan.warnings[0]


def test_overrides():
    plan = Plan(insts(1), BINARIES, Settings("run", runs=1, budget_s=None, jobs=1, seed=1, timeout_s=5,
                                               iterations=9, plugins=("p.so",)))
    spec = drain(plan)[0]
    assert (spec.timeout_s, spec.iterations, spec.plugins) == (5, 9, ("p.so",))


def test_stress_round_robin_until_deadline():
    clock = Clock()
    plan = Plan(insts(2), BINARIES, Settings("stress", runs=None, budget_s=10, jobs=1, seed=1), clock=clock)
    plan.start()
    assert plan.total is None
    specs = [plan.take() for _ in range(6)]
    assert [s.instance for s in specs] == ["s/c0@b", "s/c1@b"] * 3
    assert [s.seed for s in specs] == [1, 1, 2, 2, 3, 3]
    clock.now += 9.9
    last = plan.take()
    assert last.duration_s == MIN_RUN_SECONDS
    clock.now += 0.2
    assert plan.take() is None


def test_stress_target_rate_stops_instances_at_runs_needed():
    clock = Clock()
    plan = Plan(insts(2), BINARIES, Settings("stress", runs=None, budget_s=1e6, jobs=2, seed=1,
                                               target_rate=0.05), clock=clock)
    plan.start()
    assert plan.needed == 59
    assert len(drain(plan)) == 2 * 59


def test_stress_target_warns_when_budget_is_short():
    plan = Plan(insts(10), BINARIES, Settings("stress", runs=None, budget_s=10, jobs=2, seed=1, target_rate=0.001),
                history={"s/c0@b": 0.01})
    assert len(plan.warnings) == 1 and "2995 clean runs" in plan.warnings[0]


def test_stress_sprt_stops_a_flaky_instance_early():
    plan = Plan(insts(2), BINARIES, Settings("stress", runs=None, budget_s=1e6, jobs=1, seed=1, target_rate=0.01,
                                               sprt=True))
    plan.start()
    counts = {"s/c0@b": 0, "s/c1@b": 0}
    while (spec := plan.take()) is not None:
        counts[spec.instance] += 1
        plan.observe(spec, failed=spec.instance == "s/c1@b")
    assert counts == {"s/c0@b": 326, "s/c1@b": 2}
    assert plan.sprt_decisions() == {"s/c0@b": "below", "s/c1@b": "above"}


def test_stress_with_runs_is_a_fixed_list():
    plan = Plan(insts(2), BINARIES, Settings("stress", runs=3, budget_s=None, jobs=1, seed=1))
    plan.start()
    assert plan.deadline is None and plan.total == 6 and len(drain(plan)) == 6


def test_stress_budget_below_one_run_each_warns():
    plan = Plan(insts(100), BINARIES, Settings("stress", runs=None, budget_s=5, jobs=2, seed=1))
    assert len(plan.warnings) == 1 and "even once" in plan.warnings[0]


def test_catcher_declared_under_chaos_gets_its_spec_only_when_the_session_asked_for_none():
    from jostle.amplify import Amplification
    natural = dict(insts(1)[0], id="s/c@mutant.x.natural", expect="fail", chaos="p=0.1,actions=yield+sleep")
    plain = insts(1)[0]
    plan = Plan([natural, plain], BINARIES, Settings("run", runs=1, budget_s=None, jobs=1, seed=3))
    specs = {s.instance: s for s in drain(plan)}
    assert specs[natural["id"]].amplify.chaos == "p=0.1,actions=yield+sleep"
    assert specs[natural["id"]].amplify.harness_args() == ["--chaos", "p=0.1,actions=yield+sleep"]
    assert specs[plain["id"]].amplify.harness_args() == []
    # A session that chose its own amplification keeps it for every instance.
    pct = Amplification.from_options("pct", None)
    plan = Plan([natural], BINARIES, Settings("run", runs=1, budget_s=None, jobs=1, seed=3, amplify=pct))
    assert drain(plan)[0].amplify.chaos.startswith("mode=pct")


def test_run_mutants_use_their_rated_catch_settings_until_caught(monkeypatch):
    from jostle import plan as plan_module

    rated = {"s/c0@mutant.m": {"mode": "chaos", "iterations": 1, "timeout_s": 3, "budget_s": 2.5}}
    monkeypatch.setattr(plan_module, "catch_settings", lambda: rated)
    mutant = dict(insts(1)[0], id="s/c0@mutant.m", backend="mutant.m", expect="fail")
    plan = Plan([mutant] + insts(1), BINARIES, Settings("run", runs=None, budget_s=60, jobs=1, seed=4))
    first, plain = plan.take(), plan.take()
    assert first.amplify.drawn == "chaos" and first.iterations == 1 and first.timeout_s == 3
    assert plain.amplify.mode == "none" and plain.iterations == 100
    assert plan.rated_mutants() == 1 and plan.catch_budget_s() == 2.5
    plan.observe(first, failed=False, elapsed_s=1.0)           # escaped: another run, a fresh seed
    second = plan.take()
    assert second.instance == first.instance and second.seed != first.seed and plan.total == 3
    plan.observe(second, failed=False, elapsed_s=2.0)          # 3.0s > 2.5s rated: no more
    assert plan.take() is None
    caught = Plan([mutant], BINARIES, Settings("run", runs=None, budget_s=60, jobs=1, seed=4))
    caught.observe(caught.take(), failed=True, elapsed_s=0.1)
    assert caught.take() is None
    # Asked for an amplification, or for N runs: the user's settings win.
    asked = Plan([mutant], BINARIES, Settings("run", runs=2, budget_s=None, jobs=1, seed=4))
    assert asked.rated_mutants() == 0


def test_run_mutants_report_catchers_the_baseline_excuses_without_gating(monkeypatch, tmp_path):
    import json

    from jostle import outcome, plan as plan_module, query

    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"undetectable": {"s/c0@mutant.m": "the schedule never shows it"},
                                    "unreliable": {"s/c1@mutant.m": "2 of 3 trials"}}))
    monkeypatch.setattr(plan_module, "catch_settings", lambda: {})
    monkeypatch.setattr(plan_module.excused_catchers, "__defaults__", (str(baseline),))
    mutants = [dict(insts(2)[i], id=f"s/c{i}@mutant.m", backend="mutant.m", expect="fail") for i in range(2)]
    Plan(mutants, BINARIES, Settings("run", runs=None, budget_s=60, jobs=1, seed=4))
    assert [m["expect"] for m in mutants] == ["informative", "informative"]
    assert mutants[0]["excused"] == "undetectable: the schedule never shows it"
    assert outcome.aggregate(mutants[0]["expect"], ["PASS"]) == ("PASS", False)    # reported, not gating
    summaries = query._mutant_summaries([{"name": "mutant.m", "suite": "s", "mutant": True}],
                                        [dict(m, code="PASS", failed_runs=0) for m in mutants])
    assert summaries[0]["status"] == "known gap" and set(summaries[0]["excused"]) == {m["id"] for m in mutants}
    # Asked for N runs (or an amplification): the declared expectation stands.
    kept = [dict(mutants[0], expect="fail")]
    kept[0].pop("excused")
    Plan(kept, BINARIES, Settings("run", runs=2, budget_s=None, jobs=1, seed=4))
    assert kept[0]["expect"] == "fail"


def test_a_huge_fixed_plan_is_made_lazily():
    import tracemalloc
    tracemalloc.start()
    plan = Plan(insts(3), BINARIES, Settings("run", runs=10_000_000, budget_s=None, jobs=2, seed=1))
    first = [plan.take() for _ in range(4)]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert plan.total == 30_000_000 and peak < 1_000_000
    assert [(s.instance, s.batch) for s in first] == [("s/c0@b", 0), ("s/c1@b", 0), ("s/c2@b", 0), ("s/c0@b", 1)]


def test_sharded_fixed_plan_counts_match_what_it_hands_out():
    for index in range(3):
        plan = Plan(insts(5), BINARIES, Settings("run", runs=4, budget_s=None, jobs=1, seed=1, shard=(index, 3)))
        assert plan.total == len(drain(plan))
