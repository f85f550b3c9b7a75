"""The CI gate: Fisher's exact test, the per-instance judgement, and `jostle gate` end to end."""

import json
import os

import pytest

from jostle import detect, gate, stats
from jostle.records import RunRecord
from reports import markdown as gate_summary

from fakebuild import jostle


@pytest.mark.parametrize("k1,n1,k2,n2,expected", [
    (3, 500, 2, 5000, 0.0065),       # reporting.md section 2.2
    (2, 200, 0, 5000, 200 * 199 / (5200 * 5199)),   # the same section rounds this to 0.0015
    (5, 10, 0, 10, 3003 / 184756),   # C(15,5) / C(20,10)
    (1, 1, 0, 1, 0.5),
])
def test_fisher_one_sided_known_values(k1, n1, k2, n2, expected):
    assert stats.fisher_greater(k1, n1, k2, n2) == pytest.approx(expected, rel=0.01)


def test_fisher_edges():
    assert stats.fisher_greater(0, 100, 5, 100) == 1.0
    assert stats.fisher_greater(0, 0, 0, 0) == 1.0
    assert stats.fisher_greater(1, 1000, 10, 1000) > 0.99
    with pytest.raises(ValueError):
        stats.fisher_greater(3, 2, 0, 1)


def _inst(iid, runs, expect="pass", quarantined=False):
    failing = [RunRecord.from_store(r) for r in runs if r["code"] != "PASS"]
    code = "PASS" if not failing else ("FLAKY" if len(failing) < len(runs) else failing[0].code)
    return {"id": iid, "expect": expect, "code": code, "runs": len(runs), "failed_runs": len(failing),
            "failures": failing, "rate_text": f"{len(failing)}/{len(runs)}", "quarantined": quarantined}


def _runs(iid, n, k, code="FAIL", **extra):
    return [dict({"session": "S", "seq": i + 1, "instance": iid, "code": code if i < k else "PASS", "reason": "check",
                  "signal": None, "seed": i}, **extra)
            for i in range(n)]


def test_judge_rate_increase_against_the_baseline():
    base = gate.Baseline([{"type": "run", **r} for r in _runs("a", 5000, 2)])
    verdict, reasons = gate.judge(_inst("a", _runs("a", 500, 3)), base, 0.01)
    assert verdict == "fail" and "p=0.0065" in reasons[0]
    verdict, reasons = gate.judge(_inst("a", _runs("a", 500, 3)), base, 0.001)
    assert verdict == "known" and "not significantly worse" in reasons[0]


def test_judge_deterministic_signals():
    empty = gate.Baseline()
    assert gate.judge(_inst("a", _runs("a", 6, 6)), empty, 0.001)[1] == ["fails every run (6/6): deterministic"]
    assert "too few runs" in gate.judge(_inst("a", _runs("a", 4, 4)), empty, 0.001)[1][0]
    crash = _inst("c", _runs("c", 10, 1, code="CRASH", signal=6))
    verdict, reasons = gate.judge(crash, empty, 0.001)
    assert verdict == "fail" and reasons == ["new crash signature: CRASH:c:signal 6"]
    known = gate.Baseline([{"type": "run", **r} for r in _runs("c", 100, 1, code="CRASH", signal=6)])
    assert gate.judge(crash, known, 0.001)[0] == "known"
    mutant = _inst("m", _runs("m", 3, 0), expect="fail")
    mutant["code"] = "XPASS"
    assert gate.judge(mutant, empty, 0.001)[0] == "fail"
    flaky = _inst("f", _runs("f", 10, 3))
    assert gate.judge(flaky, empty, 0.001)[1][0].startswith("FLAKY: 3/10")
    assert "baseline has no runs" in gate.judge(flaky, empty, 0.001)[1][0]


def test_evaluate_quarantine_reports_but_does_not_block():
    model = {"instances": [_inst("q", _runs("q", 3, 3), quarantined=True), _inst("p", _runs("p", 3, 0))],
             "session": {"status": "complete"}, "signatures": []}
    result = gate.evaluate(model, gate.Baseline())
    assert result["blocking"] == [] and model["exit_code"] == 0
    assert [d["verdict"] for d in result["decisions"]] == ["quarantined"]
    assert "Quarantined" in gate_summary.render(dict(model, runs=6, failing_runs=3,
                                               session={"status": "complete", "warnings": []}))


def _records(out):
    with open(os.path.join(out, "results.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_gate_end_to_end_with_baseline_and_quarantine(build_dir, tmp_path):
    base, pr = str(tmp_path / "base"), str(tmp_path / "pr")
    select = ["--case", "ok", "--case", "flaky", "--case", "tsan", "--progress", "none", "-j", "2", "--seed", "1"]
    done = jostle("gate", "--build-dir", build_dir, "--out", base, "--budget", "6s", *select)
    assert done.returncode == 1, done.stderr
    summary = open(os.path.join(base, "gate.md"), encoding="utf-8").read()
    assert "FAILED (2 blocking)" in summary and "new sanitizer signature" in summary
    phases = [r["labels"]["phase"] for r in _records(base) if r["type"] == "session"]
    assert phases[0] == "conformance" and "rerun-1" in phases   # seed 1: flaky (odd seeds fail) fails at once
    gates = [r for r in _records(base) if r["type"] == "gate"]
    assert len(gates) == 1 and sorted(gates[0]["blocking"]) == ["fake/flaky@good", "fake/tsan@good"]
    # Against its own history both failures are known: nothing new, no significant increase.
    quarantine = tmp_path / "quarantine"
    quarantine.write_text("fake/tsan@*   # owner: tests\n")
    done = jostle("gate", "--build-dir", build_dir, "--out", pr, "--budget", "6s", "--baseline", base,
                  "--quarantine", str(quarantine), *select)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = open(os.path.join(pr, "gate.md"), encoding="utf-8").read()
    assert "jostle gate: passed" in summary and "Known on the baseline" in summary
    junit = open(os.path.join(pr, "junit.xml"), encoding="utf-8").read()
    assert "known on the baseline" in junit and "(SANITIZER)" in junit
    page = open(os.path.join(pr, "report.html"), encoding="utf-8").read()
    assert 'id="gate"' in page and 'id="signatures"' in page


@pytest.mark.parametrize("args,message", [
    (["--baseline", "/nonexistent"], "no such store"),
    (["--alpha", "2"], "--alpha"),
    (["--budget", "0s"], "longer than zero"),
])
def test_gate_bad_input_is_one_line(build_dir, tmp_path, args, message):
    done = jostle("gate", "--build-dir", build_dir, "--out", str(tmp_path / "o"), *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def _pooled(iid, codes, expect="pass"):
    runs = [{"session": "S", "seq": seq, "instance": iid, "code": c, "reason": "check", "signal": None,
             "elapsed_ms": 400} for seq, c in enumerate(codes, 1)]
    inst = _inst(iid, runs, expect)
    return dict(inst, elapsed_s=0.4 * len(runs), runs_total=len(runs),
                rate_text=stats.describe_rate(inst["failed_runs"], len(runs)))


def test_a_new_failure_on_few_runs_is_confirmed_before_the_verdict():
    one = _pooled("s/c@b", ["FAIL"])
    many = _pooled("s/d@b", ["FAIL"] + ["PASS"] * 9)
    mutant = _pooled("s/e@mutant.x", ["PASS"], expect="fail")
    model = {"instances": [one, many, mutant]}
    assert [i["id"] for i in gate.to_confirm(model, gate.Baseline(), 0.001)] == ["s/c@b"]
    # Known on the baseline (fails every run there too): nothing to confirm.
    known = gate.Baseline([{"type": "run", "session": "S", "seq": 1, "instance": "s/c@b", "code": "FAIL",
                           "reason": "check", "signal": None}])
    assert gate.to_confirm({"instances": [one]}, known, 0.001) == []
    # As many reruns as fit: 0.4 s per run, 2 jobs, one instance; never more than the cap, never fewer than 1.
    assert gate.rerun_count([one], 100, 2) == gate.MAX_RERUNS
    assert gate.rerun_count([one], 2.0, 2) == 5
    assert gate.rerun_count([one], 0.0, 2) == 1
    assert gate.rerun_count([one], 100, 2, cap=7) == 7


def test_deterministic_and_flaky_verdicts_after_reruns():
    det = _pooled("s/det@b", ["FAIL"] * 6)
    flaky = _pooled("s/flaky@b", ["FAIL", "PASS", "FAIL", "PASS", "PASS", "PASS"])
    few = _pooled("s/few@b", ["FAIL", "FAIL"])
    model = {"instances": [det, flaky, few], "session": {"status": "complete", "warnings": []},
             "runs": 14, "failing_runs": 6}
    reruns = {"s/det@b": 5, "s/flaky@b": 5, "s/few@b": 1}
    result = gate.evaluate(model, gate.Baseline(), reruns=reruns)
    kinds = {d["instance"]: (d["verdict"], d["kind"]) for d in result["decisions"]}
    assert kinds == {"s/det@b": ("fail", "deterministic"), "s/flaky@b": ("fail", "flaky"),
                     "s/few@b": ("fail", "unconfirmed")}
    text = gate_summary.render(model)
    assert "FAIL, deterministic (6/6)" in text and "FLAKY (2/6)" in text and "95% CI" in text
    assert "too few runs to call it deterministic" in text and "rerun 1 or 5 time(s)" in text
    # --flaky report: the flaky one is reported, not blocking; the deterministic one still blocks.
    result = gate.evaluate(model, gate.Baseline(), flaky="report", reruns=reruns)
    assert sorted(result["blocking"]) == ["s/det@b", "s/few@b"]
    assert "Flaky, reported" in gate_summary.render(model)


def test_an_escaped_mutant_gets_its_replay_line_and_the_settings_that_kill_it():
    rated = detect.load_baseline()["reliably_killed"]
    iid, known = next((i, k) for i, k in sorted(rated.items()) if k.get("iterations"))
    advice = gate.mutant_advice({"id": iid, "runs": 1})
    assert f"--amplify {known['mode']}" in advice and f"--iterations {known['iterations']}" in advice
    assert f"--case '{iid}'" in advice
    assert "detect --instance" in gate.mutant_advice({"id": "x/y@mutant.unrated", "runs": 2})


def test_gate_reruns_a_new_failure_and_calls_it_flaky_or_deterministic(build_dir, tmp_path):
    out = str(tmp_path / "o")
    # Seed 1 is odd: `flaky` (fails on odd seeds) fails its conformance run; its reruns alternate.
    done = jostle("gate", "--build-dir", build_dir, "--out", out, "--budget", "12s", "--seed", "1", "--reruns", "2",
                  "--case", "fail", "--case", "flaky", "--backend", "good", "--progress", "none", "-j", "2")
    assert done.returncode == 1, done.stderr
    records = _records(out)
    phases = [r["labels"]["phase"] for r in records if r["type"] == "session"]
    assert phases[:2] == ["conformance", "rerun-1"], phases
    rerun_session = [r["session"] for r in records if r["type"] == "session"][1]
    reruns = [r for r in records if r["type"] == "run" and r["session"] == rerun_session]
    assert {r["instance"] for r in reruns} == {"fake/fail@good", "fake/flaky@good"}
    summary = open(os.path.join(out, "gate.md"), encoding="utf-8").read()
    assert "new failure(s) were rerun" in summary and "`fake/fail@good` | FAIL" in summary
    # The reruns' seeds alternate from an odd one: a second rerun of `flaky` passes (so may the stress slice's
    # runs, when the budget leaves time for one), and one pass makes it FLAKY.
    flaky_codes = {r["code"] for r in records if r["type"] == "run" and r["instance"] == "fake/flaky@good"}
    assert ("`fake/flaky@good` | FLAKY (" in summary) == ("PASS" in flaky_codes), summary


def test_report_on_a_gate_store_renders_what_the_gate_rendered(build_dir, tmp_path):
    out = str(tmp_path / "o")
    done = jostle("gate", "--build-dir", build_dir, "--out", out, "--budget", "4s", "--seed", "2", "--case", "ok",
                  "--case", "fail", "--backend", "good", "--progress", "none", "-j", "2")
    assert done.returncode == 1, done.stderr
    junit = open(os.path.join(out, "junit.xml"), encoding="utf-8").read()
    again = jostle("report", "--out", out)
    assert again.returncode == 0, again.stderr
    assert open(os.path.join(out, "junit.xml"), encoding="utf-8").read() == junit   # every phase, same verdicts
    page = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    assert 'id="gate"' in page and "fake/fail@good" in page and "blocks" in page
    assert "exit code 1" in again.stdout
