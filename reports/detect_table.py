"""The detection benchmark's markdown table (docs/detection.md): per mutant instance and mode, kills, median time
to first failure and the speed-up over `none`; then the corpus figures per mode."""

from jostle.query_detect import speedups


def _x(x, bound=""):
    return f"x{bound}{x:.0f}" if x >= 10 else f"x{bound}{x:.1f}" if x >= 0.1 else f"x{bound}{x:.2f}"


def render(model):
    """The table of a query_detect.table_model."""
    summaries, figures = model["summaries"], model["figures"]
    difficulties = model.get("difficulties") or {}
    budget_s, trials = model.get("budget_s"), model.get("trials")
    iterations, timeout_s = model.get("iterations"), model.get("timeout_s")
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
                cell += " " + _x(x, ">=" if censored else "")
            if s["replayed"]:
                cell += f" replay {s['replayed'][0]}/{s['replayed'][1]}"
            if s.get("errors"):
                # A trial that could not go on (the binary vanished, UNSUPPORTED) is no escape: say so.
                cell += f" **{s['errors']} trial(s) ended in ERROR/UNSUPPORTED**"
            cells.append(cell)
        lines.append(f"| `{instance}` | {difficulties.get(instance, '')} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| mode | mutants | killed every trial | killed at least once | corpus median TTFF | vs none "
                 "| median per-mutant speed-up (TTFF) | median per-mutant speed-up (MTTF) | mutants >= x100 (MTTF) |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for mode, f in figures.items():
        vs = f.get("speedup_vs_none")
        ms, mr = f.get("median_speedup"), f.get("median_rate_speedup")
        lines.append(f"| {mode} | {f['mutants']} | {f['always_killed']} | {f['ever_killed']} | "
                     f"{f['corpus_median_s']:.2f}s | {'' if vs is None else _x(vs)} | "
                     f"{'' if ms is None else _x(ms)} | {'' if mr is None else _x(mr)} | "
                     f"{'' if mode == 'none' else f.get('at_least_100x', 0)} |")
    if budget_s is not None:
        lines.append("")
        shape = []
        if iterations:
            shape.append(f"--iterations {iterations} per run")
        if timeout_s:
            shape.append(f"a {timeout_s:g}s watchdog deadline per run of the hang-detected mutants")
        lines.append(f"Budget {budget_s:g}s per trial, {trials} trial(s) per cell"
                     + (f", {' and '.join(shape)}" if shape else "")
                     + "; an escaped trial counts as the budget, so a median marked >= is a lower bound and so is "
                       "a speed-up over it. MTTF = exposure / kills (rule of three when no kill).")
    return "\n".join(lines) + "\n"


