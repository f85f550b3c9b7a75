"""`jostle detect`: how fast each amplification mode kills each mutant (docs/detection.md).

For every mutant instance a selection picks (expect=fail in `--list`: the mutant's declared
catchers) and every mode, N independent trials each run the instance again and again, each run
with a fresh seed and the mode's per-run settings, until the first caught failure (FAIL, TIMEOUT,
CRASH, SANITIZER) or the budget. A trial records killed or not, wall seconds and runs to the first
failure, and the failing repro line; PCT kills are replayed from their seed R times. Per mutant and
mode the summary gives the kill count, the median seconds and runs (a trial that escaped counts as
the budget, so a median over escapes is a lower bound, marked >=), and the speed-up over `none`.

`--quick` is the CI form: only the mutants of the checked-in baseline (detect_baseline.json) that
are known to be reliably killed, one trial each in their recorded mode and budget; exit 1 if one
escapes. The baseline also lists the mutants known to be undetectable here, with the reason.
"""

import datetime
import json
import os
import statistics
import time
import uuid
import zlib
from dataclasses import asdict, dataclass, field

from jostle import classify, execute, outcome, selection, store
from jostle.amplify import MODES, Amplification
from jostle.errors import EXIT_OK, EXIT_UNEXPECTED, UsageError
from jostle.plan import RunSpec
from jostle.replay import repro_line

DEFAULT_MODES = ("none", "os", "chaos", "pct")
BASELINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "detect_baseline.json")
SEED_MASK = (1 << 64) - 1


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
        return {"instance": self.instance, "mode": self.mode, "trials": len(self.trials), "killed": len(killed),
                "median_s": med, "median_censored": censored,
                "median_runs": statistics.median(runs) if runs else None,
                "errors": sum(1 for t in self.trials if not t.killed and t.code in ("ERROR", "UNSUPPORTED")),
                "replayed": [sum(r for r, _ in replays), sum(n for _, n in replays)] if replays else None}


def trial_seed(base, instance, mode, trial, run):
    h = zlib.crc32(f"{instance}|{mode}|{trial}".encode())
    return (base * 1000003 + h * 65537 + run) & SEED_MASK


def run_trial(inst, binary, mode, trial, budget_s, base_seed, build, run_fn=execute.run, clock=time.monotonic,
              replays=0, iterations=None):
    """Repeat the instance under `mode` until its first caught failure or the budget."""
    amp = Amplification.from_options(mode, None)
    declared_s = (inst.get("timeout_ms") or 30000) / 1000
    start = clock()
    runs = 0
    while True:
        remaining = budget_s - (clock() - start)
        if remaining <= 0:
            return Trial(False, budget_s, runs)
        seed = trial_seed(base_seed, inst["id"], mode, trial, runs)
        timeout_s = min(declared_s, max(remaining, 1.0))
        spec = RunSpec(instance=inst["id"], suite=inst["suite"], binary=binary, seed=seed, batch=runs,
                       iterations=iterations or inst.get("iterations"), duration_s=None, timeout_s=timeout_s,
                       amplify=amp.for_run(seed))
        raw = run_fn(spec)
        runs += 1
        code, _reason, message = classify.classify(raw)
        if code in outcome.CATCHING:
            if code == "TIMEOUT" and timeout_s < declared_s:
                # Cut short by the budget: not the hang the case declares, so not a kill.
                return Trial(False, budget_s, runs)
            schedule = next((e for e in raw["events"] if e.get("ev") == "schedule"), None)
            t = Trial(True, clock() - start, runs, code, message, seed, repro_line(spec, build), schedule)
            if replays and spec.amplify.drawn == "pct":
                t.replays_tried = replays
                t.replays = sum(1 for _ in range(replays) if classify.classify(run_fn(spec))[0] in outcome.CATCHING)
            return t
        if code in ("ERROR", "UNSUPPORTED"):
            return Trial(False, clock() - start, runs, code, message, seed, repro_line(spec, build))


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


def corpus_figures(summaries, modes):
    """Per mode: mutants killed in every trial, and the ratio of corpus medians against none."""
    figures = {}
    for mode in modes:
        cells = [s for s in summaries if s["mode"] == mode]
        if not cells:
            continue
        med = statistics.median(s["median_s"] for s in cells)
        figures[mode] = {"mutants": len(cells), "always_killed": sum(1 for s in cells if s["killed"] == s["trials"]),
                         "ever_killed": sum(1 for s in cells if s["killed"] > 0), "corpus_median_s": med}
    if "none" in figures:
        for mode, f in figures.items():
            f["speedup_vs_none"] = figures["none"]["corpus_median_s"] / f["corpus_median_s"] if f["corpus_median_s"] else None
    return figures


def markdown(summaries, figures, difficulties=None, budget_s=None, trials=None):
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
                cell += f" x{'>=' if censored else ''}{x:.0f}" if x >= 10 else f" x{x:.1f}"
            if s["replayed"]:
                cell += f" replay {s['replayed'][0]}/{s['replayed'][1]}"
            cells.append(cell)
        lines.append(f"| `{instance}` | {difficulties.get(instance, '')} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| mode | mutants | killed every trial | killed at least once | corpus median TTFF | vs none |")
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for mode, f in figures.items():
        vs = f.get("speedup_vs_none")
        lines.append(f"| {mode} | {f['mutants']} | {f['always_killed']} | {f['ever_killed']} | "
                     f"{f['corpus_median_s']:.2f}s | {'' if vs is None else f'x{vs:.1f}'} |")
    if budget_s is not None:
        lines.append("")
        lines.append(f"Budget {budget_s:g}s per trial, {trials} trial(s) per cell; an escaped trial counts as the "
                     f"budget, so a median marked >= is a lower bound and so is a speed-up over it.")
    return "\n".join(lines) + "\n"


def load_baseline(path=BASELINE):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise UsageError(f"detect baseline {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"detect baseline {path}: not JSON ({exc})") from None
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


def run(args, log, run_fn=execute.run):
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        if m not in MODES:
            raise UsageError(f"--modes: unknown mode {m!r} (accepted: {', '.join(MODES)})")
    args.mutants = True
    binaries, suites, instances = selection.from_build(args)
    mutants = [i for i in instances if i["expect"] == "fail"]
    baseline = load_baseline(args.baseline) if (args.quick or args.baseline != BASELINE) else None
    if args.quick:
        plan = []
        for inst in mutants:
            entry = baseline["reliably_killed"].get(inst["id"])
            if entry:
                plan.append((inst, [entry.get("mode", "chaos")], float(entry.get("budget_s", args.budget_per_mutant)), 1))
        unrated = [i["id"] for i in mutants if i["id"] not in baseline["reliably_killed"]
                   and i["id"] not in baseline["undetectable"]]
        for inst_id in unrated:
            log(f"note: {inst_id} is in neither list of the detect baseline (new mutant? rate it)")
    else:
        plan = [(inst, modes, args.budget_per_mutant, args.trials) for inst in mutants]
    if not plan:
        raise UsageError("detect: the selection has no mutant instance (expect=fail) to measure")
    build = os.path.basename(os.path.normpath(args.build_dir))
    writer = store.Writer(args.out, warn=log)
    session_id = datetime.datetime.now().strftime("%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:6]
    base_seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    writer.append({"type": "detect-session", "session": session_id, "started": datetime.datetime.now(
        datetime.timezone.utc).isoformat(timespec="seconds"), "argv": getattr(args, "argv", []), "modes": modes,
        "budget_per_mutant_s": args.budget_per_mutant, "trials": args.trials, "seed": base_seed, "quick": args.quick,
        "build": build})
    summaries, escaped = [], []
    for inst, inst_modes, budget_s, trials in plan:
        for mode in inst_modes:
            cell = Cell(inst["id"], mode, budget_s)
            for t in range(trials):
                trial = run_trial(inst, binaries[inst["suite"]], mode, t, budget_s, base_seed, build, run_fn,
                                  replays=args.replays, iterations=getattr(args, "iterations", None))
                cell.trials.append(trial)
                log(f"{inst['id']} [{mode}] trial {t + 1}/{trials}: "
                    + (f"killed ({trial.code}) after {trial.seconds:.2f}s, {trial.runs} run(s)" if trial.killed
                       else f"{trial.code or 'escaped'} after {trial.seconds:.1f}s, {trial.runs} run(s)"))
            s = cell.summary()
            summaries.append(s)
            writer.append({"type": "detect", "session": session_id, **s,
                           "budget_s": budget_s, "trial_records": [asdict(t) for t in cell.trials]})
            if args.quick and s["killed"] < s["trials"]:
                escaped.append(inst["id"])
    writer.close()
    figures = corpus_figures(summaries, modes)
    text = markdown(summaries, figures, _difficulties(suites, [p[0] for p in plan]), args.budget_per_mutant,
                    args.trials)
    print(text, end="")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text)
    if args.quick:
        for inst_id in escaped:
            log(f"ESCAPED: {inst_id} was reliably killed before (detect baseline) and escaped this time")
        return EXIT_UNEXPECTED if escaped else EXIT_OK
    return EXIT_OK


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
    p.add_argument("--quick", action="store_true",
                   help="CI form: only the baseline's reliably-killed mutants, one trial; exit 1 if one escapes")
    p.add_argument("--baseline", default=BASELINE, metavar="FILE", help="the detect baseline (JSON)")
    p.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    p.add_argument("--out", default="jostle-out", metavar="DIR", help="the result store (default jostle-out/)")
    p.add_argument("--seed", type=int, metavar="N", help="base seed (default: random)")
