"""The run/stress pipeline: discover -> select -> plan -> execute -> classify -> store -> report -> exit code."""

import datetime
import os
import platform
import signal
import socket
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from jostle import classify, discovery, execute, outcome, sanitizers, selection, store
from jostle.plan import Plan
from jostle.progress import Progress
from jostle.replay import repro_line
from reports.text import one_line

# A PASS run keeps only this much of its output: the store would otherwise grow by the output of
# every clean run, which nobody reads.
PASS_OUTPUT_KEEP = 4096
# Failures printed live while a session runs; the rest are in the summary and the reports.
LIVE_FAILURE_NOTES = 20


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


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


def run_record(session_id, seq, spec, raw, verdict, build, expect):
    """The store's record of one finished run: plain JSON, complete enough to report and replay it."""
    code, reason, message = verdict
    events = raw["events"]
    end = next((e for e in events if e.get("ev") == "end"), None) or {}
    last_progress = next((e for e in reversed(events) if e.get("ev") == "progress"), None) or {}
    keep = PASS_OUTPUT_KEEP if code in ("PASS", "UNSUPPORTED") else execute.OUTPUT_KEEP
    return {
        "type": "run", "session": session_id, "seq": seq, "finished": now_iso(),
        "instance": spec.instance, "suite": spec.suite, "expect": expect, "batch": spec.batch, "seed": spec.seed,
        "iterations": spec.iterations,
        "duration_ms": round(spec.duration_s * 1000) if spec.duration_s is not None else None,
        "timeout_ms": round(spec.timeout_s * 1000), "amplify": spec.amplify.as_record(),
        "plugins": list(spec.plugins), "build": build, "argv": raw["argv"],
        "code": code, "reason": reason, "message": message,
        "exit_code": raw["exit_code"], "signal": raw["signal"], "elapsed_ms": round(raw["elapsed_s"] * 1000, 3),
        "iterations_done": end.get("iterations_done", last_progress.get("iterations_done")),
        "outcomes": end.get("outcomes") or last_progress.get("outcomes") or {},
        "metrics": end.get("metrics") or {},
        "checks": [e for e in events if e.get("ev") == "check"],
        "checks_failed": end.get("checks_failed"), "forbidden": end.get("forbidden"),
        "start": next((e for e in events if e.get("ev") == "start"), None),
        "hang": next((e for e in events if e.get("ev") == "hang"), None),
        "end": bool(end),
        "stacks": raw["stacks"], "stack_note": raw["stack_note"],
        "stdout": _trim(raw["stdout"], keep), "stderr": _trim(raw["stderr"], keep),
        "stdout_bytes": raw["stdout_bytes"], "stderr_bytes": raw["stderr_bytes"],
        "bad_lines": raw["bad_lines"][:20], "torn": raw["torn"][:2000],
        "sanitizer": sanitizers.scan(raw["sanitizer_text"]) if code in ("SANITIZER", "ERROR") else None,
        "suppressed": sanitizers.suppression_hits(raw.get("sanitizer_text")) or None,
        "sanitizer_log": _trim(raw.get("sanitizer_log") or "", keep) or None,
        "repro": repro_line(spec, build),
        "amplify_applied": raw.get("amplify_applied"),
        "schedule": next((e for e in events if e.get("ev") == "schedule"), None),
    }


def _safe_run(spec, cancel):
    """execute.run, with a runner bug in one worker turned into that run's ERROR instead of a hang."""
    try:
        return execute.run(spec, cancel)
    except Exception as exc:  # noqa: BLE001 - reported as the run's ERROR, with its text
        return execute.empty_result([spec.binary], f"runner error: {type(exc).__name__}: {exc}")


def _on_sigterm(_signum, _frame):
    """SIGTERM (a CI cancel) is handled like Ctrl-C: keep what finished, render, exit 130."""
    raise KeyboardInterrupt()


def run_session(opts, log):
    """Run or stress the selection described by `opts` into the store at opts.out; returns the session id."""
    for path in sanitizers.suppression_files(discovery.repo_root()).values():
        sanitizers.load_suppressions(path)      # every entry needs a reason and an owner
    binaries, suites, instances = selection.from_build(opts)
    backends = selection.selected_backends(suites, instances)
    build = build_preset(opts.build_dir, suites)

    writer = store.Writer(opts.out, warn=log)
    session_id = datetime.datetime.now().strftime("%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:6]
    plan = Plan(instances, binaries, opts.settings, history=store.run_seconds_history(opts.out))
    for warning in plan.warnings:
        log("warning: " + warning)
    settings = opts.settings
    if settings.budget_s is not None and instances:
        # The budget is when the last run starts (stress) or what sets each run's length (run); a run in flight
        # still has its watchdog, so say up front how far past the budget the session can go.
        watchdog = max(settings.timeout_s or inst.get("timeout_ms", 30000) / 1000 for inst in instances)
        log(f"budget {settings.budget_s:g}s: " + (
            f"no run starts after it; a run in flight at the end may hang until its watchdog, so the session "
            f"ends within {settings.budget_s + watchdog * 1.1 + 3:.0f}s" if settings.mode != "run" else
            f"sets each run's length; a run that hangs past the deadlock check costs its watchdog "
            f"(up to {watchdog * 1.1 + 3:.0f}s)"))
    writer.append({
        "type": "session", "session": session_id, "command": opts.command, "argv": opts.argv,
        "started": now_iso(), "machine": machine_info(),
        "build": {"preset": build, "dir": os.path.abspath(opts.build_dir),
                  "versions": {s.name: s.version for s in suites}},
        "config": {"mode": settings.mode, "runs": settings.runs, "budget_s": settings.budget_s, "jobs": settings.jobs,
                   "seed": settings.seed, "timeout_s": settings.timeout_s, "iterations": settings.iterations,
                   "amplify": settings.amplify.as_record(), "plugins": list(settings.plugins),
                   "target_rate": settings.target_rate, "confidence": settings.confidence, "sprt": settings.sprt,
                   "quarantine": opts.quarantine, "runs_needed": plan.needed,
                   "shard": list(settings.shard) if settings.shard else None},
        "instances": instances, "backends": backends, "warnings": plan.warnings,
        "labels": getattr(opts, "labels", None) or {},
    })
    if plan.catch_budget_s():
        rated = plan.rated_mutants()
        log(f"{rated} mutant instance(s) run with the settings their detect rating kills them with "
            f"(runner/jostle/detect_baseline.json) and rerun until caught: up to "
            f"{plan.catch_budget_s() / settings.jobs:.0f}s more at -j {settings.jobs} if every one escapes "
            f"(they usually die in their first run)")
    expects = {inst["id"]: inst["expect"] for inst in instances}
    progress = Progress(total=plan.total, stream=opts.progress_stream, mode=opts.progress)
    cancel = threading.Event()
    seq = 0
    notes = 0
    status = "complete"
    stop = None           # -x/--exitfirst: why no further run starts

    def record(spec, raw):
        nonlocal seq, notes, stop
        verdict = classify.classify(raw)
        seq += 1
        writer.append(run_record(session_id, seq, spec, raw, verdict, build, expects[spec.instance]))
        failed = verdict[0] in outcome.RUN_FAILURES
        plan.observe(spec, failed, raw.get("elapsed_s"))
        progress.total = plan.total      # a rated mutant that escaped a run gets another one
        progress.finished_run(failed)
        if failed and expects[spec.instance] == "pass":
            if getattr(opts, "exitfirst", False) and stop is None:
                stop = f"-x: stopped after the first unexpected result ({verdict[0]} {spec.instance})"
                log(stop + "; the runs in flight finish")
            notes += 1
            if notes <= LIVE_FAILURE_NOTES:
                progress.note(one_line(f"{verdict[0]}: {spec.instance} seed={spec.seed}: {verdict[2]}", 400))
            elif notes == LIVE_FAILURE_NOTES + 1:
                progress.note("further failures are in the summary and the reports")

    previous_sigterm = signal.signal(signal.SIGTERM, _on_sigterm)
    plan.start()
    progress.deadline = plan.deadline
    running = {}
    pool = ThreadPoolExecutor(max_workers=settings.jobs)
    try:
        while True:
            while len(running) < settings.jobs and stop is None:
                spec = plan.take()
                if spec is None:
                    break
                running[pool.submit(_safe_run, spec, cancel)] = spec
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
            if not raw["interrupted"]:
                record(spec, raw)
        log("interrupted: finished runs are in the store; rendering the reports")
    finally:
        # Also reached when the store fails mid-session: running processes must not be waited out.
        cancel.set()
        pool.shutdown(wait=True)
        signal.signal(signal.SIGTERM, previous_sigterm)
        progress.running = 0
        progress.close()
    end = {"type": "session_end", "session": session_id, "finished": now_iso(), "status": status,
           "elapsed_s": round(progress.clock() - progress.started, 3), "runs": seq}
    if stop:
        end["stopped"] = stop
    if plan.sprt_decisions():
        end["sprt"] = plan.sprt_decisions()
    writer.append(end)
    writer.close()
    return session_id
