"""`jostle detect`: how fast each amplification mode kills each mutant (docs/detection.md).

For every mutant instance a selection picks (expect=fail in `--list`: the mutant's declared
catchers) and every mode, N independent trials each run the instance again and again, each run
with a fresh seed and the mode's per-run settings, until the first caught failure (FAIL, TIMEOUT,
CRASH, SANITIZER) or the budget. A trial records killed or not, wall seconds and runs to the first
failure, and the failing repro line; PCT, preempt and steer kills are replayed from their seed R times. Per mutant and
mode the summary gives the kill count, the median seconds and runs (a trial that escaped counts as
the budget, so a median over escapes is a lower bound, marked >=), and the speed-up over `none`.

What a trial measures depends on the batch: at each case's default iterations most catchers fail in
their first run by design, so every mode ties. `--iterations 1` (or a few) makes every run one small
batch, so plain repetition needs many runs and the modes differ in what each run is worth; `--hang-timeout
S` gives the runs of the mutants the baseline lists as hang-detected a short watchdog deadline, so a
lost wakeup costs S, not the case's declared timeout (only those: on a mutant caught by a failed
check, a short deadline would turn a slow run into a kill). Hung runs are killed without the post-mortem stack capture (`run` would take one
with gdb): the time to first failure is the failure's, not the debugger's.

Besides the medians, each cell has its exposure (seconds run, escaped trials counting their whole
budget) and kills; exposure / kills estimates the mean time to failure, and with no kill the rule of
three bounds it from below (exposure / 3, 95%). The rate speed-up over `none` uses those, so a mode
killing in 0.5 s against a `none` that never killed in 90 s of exposure is reported as >= x60.

`--quick` is the CI form: only the mutants of the checked-in baseline (detect_baseline.json) that
are known to be reliably killed, one trial each in their recorded mode and budget; one that escapes gets
up to two more trials at twice the budget (a loaded machine, an unlucky seed), and exit 1 if every trial
of one escapes. The baseline also lists the mutants known to be undetectable here, and those killed in some trials
only (`unreliable`: too rare for one CI trial), each with the reason.
"""

import argparse
import json
import os
import statistics
import time
import zlib
from dataclasses import asdict, dataclass, field

from jostle import engines, outcome, selection, session, store
from jostle.amplify import MODES, Amplification
from jostle.errors import EXIT_OK, EXIT_UNEXPECTED, UsageError
from jostle.plan import RunSpec
from jostle.query_detect import rate_speedups, speedups
from jostle.records import SEED_MASK, new_id, now_iso, random_seed
from jostle.replay import repro_line
from jostle.units import parse_duration

DEFAULT_MODES = ("none", "os", "chaos", "pct", "preempt", "steer")
QUICK_RETRIES = 2      # --quick: extra trials (twice the budget each) before a reliably killed mutant counts as escaped
BASELINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "detect_baseline.json")


@dataclass
class Trial:
    killed: bool
    seconds: float
    runs: int
    code: str | None = None          # the catching result, or ERROR/UNSUPPORTED when the trial could not go on
    message: str = ""
    seed: int | None = None
    repro: str | None = None
    schedule: dict | None = None      # the failing run's schedule event (pct: trace, priorities, change points)
    replays: int | None = None        # pct/preempt/steer kills: how many of `replays_tried` reruns of the seed failed again
    replays_tried: int | None = None
    pass_max_s: float = 0.0           # the longest passing run: close to the timeout, a TIMEOUT kill is suspect


@dataclass(frozen=True)
class DetectResult:
    session: str            # the detect-session id in the store (the CLI renders detect.html from it)
    exit_code: int


@dataclass
class Cell:
    """One (mutant instance, mode)."""

    instance: str
    mode: str
    budget_s: float
    trials: list = field(default_factory=list)

    def summary(self):
        killed = [t for t in self.trials if t.killed]
        secs = [t.seconds if t.killed else self.budget_s for t in self.trials]
        runs = [t.runs for t in self.trials]
        med = statistics.median(secs) if secs else None
        censored = med is not None and sum(1 for t in self.trials if not t.killed) * 2 >= len(self.trials)
        replays = [(t.replays, t.replays_tried) for t in killed if t.replays_tried]
        exposure = sum(secs)
        return {"instance": self.instance, "mode": self.mode, "trials": len(self.trials), "killed": len(killed),
                "median_s": med, "median_censored": censored,
                "median_runs": statistics.median(runs) if runs else None,
                "runs": sum(runs), "exposure_s": exposure,
                # Mean time to failure: exposure / kills; with no kill, exposure / 3 is a 95% lower bound.
                "mttf_s": exposure / len(killed) if killed else exposure / 3, "mttf_bound": not killed,
                "codes": sorted({t.code for t in killed if t.code}),
                "pass_max_s": max((t.pass_max_s for t in self.trials), default=0.0),
                "errors": sum(1 for t in self.trials if not t.killed and t.code in ("ERROR", "UNSUPPORTED")),
                "replayed": [sum(r for r, _ in replays), sum(n for _, n in replays)] if replays else None}


def trial_seed(base, instance, mode, trial, run):
    h = zlib.crc32(f"{instance}|{mode}|{trial}".encode())
    return (base * 1000003 + h * 65537 + run) & SEED_MASK


def run_without_stacks(spec, cancel=None):
    """One run, minus the gdb stack capture of a hung run (seconds of debugger time per hang)."""
    return session.execute_run(spec, cancel, capture_stacks=False, hang_hold_s=1)


def run_trial(inst, binary, mode, trial, budget_s, base_seed, build, run_fn=run_without_stacks,
              clock=None, replays=0, iterations=None, timeout_s=None):
    """Repeat the instance under `mode` until its first caught failure or the budget.

    The runs go through the shared loop (session.Runs) one at a time, stopping at the first run that is not a PASS;
    `run_fn(spec, cancel)` runs one. `timeout_s` (if given) replaces the case's declared watchdog deadline for every
    run, never raising it.
    """
    clock = clock or time.monotonic
    amp = Amplification.from_options(mode, None)
    declared_s = (inst.get("timeout_ms") or 30000) / 1000
    if timeout_s:
        declared_s = min(declared_s, timeout_s)
    start = clock()
    started = []          # when each run started
    pass_max = 0.0

    def take():
        remaining = budget_s - (clock() - start)
        if remaining <= 0:
            return None
        seed = trial_seed(base_seed, inst["id"], mode, trial, len(started))
        started.append(clock())
        return RunSpec(instance=inst["id"], suite=inst["suite"], binary=binary, seed=seed, batch=len(started) - 1,
                       iterations=iterations or inst.get("iterations"), duration_s=None,
                       timeout_s=min(declared_s, max(remaining, 1.0)), amplify=amp.for_run(seed))

    def record(spec, _raw, verdict):
        nonlocal pass_max
        if verdict.code == "PASS":
            pass_max = max(pass_max, clock() - started[spec.batch])

    with session.Runs(1, run_fn, session.STOP_DECIDED) as runs:
        runs.drive(take, record)
    runs_done = len(started)
    if runs.stopped is None:
        return Trial(False, budget_s, runs_done, pass_max_s=pass_max)
    spec, raw, verdict = runs.stopped
    if verdict.code in outcome.CATCHING:
        hang = raw.event("hang")
        deadlock = hang is not None and hang.get("reason") == "deadlock"
        if verdict.code == "TIMEOUT" and spec.timeout_s < declared_s and not deadlock:
            # Cut short by the budget: not the hang the case declares, so not a kill. (A deadlock report is
            # no deadline: every thread asleep for good is a kill whatever the watchdog was set to.)
            return Trial(False, budget_s, runs_done, pass_max_s=pass_max)
        t = Trial(True, clock() - start, runs_done, verdict.code, verdict.message, spec.seed, repro_line(spec, build),
                  raw.event("schedule"), pass_max_s=pass_max)
        if replays and spec.amplify.drawn in ("pct", "preempt", "steer", "step"):
            t.replays_tried = replays
            t.replays = replayed_catches(spec, replays, run_fn)
        return t
    return Trial(False, clock() - start, runs_done, verdict.code, verdict.message, spec.seed, repro_line(spec, build),
                 pass_max_s=pass_max)


def replayed_catches(spec, replays, run_fn):
    """How many of `replays` reruns of exactly `spec` (its seed, its schedule) are caught again."""
    left = [spec] * replays
    caught = []
    with session.Runs(1, run_fn) as runs:
        runs.drive(lambda: left.pop() if left else None,
                   lambda _spec, _raw, verdict: caught.append(verdict.code in outcome.CATCHING))
    return sum(caught)


def load_baseline(path=BASELINE):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise UsageError(f"detect baseline {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"detect baseline {path}: not JSON ({exc})") from None
    if not isinstance(data.get("hang_detected", {}), dict):
        raise UsageError(f"detect baseline {path}: 'hang_detected' must be an object")
    for key in ("reliably_killed", "undetectable"):
        if not isinstance(data.get(key), dict):
            raise UsageError(f"detect baseline {path}: '{key}' must be an object")
    if not isinstance(data.setdefault("unreliable", {}), dict):
        raise UsageError(f"detect baseline {path}: 'unreliable' must be an object")
    for key in ("undetectable", "unreliable"):
        for inst, reason in data[key].items():
            if not isinstance(reason, str) or len(reason) < 10:
                raise UsageError(f"detect baseline {path}: {key} {inst!r} needs a reason")
    return data


def _difficulties(suites, instances):
    by_backend = {}
    for suite in suites:
        for b in getattr(suite, "backends", []) or []:
            by_backend[(suite.name, b.get("name"))] = b.get("difficulty", "")
    return {i["id"]: by_backend.get((i["suite"], i["backend"]), "") for i in instances}


def run(args, log, run_fn=run_without_stacks):
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        if m not in MODES:
            raise UsageError(f"--modes: unknown mode {m!r} (accepted: {', '.join(MODES)})")
    found = selection.from_build(args.build_dir, args.suites, args.backends, args.cases, True, args.plugin,
                                 engines.binaries(args) if engines.wanted(args) else None)
    binaries, suites = found.binaries, found.suites
    mutants = [i for i in found.instances if i["expect"] == "fail"]
    wanted = getattr(args, "instances", None)
    if wanted:
        missing = sorted(set(wanted) - {i["id"] for i in mutants})
        if missing:
            raise UsageError(f"--instance: not a mutant instance of the selection: {', '.join(missing)}")
        mutants = [i for i in mutants if i["id"] in set(wanted)]
    baseline = load_baseline(args.baseline) if (args.quick or args.baseline != BASELINE) else None
    if args.quick:
        plan = []
        for inst in mutants:
            entry = baseline["reliably_killed"].get(inst["id"])
            if entry:
                plan.append((inst, [entry.get("mode", "chaos")], float(entry.get("budget_s", args.budget_per_mutant)), 1,
                             entry.get("iterations"), entry.get("timeout_s")))
        unrated = [i["id"] for i in mutants if i["id"] not in baseline["reliably_killed"]
                   and i["id"] not in baseline["undetectable"] and i["id"] not in baseline["unreliable"]]
        for inst_id in unrated:
            log(f"note: {inst_id} is in neither list of the detect baseline (new mutant? rate it)")
    else:
        hangs = load_baseline(args.baseline).get("hang_detected", {}) if getattr(args, "hang_timeout", None) else {}
        plan = [(inst, modes, args.budget_per_mutant, args.trials, getattr(args, "iterations", None),
                 args.hang_timeout if inst["id"] in hangs else None) for inst in mutants]
    if not plan:
        raise UsageError("detect: the selection has no mutant instance (expect=fail) to measure")
    build = os.path.basename(os.path.normpath(args.build_dir))
    writer = store.Writer(args.out, warn=log)
    session_id = new_id()
    base_seed = args.seed if args.seed is not None else random_seed()
    writer.append({
        "type": "detect-session", "session": session_id, "started": now_iso(), "argv": getattr(args, "argv", []),
        "modes": modes, "budget_per_mutant_s": args.budget_per_mutant, "trials": args.trials, "seed": base_seed, "quick": args.quick,
        "build": build, "iterations": getattr(args, "iterations", None),
        "difficulties": _difficulties(suites, [p[0] for p in plan]),
        "hang_timeout_s": getattr(args, "hang_timeout", None)})
    summaries, escaped = [], []
    for inst, inst_modes, budget_s, trials, iterations, timeout_s in plan:
        for mode in inst_modes:
            cell = Cell(inst["id"], mode, budget_s)
            t = 0
            while t < trials:
                # The quick form's retries: a reliably killed mutant that escapes one trial (a slow, loaded CI
                # machine; one unlucky seed) gets QUICK_RETRIES more, each with twice the budget. It only
                # counts as escaped when every one escapes: a case that stopped catching it escapes them all.
                trial_budget = budget_s * (2 if args.quick and t else 1)
                trial = run_trial(inst, binaries[inst["suite"]], mode, t, trial_budget, base_seed, build, run_fn,
                                  replays=args.replays, iterations=iterations, timeout_s=timeout_s)
                cell.trials.append(trial)
                log(f"{inst['id']} [{mode}] trial {t + 1}/{trials}: "
                    + (f"killed ({trial.code}) after {trial.seconds:.2f}s, {trial.runs} run(s)" if trial.killed
                       else f"{trial.code or 'escaped'} after {trial.seconds:.1f}s, {trial.runs} run(s)"))
                t += 1
                if args.quick and t == trials and not any(x.killed for x in cell.trials) \
                        and trials < 1 + QUICK_RETRIES:
                    trials += 1
                    log(f"note: {inst['id']} escaped {t} trial(s) in {budget_s:g}s; retrying with {2 * budget_s:g}s")
            if args.quick and len(cell.trials) > 1 and cell.trials[-1].killed:
                log(f"SLOW: {inst['id']} [{mode}] was killed only on retry {len(cell.trials) - 1} "
                    f"(rate it again: its recorded budget {budget_s:g}s is tight here)")
            s = cell.summary()
            summaries.append(s)
            # The speed-up over `none` is known once none's cell of this instance ran (modes run in order).
            up = speedups(summaries).get((inst["id"], mode))
            rate = rate_speedups(summaries).get((inst["id"], mode))
            writer.append({"type": "detect", "session": session_id, **s, "budget_s": budget_s,
                           "iterations": iterations, "timeout_s": timeout_s,
                           "speedup": up[0] if up else None, "speedup_censored": bool(up and up[1]),
                           "rate_speedup": rate[0] if rate else None, "rate_speedup_bound": rate[1] if rate else None,
                           "trial_records": [asdict(t) for t in cell.trials]})
            if args.quick and s["killed"] == 0:
                escaped.append(inst["id"])
    writer.close()
    if args.quick:
        for inst_id in escaped:
            log(f"ESCAPED: {inst_id} was reliably killed before (detect baseline) and escaped this time")
    return DetectResult(session_id, EXIT_UNEXPECTED if args.quick and escaped else EXIT_OK)


def _seconds(text):
    """A duration as everywhere else (60s, 1.5m, 500ms, or a bare number of seconds)."""
    try:
        return parse_duration(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[1]) from None


def add_arguments(p):
    p.add_argument("--budget-per-mutant", type=_seconds, default=60.0, metavar="D",
                   help="wall time per trial before it counts as escaped, e.g. 60s or 2m (default 60s)")
    p.add_argument("--trials", type=int, default=3, metavar="N", help="independent trials per mutant and mode")
    p.add_argument("--modes", default=",".join(DEFAULT_MODES), metavar="M,M",
                   help=f"amplification modes to compare (default {','.join(DEFAULT_MODES)}; none is the baseline)")
    p.add_argument("--replays", type=int, default=10, metavar="R",
                   help="rerun each PCT kill from its seed R times and report how often it fails again (default 10)")
    p.add_argument("--iterations", type=int, metavar="N",
                   help="iterations per run instead of each case's default (small N measures per-iteration power)")
    p.add_argument("--hang-timeout", type=_seconds, metavar="D",
                   help="watchdog deadline (the harness --timeout, never above the case's own) for the mutant "
                        "instances the baseline lists under hang_detected, so that a lost wakeup costs D; "
                        "other instances keep their declared deadline (a short one would turn slowness into kills)")
    p.add_argument("--instance", action="append", dest="instances", metavar="ID",
                   help="measure only this mutant instance (repeatable), e.g. one catcher per mutant")
    p.add_argument("--quick", action="store_true",
                   help="CI form: only the baseline's reliably-killed mutants, one trial; exit 1 if one escapes")
    p.add_argument("--baseline", default=BASELINE, metavar="FILE", help="the detect baseline (JSON)")
    p.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    p.add_argument("--out", default="jostle-out", metavar="DIR", help="the result store (default jostle-out/)")
    p.add_argument("--seed", type=int, metavar="N", help="base seed (default: random)")
