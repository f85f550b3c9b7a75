"""The command line end to end, as users and CI drive it, over the fake harness."""

import argparse
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from jostle import cli
from jostle.errors import UsageError

from fakebuild import PYTHON, REPO, jostle, make_build

XSD = os.path.join(REPO, "reports", "tests", "junit-10.xsd")


def records(out):
    with open(os.path.join(out, "results.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def one_line_error(done, code):
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """One session over most misbehaviours (not `stuck`, which costs seconds), shared by several tests."""
    root = tmp_path_factory.mktemp("mixed")
    build = make_build(str(root / "build"))
    out = str(root / "out")
    done = jostle("run", "--build-dir", build, "--out", out, "--seed", "3", "--progress", "none", "--runs", "2",
                  *[arg for case in ("ok", "fail", "forbidden", "flaky", "crash", "hang", "garbage", "early",
                                     "unsupported", "tsan", "noisy") for arg in ("--case", case)])
    return build, out, done


def test_list(build_dir):
    done = jostle("list", "--build-dir", build_dir)
    assert done.returncode == 0
    ids = [line.split()[0] for line in done.stdout.splitlines()]
    assert "fake/ok@good" in ids and not any("mutant" in i for i in ids)
    done = jostle("list", "--build-dir", build_dir, "--json", "--mutants", "--backend", "mutant.*")
    listed = [json.loads(line) for line in done.stdout.splitlines()]
    assert {i["backend"] for i in listed} == {"mutant.lost", "mutant.sneaky"}


def test_mixed_session_exit_code_and_outputs(mixed):
    _, out, done = mixed
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    for name in ("results.jsonl", "store.sqlite", "junit.xml", "report.html"):
        assert os.path.exists(os.path.join(out, name))
    codes = {}
    for r in records(out):
        if r["type"] == "run":
            codes.setdefault(r["instance"], set()).add(r["code"])
    assert codes["fake/ok@good"] == {"PASS"}
    assert codes["fake/flaky@good"] == {"PASS", "FAIL"}
    assert codes["fake/hang@good"] == {"TIMEOUT"}
    assert codes["fake/tsan@good"] == {"SANITIZER"}
    assert codes["fake/unsupported@good"] == {"UNSUPPORTED"}
    assert "FLAKY" in done.stdout and "./jostle replay '" in done.stdout
    assert records(out)[-1] == {**records(out)[-1], "type": "session_end", "status": "complete"}


def test_mixed_session_junit_is_valid(mixed):
    if not shutil.which("xmllint"):
        pytest.skip("xmllint is not installed (apt-get install libxml2-utils)")
    _, out, _ = mixed
    done = subprocess.run(["xmllint", "--noout", "--schema", XSD, os.path.join(out, "junit.xml")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_hang_stacks_reach_the_store(mixed):
    _, out, _ = mixed
    hang = next(r for r in records(out) if r.get("instance") == "fake/hang@good")
    assert hang["stacks"] and hang["hang"]["iteration"] == 7


def test_replay_reproduces_a_recorded_failure(mixed):
    build, out, _ = mixed
    failing = next(r for r in records(out) if r.get("instance") == "fake/fail@good")
    line = failing["repro"]
    assert line.startswith("./jostle replay '")
    quoted = line[len("./jostle replay "):]
    # The line is one shell word: a shell gives replay exactly what the runner meant.
    word = subprocess.run(["sh", "-c", f"printf %s {quoted}"], capture_output=True, text=True).stdout
    done = jostle("replay", word, "--build-dir", build)
    assert done.returncode == 1, done.stderr
    assert "result: FAIL (check)" in done.stdout
    passing = next(r for r in records(out) if r.get("instance") == "fake/ok@good/msg=<&\"'>")
    word = subprocess.run(["sh", "-c", f"printf %s {passing['repro'][len('./jostle replay '):]}"],
                          capture_output=True, text=True).stdout
    done = jostle("replay", word, "--build-dir", build)
    assert done.returncode == 0 and "result: PASS" in done.stdout
    # Pasting the whole line as one argument works too; JOSTLE_BUILD_DIR is the fallback build.
    done = jostle("replay", line, env={"JOSTLE_BUILD_DIR": build})
    assert done.returncode == 1 and "result: FAIL" in done.stdout


def test_replay_bad_lines(build_dir):
    assert "starts with the harness name" in one_line_error(jostle("replay", "ls -la"), 2)
    assert "unexpected word" in one_line_error(
        jostle("replay", "jostle-fake --run fake/ok@good --bogus", "--build-dir", build_dir), 2)
    assert "not found" in one_line_error(jostle("replay", "jostle-nope --run x build=zzz", "--build-dir", build_dir), 3)


def test_report_rerenders_from_the_store_alone(mixed, tmp_path):
    _, out, _ = mixed
    copy = str(tmp_path / "copy")
    os.makedirs(copy)
    shutil.copy(os.path.join(out, "results.jsonl"), copy)
    done = jostle("report", "--out", copy)
    assert done.returncode == 0, done.stderr
    with open(os.path.join(copy, "junit.xml"), encoding="utf-8") as f:
        rerendered = f.read()
    with open(os.path.join(out, "junit.xml"), encoding="utf-8") as f:
        assert f.read() == rerendered
    assert os.path.exists(os.path.join(copy, "store.sqlite"))


def test_corrupt_store_is_exit_3(tmp_path):
    (tmp_path / "results.jsonl").write_text('{"schema":1,"type":"session","session":"x"}\n{oops\n{}\n')
    assert "corrupt store" in one_line_error(jostle("report", "--out", str(tmp_path)), 3)


def test_mutants_caught_and_escaped(build_dir, tmp_path):
    done = jostle("run", "--build-dir", build_dir, "--out", str(tmp_path), "--mutants", "--backend", "mutant.*",
                  "--progress", "none", "--seed", "2")
    assert done.returncode == 1, done.stderr
    assert "mutants: 1 caught, 1 escaped" in done.stdout
    assert "caught   fake/mutant.lost by fake/ok@mutant.lost" in done.stdout
    assert "ESCAPED  fake/mutant.sneaky" in done.stdout
    assert "XPASS" in done.stdout


def test_quarantine_mutes_flaky(build_dir, tmp_path):
    args = ["stress", "--build-dir", build_dir, "--case", "flaky", "--runs", "4", "--seed", "1", "--progress", "none"]
    done = jostle(*args, "--out", str(tmp_path / "a"))
    assert done.returncode == 1 and "FLAKY" in done.stdout and "2/4 runs failed" in done.stdout
    (tmp_path / "q.txt").write_text("# known flaky, bug 12\nfake/flaky@*\n")
    done = jostle(*args, "--out", str(tmp_path / "b"), "--quarantine", str(tmp_path / "q.txt"))
    assert done.returncode == 0, done.stdout


def test_stress_target_rate_reports_whether_budget_sufficed(build_dir, tmp_path):
    done = jostle("stress", "--build-dir", build_dir, "--out", str(tmp_path), "--case", "ok", "--backend", "good",
                  "--budget", "30s", "--target-rate", "0.2", "--progress", "lines")
    assert done.returncode == 0, done.stderr
    assert "needs 14 clean runs per instance: 2/2 got there" in done.stdout
    assert "jostle: " in done.stderr  # the periodic status lines


@pytest.mark.parametrize("args,code,needle", [
    (["run", "--suite", "fak"], 2, "did you mean fake"),
    (["run", "--backend", "goood"], 2, "did you mean good"),
    (["run", "--case", "flakey"], 2, "did you mean flaky"),
    (["run", "--backend", "mutant.*"], 2, "add --mutants"),
    (["run", "--budget", "5 parsecs"], 2, "cannot read '5 parsecs' as a duration"),
    (["run", "-j", "0"], 2, "must be at least 1"),
    (["run", "--runs", "2", "--budget", "1s"], 2, "not allowed with"),
    (["stress", "--target-rate", "2"], 2, "strictly between 0 and 1"),
    (["stress", "--sprt"], 2, "--sprt needs --target-rate"),
    (["run", "--amplify", "loud"], 2, "invalid choice"),
    (["frobnicate"], 2, "invalid choice"),
])
def test_bad_command_lines(build_dir, tmp_path, args, code, needle):
    done = jostle(*args, "--build-dir", build_dir, "--out", str(tmp_path)) if args[0] != "frobnicate" \
        else jostle(*args)
    assert needle in one_line_error(done, code)


def test_bad_out_dirs(build_dir, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert "not a directory" in one_line_error(jostle("run", "--build-dir", build_dir, "--out", str(a_file)), 2)
    assert "not writable" in one_line_error(
        jostle("run", "--build-dir", build_dir, "--out", str(a_file / "sub")), 3)


def test_missing_or_broken_harness(tmp_path, build_dir):
    assert "does not exist" in one_line_error(jostle("run", "--build-dir", str(tmp_path / "none")), 3)
    os.makedirs(tmp_path / "empty" / "bin")
    assert "no harness binaries" in one_line_error(jostle("list", "--build-dir", str(tmp_path / "empty")), 3)
    line = one_line_error(jostle("list", "--build-dir", build_dir, env={"FAKE_LIST": "fail"}), 3)
    assert "jostle-fake --list failed (exit code 1): fake: cannot list" in line
    line = one_line_error(jostle("run", "--build-dir", build_dir, env={"FAKE_LIST": "garbage"}), 3)
    assert "line 1 is not JSON" in line


def test_default_build_dir_comes_from_the_environment(build_dir):
    done = jostle("list", env={"JOSTLE_BUILD_DIR": build_dir})
    assert done.returncode == 0 and "fake/ok@good" in done.stdout
    # ./jostle passes --build/--sanitizer on; naming the wrapper's own preset keeps its build dir.
    env = {"JOSTLE_BUILD_DIR": build_dir, "JOSTLE_PRESET": "fakebuild"}
    for args in (["--build", "fakebuild", "list"], ["list", "--sanitizer", "fakebuild"]):
        done = jostle(*args, env=env)
        assert done.returncode == 0 and "fake/ok@good" in done.stdout, done.stderr


def _alive_in(path):
    """Processes whose command line mentions `path` (this test's private build dir)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if path.encode() in f.read():
                        found.append(int(pid))
            except OSError:
                pass
    return found


def _start(build_dir, out, *extra):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(REPO, "runner"), REPO]))
    # SIGINT back to its default in the child: a shell that starts this test suite in the background hands it
    # down ignored, and Python then never turns it into KeyboardInterrupt (the Ctrl-C test would hang).
    return subprocess.Popen([PYTHON, "-m", "jostle", "stress", "--build-dir", build_dir, "--out", out,
                             "--budget", "60s", "-j", "2", "--progress", "lines", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_runs(out, n, deadline_s=30):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            if sum(1 for r in records(out) if r["type"] == "run") >= n:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError("the runner recorded no runs in time")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_keeps_finished_runs_and_renders(build_dir, tmp_path, signum):
    out = str(tmp_path / "out")
    proc = _start(build_dir, out, "--case", "ok", "--case", "stuck", "--backend", "good")
    _wait_for_runs(out, 3)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "session interrupted" in stdout
    recs = records(out)
    assert recs[-1]["type"] == "session_end" and recs[-1]["status"] == "interrupted"
    assert all(r["code"] == "PASS" for r in recs if r["type"] == "run")
    assert os.path.exists(os.path.join(out, "junit.xml")) and os.path.exists(os.path.join(out, "report.html"))
    assert _alive_in(build_dir) == []


def test_killed_runner_leaves_a_readable_store(build_dir, tmp_path):
    out = str(tmp_path / "out")
    proc = _start(build_dir, out, "--case", "ok")
    _wait_for_runs(out, 5)
    proc.kill()
    proc.communicate(timeout=30)
    done = jostle("report", "--out", out)
    assert done.returncode == 0, done.stderr
    assert "session incomplete" in done.stdout
    assert os.path.exists(os.path.join(out, "report.html"))
    # The next session appends to the same store; the index is caught up, not trusted.
    done = jostle("run", "--build-dir", build_dir, "--out", out, "--case", "ok", "--progress", "none")
    assert done.returncode == 0, done.stderr


def test_help_mentions_every_command():
    done = jostle("--help")
    for command in ("list", "run", "stress", "replay", "report", "doctor"):
        assert command in done.stdout


def test_doctor_quick(build_dir):
    done = jostle("doctor", "--quick", "--build-dir", build_dir)
    assert done.returncode == 0, done.stderr
    for needle in ("cpus usable (affinity)", "perf_event_paranoid", "rr", "gdb", "jostle-fake"):
        assert needle in done.stdout


def test_every_option_has_a_text_and_every_command_a_description_and_an_example():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(cli.COMMANDS)
    for name, p in sub.choices.items():
        assert p.description and p.epilog.startswith("example: jostle " + name), name
        for action in p._actions:
            if action.option_strings and action.dest != "help":
                assert action.help and action.help != argparse.SUPPRESS, f"{name} {action.option_strings}"


def test_gate_does_not_offer_runs_and_durations_read_alike_everywhere():
    with pytest.raises(UsageError, match="unrecognized arguments: --runs"):
        cli.build_parser().parse_args(["gate", "--runs", "3"])
    assert cli.build_parser().parse_args(["detect", "--budget-per-mutant", "60s"]).budget_per_mutant == 60
    assert cli.build_parser().parse_args(["detect", "--budget-per-mutant", "1.5m"]).budget_per_mutant == 90


def test_exitfirst_and_last_failed(build_dir, tmp_path):
    out = str(tmp_path / "o")
    select = ["--build-dir", build_dir, "--out", out, "--backend", "good", "--progress", "none"]
    done = jostle("run", *select, "--case", "ok", "--case", "fail", "--case", "crash", "--case", "unsupported",
                  "-j", "1", "-x")
    assert done.returncode == 1
    assert "-x: stopped after the first unexpected result" in done.stdout and "not run" in done.stdout
    failed = [r["instance"] for r in map(json.loads, open(os.path.join(out, "results.jsonl")))
              if r["type"] == "run" and r["code"] in ("FAIL", "CRASH")]
    assert len(failed) == 1
    again = jostle("run", *select, "--last-failed")
    assert again.returncode == 1 and "--last-failed: 1 instance(s)" in again.stderr
    runs = [r for r in map(json.loads, open(os.path.join(out, "results.jsonl"))) if r["type"] == "run"]
    assert [r["instance"] for r in runs[-1:]] == failed
    clean = str(tmp_path / "clean")
    assert jostle("run", "--build-dir", build_dir, "--out", clean, "--case", "ok", "--backend", "good").returncode == 0
    done = jostle("run", "--build-dir", build_dir, "--out", clean, "--last-failed")
    assert done.returncode == 0 and "nothing failed" in done.stderr
    done = jostle("run", "--build-dir", build_dir, "--out", str(tmp_path / "none"), "--last-failed")
    assert done.returncode == 2 and "no result store" in done.stderr


def test_unsupported_instances_are_named_with_their_reason(build_dir, tmp_path):
    done = jostle("run", "--build-dir", build_dir, "--out", str(tmp_path / "o"), "--case", "unsupported",
                  "--backend", "good", "--progress", "none")
    assert done.returncode == 0
    assert "unsupported (cannot run here, not a failure):\n  fake/unsupported@good: " in done.stdout


def test_the_repro_build_follows_build_dir_over_the_wrappers_preset(monkeypatch, tmp_path):
    """./jostle exports JOSTLE_PRESET=release; `--build-dir build/tsan` must still put build=tsan in repro lines."""
    from types import SimpleNamespace

    from jostle import session
    release, tsan = tmp_path / "release", tmp_path / "tsan"
    release.mkdir()
    tsan.mkdir()
    monkeypatch.setenv("JOSTLE_PRESET", "release")
    monkeypatch.setenv("JOSTLE_BUILD_DIR", str(release))
    suites = [SimpleNamespace(version={"build": {"preset": "tsan"}})]
    assert session.build_preset(str(tsan), suites) == "tsan"
    assert session.build_preset(str(tsan), []) == "tsan"  # no version: the directory's name
    assert session.build_preset(str(release), suites) == "release"  # the wrapper's own build: its preset


def test_stress_mixes_by_default_and_a_chaos_spec_alone_means_chaos():
    """docs/amplification.md: stress and soak default to mix, the others to none; --chaos alone is chaos."""
    def mode(*argv):
        args = cli.build_parser().parse_args(list(argv))
        return cli._settings(args, args.command, 60).amplify.mode

    assert mode("stress") == "mix"
    assert mode("stress", "--chaos", "p=0.1,actions=yield") == "chaos"
    assert mode("stress", "--amplify", "pct") == "pct"
    assert mode("run") == "none"
    assert mode("run", "--chaos", "p=0.1,actions=yield") == "chaos"
    assert mode("soak", "--for", "1h") == "mix"
