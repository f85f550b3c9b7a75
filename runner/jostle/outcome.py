"""Result codes (a table with an is-failure bit) and the rules that turn runs into them.

Run level: one harness process becomes PASS, FAIL, TIMEOUT, CRASH, SANITIZER, UNSUPPORTED or ERROR.
Instance level: the runs of one instance, read against its `expect`, become one of the ten codes.
docs/result-codes.md is the prose version of this file; keep the two in step.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ResultCode:
    name: str
    is_failure: bool
    # Higher wins when every run of an instance failed in different ways.
    severity: int
    description: str


_TABLE = (
    ResultCode("PASS", False, 0, "every run passed"),
    ResultCode("UNSUPPORTED", False, 0, "the instance cannot run on this machine (reason kept)"),
    ResultCode("XFAIL", False, 0, "expected to fail (a mutant's catcher) and it did: the mutant was caught"),
    ResultCode("XPASS", True, 1, "expected to fail (a mutant's catcher) but every run passed: the mutant escaped"),
    ResultCode("FLAKY", True, 2, "some runs failed and some passed; a failure unless quarantined"),
    ResultCode("ERROR", True, 3, "the harness, a tool or the machine misbehaved; no verdict on the code under test"),
    ResultCode("FAIL", True, 4, "a CHECK/REQUIRE failed or a FORBIDDEN outcome was observed"),
    ResultCode("TIMEOUT", True, 5, "the run hung past its deadline; thread stacks were captured"),
    ResultCode("CRASH", True, 6, "the process died by a signal or exited before its end event"),
    ResultCode("SANITIZER", True, 7, "a sanitizer (TSan, ASan, UBSan, LSan) reported an error"),
)

CODES = {code.name: code for code in _TABLE}
ORDER = [code.name for code in _TABLE]

# Run-level codes that count as "this run failed" for flake rates and for catching a mutant.
RUN_FAILURES = frozenset({"FAIL", "TIMEOUT", "CRASH", "SANITIZER", "ERROR"})
# ERROR says nothing about the code under test, so it never counts as catching a mutant.
CATCHING = frozenset({"FAIL", "TIMEOUT", "CRASH", "SANITIZER"})


def is_failure(name):
    return CODES[name].is_failure


def aggregate(expect, run_codes, quarantined=False):
    """The instance-level verdict for the run-level codes of one instance.

    Returns (code or None when nothing ran, gating). `gating` says whether the verdict makes
    the command exit 1: informative instances never gate, and a quarantined FLAKY does not.
    """
    if not run_codes:
        return None, False
    counted = [c for c in run_codes if c != "UNSUPPORTED"]
    if not counted:
        return "UNSUPPORTED", False
    if expect == "fail":
        if any(c in CATCHING for c in counted):
            code = "XFAIL"
        elif "ERROR" in counted:
            code = "ERROR"
        else:
            code = "XPASS"
        return code, CODES[code].is_failure
    failures = [c for c in counted if c in RUN_FAILURES]
    if not failures:
        code = "PASS"
    elif "SANITIZER" in failures:
        # A sanitizer report means the defect really happened; it gates on its own, not as a rate.
        code = "SANITIZER"
    elif len(failures) < len(counted):
        code = "FLAKY"
    else:
        code = max(failures, key=lambda c: CODES[c].severity)
    gating = CODES[code].is_failure and expect != "informative" and not (code == "FLAKY" and quarantined)
    return code, gating
