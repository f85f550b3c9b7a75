"""The detection benchmark: trials, censoring, speed-ups, the quick CI form and its baseline."""

import dataclasses
import json
import os
import types

import pytest

from jostle import detect, execute, query_detect
from reports import detect_table
from jostle.errors import UsageError
from jostle.records import Found

SELECT = dict(build_dir="/b", suites=[], backends=[], cases=[], plugin=[], argv=[])


def _raw(status, seed=0):
    return dataclasses.replace(
        execute.empty_result(["jostle-x"]), exit_code={"pass": 0, "fail": 1}[status],
        events=[{"v": 1, "ev": "start", "seed": seed},
                {"v": 1, "ev": "end", "status": status, "checks_failed": int(status == "fail")}])


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _runner(clock, fail_on_run, cost_s=1.0):
    """A run_fn whose k-th call (from 1) fails when fail_on_run(k, spec) is true; each run costs cost_s."""
    calls = []

    def run_fn(spec, _cancel=None):
        calls.append(spec)
        clock.t += cost_s
        return _raw("fail" if fail_on_run(len(calls), spec) else "pass", spec.seed)
    run_fn.calls = calls
    return run_fn


def _table(summaries, figures, difficulties=None, budget_s=None, trials=None, iterations=None, timeout_s=None):
    return detect_table.render({"summaries": summaries, "figures": figures, "difficulties": difficulties,
                                "budget_s": budget_s, "trials": trials, "iterations": iterations,
                                "timeout_s": timeout_s})


INST = {"id": "futex/x@mutant.m", "suite": "futex", "iterations": 10, "timeout_ms": 20000, "expect": "fail"}


def test_trial_stops_at_the_first_failure_and_keeps_its_repro():
    clock = FakeClock()
    run_fn = _runner(clock, lambda k, spec: k == 4)
    t = detect.run_trial(INST, "/b/jostle-futex", "chaos", 0, 60, 1, "release", run_fn, clock)
    assert t.killed and t.runs == 4 and t.seconds == pytest.approx(4.0) and t.code == "FAIL"
    assert "./jostle replay" in t.repro and "--chaos" in t.repro
    assert len({s.seed for s in run_fn.calls}) == 4, "every run gets a fresh seed"


def test_trial_that_escapes_counts_as_the_budget():
    clock = FakeClock()
    t = detect.run_trial(INST, "/b/jostle-futex", "none", 0, 10, 1, "release", _runner(clock, lambda k, s: False), clock)
    assert not t.killed and t.seconds == 10 and t.runs == 10


@pytest.mark.parametrize("mode, first_failing, spec_word", [("pct", 2, "mode=pct"), ("steer", 3, ",steer=")])
def test_pct_and_steer_kills_are_replayed_from_their_seed_with_their_spec(mode, first_failing, spec_word):
    clock = FakeClock()
    # Fails whenever the seed is the one that failed first: a perfectly replayable failure.
    first = {}

    def fails(k, spec):
        if k == first_failing:
            first["seed"] = spec.seed
        return spec.seed == first.get("seed")
    run_fn = _runner(clock, fails)
    t = detect.run_trial(INST, "/b/jostle-futex", mode, 0, 60, 1, "release", run_fn, clock, replays=4)
    assert t.killed and t.replays == 4 and t.replays_tried == 4
    assert all(spec_word in s.amplify.chaos for s in run_fn.calls)
    assert spec_word.strip(",") in t.repro


def test_summary_speedup_and_table():
    cells = []
    for mode, secs in (("none", [20, 30, 60]), ("chaos", [0.1, 0.2, 0.3])):
        c = detect.Cell("futex/x@mutant.m", mode, 60)
        c.trials = [detect.Trial(s < 60, s, 1 + int(s)) for s in secs]
        cells.append(c.summary())
    assert cells[0]["killed"] == 2 and cells[0]["median_s"] == 30 and not cells[0]["median_censored"]
    ups = query_detect.speedups(cells)
    assert ups[("futex/x@mutant.m", "chaos")][0] == pytest.approx(150)
    figures = query_detect.corpus_figures(cells, ["none", "chaos"])
    assert figures["chaos"]["speedup_vs_none"] == pytest.approx(150)
    text = _table(cells, figures, {"futex/x@mutant.m": "D2"}, 60, 3)
    assert "| `futex/x@mutant.m` | D2 | 2/3 30.00s" in text and "x150" in text


def test_censored_median_is_marked():
    c = detect.Cell("i", "none", 60)
    c.trials = [detect.Trial(False, 60, 5), detect.Trial(False, 60, 5), detect.Trial(True, 3, 1)]
    s = c.summary()
    assert s["median_censored"] and s["median_s"] == 60
    assert ">=60.00s" in _table([s], query_detect.corpus_figures([s], ["none"]))


def test_trials_that_ended_in_error_are_flagged_not_passed_off_as_escapes():
    c = detect.Cell("i", "chaos", 30)
    c.trials = [detect.Trial(False, 0.01, 1, "ERROR", "cannot start x"), detect.Trial(True, 0.3, 1, "TIMEOUT")]
    s = c.summary()
    assert s["errors"] == 1
    assert "1 trial(s) ended in ERROR/UNSUPPORTED" in _table([s], query_detect.corpus_figures([s], ["chaos"]))


def test_checked_in_baseline_is_valid_and_every_undetectable_has_a_reason():
    data = detect.load_baseline()
    assert data["reliably_killed"], "the baseline lists the mutants CI holds to"
    overlap = set(data["reliably_killed"]) & set(data["undetectable"])
    assert not overlap


def test_baseline_without_reasons_is_rejected(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"reliably_killed": {}, "undetectable": {"x": ""}}))
    with pytest.raises(UsageError):
        detect.load_baseline(str(path))


def test_quick_form_fails_when_a_reliable_mutant_escapes(tmp_path, monkeypatch):
    baseline = tmp_path / "b.json"
    baseline.write_text(json.dumps({"reliably_killed": {INST["id"]: {"mode": "chaos", "budget_s": 3}},
                                    "undetectable": {}}))
    suite = types.SimpleNamespace(name="futex", backends=[{"name": "mutant.m", "difficulty": "D2"}])
    monkeypatch.setattr(detect.selection, "from_build",
                        lambda *a: Found({"futex": "/b/jostle-futex"}, [suite], [dict(INST, backend="mutant.m")]))
    args = types.SimpleNamespace(modes="none,chaos", quick=True, baseline=str(baseline), budget_per_mutant=60.0,
                                 trials=1, replays=0, out=str(tmp_path / "out"), seed=5, markdown=None, **SELECT)
    logs = []
    # Escapes: every run passes.
    monkeypatch.setattr(detect.time, "monotonic", FakeClock())
    clock = detect.time.monotonic
    assert detect.run(args, logs.append, _runner(clock, lambda k, s: False)).exit_code == 1
    assert any("ESCAPED" in line for line in logs)
    # Killed: exit 0, and the store has the detect records.
    assert detect.run(args, logs.append, _runner(clock, lambda k, s: k == 2)).exit_code == 0
    with open(os.path.join(args.out, "results.jsonl")) as f:
        kinds = [json.loads(line)["type"] for line in f]
    assert kinds.count("detect") == 2 and kinds.count("detect-session") == 2
    # The table renders from the store alone, difficulty column included.
    from jostle import store
    text = detect_table.render(query_detect.table_model(store.load(args.out)))
    assert f"| `{INST['id']}` | D2 | 1/1 " in text and "| chaos | 1 | 1 | 1 |" in text


def test_quick_form_retries_an_escape_with_twice_the_budget_before_calling_it_escaped(tmp_path, monkeypatch):
    baseline = tmp_path / "b.json"
    baseline.write_text(json.dumps({"reliably_killed": {INST["id"]: {"mode": "chaos", "budget_s": 3}},
                                    "undetectable": {}}))
    suite = types.SimpleNamespace(name="futex", backends=[{"name": "mutant.m", "difficulty": "D2"}])
    monkeypatch.setattr(detect.selection, "from_build",
                        lambda *a: Found({"futex": "/b/jostle-futex"}, [suite], [dict(INST, backend="mutant.m")]))
    args = types.SimpleNamespace(modes="chaos", quick=True, baseline=str(baseline), budget_per_mutant=60.0,
                                 trials=1, replays=0, out=str(tmp_path / "out"), seed=5, markdown=None, **SELECT)
    monkeypatch.setattr(detect.time, "monotonic", FakeClock())
    clock = detect.time.monotonic
    # The first trial (3 runs of 1 s) escapes; the 5th run, inside the 6 s retry, kills it: not an escape.
    logs = []
    run_fn = _runner(clock, lambda k, s: k == 5)
    assert detect.run(args, logs.append, run_fn).exit_code == 0
    assert len(run_fn.calls) == 5
    assert any(line.startswith("SLOW:") for line in logs), logs
    assert not any("ESCAPED" in line for line in logs)
    # Never killed: three trials (3 s, 6 s, 6 s of runs), then ESCAPED and exit 1.
    logs = []
    run_fn = _runner(clock, lambda k, s: False)
    assert detect.run(args, logs.append, run_fn).exit_code == 1
    assert len(run_fn.calls) == 3 + 6 + 6
    assert any("ESCAPED" in line for line in logs)
    # Outside the quick form, every trial keeps the budget it was given, and there are no retries.
    full = types.SimpleNamespace(**dict(vars(args), quick=False, trials=2, budget_per_mutant=3.0))
    run_fn = _runner(clock, lambda k, s: False)
    assert detect.run(full, logs.append, run_fn).exit_code == 0
    assert len(run_fn.calls) == 3 + 3


def test_short_watchdog_makes_a_hang_a_kill_and_is_never_raised():
    clock = FakeClock()
    seen = []

    def run_fn(spec, _cancel=None):
        seen.append(spec.timeout_s)
        clock.t += spec.timeout_s
        return dataclasses.replace(
            execute.empty_result(["jostle-x"]), exit_code=3, hang_seen=True,
            events=[{"v": 1, "ev": "start", "seed": spec.seed},
                    {"v": 1, "ev": "hang", "deadline_ms": spec.timeout_s * 1000, "iteration": 0, "threads": []}])
    t = detect.run_trial(INST, "/b/jostle-futex", "none", 0, 60, 1, "release", run_fn, clock, iterations=1,
                         timeout_s=2)
    assert t.killed and t.code == "TIMEOUT" and t.seconds == pytest.approx(2) and seen == [2]
    seen.clear()
    detect.run_trial(INST, "/b/jostle-futex", "none", 0, 60, 1, "release", run_fn, clock, timeout_s=99)
    assert seen == [20], "never above the case's declared timeout"


def test_deadlock_report_is_a_kill_even_when_the_budget_shortened_the_watchdog():
    clock = FakeClock()

    def run_fn(spec, _cancel=None, reason="deadlock"):
        clock.t += 0.2
        return dataclasses.replace(
            execute.empty_result(["jostle-x"]), exit_code=4, hang_seen=True,
            events=[{"v": 1, "ev": "start", "seed": spec.seed},
                    {"v": 1, "ev": "hang", "reason": reason, "quiet_ms": 200, "iteration": 0, "threads": []}])
    # Budget 10 s < the declared 20 s deadline: each run's watchdog is cut to the remaining budget.
    t = detect.run_trial(INST, "/b/jostle-futex", "chaos", 0, 10, 1, "release", run_fn, clock)
    assert t.killed and t.runs == 1 and t.seconds == pytest.approx(0.2)
    clock.t = 0.0
    t = detect.run_trial(INST, "/b/jostle-futex", "chaos", 0, 10, 1, "release",
                         lambda spec, _cancel: run_fn(spec, reason="deadline"), clock)
    assert not t.killed, "a deadline hang under a budget-shortened watchdog is no kill"


def test_mttf_and_rate_speedup_bound_an_escaping_none():
    none = detect.Cell("i", "none", 30)
    none.trials = [detect.Trial(False, 30, 100)] * 3
    chaos = detect.Cell("i", "chaos", 30)
    chaos.trials = [detect.Trial(True, 0.5, 2), detect.Trial(True, 1.0, 3), detect.Trial(True, 1.5, 4)]
    cells = [none.summary(), chaos.summary()]
    assert cells[0]["mttf_s"] == pytest.approx(30) and cells[0]["mttf_bound"]
    assert cells[1]["mttf_s"] == pytest.approx(1.0) and cells[1]["runs"] == 9
    x, bound = query_detect.rate_speedups(cells)[("i", "chaos")]
    assert x == pytest.approx(30) and bound == ">="
    figures = query_detect.corpus_figures(cells, ["none", "chaos"])
    assert figures["chaos"]["median_rate_speedup"] == pytest.approx(30) and figures["chaos"]["at_least_100x"] == 0
    text = _table(cells, figures, budget_s=30, trials=3, iterations=1, timeout_s=2)
    assert "--iterations 1 per run" in text and "x>=30" in text


def test_hang_timeout_only_for_the_baselines_hang_detected_mutants(tmp_path, monkeypatch):
    hang = dict(INST, id="futex/h@mutant.lost", backend="mutant.lost")
    check = dict(INST, id="futex/c@mutant.check", backend="mutant.check")
    baseline = tmp_path / "b.json"
    baseline.write_text(json.dumps({"hang_detected": {hang["id"]: "a lost wakeup hangs the catcher"},
                                    "reliably_killed": {}, "undetectable": {}}))
    suite = types.SimpleNamespace(name="futex", backends=[])
    monkeypatch.setattr(detect.selection, "from_build", lambda *a: Found({"futex": "/b/jostle-futex"}, [suite], [hang, check]))
    monkeypatch.setattr(detect.time, "monotonic", FakeClock())
    args = types.SimpleNamespace(modes="none", quick=False, baseline=str(baseline), budget_per_mutant=60.0, trials=1,
                                 replays=0, out=str(tmp_path / "out"), seed=5, markdown=None, iterations=1,
                                 hang_timeout=2.0, instances=None, **SELECT)
    run_fn = _runner(detect.time.monotonic, lambda k, s: True)
    assert detect.run(args, lambda line: None, run_fn).exit_code == 0
    deadlines = {spec.instance: spec.timeout_s for spec in run_fn.calls}
    assert deadlines == {hang["id"]: 2.0, check["id"]: 20.0}
    assert all(spec.iterations == 1 for spec in run_fn.calls)
