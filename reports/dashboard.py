"""The soak dashboard: one static HTML page over every night of a store, complete with JavaScript off.

Nights are the `night` label soak sessions carry (else the session's start date). Per night the
page shows each instance's flake rate with its Wilson interval, what is new since the night before,
sanitizer signatures, mutant detection and benchmark trends. Every number is in an HTML table and
every chart is inline SVG with presentation attributes, so the page survives a CSP that blocks
scripts and inline styles; a small script only adds a filter box and marks the page as rendered.
"""

import json

import jinja2
from markupsafe import Markup, escape

from jostle import outcome, query, sanitizers, stats
from jostle.text import clean
from reports import html as html_report

FILE = "dashboard.html"
NIGHT_W = 26


def _night(head):
    labels = head.get("labels") or {}
    return labels.get("night") or (head.get("started") or "????-??-??")[:10]


def build(records):
    """The dashboard's plain model from every record of a store."""
    heads = {r["session"]: r for r in records if r.get("type") == "session"}
    night_of = {sid: _night(h) for sid, h in heads.items()}
    nights = sorted(set(night_of.values()))
    runs = query.unique_runs(query.run_records(records, night_of))
    by_night = {n: [] for n in nights}
    for r in runs:
        by_night[night_of[r.session]].append(r)
    # (instance, night) -> [n, k], over the instances expected to pass (mutant catchers are counted below).
    cells = query.counts((r for r in runs if r.expect == "pass"), key=lambda r: (r.instance, night_of[r.session]))
    instances = sorted({iid for iid, _ in cells})
    rows = []
    for iid in instances:
        series = []
        for night in nights:
            point = query.rate(*cells.get((iid, night), (0, 0)))
            lo, hi = point["wilson"] or (None, None)
            series.append({"night": night, "n": point["n"], "k": point["k"], "rate": point["rate"], "lo": lo,
                           "hi": hi, "upper": point["upper"]})
        total = query.rate(sum(p["n"] for p in series), sum(p["k"] for p in series))
        rows.append({"id": iid, "series": series, "n": total["n"], "k": total["k"], "text": total["text"],
                     "last": series[-1] if series else None})
    rows.sort(key=lambda row: (-(row["k"] / row["n"] if row["n"] else 0), row["id"]))

    signatures = {}
    for night in nights:
        for entry in sanitizers.collect(by_night[night]):
            sig = signatures.setdefault(entry["signature"], dict(entry, nights={}))
            sig["nights"][night] = entry["count"]
            sig["count"] = sum(sig["nights"].values())
            for iid in entry["instances"]:
                if iid not in sig["instances"]:
                    sig["instances"].append(iid)
    suppressions = {night: sanitizers.collect_suppressions(by_night[night]) for night in nights}

    last, prev = (nights[-1] if nights else None), (nights[-2] if len(nights) > 1 else None)
    new = []
    if last:
        for row in rows:
            now = next(p for p in row["series"] if p["night"] == last)
            before = [p for p in row["series"] if p["night"] != last and p["n"]]
            if now["k"] and not any(p["k"] for p in before):
                new.append({"kind": "failing instance", "what": row["id"],
                            "detail": query.rate(now["n"], now["k"])["text"]
                            + ("" if before else " (first night it ran)")})
        for sig in signatures.values():
            if last in sig["nights"] and len(sig["nights"]) == 1 and prev is not None:
                new.append({"kind": "sanitizer signature", "what": f"{sig['id']} {sig['tool']} {sig['type']}",
                            "detail": f"{sig['nights'][last]} report(s) in " + ", ".join(sig["instances"][:3])})

    mutants = _mutants(heads, night_of, nights, by_night)
    benches = query.bench_trends(records)
    gates = [r for r in records if r.get("type") == "gate"][-10:]
    return {"nights": nights, "rows": rows, "signatures": sorted(signatures.values(), key=lambda s: -s["count"]),
            "suppressions": suppressions, "new": new, "last": last, "previous": prev, "mutants": mutants,
            "benches": benches, "gates": gates, "runs": len(runs), "sessions": len(heads),
            "summary": _summary(rows, nights, new, mutants)}


FLAKIEST = 5


def _summary(rows, nights, new, mutants):
    """The top of the page: totals, the flakiest instances, what is new, mutant detection, the failure rate per
    night over every instance, and the all-clean instances as one line with their combined bound."""
    failing = [row for row in rows if row["k"]]
    clean = [row for row in rows if row["n"] and not row["k"]]
    trend = []
    for i, night in enumerate(nights):
        n = sum(row["series"][i]["n"] for row in rows)
        k = sum(row["series"][i]["k"] for row in rows)
        trend.append({"night": night, "n": n, "k": k, "rate": k / n if n else None})
    clean_runs = sum(row["n"] for row in clean)
    fewest = min((row["n"] for row in clean), default=0)
    latest = next((m for m in reversed(mutants["nights"]) if m["ran"]), None)
    return {"runs": sum(row["n"] for row in rows), "failing_runs": sum(row["k"] for row in rows),
            "instances": len(rows), "failing": failing, "flakiest": failing[:FLAKIEST], "new": len(new),
            "mutants": latest, "trend": trend,
            "clean": {"count": len(clean), "runs": clean_runs, "fewest": fewest,
                      "combined": stats.upper_bound(0, clean_runs) if clean_runs else None,
                      "weakest": stats.upper_bound(0, fewest) if fewest else None}}


def _mutants(heads, night_of, nights, by_night):
    """Per night: which mutant backends were caught (a declared catcher failed a run) or escaped."""
    declared = {}
    for sid, head in heads.items():
        for b in head.get("backends", []):
            if b.get("mutant"):
                declared[(b.get("suite"), b.get("name"))] = b
    result = []
    for night in nights:
        catchers = {}
        for r in by_night[night]:
            if r.expect != "fail":
                continue
            backend = r.instance.split("@", 1)[-1].split("/", 1)[0]
            key = (r.suite, backend)
            caught = catchers.setdefault(key, False)
            catchers[key] = caught or r.code in outcome.CATCHING
        caught = sorted(f"{s}/{b}" for (s, b), c in catchers.items() if c)
        escaped = sorted(f"{s}/{b}" for (s, b), c in catchers.items() if not c)
        result.append({"night": night, "caught": caught, "escaped": escaped, "ran": len(catchers),
                       "rate": len(caught) / len(catchers) if catchers else None})
    return {"nights": result, "declared": len(declared)}


# -- charts -----------------------------------------------------------------------------------------

def _svg(width, height, label, body):
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
                  f'aria-label="{escape(label)}" class="chart">{"".join(body)}</svg>')


def rate_chart(series, height=40):
    """One column per night: the rate as a dot with its Wilson interval; a clean night as a green bar to 3/n."""
    width = NIGHT_W * max(1, len(series)) + 4
    top = max([p["hi"] for p in series if p["hi"] is not None and p["k"]] +
              [p["upper"] for p in series if p["upper"] is not None and not p["k"]] + [1e-3])

    def y(value):
        return height - 3 - (height - 6) * min(1.0, value / top)
    body = [f'<line x1="0" y1="{height - 2}" x2="{width}" y2="{height - 2}" stroke="#cccccc" stroke-width="1"/>']
    for i, p in enumerate(series):
        x = 2 + NIGHT_W * i + NIGHT_W / 2
        title = f"{p['night']}: " + (query.rate(p["n"], p["k"])["text"] if p["n"] else "not run")
        if not p["n"]:
            body.append(f'<text x="{x - 3:.1f}" y="{height - 6}" font-size="9" fill="#aaaaaa">·'
                        f'<title>{escape(title)}</title></text>')
        elif not p["k"]:
            body.append(f'<rect x="{x - 4:.1f}" y="{y(p["upper"]):.1f}" width="8" '
                        f'height="{height - 2 - y(p["upper"]):.1f}" fill="#3d8b37" fill-opacity="0.35">'
                        f'<title>{escape(title)}</title></rect>')
        else:
            body.append(f'<line x1="{x:.1f}" y1="{y(p["lo"]):.1f}" x2="{x:.1f}" y2="{y(p["hi"]):.1f}" '
                        f'stroke="#c0392b" stroke-width="2"/>')
            body.append(f'<circle cx="{x:.1f}" cy="{y(p["rate"]):.1f}" r="3.5" fill="#c0392b">'
                        f'<title>{escape(title)}</title></circle>')
    return _svg(width, height, "flake rate per night", body)


def count_cells(nights, counts, colour="#1f4e79"):
    """One cell per night, darker for more; the count is in the title and in the table beside it."""
    peak = max(counts.values(), default=0) or 1
    body = []
    for i, night in enumerate(nights):
        c = counts.get(night, 0)
        opacity = 0.08 if not c else 0.3 + 0.7 * c / peak
        body.append(f'<rect x="{2 + NIGHT_W * i}" y="2" width="{NIGHT_W - 4}" height="16" fill="{colour}" '
                    f'fill-opacity="{opacity:.2f}"><title>{escape(night)}: {c}</title></rect>')
    return _svg(NIGHT_W * max(1, len(nights)) + 4, 20, "count per night", body)


def line_chart(values, labels, width=260, height=60, colour="#1f4e79", floor_zero=True, flag_last=False, top=None):
    """A polyline over values (None = gap) with a dot per point; the last dot red when flagged."""
    pts = [(i, v) for i, v in enumerate(values) if v is not None]
    if not pts:
        return Markup("")
    lo = 0.0 if floor_zero else min(v for _, v in pts)
    hi = top if top is not None else max(v for _, v in pts)
    span = (hi - lo) or 1.0
    step = (width - 10) / max(1, len(values) - 1)

    def xy(i, v):
        return 5 + step * i, height - 5 - (height - 10) * (v - lo) / span
    body = [f'<line x1="0" y1="{height - 4}" x2="{width}" y2="{height - 4}" stroke="#cccccc" stroke-width="1"/>']
    if len(pts) > 1:
        body.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>'
                    % (colour, " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in pts))))
    for n, (i, v) in enumerate(pts):
        x, y = xy(i, v)
        fill = "#c0392b" if flag_last and n == len(pts) - 1 else colour
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{fill}"><title>{escape(clean(labels[i]))}: '
                    f'{v:.4g}</title></circle>')
    return _svg(width, height, "trend", body)


# -- rendering --------------------------------------------------------------------------------------

def _environment():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(html_report.TEMPLATES), autoescape=True,
                             finalize=html_report._finalize, trim_blocks=True, lstrip_blocks=True)
    env.filters["rate"] = lambda p: "" if p is None else stats.format_rate(p)
    env.filters["pct"] = lambda p: "" if p is None else f"{p * 100:+.1f}%"
    return env


def render(model):
    charts = {
        "rows": {row["id"]: rate_chart(row["series"]) for row in model["rows"]},
        "signatures": {s["signature"]: count_cells(model["nights"], s["nights"]) for s in model["signatures"]},
        "trend": line_chart([t["rate"] for t in model["summary"]["trend"]],
                            [f"{t['night']}: {t['k']}/{t['n']} runs failed" for t in model["summary"]["trend"]],
                            colour="#c0392b"),
        "mutants": line_chart([m["rate"] for m in model["mutants"]["nights"]],
                              [m["night"] for m in model["mutants"]["nights"]], colour="#3d8b37", top=1.0),
        "benches": {b["name"]: line_chart([p["value"] for p in b["points"]], [p["when"] for p in b["points"]],
                                          floor_zero=False, flag_last=b["regression"]) for b in model["benches"]},
    }
    data = {"nights": model["nights"],
            "rates": {row["id"]: [[p["n"], p["k"]] for p in row["series"]] for row in model["rows"]}}
    island = Markup(json_island(data))
    return _environment().get_template("dashboard.html.j2").render(m=model, charts=charts, data=island)


def json_island(data):
    """`data` as JSON for a <script type="application/json"> block: no <, > or & left, so that no label
    (`</script>`, `<!--<script>`) can end the block early or switch the HTML parser into another state."""
    text = json.dumps(data, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
