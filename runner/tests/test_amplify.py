"""Amplification settings: per-run draws, repro round trips, and the OS knobs on real processes."""

import os
import subprocess
import sys
import time

import pytest

from jostle import amplify, replay
from jostle.amplify import Amplification, OsKnobs, OsShaker
from jostle.errors import UsageError
from jostle.plan import RunSpec


def test_none_draws_nothing_and_keeps_its_record_shape():
    a = Amplification.from_options("none", None).for_run(7, allowed_cpus={0, 1})
    assert a.chaos is None and a.os == OsKnobs() and a.drawn == "none"
    assert a.harness_args() == []
    assert Amplification.from_record(a.as_record()) == a


def test_user_chaos_spec_is_used_verbatim_for_every_run():
    a = Amplification.from_options("none", "p=0.3,actions=yield")
    assert a.mode == "chaos"
    for seed in range(5):
        assert a.for_run(seed, {0, 1}).harness_args() == ["--chaos", "p=0.3,actions=yield"]


def test_pct_replay_settings_are_accepted_and_checked_before_any_run():
    # settle=1 and vclock=1 (PCT's virtual clock) are how a clock- or wake-decided PCT failure replays exactly.
    for spec in ("mode=pct,d=2,settle=1", "mode=pct,d=2,vclock=1", "mode=pct,vclock=1,tick_ns=500"):
        assert amplify.chaos_problem(spec) is None
        assert Amplification.from_options("none", spec).for_run(1, {0, 1}).harness_args() == ["--chaos", spec]
    assert "PCT option" in amplify.chaos_problem("p=0.1,vclock=1")
    assert "vclock must be 0 or 1" in amplify.chaos_problem("mode=pct,vclock=2")
    assert "tick_ns must be" in amplify.chaos_problem("mode=pct,vclock=1,tick_ns=0")


def test_draws_are_a_function_of_the_seed_and_cover_every_layer():
    base = Amplification.from_options("mix", None)
    drawn = [base.for_run(seed, allowed_cpus={0, 1}) for seed in range(200)]
    assert drawn == [base.for_run(seed, allowed_cpus={0, 1}) for seed in range(200)]
    kinds = {a.drawn for a in drawn}
    assert kinds == {"chaos", "chaos+pin", "pct", "os"}
    for a in drawn:
        if a.drawn == "pct":
            assert a.chaos.startswith("mode=pct,d=")
        if a.drawn == "chaos+pin":
            assert len(a.os.cpus) == 1 and a.os.cpus[0] in (0, 1) and a.chaos.startswith("p=")
        if a.drawn == "os":
            assert a.chaos is None and a.os != OsKnobs()


def test_pct_cycles_depth_over_runs():
    base = Amplification.from_options("pct", None)
    assert [base.for_run(s, {0}).chaos for s in range(3)] == ["mode=pct,d=1", "mode=pct,d=2", "mode=pct,d=3"]


def test_preempt_draws_a_preempt_spec_from_the_seed():
    amp = Amplification.from_options("preempt", None)
    runs = [amp.for_run(seed, allowed_cpus={0, 1}) for seed in range(1, 40)]
    assert {r.drawn for r in runs} == {"preempt"}
    assert all(r.chaos.startswith("mode=preempt,clock=cpu,interval_us=") for r in runs)
    assert len({r.chaos for r in runs}) > 3, "interval and actions are drawn per run"
    assert amp.for_run(5, allowed_cpus={0, 1}) == amp.for_run(5, allowed_cpus={0, 1})


def test_steer_draws_a_steered_preempt_spec_and_its_repro_line_carries_it():
    amp = Amplification.from_options("steer", None)
    runs = [amp.for_run(seed, allowed_cpus={0, 1}) for seed in range(1, 60)]
    assert {r.drawn for r in runs} == {"steer"}
    assert all(r.chaos.startswith("mode=preempt,interval_us=0,steer=") for r in runs)
    assert {r.chaos.split("steer=")[1].split(",")[0] for r in runs} == {"0.03", "0.1", "0.3"}
    assert {r.chaos.split("actions=")[1] for r in runs} == set(amplify.PREEMPT_ACTIONS)
    assert amp.for_run(5, allowed_cpus={0, 1}) == amp.for_run(5, allowed_cpus={0, 1})
    run_amp = runs[0]
    spec = RunSpec(instance="futex/x@mutant.m", suite="futex", binary="/b/jostle-futex", seed=1, batch=0,
                   iterations=10, duration_s=None, timeout_s=20.0, amplify=run_amp)
    line = replay.repro_line(spec, "release")
    assert "steer=" in line
    back = replay.to_spec(replay.parse(line), "/b/jostle-futex").amplify
    assert back.chaos == run_amp.chaos and back.drawn == "steer"
    # The other modes never steer (steer off: their specs are what they were).
    for mode in ("preempt", "mix", "chaos", "pct", "hostile"):
        base = Amplification.from_options(mode, None)
        assert not any("steer" in (base.for_run(s, {0, 1}).chaos or "") for s in range(40))


def test_step_draws_a_stepped_aim_and_its_repro_line_carries_it():
    amp = Amplification.from_options("step", None)
    runs = [amp.for_run(seed, allowed_cpus={0, 1}) for seed in range(1, 60)]
    assert {r.drawn for r in runs} == {"step"}
    assert all(r.chaos.startswith("mode=preempt,interval_us=0,steer=") and ",aim=step," in r.chaos for r in runs)
    assert {r.chaos.split("steer=")[1].split(",")[0] for r in runs} == {str(p) for p in amplify.STEP_P}
    spec = RunSpec(instance="futex/x@mutant.m", suite="futex", binary="/b/jostle-futex", seed=1, batch=0,
                   iterations=10, duration_s=None, timeout_s=20.0, amplify=runs[0])
    back = replay.to_spec(replay.parse(replay.repro_line(spec, "release")), "/b/jostle-futex").amplify
    assert back.chaos == runs[0].chaos and back.drawn == "step"
    # steer keeps its timer: only `step` asks for aim=step.
    for mode in ("steer", "preempt", "mix", "hostile"):
        base = Amplification.from_options(mode, None)
        assert not any("aim=" in (base.for_run(s, {0, 1}).chaos or "") for s in range(40))


def test_os_word_round_trips_and_rejects_garbage():
    knobs = OsKnobs(cpus=(1,), copies=2, load=1, victim="idle")
    assert OsKnobs.parse(knobs.word()) == knobs
    assert OsKnobs.parse("") == OsKnobs()
    for bad in ("cpus=x", "victim=evil", "load=-1", "nonsense"):
        with pytest.raises(UsageError):
            OsKnobs.parse(bad)


def test_repro_line_carries_the_drawn_settings(tmp_path):
    a = Amplification.from_options("mix", None)
    seed = next(s for s in range(100) if a.for_run(s, {0, 1}).drawn == "chaos+pin")
    run_amp = a.for_run(seed, {0, 1})
    spec = RunSpec(instance="futex/x@linux", suite="futex", binary="/b/jostle-futex", seed=seed, batch=0,
                   iterations=10, duration_s=None, timeout_s=20.0, amplify=run_amp)
    line = replay.repro_line(spec, "release")
    request = replay.parse(line)
    back = replay.to_spec(request, "/b/jostle-futex").amplify
    assert back.chaos == run_amp.chaos and back.os == run_amp.os and back.drawn == "chaos+pin"


def test_rr_probe_gives_a_reason():
    usable, reason = amplify.rr_probe()
    assert isinstance(usable, bool) and reason
    if not usable:
        assert "rr" in reason


def _sleeper():
    # A process with a few threads, alive long enough to be shaken.
    code = ("import threading, time\n"
            "ts = [threading.Thread(target=time.sleep, args=(1.5,)) for _ in range(3)]\n"
            "[t.start() for t in ts]; [t.join() for t in ts]\n")
    return [sys.executable, "-c", code]


def test_pinning_is_checked_against_the_cpuset():
    allowed = sorted(os.sched_getaffinity(0))
    shaker = OsShaker(OsKnobs(cpus=(allowed[-1],)))
    argv = shaker.wrap(_sleeper())
    assert argv[:2] == ["taskset", "-c"]
    proc = subprocess.Popen(argv)
    try:
        shaker.start(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    report = shaker.stop()
    assert report.get("affinity") == [allowed[-1]] and "notes" not in report


def test_pinning_outside_the_cpuset_is_reported_not_applied():
    shaker = OsShaker(OsKnobs(cpus=(4096,)))
    assert shaker.wrap(["true"]) == ["true"]
    assert "not in the allowed cpuset" in " ".join(shaker.stop()["notes"])


def test_victim_load_and_copies_are_applied_and_cleaned_up():
    shaker = OsShaker(OsKnobs(load=1, copies=1, victim="nice"))
    argv = shaker.wrap(_sleeper())
    proc = subprocess.Popen(argv)
    shaker.start(proc.pid)
    time.sleep(0.3)
    helpers = list(shaker._procs)
    assert len(helpers) == 2 and all(p.poll() is None for p in helpers)
    proc.wait()
    report = shaker.stop()
    assert all(p.poll() is not None for p in helpers), "load and copies must not outlive the run"
    assert report["victims"] >= 1 and report["load"] == 1 and report["copies"] == 1


def test_mix_spreads_one_batch_over_modes_by_instance():
    """Runs of one batch share a seed; salting with the instance id keeps them from all drawing one mode."""
    amp = Amplification.from_options("mix", None)
    drawn = {amp.for_run(7, allowed_cpus={0, 1}, salt=f"suite/case{i}@b").drawn for i in range(40)}
    assert len(drawn) >= 3
    # Still a pure function of (seed, salt).
    assert amp.for_run(7, {0, 1}, "x").as_record() == amp.for_run(7, {0, 1}, "x").as_record()


def test_mix_steers_into_plugin_code_and_only_there():
    """Instances reached through the plugin ABI draw steered interrupts in `mix`; in-tree ones never do."""
    from jostle.plan import through_plugin

    amp = Amplification.from_options("mix", None)
    plugin = [amp.for_run(s, {0, 1}, f"futex/c@x{s}", through_plugin=True) for s in range(200)]
    native = [amp.for_run(s, {0, 1}, f"futex/c@x{s}") for s in range(200)]
    steered = [r for r in plugin if r.drawn == "steer"]
    stepped = [r for r in plugin if r.drawn == "step"]
    assert 20 <= len(steered) <= 60 and all("steer=" in r.chaos and "aim=" not in r.chaos for r in steered)
    assert 20 <= len(stepped) <= 60 and all("steer=" in r.chaos and "aim=step" in r.chaos for r in stepped)
    assert not any(r.drawn in ("steer", "step") for r in native)
    assert through_plugin({"backend": "example", "plugin": "example"})
    assert through_plugin({"backend": "mutant.semaphore.opaque_post_reads_sleepers_first"})
    assert through_plugin({"backend": "mutant.futex.plugin_wake_zero"})
    assert not through_plugin({"backend": "mutant.futex.check_then_enqueue"})
    assert not through_plugin({"backend": "linux"})


def test_hostile_pins_every_run_with_a_busy_loop_beside_it_under_chaos_or_pct():
    hostile = Amplification.from_options("hostile", None)
    runs = [hostile.for_run(seed, allowed_cpus={0, 1}) for seed in range(8)]
    assert all(len(r.os.cpus) == 1 and r.os.load == 1 and r.drawn == "hostile" for r in runs)
    assert all(r.chaos.startswith("mode=pct") == bool(seed % 2) for seed, r in enumerate(runs))
    assert {r.os.cpus for r in runs} == {(0,), (1,)}
    assert Amplification.from_record(runs[1].as_record()) == runs[1]   # replayable as recorded


def test_autogroup_note_warns_only_for_busy_loop_modes_when_autogroup_is_off(tmp_path):
    off, on = tmp_path / "off", tmp_path / "on"
    off.write_text("0\n")
    on.write_text("1\n")
    note = amplify.autogroup_note("hostile", path=str(off))
    assert "is 0" in note and "hostile" in note and "Set it to 1" in note
    assert amplify.autogroup_note("hostile", path=str(on)) == ""
    assert amplify.autogroup_note("chaos", path=str(off)) == ""    # no busy loop in that mode
    assert amplify.autogroup_note("hostile", path=str(tmp_path / "missing")) == ""   # a kernel without it


def test_busy_loop_ends_when_the_runner_is_killed(tmp_path):
    # A runner killed with SIGKILL cannot stop its busy loops; they must not outlive it and skew what runs next.
    script = tmp_path / "runner.py"
    script.write_text(
        "import os, sys, time\n"
        f"sys.path.insert(0, {os.path.join(os.path.dirname(amplify.__file__), '..')!r})\n"
        "from jostle.amplify import OsKnobs, OsShaker\n"
        "sh = OsShaker(OsKnobs(load=1)); sh.start(os.getpid())\n"
        "print(sh._procs[0].pid, flush=True); time.sleep(60)\n")
    runner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    loop = int(runner.stdout.readline())
    runner.kill()
    runner.wait()
    deadline = time.monotonic() + 10
    state = "?"
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{loop}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            state = "gone"
        if state in ("gone", "Z", "X"):
            break
        time.sleep(0.05)
    assert state in ("gone", "Z", "X"), f"busy loop {loop} still {state} after its runner was killed"
