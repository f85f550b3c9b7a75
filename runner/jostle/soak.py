"""`jostle soak --for 8h --store DIR`: stress the selection in chunks, with amplification, into one store.

A soak is a row of ordinary stress sessions (chunks) labelled with the soak id and its night, so
the dashboard can group them. Its plan lives in DIR/soak.json: the wall-clock deadline, the night
label and the chunks done. Interrupted (Ctrl-C, SIGTERM, a reboot), the same command resumes it
with the time that is left; the deadline is never moved, so the budget holds across restarts.
"""

import dataclasses
import datetime
import json
import os
import time

from jostle import session, store
from jostle.errors import EXIT_INTERRUPTED, EXIT_OK, InfraError
from jostle.records import derive_seed, new_id, random_seed
from jostle.units import human_duration

STATE_FILE = "soak.json"
DEFAULT_CHUNK_S = 15 * 60
# A chunk shorter than this is not started: the session overhead would dominate it.
MIN_CHUNK_S = 2.0


def _state_path(out):
    return os.path.join(out, STATE_FILE)


def load_state(out):
    path = _state_path(out)
    try:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InfraError(f"{path}: unreadable soak state ({exc}); move it aside to start a new soak") from None
    if not isinstance(state, dict) or "deadline" not in state:
        raise InfraError(f"{path}: not a soak state file; move it aside to start a new soak")
    problem = state_problem(state)
    if problem:
        raise InfraError(f"{path}: {problem}; fix it or move it aside (`--fresh` starts a new soak)")
    return state


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# field -> (test, what it should be); every field a resumed soak reads.
_STATE_FIELDS = {
    "soak": (lambda v: isinstance(v, str), "a string"),
    "night": (lambda v: isinstance(v, str), "a string"),
    "for_s": (_number, "seconds (a number)"),
    "started": (_number, "a Unix time (a number)"),
    "deadline": (_number, "a Unix time (a number)"),
    "chunks": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a whole number >= 0"),
    "sessions": (lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v), "a list of session ids"),
    "finished": (lambda v: isinstance(v, bool), "true or false"),
    "seed": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a whole number >= 0"),
}


def state_problem(state):
    """The first field of a soak state that a resume could not use, as 'field X: expected ..., got ...'."""
    for field, (test, want) in _STATE_FIELDS.items():
        if field not in state:
            return f"field '{field}' is missing"
        if not test(state[field]):
            return f"field '{field}': expected {want}, got {state[field]!r}"[:200]
    return None


def save_state(out, state):
    path = _state_path(out)
    tmp = path + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise InfraError(f"cannot write {path}: {exc.strerror or exc}") from None


def begin(out, for_s, night=None, seed=None, fresh=False, clock=time.time, log=None):
    """The soak to run in `out`: the unfinished one there (resumed), else a new one."""
    state = None if fresh else load_state(out)
    now = clock()
    if state and not state.get("finished") and state["deadline"] > now + MIN_CHUNK_S:
        if log:
            log(f"soak: resuming {state['soak']} (night {state['night']}): "
                f"{human_duration(state['deadline'] - now)} left of {human_duration(state['for_s'])}, "
                f"{state['chunks']} chunk(s) done")
        return state
    state = {"soak": new_id(),
             "night": night or datetime.date.today().isoformat(), "for_s": for_s, "started": now,
             "deadline": now + for_s, "chunks": 0, "sessions": [], "finished": False,
             "seed": seed if seed is not None else random_seed()}
    save_state(out, state)
    if log:
        log(f"soak: {state['soak']} (night {state['night']}) for {human_duration(for_s)} into {out}")
    return state


def run(request, for_s, chunk_s, night, fresh, log, run_session=session.run, clock=time.time):
    """Run (or resume) a soak: chunks of `request` (a stress SessionRequest) until the soak's deadline."""
    out = request.out
    store.prepare_out_dir(out)
    state = begin(out, for_s, night, request.settings.seed, fresh, clock, log)
    while True:
        left = state["deadline"] - clock()
        if left < MIN_CHUNK_S:
            break
        chunk = state["chunks"]
        # The chunk counts before it runs: a soak killed mid-chunk resumes with the next chunk's seeds, so no
        # (instance, seed) runs twice.
        state["chunks"] = chunk + 1
        save_state(out, state)
        settings = dataclasses.replace(request.settings, mode="stress", runs=None, budget_s=min(chunk_s, left),
                                       seed=derive_seed(state["seed"], chunk))
        result = run_session(dataclasses.replace(request, command="soak", settings=settings, labels={
            "soak": state["soak"], "night": state["night"], "chunk": chunk}), log)
        state["sessions"].append(result.session)
        save_state(out, state)
        if result.status != "complete":
            log(f"soak: interrupted; run the same command again to resume "
                f"({human_duration(max(0.0, state['deadline'] - clock()))} left)")
            return EXIT_INTERRUPTED
    state["finished"] = True
    save_state(out, state)
    log(f"soak: {state['soak']} finished: {state['chunks']} chunk(s)")
    return EXIT_OK
