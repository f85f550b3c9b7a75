"""`jostle selftest` (what ctest runs per suite): correct backends pass, mutants are caught, gaps need reasons."""

import json
import os

from fakebuild import jostle

CASES = ("fail", "forbidden", "flaky", "crash", "hang", "stuck", "garbage", "early", "unsupported", "tsan",
         "tsanfatal", "mismatch", "torn", "noisy")


def _gaps(tmp_path, *extra):
    path = tmp_path / "gaps"
    path.write_text("# fixture\n" + "".join(f"fake/{c} the fixture's misbehaving cases\n" for c in CASES)
                    + "".join(line + "\n" for line in extra))
    return str(path)


def _runs(out):
    with open(os.path.join(out, "results.jsonl"), encoding="utf-8") as f:
        return [r for r in map(json.loads, f) if r["type"] == "run"]


def test_correct_backends_pass_a_short_run(build_dir, tmp_path):
    out = str(tmp_path / "o")
    done = jostle("selftest", "--build-dir", build_dir, "--out", out, "--case", "ok", "--case", "unsupported")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed, 0 failed" in done.stdout
    runs = _runs(out)
    assert {r["seed"] for r in runs} == {1} and all(r["iterations"] == 20 for r in runs)   # capped from 100
    assert not any("mutant" in r["instance"] for r in runs)


def test_a_failing_instance_fails_with_its_repro(build_dir, tmp_path):
    done = jostle("selftest", "--build-dir", build_dir, "--out", str(tmp_path / "o"), "--case", "ok", "--case", "fail")
    assert done.returncode == 1
    assert "fake/fail@good: FAIL: CHECK failed" in done.stdout and "./jostle replay" in done.stdout


def test_mutants_caught_escapes_and_gaps(build_dir, tmp_path):
    out = str(tmp_path / "o")
    # -j 1: with more workers a catcher's next run may already be running when its first catch comes in.
    done = jostle("selftest", "--build-dir", build_dir, "--out", out, "--mutants", "--known-gaps", _gaps(tmp_path),
                  "-j", "1")
    assert done.returncode == 1
    assert "fake/ok@mutant.sneaky: mutant escaped its declared catcher (runs: PASS x6)" in done.stdout
    assert "mutant.sneaky: no declared catcher caught it" in done.stdout
    assert "caught mutant.lost: fake/ok@mutant.lost" in done.stdout
    runs = _runs(out)
    assert sum(r["instance"] == "fake/ok@mutant.lost" for r in runs) == 1, "a catcher stops at its first catch"
    assert sorted(r["seed"] for r in runs if r["instance"] == "fake/ok@mutant.sneaky") == [1, 2, 3, 4, 5, 6]
    # Listed with a reason, the escape is excused; a case nobody declares is not.
    done = jostle("selftest", "--build-dir", build_dir, "--out", out, "--mutants",
                  "--known-gaps", _gaps(tmp_path, "mutant.sneaky escapes by design"))
    assert done.returncode == 0, done.stdout
    gaps = tmp_path / "gaps"
    gaps.write_text(gaps.read_text().replace("fake/tsan the fixture's misbehaving cases\n", ""))
    done = jostle("selftest", "--build-dir", build_dir, "--out", out, "--mutants", "--known-gaps", str(gaps))
    assert done.returncode == 1 and "fake/tsan: no mutant declares this conformance case" in done.stdout


def test_a_gap_without_reason_is_one_line(build_dir, tmp_path):
    gaps = tmp_path / "gaps"
    gaps.write_text("mutant.sneaky\n")
    done = jostle("selftest", "--build-dir", build_dir, "--out", str(tmp_path / "o"), "--mutants",
                  "--known-gaps", str(gaps))
    assert done.returncode == 2 and "'mutant.sneaky' needs a reason" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
