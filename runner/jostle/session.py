"""The session pipeline every command reuses: SessionRequest -> discover -> select -> plan -> execute ->
classify -> store -> SessionResult. Rendering the reports is the caller's (the CLI's) business.

run, stress, gate (two phases) and soak (chunks) all come through `run`; see records.py for the types.
"""

import os
import platform
import signal
import socket
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from jostle import classify, discovery, execute, outcome, reaper, sanitizers, selection, store
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
    if os.environ.get("JOSTLE_PRESET"):
        return os.environ["JOSTLE_PRESET"]
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
    )


def _safe_run(spec, cancel, capture_stacks):
    """execute.run, with a runner bug in one worker turned into that run's ERROR instead of a hang."""
    try:
        return execute.run(spec, cancel, capture_stacks=capture_stacks)
    except Exception as exc:  # noqa: BLE001 - reported as the run's ERROR, with its text
        return execute.empty_result(discovery.command_words(spec.binary), f"runner error: {type(exc).__name__}: {exc}")


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
    writer.append(session_header(session_id, request, found, build, plan))
    instances = found.instances
    expects = {inst["id"]: inst["expect"] for inst in instances}
    progress = Progress(total=plan.total, stream=request.progress_stream or sys.stderr, mode=request.progress)
    cancel = threading.Event()
    seq = 0
    failing = 0
    notes = 0
    status = "complete"

    def record(spec, raw):
        nonlocal seq, notes, failing
        verdict = classify.classify(raw)
        seq += 1
        writer.append(run_record(session_id, seq, spec, raw, verdict, build, expects[spec.instance]).to_json())
        failed = verdict.code in outcome.RUN_FAILURES
        failing += failed
        plan.observe(spec, failed)
        progress.finished_run(failed)
        if failed and expects[spec.instance] == "pass":
            notes += 1
            if notes <= LIVE_FAILURE_NOTES:
                progress.note(one_line(f"{verdict.code}: {spec.instance} seed={spec.seed}: {verdict.message}", 400))
            elif notes == LIVE_FAILURE_NOTES + 1:
                progress.note("further failures are in the summary and the reports")

    previous_sigterm = signal.signal(signal.SIGTERM, _on_sigterm)
    plan.start()
    progress.deadline = plan.deadline
    running = {}
    pool = ThreadPoolExecutor(max_workers=settings.jobs)
    try:
        while True:
            while len(running) < settings.jobs:
                spec = plan.take()
                if spec is None:
                    break
                running[pool.submit(_safe_run, spec, cancel, request.capture_stacks)] = spec
            progress.running = len(running)
            if not running:
                break
            finished, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
            for future in finished:
                record(running.pop(future), future.result())
            progress.running = len(running)
            progress.tick()
    except KeyboardInterrupt:
        status = "interrupted"
        # From here on a second Ctrl-C would only lose data; finishing up takes moments.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cancel.set()
        for future, spec in running.items():
            raw = future.result()
            if not raw.interrupted:
                record(spec, raw)
        log("interrupted: finished runs are in the store; rendering the reports")
    finally:
        # Also reached when the store fails mid-session: running processes must not be waited out.
        cancel.set()
        pool.shutdown(wait=True)
        signal.signal(signal.SIGTERM, previous_sigterm)
        progress.running = 0
        progress.close()
    elapsed = round(progress.clock() - progress.started, 3)
    end = {"type": "session_end", "session": session_id, "finished": now_iso(), "status": status,
           "elapsed_s": elapsed, "runs": seq}
    if plan.sprt_decisions():
        end["sprt"] = plan.sprt_decisions()
    writer.append(end)
    writer.close()
    return SessionResult(session=session_id, status=status, runs=seq, failing_runs=failing, elapsed_s=elapsed,
                         build=build)
