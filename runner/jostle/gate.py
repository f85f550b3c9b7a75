"""`jostle gate`: the pull-request gate. Conformance once, a stress slice in the time left, then a verdict.

The gate fails on deterministic signals: an instance that failed every run, a crash or hang
signature or a sanitizer signature the baseline store never saw, an escaped mutant. It fails on a
flake rate only when it is significantly higher than the baseline's (one-sided Fisher exact test
at a strict level, 0.001 by default: a gate over many instances must not cry wolf). A failure the
baseline already shows at a similar rate is reported as known, not blocking. Quarantined instances
run and are reported, and never block.
"""

import dataclasses
import os
import time

from jostle import aggregate, outcome, sanitizers, selection, session, stats, store
from jostle.errors import EXIT_INFRA, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNEXPECTED, UsageError
from jostle.records import derive_seed, new_id, now_iso
from jostle.units import human_duration

DEFAULT_ALPHA = 0.001
# Of the budget, the conformance pass plans with this share; the stress slice gets what is left.
CONFORMANCE_SHARE = 0.5
# A stress slice shorter than this is not worth starting.
MIN_STRESS_S = 5.0
SUMMARY_FILE = "gate.md"
MAX_ROWS = 50


def crash_signature(run):
    """CRASH/TIMEOUT runs: the instance, the code, and how it ended (signal or reason)."""
    how = f"signal {run['signal']}" if run.get("signal") else run.get("reason")
    return f"{run['code']}:{run['instance']}:{how}"


class Baseline:
    """What a baseline store knew: per-instance run counts, sanitizer and crash signatures."""

    def __init__(self, records=(), path=None):
        self.path = path
        runs = aggregate.unique_runs([r for r in records if r.get("type") == "run" and r.get("code") != "UNSUPPORTED"])
        self.sessions = sum(1 for r in records if r.get("type") == "session")
        self.runs = len(runs)
        self.counts = {}
        for r in runs:
            n, k = self.counts.get(r["instance"], (0, 0))
            self.counts[r["instance"]] = (n + 1, k + (r["code"] in outcome.RUN_FAILURES))
        self.sanitizer = {e["signature"] for e in sanitizers.collect(runs)}
        self.crashes = {crash_signature(r) for r in runs if r["code"] in ("CRASH", "TIMEOUT")}

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
            reasons.append("error: no verdict on the mutant (" + (inst["failures"][0].get("message") or "") + ")")
        return ("fail" if reasons else "pass"), reasons
    if not inst["failed_runs"]:
        return "pass", reasons
    runs = inst["failures"]
    for entry in sanitizers.collect(runs):
        if entry["signature"] not in baseline.sanitizer:
            reasons.append(f"new sanitizer signature {entry['id']}: {entry['tool']} {entry['type']}")
    for sig in sorted({crash_signature(r) for r in runs if r["code"] in ("CRASH", "TIMEOUT")}):
        if sig not in baseline.crashes:
            reasons.append(f"new {'hang' if sig.startswith('TIMEOUT') else 'crash'} signature: {sig}")
    if any(r["code"] == "ERROR" for r in runs):
        reasons.append("error: " + next(r.get("message") or "" for r in runs if r["code"] == "ERROR"))
    n, k = inst["runs"], inst["failed_runs"]
    base = baseline.counts.get(inst["id"])
    if k == n:
        if base and base[0] and base[1] == base[0] and not reasons:
            return "known", [f"fails every run ({k}/{n}), as on the baseline ({base[1]}/{base[0]})"]
        reasons.append(f"fails every run ({k}/{n})")
    if reasons:
        return "fail", reasons
    if base is None or base[0] == 0:
        return "fail", [f"flaky ({inst['rate_text']}) and the baseline has no runs of it"]
    p = stats.fisher_greater(k, n, base[1], base[0])
    compare = f"{k}/{n} here vs {base[1]}/{base[0]} on the baseline, one-sided Fisher p={p:.2g}"
    if p < alpha:
        return "fail", [f"failure rate increased: {compare} < {alpha:g}"]
    return "known", [f"known flaky, not significantly worse: {compare}"]


def evaluate(model, baseline, alpha=DEFAULT_ALPHA):
    """Gate decisions for every instance of a pooled model; sets gating/tolerated on the instances too."""
    decisions = []
    for inst in model["instances"]:
        verdict, reasons = judge(inst, baseline, alpha)
        if verdict == "fail" and inst["quarantined"]:
            verdict = "quarantined"
        inst["gating"] = verdict == "fail"
        inst["tolerated"] = "; ".join(reasons) if verdict == "known" else None
        if verdict != "pass" or inst["quarantined"]:
            decisions.append({"instance": inst["id"], "verdict": verdict, "code": inst["code"],
                              "rate": inst["rate_text"], "reasons": reasons,
                              "repro": inst["failures"][0].get("repro") if inst["failures"] else None})
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
    model["gate"] = {"decisions": decisions, "blocking": blocking, "alpha": alpha,
                     "baseline": {"path": baseline.path, "runs": baseline.runs, "sessions": baseline.sessions},
                     "new_signatures": [e["id"] for e in new_signatures],
                     "passed": exit_code == EXIT_OK}
    return model["gate"]


def markdown(model):
    """A short markdown summary for a CI step summary (GitHub's $GITHUB_STEP_SUMMARY, GitLab's job log)."""
    gate = model["gate"]
    s = model["session"]
    verdict = {EXIT_OK: "passed", EXIT_UNEXPECTED: f"FAILED ({len(gate['blocking'])} blocking)",
               EXIT_INFRA: "ERROR (infrastructure: the results cannot be trusted)",
               EXIT_INTERRUPTED: "INTERRUPTED"}.get(model["exit_code"], str(model["exit_code"]))
    base = gate["baseline"]
    lines = [f"## jostle gate: {verdict}", "",
             f"{len(model['instances'])} instances, {model['runs']} runs ({model['failing_runs']} failing) in "
             f"{human_duration(s.get('elapsed_s'))}; build `{s.get('build', {}).get('preset')}`; "
             + (f"baseline `{base['path']}` ({base['runs']} runs in {base['sessions']} sessions); "
                if base["path"] else "no baseline (every failure is new); ")
             + f"rate increases need one-sided Fisher p < {gate['alpha']:g}.", ""]

    def table(title, rows):
        if not rows:
            return
        lines.extend([f"### {title}", "", "| instance | verdict | rate | why |", "| --- | --- | --- | --- |"])
        for d in rows[:MAX_ROWS]:
            why = "; ".join(d["reasons"]).replace("|", "\\|")
            lines.append(f"| `{d['instance']}` | {d['code']} | {d['rate']} | {why} |")
        if len(rows) > MAX_ROWS:
            lines.append(f"| ... | | | {len(rows) - MAX_ROWS} more in report.html |")
        lines.append("")

    decisions = gate["decisions"]
    table("Blocking", [d for d in decisions if d["verdict"] == "fail"])
    table("Quarantined (ran, does not block)", [d for d in decisions if d["verdict"] == "quarantined"])
    table("Known on the baseline (does not block)", [d for d in decisions if d["verdict"] == "known"])
    new = [e for e in model.get("signatures", []) if e["id"] in gate["new_signatures"]]
    if new:
        lines.extend(["### New sanitizer signatures", ""])
        for e in new[:MAX_ROWS]:
            lines.append(f"- `{e['id']}` {e['tool']} {e['type']}: {e['count']} report(s) in "
                         f"{', '.join('`' + i + '`' for i in e['instances'][:5])}")
        lines.append("")
    repros = [d for d in decisions if d["verdict"] == "fail" and d["repro"]][:10]
    if repros:
        lines.extend(["### Reproduce", "", "```"] + [d["repro"] for d in repros] + ["```", ""])
    for warning in s.get("warnings", [])[:10]:
        lines.append(f"> warning: {warning}")
    text = "\n".join(lines) + "\n"
    # GitHub caps a step summary at 1 MiB.
    return text if len(text) < 900_000 else text[:900_000] + "\n\n(cut; see report.html)\n"


def _phase(request, found, kinds, gate_id, phase, mode, budget_s, seed):
    """One gate phase: the gate's request narrowed to `kinds`, with the phase's budget and seed."""
    settings = dataclasses.replace(request.settings, mode=mode, runs=None, budget_s=budget_s, seed=seed)
    return dataclasses.replace(request, command="gate", settings=settings, found=found, kinds=tuple(kinds),
                               labels={"gate": gate_id, "phase": phase})


def run(request, baseline, alpha, log):
    """Run the gate: `request` is the whole gate's (its settings.budget_s the total); returns the judged model.

    Discovery runs once; each phase is an ordinary session.run over the instances of its kinds.
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
    if conformance:
        log(f"gate: conformance pass over the {', '.join(conformance)} instances")
        result = session.run(_phase(request, found, conformance, gate_id, "conformance", "run",
                                    budget * CONFORMANCE_SHARE, seed), log)
        sessions.append(result.session)
        interrupted = result.status != "complete"
    else:
        interrupted = False
    left = budget - (time.monotonic() - started)
    if interrupted:
        log("gate: interrupted; judging what finished")
    elif left >= MIN_STRESS_S:
        # The stress slice: the stress cases, or (when the selection has none) the conformance cases again.
        slice_kinds = ["stress"] if "stress" in kinds else conformance
        log(f"gate: stress slice for {human_duration(left)}")
        result = session.run(_phase(request, found, slice_kinds, gate_id, "stress", "stress", left,
                                    derive_seed(seed, 1)), log)
        sessions.append(result.session)
    else:
        log(f"gate: no time left for a stress slice ({human_duration(max(0.0, left))} of the budget remain)")
    model = aggregate.build(aggregate.combine(store.load(request.out, log), sessions))
    evaluate(model, baseline, alpha)
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
    p.add_argument("--summary", metavar="FILE", help=f"markdown summary (default OUT/{SUMMARY_FILE})")
    return p

