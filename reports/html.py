"""The single-file HTML report: readable with JavaScript off, no network, every byte of output escaped."""

import os

import jinja2
from markupsafe import Markup

from jostle import stats
from reports import svg
from jostle.text import cap, clean

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
# Runs shown in full per instance; the rest are counted (every run stays in results.jsonl).
MAX_RUNS_SHOWN = 20
OUTPUT_LIMIT = 32 * 1024


def _finalize(value):
    """Applied to every {{ }} before autoescaping: control characters become visible escapes."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    return clean(value)


def _environment():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, finalize=_finalize,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["cap"] = lambda text, limit=OUTPUT_LIMIT: cap(text, limit)
    env.filters["rate"] = lambda p: "" if p is None else stats.format_rate(p)
    env.filters["seconds"] = lambda s: "" if s is None else f"{s:.2f}s"
    env.filters["pct_sweep"] = lambda sweep: stats.describe_pct_sweep(sweep) or ""
    env.filters["speedup"] = lambda cell: _speedup(cell.get("speedup"), cell.get("speedup_censored"))
    return env


def _order(inst):
    """Gating problems first, then other failures, then the rest in listing order."""
    if inst["gating"]:
        return 0
    if inst["failed_runs"] or inst["code"] in ("XPASS", None):
        return 1
    return 2


def _speedup(x, censored=False):
    if x is None:
        return ""
    text = f"{x:.0f}" if x >= 10 else f"{x:.1f}" if x >= 0.1 else f"{x:.2f}"
    return f"x{'>=' if censored else ''}{text}"


def render(model, detect=None):
    """`detect` (detect_model's result) adds the detection table; by default it is model["detect"] if any."""
    detect = detect if detect is not None else model.get("detect")
    instances = sorted(model["instances"], key=_order)
    charts = {inst["id"]: {
        "histogram": svg.outcome_histogram(inst["outcomes"]),
        "interval": svg.rate_interval(inst["rate"], *(inst["wilson"] or (None, None)), inst["upper"]),
    } for inst in instances}
    problems = [inst for inst in instances if inst["gating"] or inst["failed_runs"] or inst["code"] == "XPASS"]
    return _environment().get_template("report.html.j2").render(
        model=model, session=model["session"], instances=instances, problems=problems, charts=charts,
        summary_chart=svg.summary_bar(model["totals"]), colours=svg.CODE_COLOURS, max_runs=MAX_RUNS_SHOWN,
        detect=detect)


def render_detect(detect):
    """A page of its own for a detect session (`jostle detect` writes it as detect.html next to the store)."""
    return _environment().get_template("detect.html.j2").render(detect=detect)
