"""The CI gate: Fisher's exact test, the per-instance judgement, and `jostle gate` end to end."""

import json
import os

import pytest

from jostle import gate, stats
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
    failing = [r for r in runs if r["code"] != "PASS"]
    code = "PASS" if not failing else ("FLAKY" if len(failing) < len(runs) else failing[0]["code"])
    return {"id": iid, "expect": expect, "code": code, "runs": len(runs), "failed_runs": len(failing),
            "failures": failing, "rate_text": f"{len(failing)}/{len(runs)}", "quarantined": quarantined}


def _runs(iid, n, k, code="FAIL", **extra):
    return [dict({"instance": iid, "code": code if i < k else "PASS", "reason": "check", "signal": None, "seed": i},
                 **extra)
            for i in range(n)]


def test_judge_rate_increase_against_the_baseline():
    base = gate.Baseline([{"type": "run", **r} for r in _runs("a", 5000, 2)])
    verdict, reasons = gate.judge(_inst("a", _runs("a", 500, 3)), base, 0.01)
    assert verdict == "fail" and "p=0.0065" in reasons[0]
    verdict, reasons = gate.judge(_inst("a", _runs("a", 500, 3)), base, 0.001)
    assert verdict == "known" and "not significantly worse" in reasons[0]


def test_judge_deterministic_signals():
    empty = gate.Baseline()
    assert gate.judge(_inst("a", _runs("a", 4, 4)), empty, 0.001)[1] == ["fails every run (4/4)"]
    crash = _inst("c", _runs("c", 10, 1, code="CRASH", signal=6))
    verdict, reasons = gate.judge(crash, empty, 0.001)
    assert verdict == "fail" and reasons == ["new crash signature: CRASH:c:signal 6"]
    known = gate.Baseline([{"type": "run", **r} for r in _runs("c", 100, 1, code="CRASH", signal=6)])
    assert gate.judge(crash, known, 0.001)[0] == "known"
    mutant = _inst("m", _runs("m", 3, 0), expect="fail")
    mutant["code"] = "XPASS"
    assert gate.judge(mutant, empty, 0.001)[0] == "fail"
    flaky = _inst("f", _runs("f", 10, 3))
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
    select = ["--case", "ok", "--case", "flaky", "--case", "tsan", "--progress", "none", "-j", "2"]
    done = jostle("gate", "--build-dir", build_dir, "--out", base, "--budget", "6s", *select)
    assert done.returncode == 1, done.stderr
    summary = open(os.path.join(base, "gate.md"), encoding="utf-8").read()
    assert "FAILED (2 blocking)" in summary and "new sanitizer signature" in summary
    phases = [r["labels"]["phase"] for r in _records(base) if r["type"] == "session"]
    assert phases == ["conformance", "stress"]
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
