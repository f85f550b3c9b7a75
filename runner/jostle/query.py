"""The query layer: store records -> the models every report (and the gate's judgement) reads.

Runs come out typed: every run a model holds (an instance's `failures`) is a records.RunRecord, read by attribute;
`run_records` is the one road from store lines to them.

Rates are counted and their Wilson intervals computed here only (`counts`, `rate`): the session
summary, the dashboard's nights, the gate's baseline and bench trends all come through this module.
Nothing here touches processes or live runner objects: given the same results.jsonl, every report
comes out the same, which is what lets `jostle report` re-render without running anything.
"""

import statistics
from fnmatch import fnmatchcase

from jostle import outcome, sanitizers, stats
from jostle.errors import EXIT_INFRA, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNEXPECTED, InfraError
from jostle.records import RunRecord


def run_records(records, sessions=None):
    """The run lines of `records` (of these session ids only, when given) as RunRecords, in store order."""
    return [RunRecord.from_store(r) for r in records
            if r.get("type") == "run" and (sessions is None or r["session"] in sessions)]


def sessions(records):
    """Session ids in the order they started."""
    return [r["session"] for r in records if r.get("type") == "session"]


def pick_session(records, wanted=None):
    ids = sessions(records)
    if not ids:
        raise InfraError("the store holds no session yet")
    if wanted in (None, "latest"):
        return ids[-1]
    if wanted not in ids:
        raise InfraError(f"no session {wanted!r} in the store (sessions: {', '.join(ids[-5:])})")
    return wanted


# A benchmark is flagged when its latest time exceeds the median of the previous ones by this much.
BENCH_REGRESSION = 0.10
BENCH_HISTORY = 5


def counts(runs, key=lambda r: r.instance):
    """{key(run): [n, k]}: runs that count (UNSUPPORTED does not) and failing runs among them."""
    result = {}
    for r in runs:
        if r.code == "UNSUPPORTED":
            continue
        cell = result.setdefault(key(r), [0, 0])
        cell[0] += 1
        cell[1] += r.code in outcome.RUN_FAILURES
    return result


def tally(runs):
    """[n, k] of one group of runs (as `counts` counts them)."""
    return counts(runs, key=lambda r: None).get(None, [0, 0])


def rate(n, k, confidence=0.95):
    """k failing of n runs: the rate, its Wilson interval, the one-sided upper bound and the text reports show."""
    if not n:
        return {"n": 0, "k": k, "rate": None, "wilson": None, "upper": None, "text": "no runs"}
    return {"n": n, "k": k, "rate": k / n, "wilson": list(stats.wilson_interval(k, n, confidence)),
            "upper": stats.upper_bound(k, n, confidence), "text": stats.describe_rate(k, n, confidence)}


def bench_trends(records):
    """Benchmark series: [{name, points, latest, baseline, change, regression}] from the store's bench records."""
    series = {}
    for rec in records:
        if rec.get("type") != "bench":
            continue
        for b in rec.get("benchmarks", []):
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                continue
            name = f"{rec.get('binary')}:{b.get('run_name') or b.get('name')}"
            value = b.get("real_time")
            if value is None:
                continue
            series.setdefault(name, []).append({"when": rec.get("finished") or "", "value": float(value),
                                                "unit": b.get("time_unit", "ns"), "preset": rec.get("preset")})
    result = []
    for name, points in sorted(series.items()):
        points.sort(key=lambda p: p["when"])
        latest = points[-1]
        history = [p["value"] for p in points[-1 - BENCH_HISTORY:-1]]
        base = statistics.median(history) if history else None
        change = (latest["value"] - base) / base if base else None
        result.append({"name": name, "points": points, "latest": latest, "baseline": base, "change": change,
                       "regression": change is not None and change > BENCH_REGRESSION})
    return result


def _quarantined(instance_id, patterns):
    return any(fnmatchcase(instance_id, p) for p in patterns)


def _instance_summary(inst, runs, config):
    confidence = config.get("confidence") or 0.95
    codes = [r.code for r in runs]
    quarantined = _quarantined(inst["id"], config.get("quarantine") or [])
    code, gating = outcome.aggregate(inst.get("expect", "pass"), codes, quarantined)
    counted = [r for r in runs if r.code != "UNSUPPORTED"]
    failing = [r for r in counted if r.code in outcome.RUN_FAILURES]
    n, k = tally(runs)
    summary_rate = rate(n, k, confidence)
    histogram = {}
    for c in codes:
        histogram[c] = histogram.get(c, 0) + 1
    summary = {
        **{key: inst.get(key) for key in ("id", "suite", "case", "backend", "expect", "mutant", "kind",
                                          "description", "params", "clauses", "threads", "excused")},
        "code": code,
        "gating": gating,
        "quarantined": quarantined,
        "runs": n,
        "runs_total": len(runs),
        "failed_runs": k,
        "run_codes": histogram,
        "rate": summary_rate["rate"],
        "wilson": summary_rate["wilson"],
        "upper": summary_rate["upper"],
        "rate_text": summary_rate["text"],
        "outcomes": stats.merge_outcomes(r.outcomes for r in runs),
        "metrics": stats.merge_metrics(r.metrics for r in runs),
        "iterations_done": sum(r.iterations_done or 0 for r in runs),
        "elapsed_s": sum(r.elapsed_ms or 0 for r in runs) / 1000,
        "failures": failing,
        "last_repro": runs[-1].repro if runs else None,   # replays an escaped mutant's (passing) run
        "unsupported_reason": next((r.message for r in runs if r.code == "UNSUPPORTED"), None),
        "target": None,
        # Only a sweep without any failing run rules something out.
        "pct_sweep": None if failing else stats.pct_sweep(r.schedule for r in counted
                                                          if r.code in ("PASS", "XPASS")),
    }
    target = config.get("target_rate")
    if target:
        needed = stats.runs_needed(target, confidence)
        summary["target"] = {"rate": target, "needed": needed, "met": k == 0 and n >= needed,
                             "upper_below": summary["upper"] is not None and summary["upper"] < target}
    return summary


def _mutant_summaries(backends, instances):
    result = []
    for backend in backends:
        if not backend.get("mutant"):
            continue
        mine = [i for i in instances if i["backend"] == backend.get("name") and i["suite"] == backend.get("suite")]
        catchers = [i for i in mine if i["expect"] == "fail"]
        ran = [i for i in catchers if i["code"] not in (None, "UNSUPPORTED")]
        caught_by = [i["id"] for i in catchers if i["code"] == "XFAIL"]
        excused = [i for i in mine if i.get("excused") and i["code"] not in (None, "UNSUPPORTED")]
        if caught_by:
            status = "caught"
        elif ran:
            status = "escaped"
        elif excused:
            status = "known gap"    # its only catchers that ran are excused by the detect baseline
        else:
            status = "not run"
        result.append({
            "name": backend.get("name"), "suite": backend.get("suite"), "status": status, "caught_by": caught_by,
            "catchers": [i["id"] for i in catchers],
            "excused": {i["id"]: i["excused"] for i in excused},
            "also_failed": [i["id"] for i in mine if i["expect"] != "fail" and i["failed_runs"]],
            "declared_catches": backend.get("catches", []), "difficulty": backend.get("difficulty", ""),
            "source": backend.get("source", ""), "description": backend.get("description", ""),
        })
    return result


def run_key(run):
    """What makes a run unique: the instance, its seed and the amplification it drew. A rerun of the same
    seed into the same store (a resumed soak, `run --seed N` twice) is the same observation again."""
    amplify = run.amplify or {}
    return (run.instance, str(run.seed), amplify.get("drawn") or amplify.get("mode"), amplify.get("chaos"))


def unique_runs(runs):
    """`runs` without repeats of a run_key (the first one counts), so that every statistic counts unique runs."""
    seen = set()
    result = []
    for run in runs:
        key = run_key(run)
        if run.seed is None:
            result.append(run)      # without a seed two runs cannot be told apart: both count
        elif key not in seen:
            seen.add(key)
            result.append(run)
    return result


def combine(records, session_ids):
    """Records in which the runs of several sessions (gate phases, shards) read as one session.

    The first session's header stands for all: instances and backends are the union, the runs are
    renumbered, and the end is "complete" only when every session completed. The store is untouched.
    """
    ids = [pick_session(records, sid) for sid in session_ids]
    heads = [next(r for r in records if r.get("type") == "session" and r["session"] == sid) for sid in ids]
    ends = {r["session"]: r for r in records if r.get("type") == "session_end" and r["session"] in ids}
    head = dict(heads[0], session="+".join(ids) if len(ids) > 1 else ids[0])
    seen, instances, backends = set(), [], []
    for h in heads:
        for inst in h.get("instances", []):
            if inst["id"] not in seen:
                seen.add(inst["id"])
                instances.append(inst)
        for backend in h.get("backends", []):
            if backend not in backends:
                backends.append(backend)
    config = dict(head.get("config", {}))
    config["quarantine"] = sorted({q for h in heads for q in h.get("config", {}).get("quarantine") or []})
    head.update(instances=instances, backends=backends, config=config,
                warnings=[w for h in heads for w in h.get("warnings", [])])
    # The pooled records stay store lines (dicts); which of them count is decided on their RunRecords.
    lines = [r for r in records if r.get("type") == "run" and r["session"] in ids]
    typed = run_records(lines)
    kept = {id(run) for run in unique_runs(typed)}
    runs = [dict(line, session=head["session"], seq=n)
            for n, line in enumerate((line for line, run in zip(lines, typed) if id(run) in kept), 1)]
    result = [head, *runs]
    if all(sid in ends for sid in ids):
        statuses = [ends[sid].get("status") for sid in ids]
        result.append({"type": "session_end", "session": head["session"],
                       "finished": max(ends[sid].get("finished") or "" for sid in ids),
                       "status": "complete" if all(s == "complete" for s in statuses) else "interrupted",
                       "elapsed_s": round(sum(ends[sid].get("elapsed_s") or 0 for sid in ids), 3),
                       "runs": len(runs)})
    return result


def gate_record(records, session=None):
    """The `gate` record that the (latest, or named) session belongs to, or None: a gate writes several
    sessions (its phases) and one record with the verdict, which a re-render must show again."""
    if session and "," in session:
        return None
    sid = pick_session(records, session)
    head = next(r for r in records if r.get("type") == "session" and r["session"] == sid)
    gate_id = (head.get("labels") or {}).get("gate")
    if not gate_id:
        return None
    return next((r for r in reversed(records) if r.get("type") == "gate" and r.get("gate") == gate_id), None)


def apply_gate(model, record):
    """Put a stored gate verdict on a pooled model, as `jostle gate` did before it rendered."""
    decisions = {d["instance"]: d for d in record.get("decisions", [])}
    for inst in model["instances"]:
        d = decisions.get(inst["id"])
        inst["gating"] = bool(d and d["verdict"] == "fail")
        inst["tolerated"] = "; ".join(d["reasons"]) if d and d["verdict"] == "known" else None
    model["gating"] = list(record.get("blocking", []))
    model["exit_code"] = record.get("exit_code", model["exit_code"])
    model["gate"] = {k: v for k, v in record.items() if k not in ("type", "schema", "gate", "sessions", "finished",
                                                                 "exit_code")}
    return model


def build(records, session=None):
    """The summary of one session (the latest by default) as plain dicts and lists.

    `session` may name several sessions separated by commas (shards, gate phases): they are pooled.
    """
    if session and "," in session:
        records, session = combine(records, [s for s in session.split(",") if s]), None
    sid = pick_session(records, session)
    head = next(r for r in records if r.get("type") == "session" and r["session"] == sid)
    end = next((r for r in records if r.get("type") == "session_end" and r["session"] == sid), None)
    runs = run_records(records, {sid})
    config = head.get("config", {})
    by_instance = {}
    for run in runs:
        by_instance.setdefault(run.instance, []).append(run)
    listed = head.get("instances", [])
    known = {inst["id"] for inst in listed}
    # Runs of instances the session header does not list (a hand-merged store) still get reported.
    extra = [{"id": iid, "suite": rs[0].suite, "case": iid, "backend": "?", "expect": rs[0].expect}
             for iid, rs in by_instance.items() if iid not in known]
    instances = [_instance_summary(inst, by_instance.get(inst["id"], []), config) for inst in listed + extra]
    totals = {name: 0 for name in outcome.ORDER}
    for inst in instances:
        if inst["code"]:
            totals[inst["code"]] += 1
    status = end.get("status") if end else "incomplete"
    gating = [i["id"] for i in instances if i["gating"]]
    tool_errors = [r for r in runs if r.reason == "sanitizer-tool"]
    warnings = head.get("warnings", []) + (end.get("warnings", []) if end else [])
    if tool_errors:
        warnings.append(f"{len(tool_errors)} run(s) could not be checked: {tool_errors[0].message}: "
                        + sanitizers.TOOL_ERROR_ADVICE)
    if status in ("interrupted", "incomplete"):
        exit_code = EXIT_INTERRUPTED
    elif tool_errors:
        exit_code = EXIT_INFRA
    else:
        exit_code = EXIT_UNEXPECTED if gating else EXIT_OK
    return {
        "session": {
            "id": sid, "command": head.get("command"), "argv": head.get("argv", []), "started": head.get("started"),
            "finished": end.get("finished") if end else None, "status": status,
            "elapsed_s": end.get("elapsed_s") if end else None, "config": config,
            "machine": head.get("machine", {}), "build": head.get("build", {}),
            "warnings": warnings, "stopped": end.get("stopped") if end else None,
        },
        "instances": instances,
        "mutants": _mutant_summaries(head.get("backends", []), instances),
        "totals": totals,
        "not_run": sum(1 for i in instances if i["code"] is None),
        "runs": len(runs),
        "failing_runs": sum(1 for r in runs if r.code in outcome.RUN_FAILURES),
        "gating": gating,
        "signatures": sanitizers.collect(runs),
        "suppressions": sanitizers.collect_suppressions(runs),
        "tool_errors": len(tool_errors),
        "exit_code": exit_code,
        "codes": [{"name": c.name, "is_failure": c.is_failure, "description": c.description}
                  for c in (outcome.CODES[n] for n in outcome.ORDER)],
    }
