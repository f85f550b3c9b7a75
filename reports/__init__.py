"""Reports: renderers over the result store, behind one small interface.

A Report is a name, the file it writes by default (None: printed), `build` (store records and a
session -> the plain model it reads, from the query layer jostle.query / jostle.query_detect) and
`render` (model -> text). No report sees a live runner object, so every one re-renders from
results.jsonl alone. The runner never imports this package; the CLI uses both.

Adding a format: one module with render(model), one line in REPORTS.
"""

import errno
import os
from dataclasses import dataclass
from typing import Callable

from jostle import query, query_detect, store
from jostle.errors import InfraError
from reports import console, dashboard, detect_table, html, junit, markdown

__all__ = ["REPORTS", "Report", "load_model", "produce", "render_all", "write", "write_file"]


@dataclass(frozen=True)
class Report:
    name: str
    file: str | None
    build: Callable          # (records, session) -> model, or None when the store has nothing for it
    render: Callable         # model -> text


def load_session_model(records, session=None):
    """The session summary, with the latest detection benchmark of the same store (report.html shows both)."""
    gate = query.gate_record(records, session)
    if gate:   # a gate's phases are one report, with its verdict, as `jostle gate` rendered them
        model = query.apply_gate(query.build(query.combine(records, gate["sessions"])), gate)
    else:
        model = query.build(records, session)
    detect = query_detect.page_model(records)
    if detect:
        model["detect"] = detect
    return model


REPORTS = {r.name: r for r in (
    Report("junit", "junit.xml", load_session_model, junit.render),
    Report("html", "report.html", load_session_model, html.render),
    Report("console", None, load_session_model, console.render),
    Report("gate-summary", markdown.FILE, None, markdown.render),   # built by the gate (judged model)
    Report("dashboard", dashboard.FILE, lambda records, _session=None: dashboard.build(records), dashboard.render),
    Report("detect-page", "detect.html", query_detect.page_model, html.render_detect),
    Report("detect-table", None, query_detect.table_model, detect_table.render),
)}
# What `jostle run/stress/report/merge` write next to the store.
SESSION_FILES = ("junit", "html")
JUNIT_FILE = REPORTS["junit"].file
HTML_FILE = REPORTS["html"].file


def load_model(out_dir, session=None, warn=None):
    return load_session_model(store.load(out_dir, warn), session)


def write_file(path, text):
    """Write `path` whole or not at all: the previous version stays until the new one is complete, and a
    failed write (full disk, read-only store) leaves no temporary file behind."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        # Replace atomically, so a reader (or a kill mid-write) never sees half a report.
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        hint = " (write the reports elsewhere: `jostle report --to DIR`, `jostle dashboard --out FILE`)" \
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) else ""
        raise InfraError(f"cannot write {path}: {exc.strerror or exc}{hint}") from None


def write(name, model, out_dir, path=None):
    """Render report `name` from `model` into `path` (default: its file in out_dir); returns the path."""
    report = REPORTS[name]
    path = path or os.path.join(out_dir, report.file)
    write_file(path, report.render(model))
    return path


def render_all(out_dir, session=None, warn=None, to_dir=None):
    """Write the session reports (junit.xml, report.html) for one session of the store in out_dir (or in
    to_dir); returns the model."""
    model = load_model(out_dir, session, warn)
    model["files"] = [write(name, model, to_dir or out_dir) for name in SESSION_FILES]
    return model


def produce(name, records, session=None):
    """Report `name` built from store records and rendered; None when the store has nothing for it."""
    report = REPORTS[name]
    model = report.build(records, session)
    return None if model is None else report.render(model)
