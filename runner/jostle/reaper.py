"""Nothing outlives a killed runner: a supervisor process that kills the runs' process groups and removes their
temporary directories when the runner dies, however it dies (SIGKILL included).

The runner starts it once (lazily, on its first run) in a session of its own, so that a kill of the runner's
process group does not take it along, and keeps the write end of a pipe to it. Each run registers its process
group and its run directory, and unregisters them when it is over. When the runner exits or is killed the
kernel closes the pipe; the supervisor reads end-of-file, kills every group still registered, removes every
directory still registered and exits.

Why not PR_SET_PDEATHSIG in each harness: it would need a preexec_fn, which is unsafe while the runner's worker
threads start processes; it would reach only the harness itself, not the processes it forked (agents); and it
cannot remove a directory. Run directories also carry the runner's pid in their name, so that the next session
removes those of a runner whose supervisor was killed as well (clean_stale).

This file runs as a script (the supervisor) and is imported by execute (the runner's side); it needs only
the standard library.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

RUN_DIR_PARENT = "jostle-runs"
_lock = threading.Lock()
_pipe = None


def run_dir_parent():
    """Where run directories live: $TMPDIR/jostle-runs-UID/ (one per user, so that cleaning is safe)."""
    return os.path.join(tempfile.gettempdir(), f"{RUN_DIR_PARENT}-{os.getuid()}")


def make_run_dir():
    """A private directory for one run, named after this runner's pid and registered with the supervisor."""
    parent = run_dir_parent()
    os.makedirs(parent, mode=0o700, exist_ok=True)
    path = tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=parent)
    _send(f"+ 0 {path}")
    return path


def remove_run_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    _send(f"- 0 {path}")


def watch_group(pgid):
    _send(f"+ {pgid} -")


def forget_group(pgid):
    _send(f"- {pgid} -")


def clean_stale():
    """Remove run directories whose runner is gone (its supervisor was killed too); returns how many."""
    parent = run_dir_parent()
    try:
        names = os.listdir(parent)
    except OSError:
        return 0
    removed = 0
    for name in names:
        pid = name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
            removed += 1
    return removed


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _send(line):
    """Tell the supervisor (started on first use); a supervisor that cannot start costs the guarantee, not the run."""
    global _pipe
    with _lock:
        if _pipe is None:
            _pipe = _start()
        if _pipe is False:
            return
        try:
            os.write(_pipe, (line + "\n").encode("utf-8", "surrogateescape"))
        except OSError:
            _pipe = False


def _start():
    read_end, write_end = os.pipe()
    try:
        subprocess.Popen([sys.executable, os.path.abspath(__file__)], stdin=read_end, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    except OSError:
        os.close(write_end)
        return False
    finally:
        os.close(read_end)
    return write_end


def supervise(stream):
    """The supervisor's loop: track registrations until end-of-file, then clean up what is left."""
    groups, dirs = set(), set()
    for line in stream:
        sign, _, rest = line.rstrip("\n").partition(" ")
        pgid, _, path = rest.partition(" ")
        target_groups = groups if pgid != "0" else None
        if sign == "+":
            if target_groups is not None:
                groups.add(int(pgid))
            if path != "-":
                dirs.add(path)
        elif sign == "-":
            if target_groups is not None:
                groups.discard(int(pgid))
            if path != "-":
                dirs.discard(path)
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
    for path in dirs:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C reaches the terminal's group; the runner handles it
    supervise(sys.stdin)
