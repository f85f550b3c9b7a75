"""`jostle gate`: the pull-request gate. Conformance once, a stress slice in the time left, then a verdict.

The gate fails on deterministic signals: an instance that failed every run, a crash or hang
signature or a sanitizer signature the baseline store never saw, an escaped mutant. It fails on a
flake rate only when it is significantly higher than the baseline's (one-sided Fisher exact test
at a strict level, 0.001 by default: a gate over many instances must not cry wolf). A failure the
baseline already shows at a similar rate is reported as known, not blocking. Quarantined instances
run and are reported, and never block.

One failing run is not a verdict: a failure that would block and has MIN_RERUNS runs or fewer is
rerun (as many times as fit in the budget, at least MIN_RERUNS when they fit, at most --reruns;
cargo-nextest's retries, Bazel's --flaky_test_attempts) before the gate decides. Failing every run
(k/k) is deterministic; failing some (k/n) is FLAKY, reported with its Wilson interval, and blocks
unless `--flaky report`.
"""

import dataclasses
import os
import time

from jostle import detect, query, sanitizers, selection, session, stats, store
from jostle.errors import EXIT_INFRA, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNEXPECTED, UsageError
from jostle.records import derive_seed, new_id, now_iso
from jostle.units import human_duration

DEFAULT_ALPHA = 0.001
# Of the budget, the conformance pass plans with this share; the stress slice gets what is left.
CONFORMANCE_SHARE = 0.5
# A stress slice shorter than this is not worth starting.
MIN_STRESS_S = 5.0
# Reruns of a new failure before the verdict: at least MIN_RERUNS when the budget allows, at most --reruns.
MIN_RERUNS = 5
MAX_RERUNS = 20
# Of the budget, the stress slice leaves this share for confirming the failures it finds.
RERUN_RESERVE_SHARE = 0.15


def crash_signature(run):
    """CRASH/TIMEOUT runs (RunRecords): the instance, the code, and how it ended (signal or reason)."""
    how = f"signal {run.signal}" if run.signal else run.reason
    return f"{run.code}:{run.instance}:{how}"


class Baseline:
    """What a baseline store knew: per-instance run counts, sanitizer and crash signatures."""

    def __init__(self, records=(), path=None):
        self.path = path
        runs = query.unique_runs([r for r in query.run_records(records) if r.code != "UNSUPPORTED"])
        self.sessions = sum(1 for r in records if r.get("type") == "session")
        self.runs = len(runs)
        self.counts = {iid: tuple(nk) for iid, nk in query.counts(runs).items()}
        self.sanitizer = {e["signature"] for e in sanitizers.collect(runs)}
        self.crashes = {crash_signature(r) for r in runs if r.code in ("CRASH", "TIMEOUT")}

    @classmethod
    def load(cls, path, warn=None):
        if path is None:
            return cls()
        if not os.path.isdir(path):
            raise UsageError(f"--baseline {path}: no such store directory")
        return cls(store.load(path, warn), path)


def judge(inst, baseline, alpha):
    """(verdict, reasons) for one pooled instance summary: verdict is pass, fail or known."""
    reasons = []
    if inst["code"] is None or inst["expect"] == "informative":
        return "pass", reasons
    if inst["expect"] == "fail":
        if inst["code"] == "XPASS":
            reasons.append("mutant escaped: its declared catcher passed every run")
        elif inst["code"] == "ERROR":
            reasons.append("error: no verdict on the mutant (" + (inst["failures"][0].message or "") + ")")
        return ("fail" if reasons else "pass"), reasons
    if not inst["failed_runs"]:
        return "pass", reasons
    runs = inst["failures"]
    for entry in sanitizers.collect(runs):
        if entry["signature"] not in baseline.sanitizer:
            reasons.append(f"new sanitizer signature {entry['id']}: {entry['tool']} {entry['type']}")
    for sig in sorted({crash_signature(r) for r in runs if r.code in ("CRASH", "TIMEOUT")}):
        if sig not in baseline.crashes:
            reasons.append(f"new {'hang' if sig.startswith('TIMEOUT') else 'crash'} signature: {sig}")
    if any(r.code == "ERROR" for r in runs):
        reasons.append("error: " + next(r.message or "" for r in runs if r.code == "ERROR"))
    n, k = inst["runs"], inst["failed_runs"]
    base = baseline.counts.get(inst["id"])
    if k == n:
        if base and base[0] and base[1] == base[0] and not reasons:
            return "known", [f"fails every run ({k}/{n}), as on the baseline ({base[1]}/{base[0]})"]
        reasons.append(f"fails every run ({k}/{n}): deterministic" if n > MIN_RERUNS else
                       f"fails every run ({k}/{n}; too few runs to call it deterministic)")
    if reasons:
        return "fail", reasons
    if base is None or base[0] == 0:
        return "fail", [f"FLAKY: {inst['rate_text']}; the baseline has no runs of it"]
    p = stats.fisher_greater(k, n, base[1], base[0])
    compare = f"{k}/{n} here vs {base[1]}/{base[0]} on the baseline, one-sided Fisher p={p:.2g}"
    if p < alpha:
        return "fail", [f"failure rate increased: {compare} < {alpha:g}"]
    return "known", [f"known flaky, not significantly worse: {compare}"]


def mutant_advice(inst, detect_baseline=None):
    """What to do about an escaped mutant: the settings the detect baseline kills it with, as a command."""
    iid = inst["id"]
    try:
        known = (detect_baseline or detect.load_baseline())["reliably_killed"].get(iid)
    except UsageError:
        known = None
    runs = inst["runs"]
    if not known:
        return (f"escaped {runs} run(s); the detect baseline has no rating for it: measure it with "
                f"`./jostle detect --instance '{iid}' --modes none,chaos,pct --trials 3`")
    settings = [f"--amplify {known['mode']}"]
    if known.get("iterations"):
        settings.append(f"--iterations {known['iterations']}")
    if known.get("timeout_s"):
        settings.append(f"--timeout {known['timeout_s']:g}s")
    budget = known.get("budget_s") or 60
    return (f"escaped {runs} run(s) here; the detect baseline kills it with {' '.join(settings)} within "
            f"{budget:g}s ({known.get('measured', 'docs/detection.md')}): "
            f"`./jostle stress --mutants --case '{iid}' {' '.join(settings)} --budget {budget:g}s`")


def failure_kind(inst):
    """How an instance failed: deterministic (every one of more than MIN_RERUNS runs), unconfirmed (every run,
    but too few), flaky (some runs), or '' (no failing run)."""
    k, n = inst["failed_runs"], inst["runs"]
    if not k:
        return ""
    if k < n:
        return "flaky"
    return "deterministic" if n > MIN_RERUNS else "unconfirmed"


def evaluate(model, baseline, alpha=DEFAULT_ALPHA, flaky="block", reruns=None):
    """Gate decisions for every instance of a pooled model; sets gating/tolerated on the instances too.

    flaky="report" lets a FLAKY verdict (new, or significantly worse than the baseline) through, reported;
    reruns maps instance id -> how many confirmation reruns it had (for the summary)."""
    decisions = []
    reruns = reruns or {}
    for inst in model["instances"]:
        verdict, reasons = judge(inst, baseline, alpha)
        kind = failure_kind(inst) if inst["expect"] == "pass" else ""
        if (verdict == "fail" and kind == "flaky" and flaky == "report"
                and all(r.startswith(("FLAKY", "failure rate increased")) for r in reasons)):
            verdict = "flaky"
        if verdict == "fail" and inst["quarantined"]:
            verdict = "quarantined"
        inst["gating"] = verdict == "fail"
        inst["tolerated"] = "; ".join(reasons) if verdict == "known" else None
        if verdict != "pass" or inst["quarantined"]:
            decisions.append({"instance": inst["id"], "verdict": verdict, "code": inst["code"],
                              "kind": kind, "runs": inst["runs"], "failed_runs": inst["failed_runs"],
                              "reruns": reruns.get(inst["id"], 0),
                              "rate": inst["rate_text"], "reasons": reasons,
                              "repro": inst["failures"][0].repro if inst["failures"] else inst.get("last_repro"),
                              "advice": mutant_advice(inst) if inst["code"] == "XPASS" else None})
    blocking = [d["instance"] for d in decisions if d["verdict"] == "fail"]
    model["gating"] = blocking
    if model["session"]["status"] != "complete":
        exit_code = EXIT_INTERRUPTED
    elif model.get("tool_errors"):
        exit_code = EXIT_INFRA
    else:
        exit_code = EXIT_UNEXPECTED if blocking else EXIT_OK
    model["exit_code"] = exit_code
    new_signatures = [e for e in model.get("signatures", []) if e["signature"] not in baseline.sanitizer]
    model["gate"] = {"decisions": decisions, "blocking": blocking, "alpha": alpha, "flaky": flaky,
                     "reruns": dict(reruns),
                     "baseline": {"path": baseline.path, "runs": baseline.runs, "sessions": baseline.sessions},
                     "new_signatures": [e["id"] for e in new_signatures],
                     "passed": exit_code == EXIT_OK}
    return model["gate"]


def to_confirm(model, baseline, alpha):
    """Instances whose failure would block but rests on too few runs to tell deterministic from flaky."""
    todo = []
    for inst in model["instances"]:
        if inst["expect"] != "pass" or inst["quarantined"] or not inst["failed_runs"] or inst["runs"] > MIN_RERUNS:
            continue
        if judge(inst, baseline, alpha)[0] == "fail":
            todo.append(inst)
    return todo


def rerun_count(todo, seconds, jobs, cap=MAX_RERUNS):
    """How many reruns each of `todo` gets: as many as fit in `seconds` at -j `jobs`, within 1..cap.

    A run costs what the instance's runs cost so far (a hang costs its watchdog)."""
    per_round = sum(i["elapsed_s"] / max(1, i["runs_total"]) for i in todo) / max(1, min(jobs, len(todo)))
    fit = int(seconds / max(per_round, 0.05))
    return max(1, min(cap, fit))


def _phase(request, found, kinds, gate_id, phase, mode, budget_s, seed):
    """One gate phase: the gate's request narrowed to `kinds`, with the phase's budget and seed."""
    settings = dataclasses.replace(request.settings, mode=mode, runs=None, budget_s=budget_s, seed=seed)
    return dataclasses.replace(request, command="gate", settings=settings, found=found, kinds=tuple(kinds),
                               labels={"gate": gate_id, "phase": phase})


def run(request, baseline, alpha, log, flaky="block", max_reruns=MAX_RERUNS):
    """Run the gate: `request` is the whole gate's (its settings.budget_s the total); returns the judged model.

    Discovery runs once; each phase is an ordinary session.run over the instances of its kinds, and a new
    failure on too few runs is rerun (a phase of its own) before the verdict.
    """
    budget = request.settings.budget_s
    seed = request.settings.seed
    started = time.monotonic()
    found = selection.for_request(request)
    kinds = {inst.get("kind") for inst in found.instances}
    gate_id = new_id()
    store.prepare_out_dir(request.out)
    conformance = sorted(kinds - {"stress"}) or None
    sessions = []
    reruns = {}

    def pooled():
        return query.build(query.combine(store.load(request.out, log), sessions))

    def confirm(phase):
        """Rerun what would block on too few runs; returns the rerun session's status (or None: nothing to do)."""
        todo = to_confirm(pooled(), baseline, alpha)
        if not todo:
            return None
        seconds = budget - (time.monotonic() - started)
        count = rerun_count(todo, seconds, request.settings.jobs, max_reruns)
        note = "" if count >= min(MIN_RERUNS, max_reruns) else f" (only {count} fit in the budget left)"
        log(f"gate: {len(todo)} new failure(s) on {min(i['runs'] for i in todo)} run(s): rerunning each "
            f"{count} time(s){note} before the verdict")
        ids = {i["id"] for i in todo}
        narrowed = dataclasses.replace(found, instances=[i for i in found.instances if i["id"] in ids])
        settings = dataclasses.replace(request.settings, mode="run", runs=count, budget_s=max(seconds, 1.0),
                                       seed=derive_seed(seed, 2 + phase))
        result = session.run(dataclasses.replace(request, command="gate", settings=settings, found=narrowed,
                                                 kinds=None, labels={"gate": gate_id, "phase": f"rerun-{phase}"}),
                             log)
        sessions.append(result.session)
        for iid in ids:
            reruns[iid] = reruns.get(iid, 0) + count
        return result.status

    if conformance:
        log(f"gate: conformance pass over the {', '.join(conformance)} instances")
        result = session.run(_phase(request, found, conformance, gate_id, "conformance", "run",
                                    budget * CONFORMANCE_SHARE, seed), log)
        sessions.append(result.session)
        interrupted = result.status != "complete" or confirm(1) not in (None, "complete")
    else:
        interrupted = False
    left = budget - (time.monotonic() - started)
    reserve = budget * RERUN_RESERVE_SHARE
    if interrupted:
        log("gate: interrupted; judging what finished")
    elif left - reserve >= MIN_STRESS_S:
        # The stress slice: the stress cases, or (when the selection has none) the conformance cases again.
        slice_kinds = ["stress"] if "stress" in kinds else conformance
        log(f"gate: stress slice for {human_duration(left - reserve)}")
        result = session.run(_phase(request, found, slice_kinds, gate_id, "stress", "stress", left - reserve,
                                    derive_seed(seed, 1)), log)
        sessions.append(result.session)
        if result.status == "complete":
            confirm(2)
        else:
            log("gate: interrupted; judging what finished")
    else:
        log(f"gate: no time left for a stress slice ({human_duration(max(0.0, left))} of the budget remain)")
    model = pooled()
    evaluate(model, baseline, alpha, flaky, reruns)
    writer = store.Writer(request.out, warn=log)
    writer.append({"type": "gate", "gate": gate_id, "sessions": sessions, "finished": now_iso(),
                   "exit_code": model["exit_code"], **{k: v for k, v in model["gate"].items()}})
    writer.close()
    return model


def add_arguments(p):
    p.add_argument("--baseline", metavar="STORE",
                   help="a result store (e.g. last night's soak) whose rates and signatures count as known")
    p.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, metavar="A",
                   help=f"significance level for rate increases (default {DEFAULT_ALPHA:g})")
    p.add_argument("--summary", metavar="FILE", help="markdown summary (default OUT/gate.md)")
    p.add_argument("--reruns", type=int, default=MAX_RERUNS, metavar="N",
                   help=f"rerun a new failure up to N times before the verdict (default {MAX_RERUNS}; at least "
                        f"{MIN_RERUNS} when the budget allows)")
    p.add_argument("--flaky", choices=("block", "report"), default="block",
                   help="whether a FLAKY verdict (fails some reruns, passes others) blocks (default block)")
    return p

