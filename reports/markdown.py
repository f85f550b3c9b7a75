"""The markdown summary of a judged gate session, for a CI step summary (GitHub's $GITHUB_STEP_SUMMARY,
GitLab's job log): the verdict, then blocking, quarantined and known instances, new sanitizer signatures and
repro lines; which failures were confirmed by reruns, deterministic or FLAKY, and what to do about an escaped
mutant. Reads the session model the query layer built, with the gate's decisions in model["gate"]."""

from jostle.errors import EXIT_INFRA, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNEXPECTED
from jostle.units import human_duration

FILE = "gate.md"
MAX_ROWS = 50


def render(model):
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

    confirmed = gate.get("reruns") or {}
    if confirmed:
        counts = sorted(set(confirmed.values()))
        blocking = [d for d in gate["decisions"] if d["instance"] in confirmed]
        det = sum(1 for d in blocking if d.get("kind") in ("deterministic", "unconfirmed"))
        lines.extend([f"Before the verdict, {len(confirmed)} new failure(s) were rerun "
                      f"{' or '.join(map(str, counts))} time(s): {det} failed every run, "
                      f"{sum(1 for d in blocking if d.get('kind') == 'flaky')} only some (FLAKY"
                      f"{', blocks' if gate.get('flaky', 'block') == 'block' else ', reported, does not block'}).",
                      ""])

    def verdict_text(d):
        if d.get("kind") == "deterministic":
            return f"{d['code']}, deterministic ({d['failed_runs']}/{d['runs']})"
        if d.get("kind") == "flaky":
            return f"FLAKY ({d['failed_runs']}/{d['runs']})"
        if d.get("kind") == "unconfirmed":
            return f"{d['code']} ({d['failed_runs']}/{d['runs']}: too few runs to call it deterministic)"
        return d["code"]

    def table(title, rows):
        if not rows:
            return
        lines.extend([f"### {title}", "", "| instance | verdict | rate | why |", "| --- | --- | --- | --- |"])
        for d in rows[:MAX_ROWS]:
            why = "; ".join(d["reasons"] + ([d["advice"]] if d.get("advice") else [])).replace("|", "\\|")
            lines.append(f"| `{d['instance']}` | {verdict_text(d)} | {d['rate']} | {why} |")
        if len(rows) > MAX_ROWS:
            lines.append(f"| ... | | | {len(rows) - MAX_ROWS} more in report.html |")
        lines.append("")

    decisions = gate["decisions"]
    table("Blocking", [d for d in decisions if d["verdict"] == "fail"])
    table("Flaky, reported (--flaky report: does not block)", [d for d in decisions if d["verdict"] == "flaky"])
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
