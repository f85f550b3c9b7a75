"""Renderers over the result store: JUnit XML, the single-file HTML report and the console summary.

Each renderer takes the plain summary that jostle.aggregate builds from the store's records and
nothing else, so every report can be re-rendered from results.jsonl alone.
"""

import errno
import os

from jostle import aggregate, store
from jostle.errors import InfraError
from reports import console, html, junit

__all__ = ["console", "dashboard", "html", "junit", "load_model", "render_all", "write_file"]

JUNIT_FILE = "junit.xml"
HTML_FILE = "report.html"


def load_model(out_dir, session=None, warn=None):
    records = store.load(out_dir, warn)
    model = aggregate.build(records, session)
    # The latest detection benchmark in the same store, if any, gets its table in report.html.
    detect = html.detect_model(records)
    if detect:
        model["detect"] = detect
    return model


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


def render_all(out_dir, session=None, warn=None, to_dir=None):
    """Write junit.xml and report.html for one session of the store in out_dir (or in to_dir); returns the model."""
    model = load_model(out_dir, session, warn)
    to_dir = to_dir or out_dir
    write_file(os.path.join(to_dir, JUNIT_FILE), junit.render(model))
    write_file(os.path.join(to_dir, HTML_FILE), html.render(model))
    model["files"] = [os.path.join(to_dir, JUNIT_FILE), os.path.join(to_dir, HTML_FILE)]
    return model


# The dashboard reads the whole store rather than one session's model; it uses write_file above.
from reports import dashboard  # noqa: E402
