"""soak (chunks, resume, budget), bench (Google Benchmark JSON into the store) and dashboard from the CLI."""

import json
import os
import shutil
import time

from jostle import soak

from fakebuild import HERE, jostle

SOAK_SELECT = ["--case", "ok", "--case", "flaky", "--amplify", "none", "--progress", "none", "-j", "2"]


def _records(out):
    with open(os.path.join(out, "results.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_soak_runs_chunks_within_its_budget_and_labels_the_night(build_dir, tmp_path):
    out = str(tmp_path / "store")
    started = time.monotonic()
    done = jostle("soak", "--for", "5s", "--chunk", "2s", "--night", "n1", "--store", out, "--build-dir", build_dir,
                  *SOAK_SELECT)
    elapsed = time.monotonic() - started
    # The soak ends like `run`: the summary of its chunks, exit 1 when `flaky` (fails on odd seeds) failed a run.
    failed = any(r["type"] == "run" and r["code"] != "PASS" for r in _records(out))
    assert done.returncode == (1 if failed else 0), done.stderr
    assert "jostle soak: session" in done.stdout and "exit code" in done.stdout
    assert "dashboard: " + os.path.abspath(os.path.join(out, "dashboard.html")) in done.stderr
    heads = [r for r in _records(out) if r["type"] == "session"]
    assert len(heads) >= 1 and all(r["labels"]["night"] == "n1" and r["command"] == "soak" for r in heads)
    assert len({r["config"]["seed"] for r in heads}) == len(heads)      # every chunk its own seeds
    assert elapsed < 5 + 30      # the budget, plus process start-up and the reports on a busy machine (load 30)
    state = json.load(open(os.path.join(out, "soak.json"), encoding="utf-8"))
    assert state["finished"] and state["chunks"] == len(heads)
    assert os.path.exists(os.path.join(out, "dashboard.html"))


def test_soak_resumes_an_interrupted_soak_with_the_time_left(tmp_path):
    out = str(tmp_path)
    now = [1000.0]
    state = soak.begin(out, 3600, night="n2", seed=1, clock=lambda: now[0])
    assert state["deadline"] == 4600
    now[0] = 2000.0
    again = soak.begin(out, 3600, clock=lambda: now[0])          # the same command after a restart
    assert again["soak"] == state["soak"] and again["deadline"] == 4600 and again["night"] == "n2"
    now[0] = 5000.0
    assert soak.begin(out, 3600, clock=lambda: now[0])["soak"] != state["soak"]   # past its deadline: a new soak


def test_soak_bad_state_is_one_line(build_dir, tmp_path):
    (tmp_path / "soak.json").write_text("{nope")
    done = jostle("soak", "--for", "2s", "--store", str(tmp_path), "--build-dir", build_dir, *SOAK_SELECT)
    assert done.returncode == 3 and "unreadable soak state" in done.stderr and "Traceback" not in done.stderr


def _bench_build(root):
    os.makedirs(os.path.join(root, "bench"))
    target = os.path.join(root, "bench", "jostle-bench-futex")
    shutil.copy(os.path.join(HERE, "fake_bench.py"), target)
    os.chmod(target, 0o755)
    return root


def test_bench_stores_json_and_flags_a_regression(tmp_path):
    build = _bench_build(str(tmp_path / "build"))
    out = str(tmp_path / "store")
    for ns in ("100", "101", "99"):
        done = jostle("bench", "--build-dir", build, "--out", out, env={"FAKE_BENCH_NS": ns})
        assert done.returncode == 0, done.stderr
    done = jostle("bench", "--build-dir", build, "--out", out, "--fail-on-regression", env={"FAKE_BENCH_NS": "150"})
    assert done.returncode == 1 and "REGRESSION" in done.stdout and "+50.0%" in done.stdout
    recs = [r for r in _records(out) if r["type"] == "bench"]
    assert len(recs) == 4 and recs[0]["context"]["num_cpus"] == 2 and recs[0]["machine"]["cpus"]
    done = jostle("dashboard", "--store", out, "--out", str(tmp_path / "d.html"))
    assert done.returncode == 0
    page = open(tmp_path / "d.html", encoding="utf-8").read()
    assert "futex:BM_wake/4" in page and "regression" in page


def test_bench_errors_are_one_line(tmp_path):
    done = jostle("bench", "--build-dir", str(tmp_path), "--out", str(tmp_path / "s"))
    assert done.returncode == 3 and "no benchmark binaries" in done.stderr
    build = _bench_build(str(tmp_path / "b"))
    done = jostle("bench", "--build-dir", build, "--out", str(tmp_path / "s"), env={"FAKE_BENCH_FAIL": "1"})
    assert done.returncode == 3 and "cannot pin CPU" in done.stderr and "Traceback" not in done.stderr
