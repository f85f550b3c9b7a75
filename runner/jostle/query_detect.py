"""The query layer's detection part: speed-ups and corpus figures over detect cells, and the models the detect
table (markdown) and page (HTML) read from the store's `detect-session` and `detect` records.

`jostle detect` uses the figures while it measures (each stored cell carries its speed-up over `none`);
the reports use them to render from the store alone.
"""

import statistics


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


def page_model(records, session=None):
    """The detection benchmark's table from the store's `detect` records: one session (the latest by default),
    rows per mutant instance with one cell per mode. None when the store has no detect session."""
    heads = [r for r in records if r.get("type") == "detect-session"]
    if session:
        heads = [r for r in heads if r.get("session") == session]
    if not heads:
        return None
    head = heads[-1]
    cells = [r for r in records if r.get("type") == "detect" and r.get("session") == head["session"]]
    modes = list(head.get("modes") or dict.fromkeys(c["mode"] for c in cells))
    rows = {}
    for c in cells:
        rows.setdefault(c["instance"], {})[c["mode"]] = {
            "killed": c.get("killed"), "trials": c.get("trials"), "median_s": c.get("median_s"),
            "censored": c.get("median_censored"), "runs": c.get("median_runs"), "speedup": c.get("speedup"),
            "speedup_censored": c.get("speedup_censored"), "replayed": c.get("replayed"),
            "codes": c.get("codes") or []}
    return {"session": head["session"], "started": head.get("started"), "modes": modes,
            "budget_s": head.get("budget_per_mutant_s"), "trials": head.get("trials"),
            "iterations": head.get("iterations"), "timeout_s": head.get("hang_timeout_s", head.get("timeout_s")), "quick": head.get("quick"),
            "rows": [{"instance": iid, "cells": by} for iid, by in rows.items()]}


def table_model(records, session=None):
    """What the markdown detect table shows: the cells of one detect session (the latest by default), the corpus
    figures per mode and the measurement's shape. None when the store has no detect session."""
    heads = [r for r in records if r.get("type") == "detect-session" and (not session or r.get("session") == session)]
    if not heads:
        return None
    head = heads[-1]
    summaries = [r for r in records if r.get("type") == "detect" and r.get("session") == head["session"]]
    modes = list(head.get("modes") or dict.fromkeys(s["mode"] for s in summaries))
    return {"summaries": summaries, "figures": corpus_figures(summaries, modes),
            "difficulties": head.get("difficulties") or {}, "budget_s": head.get("budget_per_mutant_s"),
            "trials": head.get("trials"), "iterations": head.get("iterations"),
            "timeout_s": head.get("hang_timeout_s")}
