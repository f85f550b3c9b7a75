import pytest

from jostle import outcome


def test_table_has_the_ten_codes_with_failure_bits():
    assert set(outcome.CODES) == {"PASS", "FAIL", "XFAIL", "XPASS", "FLAKY", "TIMEOUT", "CRASH", "SANITIZER",
                                  "UNSUPPORTED", "ERROR"}
    assert [c for c in outcome.ORDER if not outcome.is_failure(c)] == ["PASS", "UNSUPPORTED", "XFAIL"]


@pytest.mark.parametrize("expect,runs,code,gating", [
    ("pass", ["PASS", "PASS"], "PASS", False),
    ("pass", ["PASS", "FAIL", "PASS"], "FLAKY", True),
    ("pass", ["PASS", "CRASH"], "FLAKY", True),
    ("pass", ["FAIL", "FAIL"], "FAIL", True),
    ("pass", ["FAIL", "CRASH"], "CRASH", True),
    ("pass", ["TIMEOUT", "ERROR"], "TIMEOUT", True),
    ("pass", ["PASS", "SANITIZER"], "SANITIZER", True),
    ("pass", ["UNSUPPORTED", "UNSUPPORTED"], "UNSUPPORTED", False),
    ("pass", ["UNSUPPORTED", "PASS"], "PASS", False),
    ("pass", ["ERROR"], "ERROR", True),
    ("pass", [], None, False),
    ("fail", ["PASS", "FAIL"], "XFAIL", False),
    ("fail", ["TIMEOUT"], "XFAIL", False),
    ("fail", ["SANITIZER", "PASS"], "XFAIL", False),
    ("fail", ["PASS", "PASS"], "XPASS", True),
    ("fail", ["PASS", "ERROR"], "ERROR", True),
    ("informative", ["FAIL", "FAIL"], "FAIL", False),
    ("informative", ["PASS", "FAIL"], "FLAKY", False),
])
def test_aggregate(expect, runs, code, gating):
    assert outcome.aggregate(expect, runs) == (code, gating)


def test_quarantine_only_mutes_flaky():
    assert outcome.aggregate("pass", ["PASS", "FAIL"], quarantined=True) == ("FLAKY", False)
    assert outcome.aggregate("pass", ["FAIL", "FAIL"], quarantined=True) == ("FAIL", True)
