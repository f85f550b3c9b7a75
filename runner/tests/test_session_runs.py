"""session.Runs: the one execute -> classify loop, and its stop policies."""

import dataclasses
import threading

import pytest

from jostle import execute, session
from jostle.plan import RunSpec


def _spec(n, instance="s/c@b"):
    return RunSpec(instance=instance, suite="s", binary="/b/jostle-s", seed=n, batch=n, iterations=1,
                   duration_s=None, timeout_s=5)


def _fake(codes):
    """run_one: run k (by batch) ends as codes[k]: PASS, or FAIL (a failed check), or ERROR (could not start)."""
    def run_one(spec, cancel):
        raw = execute.empty_result(["jostle-s"])
        if codes[spec.batch] == "ERROR":
            return dataclasses.replace(raw, spawn_error="no such file")
        failed = codes[spec.batch] == "FAIL"
        end = {"v": 1, "ev": "end", "status": "fail" if failed else "pass", "checks_failed": int(failed)}
        return dataclasses.replace(raw, exit_code=int(failed), events=[{"v": 1, "ev": "start", "seed": spec.seed}, end])
    return run_one


def _drive(codes, stop, jobs=1, expect="pass"):
    specs = [_spec(n) for n in range(len(codes))]
    seen = []
    with session.Runs(jobs, _fake(codes), stop, {"s/c@b": expect}) as runs:
        runs.drive(lambda: specs.pop(0) if specs else None, lambda spec, raw, verdict: seen.append(verdict.code))
    return seen, runs.stopped


def test_never_runs_the_whole_plan():
    seen, stopped = _drive(["PASS", "FAIL", "PASS"], session.STOP_NEVER)
    assert seen == ["PASS", "FAIL", "PASS"] and stopped is None


def test_unexpected_stops_after_a_failing_run_of_an_instance_expected_to_pass():
    seen, stopped = _drive(["PASS", "FAIL", "PASS", "PASS"], session.STOP_UNEXPECTED)
    assert seen == ["PASS", "FAIL"] and stopped[0].batch == 1 and stopped[2].code == "FAIL"
    seen, stopped = _drive(["PASS", "FAIL", "PASS"], session.STOP_UNEXPECTED, expect="fail")
    assert seen == ["PASS", "FAIL", "PASS"] and stopped is None, "a mutant catcher failing is no surprise"


def test_decided_stops_at_the_first_run_that_is_not_a_pass():
    seen, stopped = _drive(["PASS", "PASS", "ERROR", "FAIL"], session.STOP_DECIDED)
    assert seen == ["PASS", "PASS", "ERROR"] and stopped[2].code == "ERROR"


def test_runs_in_flight_finish_after_the_stop():
    release = threading.Event()
    inner = _fake(["FAIL", "PASS", "PASS"])

    def run_one(spec, cancel):
        if spec.batch == 1:
            release.wait(5)        # still running when run 0 fails
        return inner(spec, cancel)
    specs = [_spec(n) for n in range(3)]
    seen = []

    def record(spec, _raw, verdict):
        seen.append((spec.batch, verdict.code))
        release.set()
    with session.Runs(2, run_one, session.STOP_DECIDED) as runs:
        runs.drive(lambda: specs.pop(0) if specs else None, record)
    assert seen == [(0, "FAIL"), (1, "PASS")], "run 1 was in flight: it finishes; run 2 never starts"


def test_an_unknown_policy_is_refused():
    with pytest.raises(ValueError):
        session.Runs(1, _fake([]), "sometimes")
