"""The runner's typed records: what a session is asked to do, what one run left behind, what the store keeps.

    SessionRequest --session.run--> [RunSpec --execute.run--> RunResult --classify--> Verdict] --> RunRecord
                                  \\-> SessionResult (id, status, counts)

The bracket is session.Runs, the loop detect's trials share; RunRecord.from_store is how the query layer hands
stored runs to the reports.

This module is neutral ground: the store, the query layer and the reports import it, and it imports
nothing of the pipeline (a request's settings are a plan.Settings, named in a comment only). It also owns the three
things every command used to spell out for itself: session ids, seeds (64-bit) and the jobs default.
"""

from __future__ import annotations

import datetime
import os
import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from jostle import store_schema
from jostle.errors import InfraError

SEED_MASK = (1 << 64) - 1


# -- the one place for ids, seeds and defaults ---------------------------------------------------------------

def new_id():
    """A session (or gate, soak, bench, detect) id: sortable local time plus 6 random hex digits."""
    return datetime.datetime.now().strftime("%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:6]


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def random_seed():
    """A fresh 63-bit base seed (fits every signed 64-bit consumer, and the harness's --seed)."""
    return int.from_bytes(os.urandom(8), "little") >> 1


def derive_seed(base, k):
    """The base seed of the k-th sub-session (gate phase, soak chunk): far apart, so batches never collide."""
    return (base + (k << 32)) & SEED_MASK


def default_jobs():
    """Parallel runs when -j is not given: the CPUs of this process's affinity mask."""
    return len(os.sched_getaffinity(0))


# -- a session --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Found:
    """What discovery found in a build: {suite: binary}, the Suite list and the instances a selection kept."""

    binaries: dict
    suites: list
    instances: list


@dataclass(frozen=True)
class SessionRequest:
    """Everything session.run needs; commands build one (dataclasses.replace for variants) and never mutate it."""

    command: str                          # run, stress, gate, soak: recorded in the session header
    build_dir: str
    out: str
    settings: Any                         # plan.Settings: mode, budget, jobs, seed, amplification, ...
    suites: tuple = ()                    # selection: --suite, --backend, --case, --mutants
    backends: tuple = ()
    cases: tuple = ()
    mutants: bool = False
    kinds: tuple | None = None            # keep only instances of these kinds (gate phases)
    found: Found | None = None            # discovery already done (gate discovers once for its phases)
    harnesses: dict | None = None         # {suite: command} instead of build_dir's binaries (test262 bridge)
    quarantine: tuple = ()
    argv: tuple = ()
    labels: dict = field(default_factory=dict)
    progress: str = "auto"
    progress_stream: Any = None           # None: stderr
    capture_stacks: bool = True           # gdb/eu-stack on a hang before the kill
    stop: str = "never"                   # session.STOP_*: after which run no further run starts (-x: "unexpected")

    @property
    def plugins(self):
        return tuple(self.settings.plugins)


@dataclass(frozen=True)
class SessionResult:
    """What a caller learns from session.run without reading the store back."""

    session: str
    status: str                           # complete or interrupted
    runs: int
    failing_runs: int
    elapsed_s: float
    build: str                            # the preset named in repro lines


# -- one run ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunResult:
    """The raw facts of one harness process, as execute.run collected them (nothing judged yet)."""

    argv: list
    exit_code: int | None = None
    signal: int | None = None
    elapsed_s: float = 0.0
    events: list = field(default_factory=list)
    bad_lines: list = field(default_factory=list)
    torn: str = ""
    stdout: str = ""
    stderr: str = ""
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    stacks: str | None = None
    stack_note: str | None = None
    hang_seen: bool = False
    runner_deadline: bool = False
    spawn_error: str | None = None
    interrupted: bool = False
    sanitizer_text: str = ""              # stderr (head and tail when large) plus the sanitizer log files
    sanitizer_log: str = ""
    amplify_applied: Any = None
    protocol_errors: list = field(default_factory=list)   # [(problem, the line cut)]: ERROR [protocol]
    dropped_events: int = 0               # events over the reader's per-kind caps, counted only
    raw_files: str | None = None          # where the full event stream and output went when the record cut them

    def event(self, kind, last=False):
        """The first (or last) event of this kind, or None."""
        seq = reversed(self.events) if last else self.events
        return next((e for e in seq if e.get("ev") == kind), None)

    def all_events(self, kind):
        return [e for e in self.events if e.get("ev") == kind]


@dataclass(frozen=True)
class Verdict:
    """classify's judgement of a RunResult; `sanitizer` is the scan it made (None when clean), kept for the record."""

    code: str
    reason: str
    message: str
    sanitizer: dict | None = None


# -- the stored record ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunRecord:
    """One finished run as the store keeps it: plain JSON, complete enough to report and replay it."""

    session: str
    seq: int
    instance: str
    code: str
    finished: str | None = None
    suite: str | None = None
    expect: str = "pass"
    batch: int | None = None
    seed: int | None = None
    iterations: int | None = None
    duration_ms: int | None = None
    timeout_ms: int | None = None
    amplify: dict | None = None
    plugins: list = field(default_factory=list)
    build: str | None = None
    argv: list = field(default_factory=list)
    reason: str | None = None
    message: str | None = None
    exit_code: int | None = None
    signal: int | None = None
    elapsed_ms: float | None = None
    iterations_done: int | None = None
    outcomes: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    checks: list = field(default_factory=list)
    checks_failed: int | None = None
    forbidden: int | None = None
    start: dict | None = None
    hang: dict | None = None
    end: bool = False
    stacks: str | None = None
    stack_note: str | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    bad_lines: list = field(default_factory=list)
    torn: str = ""
    sanitizer: dict | None = None
    suppressed: dict | None = None
    sanitizer_log: str | None = None
    repro: str | None = None
    amplify_applied: Any = None
    schedule: dict | None = None
    raw_files: str | None = None          # directory with the full events/stdout/stderr of a run that was cut

    TYPE = "run"

    def to_json(self):
        """The store line's fields (the store adds `schema`); validated first, so a bad record never lands."""
        data = {"type": self.TYPE, **asdict(self)}
        _validate(data, "run record")
        return data

    @classmethod
    def from_store(cls, line):
        """The RunRecord of a store line store.load already checked (so no second check); unknown keys are dropped,
        missing ones take their defaults."""
        return cls(**{k: line[k] for k in _RUN_FIELDS.intersection(line)})

    @classmethod
    def from_json(cls, data, where="run record"):
        """A RunRecord from a store line; InfraError (one line, naming the field) when it is not one."""
        if not isinstance(data, dict) or data.get("type", cls.TYPE) != cls.TYPE:
            raise InfraError(f"{where}: not a run record")
        _validate({"type": cls.TYPE, **data}, where)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


_RUN_FIELDS = frozenset(f.name for f in fields(RunRecord))


def _validate(data, where):
    """One check for every road into the store: store_schema's (the same one store.load applies to every line)."""
    problem = store_schema.record_problem(data)
    if problem:
        raise InfraError(f"{where}: {problem}")
