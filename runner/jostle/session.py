"""The session pipeline every command reuses: SessionRequest -> discover -> select -> plan -> execute ->
classify -> store -> SessionResult. Rendering the reports is the caller's (the CLI's) business.

run, stress, gate (two phases), soak (chunks) and selftest all come through `run`; the execute -> classify loop
inside it (`Runs`, with its stop policy) is also what detect's trials run on. See records.py for the types.
"""

import os
import platform
import signal
import socket
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from jostle import amplify, classify, discovery, execute, outcome, reaper, sanitizers, selection, store
from jostle.plan import Plan
from jostle.progress import Progress
from jostle.records import RunRecord, SessionResult, new_id, now_iso
from jostle.replay import repro_line
from jostle.text import one_line

# A PASS run keeps only this much of its output: the store would otherwise grow by the output of
# every clean run, which nobody reads.
PASS_OUTPUT_KEEP = 4096
# Failures printed live while a session runs; the rest are in the summary and the reports.
LIVE_FAILURE_NOTES = 20
# Under --out: the full events and output of runs whose record had to cut them (docs/protocol.md, "Limits").
RAW_DIR = "raw"


def machine_info():
    info = {"hostname": socket.gethostname(), "cpus": os.cpu_count(), "affinity": sorted(os.sched_getaffinity(0)),
            "kernel": platform.release(), "python": platform.python_version()}
    try:
        info["loadavg"] = list(os.getloadavg())
    except OSError:
        pass
    return info


def build_preset(build_dir, suites):
    """The preset named in repro lines: the wrapper's choice, else what the binaries say, else the dir."""
    env_dir = os.environ.get("JOSTLE_BUILD_DIR")
    same_dir = env_dir and os.path.realpath(env_dir) == os.path.realpath(build_dir)
    if os.environ.get("JOSTLE_PRESET") and (same_dir or not env_dir):
        return os.environ["JOSTLE_PRESET"]  # the wrapper's choice, unless --build-dir pointed elsewhere
    for suite in suites:
        build = suite.version.get("build")
        if isinstance(build, dict) and build.get("preset"):
            return build["preset"]
        if suite.version.get("preset"):
            return suite.version["preset"]
    return os.path.basename(os.path.normpath(build_dir))


def _trim(text, keep):
    return text if len(text) <= keep else text[:keep] + f"\n[... {len(text) - keep} characters left out ...]\n"


def kept_bad_lines(raw):
    """The event-channel lines that broke the protocol: garbage as it came, protocol errors with their problem."""
    lines = list(raw.bad_lines[:20])
    lines += [f"[{problem}] {line}" for problem, line in raw.protocol_errors[:20 - len(lines)]]
    return lines


def run_record(session_id, seq, spec, raw, verdict, build, expect):
    """The RunRecord of one finished run (a RunResult judged by `verdict`)."""
    end = raw.event("end") or {}
    last_progress = raw.event("progress", last=True) or {}
    keep = PASS_OUTPUT_KEEP if verdict.code in ("PASS", "UNSUPPORTED") else execute.OUTPUT_KEEP
    return RunRecord(
        session=session_id, seq=seq, finished=now_iso(),
        instance=spec.instance, suite=spec.suite, expect=expect, batch=spec.batch, seed=spec.seed,
        iterations=spec.iterations,
        duration_ms=round(spec.duration_s * 1000) if spec.duration_s is not None else None,
        timeout_ms=round(spec.timeout_s * 1000), amplify=spec.amplify.as_record(),
        plugins=list(spec.plugins), build=build, argv=raw.argv,
        code=verdict.code, reason=verdict.reason, message=verdict.message,
        exit_code=raw.exit_code, signal=raw.signal, elapsed_ms=round(raw.elapsed_s * 1000, 3),
        iterations_done=end.get("iterations_done", last_progress.get("iterations_done")),
        outcomes=end.get("outcomes") or last_progress.get("outcomes") or {},
        metrics=end.get("metrics") or {},
        checks=raw.all_events("check"),
        checks_failed=end.get("checks_failed"), forbidden=end.get("forbidden"),
        start=raw.event("start"), hang=raw.event("hang"), end=bool(end),
        stacks=raw.stacks, stack_note=raw.stack_note,
        stdout=_trim(raw.stdout, keep), stderr=_trim(raw.stderr, keep),
        stdout_bytes=raw.stdout_bytes, stderr_bytes=raw.stderr_bytes,
        bad_lines=kept_bad_lines(raw), torn=raw.torn[:2000],
        sanitizer=verdict.sanitizer,
        suppressed=sanitizers.suppression_hits(raw.sanitizer_text) or None,
        sanitizer_log=_trim(raw.sanitizer_log or "", keep) or None,
        repro=repro_line(spec, build),
        amplify_applied=raw.amplify_applied,
        schedule=raw.event("schedule"),
        raw_files=raw.raw_files,
    )


# Stop policies: after which finished run a session (or a detect trial) starts no further run. The runs in
# flight finish either way.
STOP_NEVER = "never"              # the whole plan runs
STOP_UNEXPECTED = "unexpected"    # -x: a failing run of an instance expected to pass
STOP_DECIDED = "decided"          # detect: the first run that is not a PASS (a catch, or an ERROR/UNSUPPORTED)
STOP_POLICIES = (STOP_NEVER, STOP_UNEXPECTED, STOP_DECIDED)
# What a session's end record and log say when its policy stopped it.
STOP_NOTES = {STOP_UNEXPECTED: "-x: stopped after the first unexpected result",
              STOP_DECIDED: "stopped after the first run that was not a PASS"}


def stops(policy, code, expect):
    """Whether a finished run with this run-level code ends the starting of runs under `policy`."""
    if policy == STOP_UNEXPECTED:
        return code in outcome.RUN_FAILURES and expect == "pass"
    if policy == STOP_DECIDED:
        return code != "PASS"
    return False


def execute_run(spec, cancel, capture_stacks=True, raw_dir=None, hang_hold_s=execute.HANG_HOLD_S):
    """execute.run, with a runner bug in one worker turned into that run's ERROR instead of a hang."""
    try:
        return execute.run(spec, cancel, hang_hold_s=hang_hold_s, capture_stacks=capture_stacks, raw_dir=raw_dir)
    except Exception as exc:  # noqa: BLE001 - reported as the run's ERROR, with its text
        return execute.empty_result(discovery.command_words(spec.binary), f"runner error: {type(exc).__name__}: {exc}")


class Runs:
    """The execute -> classify loop every command's runs go through (session.run's sessions, detect's trials).

    Up to `jobs` runs at once, taken from `take()` (a RunSpec, or None when nothing more is to start); each finished
    run is classified and handed to `record(spec, raw, verdict)`; once a run meets the stop policy (`stopped` then
    holds that run's (spec, raw, verdict)), no further run starts and the ones in flight finish.
    `run_one(spec, cancel)` runs one harness process (execute_run unless a test or a command needs otherwise).
    Use it as a context manager: leaving it kills what still runs (also when the store failed mid-session) and
    waits for the workers.
    """

    def __init__(self, jobs, run_one=execute_run, stop=STOP_NEVER, expects=None):
        if stop not in STOP_POLICIES:
            raise ValueError(f"unknown stop policy {stop!r}")
        self.jobs = jobs
        self.run_one = run_one
        self.stop = stop
        self.expects = expects or {}
        self.cancel = threading.Event()
        self.running = {}
        self.stopped = None
        self._pool = ThreadPoolExecutor(max_workers=jobs)

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.cancel.set()
        self._pool.shutdown(wait=True)

    def drive(self, take, record, tick=None):
        """Start and finish runs until `take` has nothing more (or the stop policy stopped it) and none runs;
        `tick()` after every wait. A KeyboardInterrupt leaves the runs in flight to `interrupt`."""
        while True:
            while len(self.running) < self.jobs and self.stopped is None:
                spec = take()
                if spec is None:
                    break
                self.running[self._pool.submit(self.run_one, spec, self.cancel)] = spec
            if not self.running:
                return
            finished, _ = wait(self.running, timeout=0.25, return_when=FIRST_COMPLETED)
            for future in finished:
                self._finish(self.running.pop(future), future.result(), record)
            if tick:
                tick()

    def interrupt(self, record):
        """Kill the runs in flight; the ones that finished all the same (not marked interrupted) are recorded."""
        self.cancel.set()
        for future, spec in list(self.running.items()):
            raw = future.result()
            if not raw.interrupted:
                self._finish(spec, raw, record)
        self.running.clear()

    def _finish(self, spec, raw, record):
        verdict = classify.classify(raw)
        if self.stopped is None and stops(self.stop, verdict.code, self.expects.get(spec.instance, "pass")):
            self.stopped = (spec, raw, verdict)
        record(spec, raw, verdict)


def _on_sigterm(_signum, _frame):
    """SIGTERM (a CI cancel) is handled like Ctrl-C: keep what finished, render, exit 130."""
    raise KeyboardInterrupt()


def session_header(session_id, request, found, build, plan):
    """The store's `session` record: what was asked, on what machine and build, over which instances."""
    settings = request.settings
    return {
        "type": "session", "session": session_id, "command": request.command, "argv": list(request.argv),
        "started": now_iso(), "machine": machine_info(),
        "build": {"preset": build, "dir": os.path.abspath(request.build_dir),
                  "versions": {s.name: s.version for s in found.suites}},
        "config": {"mode": settings.mode, "runs": settings.runs, "budget_s": settings.budget_s, "jobs": settings.jobs,
                   "seed": settings.seed, "timeout_s": settings.timeout_s, "iterations": settings.iterations,
                   "amplify": settings.amplify.as_record(), "plugins": list(settings.plugins),
                   "target_rate": settings.target_rate, "confidence": settings.confidence, "sprt": settings.sprt,
                   "quarantine": list(request.quarantine), "runs_needed": plan.needed,
                   "shard": list(settings.shard) if settings.shard else None},
        "instances": found.instances, "backends": selection.selected_backends(found.suites, found.instances),
        "warnings": plan.warnings, "labels": dict(request.labels),
    }


def _say_new_session(writer, request, log):
    """run/stress never resume: say so when the store holds a session a killed runner left unfinished."""
    if writer.unfinished and request.command in ("run", "stress"):
        log(f"note: {request.out} holds {len(writer.unfinished)} unfinished session(s) (latest "
            f"{writer.unfinished[-1]}); this starts a new session, the finished runs of those stay in the store")


def _say_budget(settings, instances, plan, log):
    """Say up front how far past its budget a session can go, and what rated mutants may add."""
    if settings.budget_s is not None and instances:
        # The budget is when the last run starts (stress) or what sets each run's length (run); a run in flight
        # still has its watchdog.
        watchdog = max(settings.timeout_s or inst.get("timeout_ms", 30000) / 1000 for inst in instances)
        log(f"budget {settings.budget_s:g}s: " + (
            f"no run starts after it; a run in flight at the end may hang until its watchdog, so the session "
            f"ends within {settings.budget_s + watchdog * 1.1 + 3:.0f}s" if settings.mode != "run" else
            f"sets each run's length; a run that hangs past the deadlock check costs its watchdog "
            f"(up to {watchdog * 1.1 + 3:.0f}s)"))
    if plan.catch_budget_s():
        log(f"{plan.rated_mutants()} mutant instance(s) run with the settings their detect rating kills them with "
            f"(runner/jostle/detect_baseline.json) and rerun until caught: up to "
            f"{plan.catch_budget_s() / settings.jobs:.0f}s more at -j {settings.jobs} if every one escapes "
            f"(they usually die in their first run)")


def run(request, log):
    """Run or stress the selection of `request` (a SessionRequest) into its store; returns a SessionResult."""
    for path in sanitizers.suppression_files(discovery.repo_root()).values():
        sanitizers.load_suppressions(path)      # every entry needs a reason and an owner
    found = selection.for_request(request)
    build = build_preset(request.build_dir, found.suites)
    settings = request.settings

    writer = store.Writer(request.out, warn=log)
    _say_new_session(writer, request, log)
    reaper.clean_stale()        # run directories of runners killed together with their supervisor
    session_id = new_id()
    plan = Plan(found.instances, found.binaries, settings, history=store.run_seconds_history(request.out))
    for warning in plan.warnings:
        log("warning: " + warning)
    _say_budget(settings, found.instances, plan, log)
    note = amplify.autogroup_note(settings.amplify.mode)
    if note:
        log(f"warning: {note}")
    writer.append(session_header(session_id, request, found, build, plan))
    instances = found.instances
    expects = {inst["id"]: inst["expect"] for inst in instances}
    progress = Progress(total=plan.total, stream=request.progress_stream or sys.stderr, mode=request.progress)
    seq = 0
    failing = 0
    notes = 0
    status = "complete"
    stop = None           # why no further run starts (the stop policy, e.g. -x)

    def run_one(spec, cancel):
        return execute_run(spec, cancel, request.capture_stacks, os.path.join(request.out, RAW_DIR))

    runs = Runs(settings.jobs, run_one, request.stop, expects)

    def record(spec, raw, verdict):
        nonlocal seq, notes, failing, stop
        seq += 1
        writer.append(run_record(session_id, seq, spec, raw, verdict, build, expects[spec.instance]).to_json())
        failed = verdict.code in outcome.RUN_FAILURES
        failing += failed
        plan.observe(spec, failed, caught=verdict.code in outcome.CATCHING, elapsed_s=raw.elapsed_s)
        progress.total = plan.total      # a rated mutant that escaped a run gets another one
        progress.finished_run(failed)
        if runs.stopped is not None and stop is None:
            stop = f"{STOP_NOTES[request.stop]} ({verdict.code} {spec.instance})"
            log(stop + "; the runs in flight finish")
        if failed and expects[spec.instance] == "pass":
            notes += 1
            if notes <= LIVE_FAILURE_NOTES:
                progress.note(one_line(f"{verdict.code}: {spec.instance} seed={spec.seed}: {verdict.message}", 400))
            elif notes == LIVE_FAILURE_NOTES + 1:
                progress.note("further failures are in the summary and the reports")

    def tick():
        progress.running = len(runs.running)
        progress.tick()

    previous_sigterm = signal.signal(signal.SIGTERM, _on_sigterm)
    plan.start()
    progress.deadline = plan.deadline
    try:
        with runs:
            try:
                runs.drive(plan.take, record, tick)
            except KeyboardInterrupt:
                status = "interrupted"
                # From here on a second Ctrl-C would only lose data; finishing up takes moments.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                runs.interrupt(record)
                log("interrupted: finished runs are in the store; rendering the reports")
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)
        progress.running = 0
        progress.close()
    elapsed = round(progress.clock() - progress.started, 3)
    end = {"type": "session_end", "session": session_id, "finished": now_iso(), "status": status,
           "elapsed_s": elapsed, "runs": seq}
    if stop:
        end["stopped"] = stop
    if plan.sprt_decisions():
        end["sprt"] = plan.sprt_decisions()
    writer.append(end)
    writer.close()
    return SessionResult(session=session_id, status=status, runs=seq, failing_runs=failing, elapsed_s=elapsed,
                         build=build)
