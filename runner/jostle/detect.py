"""`jostle detect`: how fast each amplification mode kills each mutant (docs/detection.md).

For every mutant instance a selection picks (expect=fail in `--list`: the mutant's declared
catchers) and every mode, N independent trials each run the instance again and again, each run
with a fresh seed and the mode's per-run settings, until the first caught failure (FAIL, TIMEOUT,
CRASH, SANITIZER) or the budget. A trial records killed or not, wall seconds and runs to the first
failure, and the failing repro line; PCT kills are replayed from their seed R times. Per mutant and
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
are known to be reliably killed, one trial each in their recorded mode and budget; exit 1 if one
escapes. The baseline also lists the mutants known to be undetectable here, with the reason.
"""

import json
import os
import statistics
import time
import zlib
from dataclasses import asdict, dataclass, field

from jostle import classify, engines, execute, outcome, selection, store
from jostle.amplify import MODES, Amplification
from jostle.errors import EXIT_OK, EXIT_UNEXPECTED, UsageError
from jostle.plan import RunSpec
from jostle.records import SEED_MASK, new_id, now_iso, random_seed
from jostle.replay import repro_line

DEFAULT_MODES = ("none", "os", "chaos", "pct")
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
    replays: int | None = None        # pct kills: how many of `replays_tried` reruns of the seed failed again
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


def run_without_stacks(spec):
    """execute.run, minus the gdb stack capture of a hung run (seconds of debugger time per hang)."""
    return execute.run(spec, hang_hold_s=1, capture_stacks=False)


def run_trial(inst, binary, mode, trial, budget_s, base_seed, build, run_fn=run_without_stacks,
              clock=time.monotonic, replays=0, iterations=None, timeout_s=None):
    """Repeat the instance under `mode` until its first caught failure or the budget.

    `timeout_s` (if given) replaces the case's declared watchdog deadline for every run, never raising it.
    """
    amp = Amplification.from_options(mode, None)
    declared_s = (inst.get("timeout_ms") or 30000) / 1000
    if timeout_s:
        declared_s = min(declared_s, timeout_s)
    start = clock()
    runs = 0
    pass_max = 0.0
    while True:
        remaining = budget_s - (clock() - start)
        if remaining <= 0:
            return Trial(False, budget_s, runs, pass_max_s=pass_max)
        seed = trial_seed(base_seed, inst["id"], mode, trial, runs)
        run_timeout_s = min(declared_s, max(remaining, 1.0))
        spec = RunSpec(instance=inst["id"], suite=inst["suite"], binary=binary, seed=seed, batch=runs,
                       iterations=iterations or inst.get("iterations"), duration_s=None, timeout_s=run_timeout_s,
                       amplify=amp.for_run(seed))
        t0 = clock()
        raw = run_fn(spec)
        runs += 1
        verdict = classify.classify(raw)
        code, message = verdict.code, verdict.message
        if code in outcome.CATCHING:
            hang = raw.event("hang")
            deadlock = hang is not None and hang.get("reason") == "deadlock"
            if code == "TIMEOUT" and run_timeout_s < declared_s and not deadlock:
                # Cut short by the budget: not the hang the case declares, so not a kill. (A deadlock report is
                # no deadline: every thread asleep for good is a kill whatever the watchdog was set to.)
                return Trial(False, budget_s, runs, pass_max_s=pass_max)
            schedule = raw.event("schedule")
            t = Trial(True, clock() - start, runs, code, message, seed, repro_line(spec, build), schedule,
                      pass_max_s=pass_max)
            if replays and spec.amplify.drawn == "pct":
                t.replays_tried = replays
                t.replays = sum(1 for _ in range(replays) if classify.classify(run_fn(spec)).code in outcome.CATCHING)
            return t
        if code in ("ERROR", "UNSUPPORTED"):
            return Trial(False, clock() - start, runs, code, message, seed, repro_line(spec, build),
                         pass_max_s=pass_max)
        pass_max = max(pass_max, clock() - t0)


def speedups(summaries):
    """Per instance and mode: median_s(none) / median_s(mode), with '>=' when none's median is censored."""
    none = {s["instance"]: s for s in summaries if s["mode"] == "none"}
    out = {}
    for s in summaries:
        base = none.get(s["instance"])
        if s["mode"] == "none" or base is None or not s["median_s"] or s["killed"] == 0:
            continue
        out[(s["instance"], s["mode"])] = (base["median_s"] / s["median_s"], base["median_censored"])
    return out


def rate_speedups(summaries):
    """Per instance and mode: mttf(none) / mttf(mode), with a bound: '>=' when none never killed (its MTTF is
    a lower bound), '<=' when the mode never killed; pairs where neither killed are left out."""
    none = {s["instance"]: s for s in summaries if s["mode"] == "none"}
    out = {}
    for s in summaries:
        base = none.get(s["instance"])
        if s["mode"] == "none" or base is None or not s.get("mttf_s"):
            continue
        if base.get("mttf_bound") and s.get("mttf_bound"):
            continue
        bound = ">=" if base.get("mttf_bound") else "<=" if s.get("mttf_bound") else ""
        out[(s["instance"], s["mode"])] = (base["mttf_s"] / s["mttf_s"], bound)
    return out


def corpus_figures(summaries, modes):
    """Per mode: mutants killed in every trial, the ratio of corpus medians against none, and the median of the
    per-mutant speed-ups (by median TTFF and by MTTF)."""
    figures = {}
    ups, rates = speedups(summaries), rate_speedups(summaries)
    for mode in modes:
        cells = [s for s in summaries if s["mode"] == mode]
        if not cells:
            continue
        med = statistics.median(s["median_s"] for s in cells)
        f = {"mutants": len(cells), "always_killed": sum(1 for s in cells if s["killed"] == s["trials"]),
             "ever_killed": sum(1 for s in cells if s["killed"] > 0), "corpus_median_s": med}
        if mode != "none":
            per = [ups[(s["instance"], mode)][0] for s in cells if (s["instance"], mode) in ups]
            per_rate = [rates[(s["instance"], mode)] for s in cells if (s["instance"], mode) in rates]
            f["median_speedup"] = statistics.median(per) if per else None
            f["median_rate_speedup"] = statistics.median(x for x, _ in per_rate) if per_rate else None
            f["at_least_100x"] = sum(1 for x, b in per_rate if x >= 100 and b != "<=")
        figures[mode] = f
    if "none" in figures:
        for mode, f in figures.items():
            f["speedup_vs_none"] = figures["none"]["corpus_median_s"] / f["corpus_median_s"] if f["corpus_median_s"] else None
    return figures


def _x(x, bound=""):
    return f"x{bound}{x:.0f}" if x >= 10 else f"x{bound}{x:.1f}" if x >= 0.1 else f"x{bound}{x:.2f}"


def markdown(summaries, figures, difficulties=None, budget_s=None, trials=None, iterations=None, timeout_s=None):
    difficulties = difficulties or {}
    ups = speedups(summaries)
    modes = list(dict.fromkeys(s["mode"] for s in summaries))
    head = "| mutant instance | D | " + " | ".join(modes) + " |"
    lines = [head, "|" + " --- |" * (len(modes) + 2)]
    by = {(s["instance"], s["mode"]): s for s in summaries}
    for instance in dict.fromkeys(s["instance"] for s in summaries):
        cells = []
        for mode in modes:
            s = by.get((instance, mode))
            if s is None:
                cells.append("")
                continue
            med = f"{'>=' if s['median_censored'] else ''}{s['median_s']:.2f}s"
            cell = f"{s['killed']}/{s['trials']} {med} ({s['median_runs']:g} runs)"
            if (instance, mode) in ups:
                x, censored = ups[(instance, mode)]
                cell += " " + _x(x, ">=" if censored else "")
            if s["replayed"]:
                cell += f" replay {s['replayed'][0]}/{s['replayed'][1]}"
            if s.get("errors"):
                # A trial that could not go on (the binary vanished, UNSUPPORTED) is no escape: say so.
                cell += f" **{s['errors']} trial(s) ended in ERROR/UNSUPPORTED**"
            cells.append(cell)
        lines.append(f"| `{instance}` | {difficulties.get(instance, '')} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| mode | mutants | killed every trial | killed at least once | corpus median TTFF | vs none "
                 "| median per-mutant speed-up (TTFF) | median per-mutant speed-up (MTTF) | mutants >= x100 (MTTF) |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for mode, f in figures.items():
        vs = f.get("speedup_vs_none")
        ms, mr = f.get("median_speedup"), f.get("median_rate_speedup")
        lines.append(f"| {mode} | {f['mutants']} | {f['always_killed']} | {f['ever_killed']} | "
                     f"{f['corpus_median_s']:.2f}s | {'' if vs is None else _x(vs)} | "
                     f"{'' if ms is None else _x(ms)} | {'' if mr is None else _x(mr)} | "
                     f"{'' if mode == 'none' else f.get('at_least_100x', 0)} |")
    if budget_s is not None:
        lines.append("")
        shape = []
        if iterations:
            shape.append(f"--iterations {iterations} per run")
        if timeout_s:
            shape.append(f"a {timeout_s:g}s watchdog deadline per run of the hang-detected mutants")
        lines.append(f"Budget {budget_s:g}s per trial, {trials} trial(s) per cell"
                     + (f", {' and '.join(shape)}" if shape else "")
                     + "; an escaped trial counts as the budget, so a median marked >= is a lower bound and so is "
                       "a speed-up over it. MTTF = exposure / kills (rule of three when no kill).")
    return "\n".join(lines) + "\n"


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
    for inst, reason in data["undetectable"].items():
        if not isinstance(reason, str) or len(reason) < 10:
            raise UsageError(f"detect baseline {path}: undetectable {inst!r} needs a reason")
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
                   and i["id"] not in baseline["undetectable"]]
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
        "hang_timeout_s": getattr(args, "hang_timeout", None)})
    summaries, escaped = [], []
    for inst, inst_modes, budget_s, trials, iterations, timeout_s in plan:
        for mode in inst_modes:
            cell = Cell(inst["id"], mode, budget_s)
            for t in range(trials):
                trial = run_trial(inst, binaries[inst["suite"]], mode, t, budget_s, base_seed, build, run_fn,
                                  replays=args.replays, iterations=iterations, timeout_s=timeout_s)
                cell.trials.append(trial)
                log(f"{inst['id']} [{mode}] trial {t + 1}/{trials}: "
                    + (f"killed ({trial.code}) after {trial.seconds:.2f}s, {trial.runs} run(s)" if trial.killed
                       else f"{trial.code or 'escaped'} after {trial.seconds:.1f}s, {trial.runs} run(s)"))
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
            if args.quick and s["killed"] < s["trials"]:
                escaped.append(inst["id"])
    writer.close()
    figures = corpus_figures(summaries, modes)
    text = markdown(summaries, figures, _difficulties(suites, [p[0] for p in plan]), args.budget_per_mutant,
                    args.trials, getattr(args, "iterations", None), getattr(args, "hang_timeout", None))
    print(text, end="")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text)
    if args.quick:
        for inst_id in escaped:
            log(f"ESCAPED: {inst_id} was reliably killed before (detect baseline) and escaped this time")
    return DetectResult(session_id, EXIT_UNEXPECTED if args.quick and escaped else EXIT_OK)


def add_arguments(p):
    p.add_argument("--budget-per-mutant", type=float, default=60.0, metavar="SECONDS",
                   help="wall seconds per trial before it counts as escaped (default 60)")
    p.add_argument("--trials", type=int, default=3, metavar="N", help="independent trials per mutant and mode")
    p.add_argument("--modes", default=",".join(DEFAULT_MODES), metavar="M,M",
                   help=f"amplification modes to compare (default {','.join(DEFAULT_MODES)}; none is the baseline)")
    p.add_argument("--replays", type=int, default=10, metavar="R",
                   help="rerun each PCT kill from its seed R times and report how often it fails again (default 10)")
    p.add_argument("--iterations", type=int, metavar="N",
                   help="iterations per run instead of each case's default (small N measures per-iteration power)")
    p.add_argument("--hang-timeout", type=float, metavar="SECONDS",
                   help="watchdog deadline (the harness --timeout, never above the case's own) for the mutant "
                        "instances the baseline lists under hang_detected, so that a lost wakeup costs SECONDS; "
                        "other instances keep their declared deadline (a short one would turn slowness into kills)")
    p.add_argument("--instance", action="append", dest="instances", metavar="ID",
                   help="measure only this mutant instance (repeatable), e.g. one catcher per mutant")
    p.add_argument("--quick", action="store_true",
                   help="CI form: only the baseline's reliably-killed mutants, one trial; exit 1 if one escapes")
    p.add_argument("--baseline", default=BASELINE, metavar="FILE", help="the detect baseline (JSON)")
    p.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    p.add_argument("--out", default="jostle-out", metavar="DIR", help="the result store (default jostle-out/)")
    p.add_argument("--seed", type=int, metavar="N", help="base seed (default: random)")
