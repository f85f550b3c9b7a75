"""The test262 engine bridge: jostle's own test262-format corpus on every installed engine, the host
mutants, hangs, verdicts, expectations and the runner's --test262 integration (docs/engines.md)."""

import json
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

from jostle import amplify, cli, replay

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROGRAM = os.path.join(ROOT, "harness", "test262", "jostle-test262")
CORPUS = os.path.join(ROOT, "suites", "agents", "test262")
ENGINES = {"node": "node", "spidermonkey": "js102"}
# Engine processes in flight at once: agent tests mostly sleep, but waitUntil spins, and on a loaded
# 2-core machine more spinners starve the agents' start (a worker took 15 s to start at load 47 with 6).
PARALLEL = 3
# Per run: far above a passing run (about 1 s), so that only a real hang reaches it on a loaded machine.
RUN_TIMEOUT = "90s"

sys.path.insert(0, os.path.join(ROOT, "harness", "test262"))
import engines as t262_engines  # noqa: E402
import jostle_test262  # noqa: E402


def engine_or_skip(name):
    if shutil.which(ENGINES[name]) is None:
        pytest.skip(f"{ENGINES[name]} is not installed ({name} engine; ci/bootstrap.sh installs it)")
    return name


def program(*args, timeout=60):
    return subprocess.run([PROGRAM, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def listing(root, engine, *select):
    done = program("--test262", root, "--engine", engine, *(a for g in select for a in ("--select", g)), "--list")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def run_one(root, engine, instance, *extra, select=("**",)):
    """(exit code, events, stdout+stderr) of one --run."""
    events = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"t262-{os.getpid()}-{abs(hash(instance))}.jsonl")
    if os.path.exists(events):
        os.unlink(events)
    if "--timeout" not in extra:
        extra = (*extra, "--timeout", RUN_TIMEOUT)
    args = ["--test262", root, "--engine", engine, *(a for g in select for a in ("--select", g)),
            "--run", instance, "--events", events, *extra]
    done = program(*args, timeout=180)
    with open(events, encoding="utf-8") as f:
        evs = [json.loads(line) for line in f]
    os.unlink(events)
    return done.returncode, evs, done.stdout + done.stderr


def write_corpus(tmp_path, tests):
    """A throwaway checkout: jostle's harness files plus the given {path under test/: source}."""
    root = tmp_path / "t262"
    shutil.copytree(os.path.join(CORPUS, "harness"), root / "harness")
    for rel, source in tests.items():
        path = root / "test" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return str(root)


# -- the corpus on each engine ---------------------------------------------------------------------

@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_own_corpus_passes_and_every_host_mutant_is_caught(engine):
    engine_or_skip(engine)
    records = listing(CORPUS, engine, "**")
    plain = [r for r in records if not r["mutant"]]
    catchers = {}
    for r in records:   # the first declared catcher of each mutant, strict
        if r["mutant"] and r["expect"] == "fail" and r["params"]["mode"] == "strict":
            catchers.setdefault(r["backend"], r)
    assert set(catchers) == {"mutant." + m for m, _, _ in t262_engines.HOST_MUTANTS}
    catchers = list(catchers.values())
    # Strict and sloppy differ only in the prologue: sloppy runs where a flag makes it matter.
    chosen = [r for r in plain if r["params"]["mode"] != "sloppy" or "/flags/" in r["case"]]
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(lambda r: (r, run_one(CORPUS, engine, r["id"])), chosen + catchers))
    unsupported = {}
    for record, (code, events, output) in results:
        end = events[-1]
        if record["mutant"]:
            assert code == 1 and end["status"] == "fail", f"{record['id']} escaped: {output[-2000:]}"
            check = next(e for e in events if e["ev"] == "check")
            assert "Test262Error" in check["msg"]
        elif code == 5:
            unsupported[record["case"]] = end["reason"]
        else:
            assert code == 0 and end["status"] == "pass", f"{record['id']}: {output[-3000:]}"
            assert end["metrics"]["engine_ms"]["n"] == 1
    assert "can block" in unsupported.pop("jostle/flags/can-block-false.js")
    assert "jostle-feature-nobody-has" in unsupported.pop("jostle/flags/feature-missing.js")
    for case, reason in unsupported.items():
        assert "Atomics.waitAsync" in reason and engine == "spidermonkey", (case, reason)


def test_modes_follow_the_flags():
    records = {r["id"] for r in listing(CORPUS, "node", "jostle/flags/**")}
    assert "test262/jostle/flags/only-strict.js@node/strict" in records
    assert "test262/jostle/flags/only-strict.js@node/sloppy" not in records
    assert "test262/jostle/flags/no-strict.js@node/sloppy" in records
    assert "test262/jostle/flags/raw.js@node/raw" in records
    assert "test262/jostle/flags/module.js@node/module" in records
    assert {"test262/jostle/flags/both-modes.js@node/strict", "test262/jostle/flags/both-modes.js@node/sloppy"} <= records


def test_default_selection_is_atomics_plus_agent_users(tmp_path):
    root = write_corpus(tmp_path, {
        "built-ins/Atomics/plain.js": "/*---\ndescription: x\n---*/\n",
        "built-ins/Other/uses-agent.js": "/*---\ndescription: x\n---*/\n$262.agent.start('');\n",
        "built-ins/Other/plain.js": "/*---\ndescription: x\n---*/\n",
        "built-ins/Atomics/helper_FIXTURE.js": "",
    })
    cases = {r["case"] for r in listing(root, "node")}
    assert cases == {"built-ins/Atomics/plain.js", "built-ins/Other/uses-agent.js"}
    assert {r["case"] for r in listing(root, "node", "built-ins/Other/*")} == {
        "built-ins/Other/uses-agent.js", "built-ins/Other/plain.js"}


# -- verdicts --------------------------------------------------------------------------------------

FAILING_NEVER_DONE = """\
    /*---
    description: never calls $DONE
    flags: [async, onlyStrict]
    ---*/
    Promise.resolve();
    """

FAILING = {
    "f/assert.js": """\
        /*---
        description: fails
        flags: [onlyStrict]
        ---*/
        assert.sameValue(1, 2, "one is not two");
        """,
    "f/async.js": """\
        /*---
        description: fails asynchronously
        flags: [async, onlyStrict]
        ---*/
        Promise.resolve().then(function () { throw new Test262Error("late"); }).then($DONE, $DONE);
        """,
    "f/negative-wrong-type.js": """\
        /*---
        description: throws the wrong error
        negative:
          phase: runtime
          type: RangeError
        flags: [onlyStrict]
        ---*/
        null.x;
        """,
    "f/negative-no-error.js": """\
        /*---
        description: throws nothing
        negative:
          phase: parse
          type: SyntaxError
        flags: [onlyStrict]
        ---*/
        var ok = 1;
        """,
    "f/agent-dies.js": """\
        /*---
        description: an agent throws before it can receive; the broadcast says so instead of hanging
        flags: [onlyStrict]
        ---*/
        $262.agent.start('throw new Error("agent boom");');
        $262.agent.broadcast(new SharedArrayBuffer(8));
        """,
}


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_failures_are_reported_with_the_engine_message(tmp_path, engine):
    engine_or_skip(engine)
    root = write_corpus(tmp_path, FAILING)
    expected = {
        "f/assert.js": "one is not two",
        "f/async.js": "late",
        "f/negative-wrong-type.js": "expected RangeError in phase runtime, got TypeError",
        "f/negative-no-error.js": "but the test completed",
        "f/agent-dies.js": "agent 0 died before retrieving it",
    }
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = dict(pool.map(lambda rel: (rel, run_one(root, engine, f"test262/{rel}@{engine}/strict")),
                                expected))
    for rel, text in expected.items():
        code, events, output = results[rel]
        assert code == 1, (rel, output[-2000:])
        check = next(e for e in events if e["ev"] == "check")
        assert check["file"] == f"test/{rel}"
        assert text in check["msg"], (rel, check)
        assert events[-1]["status"] == "fail"


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_async_test_that_never_calls_done(tmp_path, engine):
    # The time an async test gets is the host's choice: SpiderMonkey's host ends when the job queue is
    # empty (a failure), Node's keeps its loop alive for a late $DONE (pending waitAsync keeps nothing
    # alive there), so the watchdog ends it.
    engine_or_skip(engine)
    root = write_corpus(tmp_path, {"f/async-never-done.js": FAILING_NEVER_DONE})
    code, events, output = run_one(root, engine, f"test262/f/async-never-done.js@{engine}/strict", "--timeout", "3s")
    if engine == "spidermonkey":
        assert code == 1 and "without printing Test262:AsyncTestComplete" in events[-2]["msg"], output
    else:
        assert code == 4 and events[-1]["ev"] == "hang", output


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_hang_names_what_the_agents_last_did(tmp_path, engine):
    engine_or_skip(engine)
    root = write_corpus(tmp_path, {"h/hang.js": """\
        /*---
        description: the agent reports, then waits forever; the main thread wants a second report
        includes: [atomicsHelper.js]
        flags: [onlyStrict]
        ---*/
        $262.agent.start(`
          $262.agent.receiveBroadcast(function (sab) {
            $262.agent.report("about to wait");
            Atomics.wait(new Int32Array(sab), 0, 0);
          });
        `);
        $262.agent.safeBroadcast(new Int32Array(new SharedArrayBuffer(8)));
        $262.agent.getReport();
        $262.agent.getReport();
        """})
    code, events, output = run_one(root, engine, f"test262/h/hang.js@{engine}/strict", "--timeout", "12s")
    assert code == 4, output[-2000:]
    hang = next(e for e in events if e["ev"] == "hang")
    agent = next(t for t in hang["threads"] if t["actor"] == 0)
    assert agent["phase"] == "report 'about to wait'"
    assert "agent0: 'about to wait'" in hang["summary"]
    assert not any(e["ev"] == "end" for e in events)


def test_host_chaos_is_seeded_and_recorded():
    env, schedule = jostle_test262.host_chaos("p=0.1,actions=yield+spin+stall", 7)
    assert env == "p=0.1,actions=yield+spin+sleep,seed=7"
    assert schedule["seed"] == 7 and schedule["spec"] == "p=0.1,actions=yield+spin+stall"
    env, schedule = jostle_test262.host_chaos("mode=pct,d=2", 3)
    assert env.startswith("p=0.05,") and "pct" in schedule["why"]
    with pytest.raises(jostle_test262.Usage):
        jostle_test262.host_chaos("p=2,actions=yield", 1)


def test_chaos_run_passes_and_emits_its_schedule():
    engine_or_skip("node")
    code, events, output = run_one(CORPUS, "node", "test262/jostle/agent/report-fifo-two-agents.js@node/strict",
                                   "--chaos", "p=0.5,actions=yield+sleep", "--seed", "11")
    assert code == 0, output[-2000:]
    schedule = next(e for e in events if e["ev"] == "schedule")
    assert schedule["host"] == "p=0.5,actions=yield+sleep,seed=11"


# -- engines, expectations, usage ------------------------------------------------------------------

def test_expectations_turn_known_failures_into_xfail_and_say_xpass(tmp_path, capsys):
    engine_or_skip("node")
    root = write_corpus(tmp_path, {
        "x/known-bad.js": "/*---\ndescription: x\nflags: [onlyStrict]\n---*/\nassert(false, 'engine bug');\n",
        "x/fixed.js": "/*---\ndescription: x\nflags: [onlyStrict]\n---*/\n",
    })
    expectations = tmp_path / "expect.txt"
    expectations.write_text("# known\nx/known-bad.js engine bug 1\nx/fixed.js@strict engine bug 2, fixed since\n")
    desc = tmp_path / "mynode.json"
    desc.write_text(json.dumps({
        "name": "mynode", "command": ["node", "{host}", "{test}", "{kind}", "{async}"],
        "host": os.path.join(ROOT, "harness", "test262", "hosts", "node.js"),
        "expectations": str(expectations)}))
    records = {r["case"]: r for r in listing(root, str(desc), "**")}
    assert records["x/known-bad.js"]["expect"] == "fail"
    assert records["x/known-bad.js"]["known_failure"] == "engine bug 1"
    out = tmp_path / "out"
    code = cli.main(["run", "--test262", root, "--engine", str(desc), "--test262-select", "**",
                     "--out", str(out), "--progress", "none", "-j", "2", "--seed", "1"])
    text = capsys.readouterr().out
    assert code == 1, text
    assert "XFAIL 1" in text and "XPASS 1" in text


def test_cmd_engine_runs_the_compiled_file_directly(tmp_path):
    exe = shutil.which("js102") or shutil.which("node")
    if exe is None:
        pytest.skip("neither js102 nor node is installed")
    root = write_corpus(tmp_path, {
        "c/raw.js": "/*---\ndescription: x\nflags: [raw]\n---*/\nvar x = 1;\n",
        "c/throws.js": "/*---\ndescription: x\nflags: [raw]\n---*/\nthrow new RangeError('nope');\n",
        "c/negative.js": ("/*---\ndescription: x\nflags: [raw]\nnegative:\n  phase: runtime\n  type: RangeError\n---*/\n"
                          "throw new RangeError('wanted');\n"),
    })
    name = os.path.basename(exe)
    assert run_one(root, "cmd:" + exe, f"test262/c/raw.js@{name}/raw")[0] == 0
    code, events, _ = run_one(root, "cmd:" + exe, f"test262/c/throws.js@{name}/raw")
    assert code == 1 and "RangeError" in next(e for e in events if e["ev"] == "check")["msg"]
    assert run_one(root, "cmd:" + exe, f"test262/c/negative.js@{name}/raw")[0] == 0


@pytest.mark.parametrize("args, message", [
    (["--engine", "nosuch", "--list"], "unknown engine"),
    (["--engine", "node", "--run", "futex/x@linux"], "not a test262 instance id"),
    (["--engine", "node", "--run", "test262/jostle/flags/raw.js@spidermonkey/raw"], "instance is for engine"),
    (["--engine", "node", "--run", "test262/jostle/flags/raw.js@node/strict"], "runs in raw, not strict"),
    (["--engine", "node", "--run", "test262/nope.js@node/strict"], "is not in"),
    (["--engine", "node", "--run", "test262/jostle/flags/raw.js@node/raw", "--timeout", "soon"],
     "is not a duration"),
])
def test_program_usage_errors_are_one_line(args, message):
    done = program("--test262", CORPUS, *args)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_broken_file_is_listed_and_running_it_says_why(tmp_path):
    root = write_corpus(tmp_path, {"b/broken.js": "/*---\nflags: [onlyStrict\n---*/\n",
                                   "b/fine.js": "/*---\ndescription: x\n---*/\n"})
    records = {r["case"]: r for r in listing(root, "node", "**")}
    assert "frontmatter is not YAML" in records["b/broken.js"]["description"]
    assert "b/fine.js" in records
    done = program("--test262", root, "--engine", "node", "--run", "test262/b/broken.js@node/strict")
    assert done.returncode == 2 and "test/b/broken.js: frontmatter is not YAML" in done.stderr


def test_not_a_checkout_is_a_usage_error(tmp_path, capsys):
    done = program("--test262", str(tmp_path), "--engine", "node", "--list")
    assert done.returncode == 2 and "not a test262 checkout" in done.stderr
    assert cli.main(["list", "--engine", "node"]) == 2
    assert "need --test262" in capsys.readouterr().err


# -- runner integration ----------------------------------------------------------------------------

def test_run_through_the_runner_and_replay_the_repro_line(tmp_path, capsys):
    engine_or_skip("node")
    out = tmp_path / "out"
    code = cli.main(["run", "--test262", CORPUS, "--engine", "node", "--test262-select", "**", "--mutants",
                     "--case", "jostle/agent/report-fifo.js", "--backend", "mutant.reorder-reports",
                     "--out", str(out), "--progress", "none", "-j", "2", "--seed", "5"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "caught   test262/mutant.reorder-reports" in text
    with open(out / "results.jsonl", encoding="utf-8") as f:
        runs = [r for r in map(json.loads, f) if r.get("type") == "run"]
    failed = next(r for r in runs if r["code"] == "FAIL")
    assert failed["repro"].startswith(replay.PREFIX)
    line = shlex.split(failed["repro"])[2]     # what a user pastes after `./jostle replay`
    request = replay.parse(line)
    assert request.prefix[:2] == ("--test262", CORPUS) and "--engine" in request.prefix
    spec = replay.to_spec(request, replay.resolve_binary(request, None, lambda _: None))
    assert spec.binary[0] == PROGRAM
    assert replay.run(line, None, lambda _: None) == 1   # the mutant fails again


def test_victim_knob_reaches_the_threads_of_child_processes():
    child = subprocess.Popen([sys.executable, "-c", "import threading, time; "
                              "threading.Thread(target=time.sleep, args=(5,), daemon=True).start(); time.sleep(5)"])
    try:
        parent = os.getpid()
        for _ in range(100):
            tids = amplify._threads_below(parent)
            if len(set(os.listdir(f"/proc/{child.pid}/task")) & {str(t) for t in tids}) >= 2:
                break
        else:
            pytest.fail("the child's two threads were not found below this process")
    finally:
        child.kill()
        child.wait()
