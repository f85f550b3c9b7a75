"""Inline SVG charts drawn with presentation attributes only (fill=, stroke=), never style=.

Under a strict Content-Security-Policy (Jenkins serves archived HTML with one) inline <style> and
<script> are blocked but presentation attributes still render, so these charts survive it.
"""

import math

from markupsafe import Markup, escape

from jostle.text import clean

GRADE_COLOURS = {"ACCEPTABLE": "#3d8b37", "INTERESTING": "#c98a00", "FORBIDDEN": "#c0392b"}
CODE_COLOURS = {"PASS": "#3d8b37", "XFAIL": "#6aa84f", "UNSUPPORTED": "#999999", "FLAKY": "#e69138",
                "XPASS": "#b45f06", "FAIL": "#c0392b", "ERROR": "#8e44ad", "TIMEOUT": "#a61c00",
                "CRASH": "#660000", "SANITIZER": "#1f4e79"}


def _text(value):
    return escape(clean(value))


def summary_bar(totals, width=480, height=18):
    """One stacked bar of instance verdicts."""
    total = sum(totals.values())
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="verdicts">']
    x = 0.0
    for code, count in totals.items():
        if not count:
            continue
        w = width * count / total
        parts.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" '
                     f'fill="{CODE_COLOURS.get(code, "#777")}"><title>{_text(code)}: {count}</title></rect>')
        x += w
    if not total:
        parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#dddddd"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def outcome_histogram(outcomes, width=300, row=14):
    """Horizontal bars per outcome key on a log scale, so a 3 beside a 10^6 still shows; exact counts as labels."""
    if not outcomes:
        return Markup("")
    items = sorted(outcomes.items(), key=lambda kv: (-kv[1].get("count", 0), kv[0]))
    peak = max(math.log10(v.get("count", 0) + 1) for _, v in items) or 1.0
    label_w, count_w = 110, 70
    bar_w = width - label_w - count_w
    height = row * len(items) + 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="outcome histogram">']
    for i, (key, entry) in enumerate(items):
        count = entry.get("count", 0)
        grade = entry.get("grade", "FORBIDDEN")
        y = i * row + 1
        w = max(1.0, bar_w * math.log10(count + 1) / peak) if count else 0
        label = clean(key)
        short = label if len(label) <= 16 else label[:15] + "…"
        parts.append(f'<text x="0" y="{y + row - 3}" font-size="11" font-family="monospace" fill="#222">'
                     f'{escape(short)}<title>{escape(label)}: {escape(clean(entry.get("desc", "")))}</title></text>')
        parts.append(f'<rect x="{label_w}" y="{y + 1}" width="{w:.1f}" height="{row - 3}" '
                     f'fill="{GRADE_COLOURS.get(grade, "#777")}"><title>{escape(label)} ({escape(grade)}): '
                     f'{count}</title></rect>')
        parts.append(f'<text x="{label_w + bar_w + 4}" y="{y + row - 3}" font-size="11" fill="#222">{count}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def rate_interval(rate, lo, hi, upper, width=160, height=16):
    """The failure rate as a dot with its Wilson interval; for 0 failures a bar up to the one-sided bound."""
    if rate is None:
        return Markup("")
    scale_max = max(hi if hi is not None else 0, upper or 0, 1e-6)
    def sx(p):
        return 4 + (width - 8) * min(1.0, p / scale_max)
    mid = height / 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="failure rate">',
             f'<line x1="4" y1="{mid}" x2="{width - 4}" y2="{mid}" stroke="#cccccc" stroke-width="1"/>']
    if rate == 0:
        parts.append(f'<rect x="4" y="{mid - 3}" width="{sx(upper) - 4:.1f}" height="6" fill="#3d8b37" '
                     f'fill-opacity="0.5"><title>0 failures: p &lt; {upper * 100:.3g}%</title></rect>')
    else:
        parts.append(f'<line x1="{sx(lo):.1f}" y1="{mid}" x2="{sx(hi):.1f}" y2="{mid}" stroke="#c0392b" '
                     f'stroke-width="2"/>')
        parts.append(f'<circle cx="{sx(rate):.1f}" cy="{mid}" r="3.5" fill="#c0392b"><title>{rate * 100:.3g}% '
                     f'(95% CI {lo * 100:.3g}-{hi * 100:.3g}%)</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))
