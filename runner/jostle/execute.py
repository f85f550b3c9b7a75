"""Run one planned harness process in isolation and collect everything it left behind.

Each run gets its own process group (so a kill reaches every thread and child), its own event
file and its own stdout/stderr files in a private run directory (jostle.reaper: both are cleaned up even
when the runner is killed). A hang is handled in two steps: when the harness's watchdog writes its `hang`
event (or the runner's own deadline passes first) every thread's stack is captured with gdb or eu-stack,
then the group is killed.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict

from jostle import amplify, discovery, protocol, reaper, sanitizers
from jostle.records import RunResult

POLL_S = 0.05
# Kept in the record per stream: the head and the tail, which is where reports and crashes are.
OUTPUT_KEEP = 64 * 1024
# Scanned for sanitizer reports; larger streams are scanned in their first and last part only.
OUTPUT_SCAN = 16 * 1024 * 1024
STACK_KEEP = 256 * 1024
STACK_TOOL_TIMEOUT_S = 60
# The harness holds a hung process this long after its hang event, while gdb attaches.
HANG_HOLD_S = 30


def runner_deadline_s(timeout_s):
    """When the runner stops waiting for a harness whose own watchdog should have fired at timeout_s."""
    return timeout_s * 1.1 + 3.0


def child_env(base=None, log_dir=None):
    """The environment for harness processes: our sanitizer options (sanitizers.options_env), user's on top.

    Reports go to files in log_dir, one per tool and process, so they never mix with the output.
    """
    root = discovery.repo_root()
    return sanitizers.options_env(os.environ if base is None else base, log_dir=log_dir, root=root,
                                  suppressions=sanitizers.suppression_files(root))


def read_bounded(path, keep=OUTPUT_KEEP):
    """(text kept, total bytes): the whole file when small, else its head and tail with a marker."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            if size <= keep:
                data = f.read()
            else:
                head = f.read(keep // 2)
                f.seek(size - keep // 2)
                tail = f.read()
                data = head + f"\n[... {size - len(head) - len(tail)} bytes left out ...]\n".encode() + tail
    except OSError:
        return "", 0
    return data.decode("utf-8", "backslashreplace"), size


def read_for_scan(path):
    text, _ = read_bounded(path, OUTPUT_SCAN)
    return text


def capture_stacks(pid):
    """Every thread's backtrace of a live process, with the tool used; (None, reason) when none worked."""
    attempts = []
    if shutil.which("gdb"):
        attempts.append(("gdb", ["gdb", "-batch", "-nx", "-p", str(pid), "-ex", "thread apply all bt"]))
    if shutil.which("eu-stack"):
        attempts.append(("eu-stack", ["eu-stack", "-p", str(pid)]))
    problems = []
    for tool, argv in attempts:
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=STACK_TOOL_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            problems.append(f"{tool}: {exc}")
            continue
        out = done.stdout.decode("utf-8", "backslashreplace")
        # gdb exits 0 even when it could not attach; a "Thread" line is the sign it saw threads.
        if "Thread" in out or "TID" in out or "#0" in out:
            if len(out) > STACK_KEEP:
                out = out[:STACK_KEEP] + "\n[... stacks cut ...]\n"
            return out, tool
        err = done.stderr.decode("utf-8", "backslashreplace").strip().splitlines()
        problems.append(f"{tool}: {err[-1] if err else 'no output'}")
    if not attempts:
        problems.append("neither gdb nor eu-stack is installed")
    return None, "; ".join(problems)


def _kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def empty_result(argv, spawn_error=None):
    """The raw facts of a run before anything happened (or of one that could not start)."""
    return RunResult(argv=list(argv), spawn_error=spawn_error)


NO_STACKS_NOTE = "not captured: this command measures the time to the failure, not to a post-mortem"


def run(spec, cancel=None, env=None, hang_hold_s=HANG_HOLD_S, capture_stacks=True, raw_dir=None):
    """Run `spec` (a plan.RunSpec) to the end; returns its RunResult.

    `cancel` is a threading.Event; when set, the run is killed and marked interrupted. Without
    `capture_stacks` a hung run is killed at once (no debugger attaches; its stack_note says so).
    With `raw_dir`, a run whose record could not keep everything (an event line cut, output beyond the
    kept head and tail) leaves its full event stream and output there; `raw_files` names the directory.
    """
    workdir = reaper.make_run_dir()
    try:
        raw = _run_in(spec, workdir, cancel, child_env(env, log_dir=workdir), hang_hold_s, capture_stacks)
        if raw_dir is not None and _was_cut(raw):
            raw["raw_files"] = keep_raw_files(workdir, raw_dir, spec)
        return RunResult(**raw)
    finally:
        reaper.remove_run_dir(workdir)


def _was_cut(raw):
    return bool(raw["protocol_errors"] or raw["dropped_events"] or raw["stdout_bytes"] > OUTPUT_KEEP
                or raw["stderr_bytes"] > OUTPUT_KEEP)


def keep_raw_files(workdir, raw_dir, spec):
    """Move the run's events, stdout and stderr into a fresh directory under raw_dir; its path relative to
    raw_dir's parent (the store), or None when that failed (the record keeps what it kept)."""
    try:
        os.makedirs(raw_dir, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_.@=" else "_" for c in spec.instance)[:120]
        target = tempfile.mkdtemp(prefix=f"{safe}-{spec.seed}-", dir=raw_dir)
        for name in ("events.jsonl", "stdout", "stderr"):
            if os.path.exists(os.path.join(workdir, name)):
                shutil.move(os.path.join(workdir, name), os.path.join(target, name))
        return os.path.join(os.path.basename(raw_dir), os.path.basename(target))
    except OSError:
        return None


def _run_in(spec, workdir, cancel, env, hang_hold_s, capture):
    events_path = os.path.join(workdir, "events.jsonl")
    out_path = os.path.join(workdir, "stdout")
    err_path = os.path.join(workdir, "stderr")
    argv = protocol.run_argv(spec.binary, spec) + [
        "--events", events_path, "--hang-hold", f"{int(hang_hold_s * 1000)}ms", "--quiet"]
    shaker = None
    if spec.amplify.os != amplify.OsKnobs():
        shaker = amplify.OsShaker(spec.amplify.os, trace_dir=workdir)
        argv = shaker.wrap(argv)
    raw = asdict(empty_result(argv))
    reader = protocol.EventReader()
    started = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                    start_new_session=True, close_fds=True)
        except OSError as exc:
            raw["spawn_error"] = f"cannot start {discovery.command_words(spec.binary)[0]}: {exc.strerror or exc}"
            return raw
    reaper.watch_group(proc.pid)
    try:
        if shaker is not None:
            shaker.start(proc.pid)
        return _wait(spec, proc, raw, reader, started, cancel, workdir, events_path, out_path, err_path, capture)
    finally:
        # Whatever went wrong in the runner, the harness and its children do not outlive the run.
        _reap(proc)
        if shaker is not None:
            raw["amplify_applied"] = shaker.stop()


def _reap(proc):
    _kill_group(proc.pid)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    reaper.forget_group(proc.pid)


def _wait(spec, proc, raw, reader, started, cancel, workdir, events_path, out_path, err_path, capture):
    deadline = started + runner_deadline_s(spec.timeout_s)
    offset = 0
    returncode = None
    while returncode is None:
        try:
            returncode = proc.wait(timeout=POLL_S)
        except subprocess.TimeoutExpired:
            pass
        offset = _feed(reader, events_path, offset)
        if returncode is not None:
            break
        if cancel is not None and cancel.is_set():
            raw["interrupted"] = True
            _kill_group(proc.pid)
            returncode = proc.wait()
            break
        hang = reader.first("hang") is not None
        if hang or time.monotonic() >= deadline:
            raw["hang_seen"] = hang
            raw["runner_deadline"] = not hang
            raw["stacks"], raw["stack_note"] = capture_stacks(proc.pid) if capture else (None, NO_STACKS_NOTE)
            _kill_group(proc.pid)
            returncode = proc.wait()
    raw["elapsed_s"] = time.monotonic() - started
    # Children the harness started may outlive it; the group goes with the run.
    _kill_group(proc.pid)
    _feed(reader, events_path, offset)
    if returncode < 0:
        raw["signal"] = -returncode
    else:
        raw["exit_code"] = returncode
    raw["events"], raw["bad_lines"], raw["torn"] = reader.events, reader.bad_lines, reader.torn
    raw["protocol_errors"], raw["dropped_events"] = reader.protocol_errors, reader.dropped
    raw["stdout"], raw["stdout_bytes"] = read_bounded(out_path)
    raw["stderr"], raw["stderr_bytes"] = read_bounded(err_path)
    raw["sanitizer_text"] = read_for_scan(err_path) if raw["stderr_bytes"] > OUTPUT_KEEP else raw["stderr"]
    raw["sanitizer_log"] = sanitizers.read_logs(workdir, OUTPUT_SCAN)
    raw["sanitizer_text"] += raw["sanitizer_log"]
    return raw


FEED_CHUNK = 1024 * 1024


def _feed(reader, path, offset):
    """Feed what was appended to the event file since `offset`, a bounded chunk at a time."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            while True:
                data = f.read(FEED_CHUNK)
                if not data:
                    break
                reader.feed(data)
                offset += len(data)
    except FileNotFoundError:
        pass
    return offset
