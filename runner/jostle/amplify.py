"""Amplification: how each run is shaken, kept as one record per run so that every run says how.

A session asks for a mode (`--amplify none|os|chaos|pct|mix`); every run then draws its concrete
settings from its own seed (`Amplification.for_run`), so a repro line carries exactly what that run
had (docs/amplification.md):

  none   plain repetition
  os     knobs any binary takes: CPU placement (taskset, checked against the allowed cpuset and
         reported when it did not take), oversubscription (extra copies), background busy loops,
         a victim thread moved to SCHED_IDLE or nice 19 while the run goes, and `rr record --chaos`
         where a probe shows rr can record
  chaos  the harness's chaos points in random mode (yield / spin / log-uniform sleep / victim stall)
  pct    the harness's PCT scheduler, depth d cycled 1..3 over runs
  preempt  signals that interrupt the case's threads at random instants wherever they are (inside a
         plugin, inside libc) and make them yield or sleep: reaches code without chaos points
  steer  preempt aimed inside plugin calls: at a call's entry, with probability P (drawn per run), a one-shot
         interrupt timed within that call site's learnt duration (no untargeted interrupts)
  step   steer's aim by single-stepping instead of a timer: the aimed call is stepped for a drawn number of
         instructions of the plugin's code and the yield or sleep happens there (reaches a call's first
         instructions, which a timer cannot)
  mix    per run one of the above (chaos-heavy: that is what the measurements favour)
  hostile  the harshest schedule for false-positive hunting: every run pinned to one CPU with a busy loop
         pinned beside it, under chaos points (even seeds) or PCT (odd seeds); a correct backend must
         still pass (docs/detection.md, "False positives")

Long because: the modes share one record (Amplification) and one per-run draw; the OS knobs (OsShaker) are the
bulk and would move to their own module first.
"""

import os
import random
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field, replace

from jostle.errors import UsageError

MODES = ("none", "os", "chaos", "pct", "preempt", "steer", "step", "mix", "hostile")
# What `mix` draws, with weights: chaos points dominate because they amplify most per second
# (docs/detection.md); 1 CPU + yields is the best single combination measured on 2 cores.
MIX = (("chaos", 35), ("chaos+pin", 25), ("pct", 25), ("os", 15))
# What `mix` draws for an instance whose primitive is reached through the plugin ABI (a --plugin library, an
# opaque mutant, a mutant plugin): chaos points exist there only at the ABI boundary, and steered interrupts are
# what reach inside the library (docs/detection.md, "Opaque mutants, second set"): a timer deep inside a call
# (steer), single-stepping to one of its first instructions (step; "Stepped aim on the opaque corpus").
MIX_PLUGIN = (("steer", 20), ("step", 20), ("chaos", 20), ("chaos+pin", 15), ("pct", 15), ("os", 10))
CHAOS_P = (0.02, 0.05, 0.1)
CHAOS_ACTIONS = ("yield+sleep", "yield+spin+sleep", "yield+sleep+stall", "sleep")
PREEMPT_INTERVAL_US = (100, 200, 500, 1000)
PREEMPT_ACTIONS = ("yield+sleep", "yield", "sleep")
STEER_P = (0.03, 0.1, 0.3)  # steer: probability that a plugin call gets an interrupt aimed inside it
STEP_P = (0.01, 0.03, 0.1)  # step: probability that a plugin call is single-stepped to a drawn instruction
VICTIM_PERIOD_S = 0.01
VICTIM_RESCAN = 20          # periods between scans for the harness's child processes (an engine, agents)
_RR_PROBE = {}

# The harness's --chaos grammar (harness/src/chaos.cc, configure()), checked here so that a bad spec is a
# usage error before any run starts instead of one ERROR [usage] per run.
CHAOS_ACTIONS_ACCEPTED = ("yield", "spin", "sleep", "stall", "spurious", "timeout")
_CHAOS_RANGES = {   # key -> (low, high, whole number only, what to say)
    "p": (0, 1, False, "a probability in [0,1]"),
    "cap": (0, 100, False, "0..100 (fraction of wall time)"),
    "d": (1, 10, True, "1..10 (PCT depth)"),
    "actors": (0, 256, True, "0..256"),
    "k": (0, 1e9, True, "a whole number 0..1000000000"),
    "spin_bound": (0, 1e9, True, "a whole number 0..1000000000"),
    "tick_ns": (1, 1e9, True, "a whole number 1..1000000000"),
    **{key: (1, 1e7, False, "1..10000000") for key in
       ("sleep_max_us", "stall_us", "token_wait_us", "poll_us", "start_wait_us")},
}
_CHAOS_KEYS = ("mode", "p", "actions", "sleep_max_us", "stall_us", "cap", "swarm", "d", "k", "token_wait_us",
               "poll_us", "start_wait_us", "spin_bound", "actors", "settle", "vclock", "tick_ns")


def chaos_problem(spec):
    """What is wrong with a --chaos spec, as the harness would say it, or None when it reads."""
    # The harness reads items up to the last comma: one trailing comma is allowed, an empty item is not.
    for item in (spec[:-1] if spec.endswith(",") else spec).split(","):
        key, eq, value = item.partition("=")
        if not eq:
            return f"setting {item!r} is not key=value"
        if key == "mode":
            if value not in ("random", "pct"):
                return f"mode must be random or pct, got {value!r}"
        elif key == "actions":
            for action in value.split("+"):
                if action not in CHAOS_ACTIONS_ACCEPTED:
                    return f"unknown action {action!r} (accepted: {', '.join(CHAOS_ACTIONS_ACCEPTED)})"
        elif key in ("swarm", "settle", "vclock"):
            if value not in ("0", "1"):
                return f"{key} must be 0 or 1, got {value!r}"
        elif key in _CHAOS_RANGES:
            low, high, whole, want = _CHAOS_RANGES[key]
            try:
                number = float(value)
            except ValueError:
                return f"{key} must be {want}, got {value!r}"
            if not low <= number <= high or (whole and number != int(number)):
                return f"{key} must be {want}, got {value!r}"
        else:
            return f"unknown setting {key!r} (accepted: {', '.join(_CHAOS_KEYS)})"
    settings = dict(item.partition("=")[::2] for item in spec.split(",") if "=" in item)
    if settings.get("vclock") == "1" and settings.get("mode") != "pct":
        return "vclock=1 is a PCT option (mode=pct,vclock=1)"
    return None


@dataclass(frozen=True)
class OsKnobs:
    """Runner-side knobs for one run; all optional."""

    cpus: tuple = ()        # pin the harness to these CPUs (taskset); () = leave as is
    copies: int = 0         # extra copies of the same command run alongside (oversubscription)
    load: int = 0           # background busy-loop processes
    victim: str = ""        # "idle" (SCHED_IDLE) or "nice" (nice 19): one random thread at a time
    rr: bool = False        # run under `rr record --chaos` (only where rr can record)

    def word(self):
        """The repro-line form, e.g. `cpus=1;copies=1;load=2;victim=idle` ('' when nothing is set)."""
        parts = []
        if self.cpus:
            parts.append("cpus=" + "+".join(str(c) for c in self.cpus))
        if self.copies:
            parts.append(f"copies={self.copies}")
        if self.load:
            parts.append(f"load={self.load}")
        if self.victim:
            parts.append(f"victim={self.victim}")
        if self.rr:
            parts.append("rr=1")
        return ";".join(parts)

    @classmethod
    def parse(cls, text):
        knobs = {}
        for part in filter(None, (text or "").split(";")):
            key, sep, value = part.partition("=")
            try:
                if not sep:
                    raise ValueError
                if key == "cpus":
                    knobs["cpus"] = tuple(int(c) for c in value.split("+"))
                elif key in ("copies", "load"):
                    knobs[key] = int(value)
                    if knobs[key] < 0:
                        raise ValueError
                elif key == "victim" and value in ("idle", "nice"):
                    knobs["victim"] = value
                elif key == "rr" and value in ("0", "1"):
                    knobs["rr"] = value == "1"
                else:
                    raise ValueError
            except ValueError:
                raise UsageError(f"os knobs: cannot read {part!r} (accepted: cpus=0+1, copies=N, load=N, "
                                 f"victim=idle|nice, rr=0|1)") from None
        return cls(**knobs)

    def as_record(self):
        return {"cpus": list(self.cpus), "copies": self.copies, "load": self.load, "victim": self.victim,
                "rr": self.rr}


@dataclass(frozen=True)
class Amplification:
    mode: str = "none"          # what the session asked for
    chaos: str | None = None    # the harness --chaos spec of this run (or the user's, for every run)
    drawn: str | None = None    # what this run drew: none, os, chaos, chaos+pin, pct (None: not drawn yet)
    os: OsKnobs = field(default_factory=OsKnobs)
    user_chaos: bool = False    # --chaos given by hand: used verbatim, never drawn

    @classmethod
    def from_options(cls, mode, chaos):
        if mode not in MODES:
            raise UsageError(f"--amplify: unknown mode {mode!r} (accepted: {', '.join(MODES)})")
        if chaos is not None and not chaos.strip():
            raise UsageError("--chaos: empty spec (example: p=0.01,actions=yield+spin+sleep)")
        problem = chaos_problem(chaos) if chaos else None
        if problem:
            raise UsageError(f"--chaos {chaos!r}: {problem} (example: p=0.01,actions=yield+spin+sleep; "
                             f"docs/amplification.md)")
        if chaos and mode == "none":
            mode = "chaos"
        return cls(mode, chaos, user_chaos=bool(chaos))

    def for_run(self, seed, allowed_cpus=None, salt="", through_plugin=False):
        """The concrete settings of the run with this seed (a pure function of mode, seed, salt, the cpuset and
        whether the instance's primitive is a plugin's: then `mix` draws from MIX_PLUGIN).

        The planner salts with the instance id, so the runs of one batch (which share a seed) spread over the
        mix instead of all drawing the same mode; the drawn settings are recorded, so replay needs no salt.
        """
        if self.drawn is not None:
            return self
        rng = random.Random(f"amplify:{self.mode}:{seed}:{salt}")
        cpus = sorted(allowed_cpus if allowed_cpus is not None else os.sched_getaffinity(0))
        kind = self.mode
        if kind == "mix":
            table = MIX_PLUGIN if through_plugin else MIX
            kind = rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]
        chaos, knobs = (self.chaos if self.user_chaos else None), OsKnobs()
        if kind in ("chaos", "chaos+pin") and not self.user_chaos:
            chaos = (f"p={rng.choice(CHAOS_P)},actions={rng.choice(CHAOS_ACTIONS)}"
                     f"{',swarm=1' if rng.random() < 0.2 else ''}")
        if kind == "chaos+pin":
            knobs = OsKnobs(cpus=(rng.choice(cpus),))
        if kind == "pct" and not self.user_chaos:
            chaos = f"mode=pct,d={1 + seed % 3}"
        if kind == "preempt" and not self.user_chaos:
            # clock=cpu: interrupts only while the thread runs. Wall-clock timers also wake every sleeping thread,
            # which pushed a correct 55-thread case past its watchdog deadline (docs/amplification.md).
            chaos = (f"mode=preempt,clock=cpu,interval_us={rng.choice(PREEMPT_INTERVAL_US)},"
                     f"actions={rng.choice(PREEMPT_ACTIONS)}")
        if kind == "steer" and not self.user_chaos:
            # interval_us=0: only the steered interrupts (the untargeted ones measured x1.6-x2.0 on opaque code).
            chaos = (f"mode=preempt,interval_us=0,steer={rng.choice(STEER_P)},"
                     f"actions={rng.choice(PREEMPT_ACTIONS)}")
        if kind == "step" and not self.user_chaos:
            chaos = (f"mode=preempt,interval_us=0,steer={rng.choice(STEP_P)},aim=step,"
                     f"actions={rng.choice(PREEMPT_ACTIONS)}")
        if kind == "os":
            knobs = draw_os(rng, cpus)
        if kind == "hostile":
            if not self.user_chaos:
                chaos = (f"mode=pct,d={1 + (seed >> 1) % 3}" if seed % 2 else
                         f"p={rng.choice(CHAOS_P)},actions={rng.choice(CHAOS_ACTIONS)}")
            knobs = OsKnobs(cpus=(rng.choice(cpus),), load=1)
        return replace(self, chaos=chaos, drawn=kind, os=knobs)

    def harness_args(self):
        return ["--chaos", self.chaos] if self.chaos else []

    def as_record(self):
        record = {"mode": self.mode, "chaos": self.chaos}
        if self.drawn is not None:
            record["drawn"] = self.drawn
        if self.os != OsKnobs():
            record["os"] = self.os.as_record()
        return record

    @classmethod
    def from_record(cls, record):
        record = record or {}
        knobs = record.get("os") or {}
        return cls(record.get("mode", "none"), record.get("chaos"), record.get("drawn"),
                   OsKnobs(tuple(knobs.get("cpus", ())), knobs.get("copies", 0), knobs.get("load", 0),
                           knobs.get("victim", ""), knobs.get("rr", False)))


AUTOGROUP = "/proc/sys/kernel/sched_autogroup_enabled"


def autogroup_note(mode, path=AUTOGROUP):
    """A warning for a session whose busy loops would share a CPU thread-for-thread with the run ('' if none).

    The busy loop runs in a session of its own. With the kernel's autogroup on (Debian's default) that session is
    a scheduling group of its own, and the run's threads share their CPU with it as a group; with autogroup off
    the loop competes with each thread, and a thread that yields the CPU hands it the rest of a scheduler slice.
    Measured 4 Dec: futex/lost_wakeup_storm under hostile PCT ran past its 10 s watchdog with autogroup off (its
    waker yielded at every PCT step); a case's spin-wait no longer yields under PCT (chaos::pct()), and detection.md's
    run 10 was made with autogroup off (docs/amplification.md, "hostile").
    """
    if mode not in ("hostile", "os", "mix"):
        return ""
    try:
        with open(path) as f:
            enabled = f.read().strip()
    except OSError:
        return ""
    if enabled != "0":
        return ""
    return (f"{path} is 0: busy loops of --amplify {mode} compete with each thread of a run, not as a group; "
            f"a thread that yields the CPU gives a loop the rest of a scheduler slice, so runs are slower than "
            f"with it on (docs/amplification.md, 'hostile'). Set it to 1 to measure what Debian's default gives")


def draw_os(rng, cpus):
    """One OS profile: each knob on or off independently (swarm style), never all off."""
    n = len(cpus)
    while True:
        pin = rng.random() < 0.5
        knobs = OsKnobs(cpus=(rng.choice(cpus),) if pin else (),
                        copies=rng.choice((0, 0, 1, n)),
                        load=rng.choice((0, 0, n)),
                        victim=rng.choice(("", "", "idle", "nice")),
                        rr=rng.random() < 0.5 and rr_probe()[0])
        if knobs != OsKnobs():
            return knobs


def _descendants(pid):
    """Process ids below `pid`, from the parent links in /proc/*/stat (no /proc/.../children needed)."""
    parents = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
            parents[int(name)] = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        frontier = [p for p, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _threads_below(pid, processes=None):
    """Thread ids of `pid` and of the given descendant processes (default: found now); raises OSError once
    `pid` is gone."""
    tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    for child in _descendants(pid) if processes is None else processes:
        try:
            tids += [int(t) for t in os.listdir(f"/proc/{child}/task")]
        except OSError:
            continue
    return tids


def rr_probe():
    """(usable, reason): whether `rr record` works here. Probed once per process."""
    if "result" not in _RR_PROBE:
        rr = shutil.which("rr")
        if rr is None:
            _RR_PROBE["result"] = (False, "rr is not installed")
        else:
            try:
                done = subprocess.run([rr, "record", "-n", "true"], capture_output=True, timeout=60,
                                      stdin=subprocess.DEVNULL, check=False)
                text = (done.stderr or b"").decode("utf-8", "replace").strip().splitlines()
                _RR_PROBE["result"] = (done.returncode == 0,
                                       "rr records" if done.returncode == 0 else
                                       f"rr cannot record here: {text[-1] if text else 'exit %d' % done.returncode}")
            except (OSError, subprocess.TimeoutExpired) as exc:
                _RR_PROBE["result"] = (False, f"rr probe failed: {exc}")
    return _RR_PROBE["result"]


class OsShaker:
    """Applies one run's OsKnobs around the harness process and reports what took.

    Use: argv = shaker.wrap(argv); start the process; shaker.start(pid); ...; shaker.stop();
    shaker.report is a plain dict for the run record.
    """

    def __init__(self, knobs, trace_dir=None, allowed=None):
        self.knobs = knobs
        self.trace_dir = trace_dir
        self.allowed = set(allowed if allowed is not None else os.sched_getaffinity(0))
        self.report = {}
        self.notes = []
        self._procs = []
        self._stop = threading.Event()
        self._thread = None
        self._victims = 0
        self._victim_errors = set()
        self._argv = None
        self.cpus = tuple(c for c in knobs.cpus if c in self.allowed)
        if knobs.cpus and not self.cpus:
            self.notes.append(f"cpus {'+'.join(map(str, knobs.cpus))} not in the allowed cpuset "
                              f"{sorted(self.allowed)}: not pinned")
        self.rr = False
        if knobs.rr:
            usable, reason = rr_probe()
            self.rr = usable
            if not usable:
                self.notes.append(f"rr skipped: {reason}")

    def wrap(self, argv):
        argv = list(argv)
        if self.rr:
            argv = ["rr", "record", "--chaos", "-o", os.path.join(self.trace_dir or ".", "rr-trace")] + argv
        if self.cpus and shutil.which("taskset"):
            argv = ["taskset", "-c", ",".join(map(str, self.cpus))] + argv
        elif self.cpus:
            self.notes.append("taskset not installed: not pinned")
            self.cpus = ()
        self._argv = argv
        return argv

    def start(self, pid):
        self.pid = pid
        if self.cpus:
            self._check_affinity(pid)
        # Background busy loops compete for the run's own CPU when it is pinned (that is the pressure that
        # matters), for any CPU otherwise.
        # The loop ends by itself when the runner is gone (kill -0 on its pid, a shell builtin): a runner killed
        # with SIGKILL cannot stop it, and a loop left behind skews everything that runs after.
        busy = ["/bin/sh", "-c", f"while kill -0 {os.getpid()} 2>/dev/null; do :; done"]
        if self.cpus and shutil.which("taskset"):
            busy = ["taskset", "-c", ",".join(map(str, self.cpus))] + busy
        for _ in range(self.knobs.load):
            self._spawn(busy)
        for _ in range(self.knobs.copies):
            if self._argv:
                self._spawn(self._copy_argv())
        if self.knobs.victim:
            self._thread = threading.Thread(target=self._victimize, daemon=True)
            self._thread.start()

    def _copy_argv(self):
        # The copy must not share the run's event file or hold its hang for stack capture.
        argv, out, skip = list(self._argv), [], 0
        for i, word in enumerate(argv):
            if skip:
                skip -= 1
                continue
            if word in ("--events", "--hang-hold"):
                skip = 1
                continue
            out.append(word)
        return out

    def _spawn(self, argv):
        try:
            self._procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL, start_new_session=True))
        except OSError as exc:
            self.notes.append(f"cannot start {argv[0]}: {exc}")

    def _check_affinity(self, pid):
        # taskset sets the mask before exec; the harness's threads inherit it. Read it back to be sure.
        deadline = time.monotonic() + 1.0
        got = None
        while time.monotonic() < deadline:
            try:
                got = os.sched_getaffinity(pid)
            except OSError:
                return
            if got == set(self.cpus):
                self.report["affinity"] = sorted(got)
                return
            time.sleep(0.002)
        self.report["affinity"] = sorted(got) if got is not None else None
        self.notes.append(f"pinning to {list(self.cpus)} did not take (affinity {sorted(got or ())})")

    def _victimize(self):
        """rr's starvation idea without rr: every period, one random live thread of the harness (not the
        main thread) or of a process it started (a JavaScript engine and its agent threads, forked agents)
        goes to SCHED_IDLE / nice 19 and the previous victim back to normal."""
        rng = random.Random(self.pid)
        previous = None
        processes, rounds = [], 0
        while not self._stop.wait(VICTIM_PERIOD_S):
            if rounds % VICTIM_RESCAN == 0:   # a /proc scan per period would cost more than it shakes
                processes = _descendants(self.pid)
            rounds += 1
            try:
                tids = [t for t in _threads_below(self.pid, processes) if t != self.pid]
            except OSError:
                return
            if previous is not None:
                self._set(previous, normal=True)
            if not tids:
                previous = None
                continue
            previous = rng.choice(tids)
            if self._set(previous, normal=False):
                self._victims += 1

    def _set(self, tid, normal):
        try:
            if self.knobs.victim == "idle":
                policy = os.SCHED_OTHER if normal else os.SCHED_IDLE
                os.sched_setscheduler(tid, policy, os.sched_param(0))
            else:
                os.setpriority(os.PRIO_PROCESS, tid, 0 if normal else 19)
            return True
        except ProcessLookupError:
            return False
        except OSError as exc:
            if not normal:
                self._victim_errors.add(exc.strerror or str(exc))
            return False

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for proc in self._procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if self.knobs.victim:
            self.report["victims"] = self._victims
            if self._victim_errors:
                self.notes.append("victim: " + "; ".join(sorted(self._victim_errors)))
        if self.knobs.load:
            self.report["load"] = self.knobs.load
        if self.knobs.copies:
            self.report["copies"] = self.knobs.copies
        if self.rr:
            self.report["rr_trace"] = os.path.join(self.trace_dir or ".", "rr-trace")
        if self.notes:
            self.report["notes"] = list(self.notes)
        return self.report
