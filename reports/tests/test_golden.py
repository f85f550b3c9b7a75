"""Byte-for-byte outputs of the session reports and the dashboard over the hand-built sample store.

The golden files were rendered before the reports moved from plain dicts to typed records; a change that alters
an output on purpose regenerates them (JOSTLE_REGOLDEN=1) and the diff shows in review.
"""

import os

import pytest

import reports
from jostle.records import RunRecord
from sample_records import make_records

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
SESSION_OUTPUTS = {"junit": "junit.xml", "html": "report.html", "console": "console.txt"}


def _check(name, text):
    path = os.path.join(GOLDEN, name)
    if os.environ.get("JOSTLE_REGOLDEN"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    with open(path, encoding="utf-8") as f:
        assert text == f.read(), f"{name} differs from its golden file"


def _filled(records):
    """The sample's runs with every RunRecord field present, as the runner stores them."""
    return [{**RunRecord.from_json(r).to_json(), "schema": r["schema"]} if r.get("type") == "run" else r
            for r in records]


@pytest.mark.parametrize("shape", [make_records, lambda: _filled(make_records())], ids=["sparse", "filled"])
@pytest.mark.parametrize("report", sorted(SESSION_OUTPUTS))
def test_session_report_matches_its_golden_file(report, shape):
    _check(SESSION_OUTPUTS[report], reports.produce(report, shape()))


@pytest.mark.parametrize("shape", [make_records, lambda: _filled(make_records())], ids=["sparse", "filled"])
def test_dashboard_matches_its_golden_file(shape):
    # Rendered from the filled records: a run line without `expect` (which the runner always writes) now counts as
    # expect=pass, RunRecord's default, on the dashboard as in the session summary.
    _check("dashboard.html", reports.produce("dashboard", shape()))
