"""The console summary printed at the end of run/stress/report (plain text, control bytes escaped)."""

from jostle import stats
from jostle.units import human_duration
from jostle.text import one_line

# Instances listed in full; a soak with hundreds of failures points at the HTML report instead.
MAX_LISTED = 25


def _verdict_counts(model):
    parts = [f"{name} {count}" for name, count in model["totals"].items() if count]
    if model["not_run"]:
        parts.append(f"not run {model['not_run']}")
    return "  ".join(parts) or "nothing ran"


def _stress_lines(model):
    config = model["session"]["config"]
    instances = [i for i in model["instances"] if i["runs"]]
    lines = []
    if config.get("target_rate"):
        target = config["target_rate"]
        needed = stats.runs_needed(target, config.get("confidence", 0.95))
        met = [i for i in instances if i["target"] and i["target"]["met"]]
        short = [i for i in instances if i["failed_runs"] == 0 and i["runs"] < needed]
        lines.append(f"target: failure rate < {stats.format_rate(target)} at {config.get('confidence', 0.95):.0%} "
                     f"needs {needed} clean runs per instance: {len(met)}/{len(model['instances'])} got there"
                     + (f"; the budget was too small for {len(short)} (raise --budget or narrow the selection)"
                        if short else ""))
    clean = [i for i in instances if not i["failed_runs"]]
    if clean:
        fewest = min(i["runs"] for i in clean)
        lines.append(f"{len(clean)} instances had no failing run (at least {fewest} runs each: "
                     f"p < {stats.format_rate(stats.upper_bound(0, fewest, config.get('confidence', 0.95)))} "
                     f"at {config.get('confidence', 0.95):.0%})")
    for inst in instances:
        if inst["failed_runs"]:
            lines.append(f"  {one_line(inst['id'])}: {inst['rate_text']}")
    swept = [i for i in clean if i.get("pct_sweep") and i["pct_sweep"]["runs"] and i["pct_sweep"]["depths"]]
    if swept:
        # The weakest instance bounds what the whole sweep rules out.
        weakest = min(swept, key=lambda i: i["pct_sweep"]["depths"].get(2, i["pct_sweep"]["depths"].get(1, 0)))
        lines.append(f"PCT clean sweep over {len(swept)} instances; weakest: {one_line(weakest['id'])}: "
                     + stats.describe_pct_sweep(weakest["pct_sweep"]))
    return lines


def render(model):
    session = model["session"]
    config = session.get("config", {})
    lines = [f"jostle {session.get('command')}: session {session['id']}, {len(model['instances'])} instances, "
             f"{model['runs']} runs, {human_duration(session.get('elapsed_s'))}, -j {config.get('jobs')}, "
             f"seed {config.get('seed')}, build {session.get('build', {}).get('preset')}",
             "  " + _verdict_counts(model)]
    gating = [i for i in model["instances"] if i["gating"]]
    if gating:
        lines.append("unexpected:")
        for inst in gating[:MAX_LISTED]:
            first = inst["failures"][0] if inst["failures"] else None
            detail = one_line(first.message if first else "every run passed; expected a failure", 160)
            lines.append(f"  {inst['code']:<9} {one_line(inst['id'])}: {detail}")
            lines.append(f"            {inst['rate_text']}")
            if first:
                lines.append(f"            {one_line(first.repro, 1000)}")
        if len(gating) > MAX_LISTED:
            lines.append(f"  ... and {len(gating) - MAX_LISTED} more in report.html")
    unsupported = [i for i in model["instances"] if i["code"] == "UNSUPPORTED"]
    if unsupported:
        lines.append("unsupported (cannot run here, not a failure):")
        for inst in unsupported[:MAX_LISTED]:
            lines.append(f"  {one_line(inst['id'])}: {one_line(inst.get('unsupported_reason') or 'no reason given', 300)}")
        if len(unsupported) > MAX_LISTED:
            lines.append(f"  ... and {len(unsupported) - MAX_LISTED} more in report.html")
    if session.get("command") == "stress":
        lines.extend(_stress_lines(model))
    if model["mutants"]:
        caught = [m for m in model["mutants"] if m["status"] == "caught"]
        escaped = [m for m in model["mutants"] if m["status"] == "escaped"]
        gaps = [m for m in model["mutants"] if m["status"] == "known gap"]
        lines.append(f"mutants: {len(caught)} caught, {len(escaped)} escaped, "
                     + (f"{len(gaps)} known gap(s), " if gaps else "")
                     + f"{len(model['mutants']) - len(caught) - len(escaped) - len(gaps)} not run")
        for m in model["mutants"]:
            if m["status"] == "caught":
                who = ", ".join(one_line(c) for c in m["caught_by"])
                lines.append(f"  caught   {m['suite']}/{one_line(m['name'])} by {who}")
            elif m["status"] == "escaped":
                lines.append(f"  ESCAPED  {m['suite']}/{one_line(m['name'])} (catchers: "
                             f"{', '.join(one_line(c) for c in m['catchers'])})")
            elif m["status"] == "known gap":
                for inst_id, reason in m["excused"].items():
                    lines.append(f"  gap      {one_line(inst_id)}: {one_line(reason, 300)}")
            else:
                lines.append(f"  not run  {m['suite']}/{one_line(m['name'])}")
    for warning in session.get("warnings", []):
        lines.append(f"warning: {one_line(warning, 400)}")
    if session.get("stopped"):
        lines.append(one_line(session["stopped"], 400) + f"; {model['not_run']} instance(s) not run")
    if model.get("files"):
        lines.append("reports: " + ", ".join(model["files"]))
    status = session.get("status")
    if status != "complete":
        lines.append(f"session {status}: exit code {model['exit_code']}")
    else:
        lines.append(f"exit code {model['exit_code']}: " + (f"{len(gating)} unexpected result(s)" if gating
                                                              else "no unexpected results"))
    return "\n".join(lines) + "\n"
