"""JUnit XML for CI systems, valid against Jenkins' junit-10.xsd.

One <testcase> per instance, aggregated over its runs (a repeated name breaks GitLab and others).
How an instance's verdict maps onto Surefire's vocabulary:

- FAIL, XPASS: <failure>; TIMEOUT, CRASH, SANITIZER, ERROR: <error type="CODE">.
- the failed runs after the first: <rerunFailure>/<rerunError> when every run failed, and
  <flakyFailure>/<flakyError> when some runs passed (the Surefire "flaky" convention).
- FLAKY gates our exit code unless quarantined, so it also carries a <failure type="FLAKY">: a CI
  page must not show green for a job that failed. Quarantined FLAKY: <skipped> plus the flaky runs.
- informative instances (mutant non-catchers) never gate: failed runs appear only as flaky runs.
- UNSUPPORTED and not-run instances: <skipped>.
"""

import datetime
import xml.etree.ElementTree as ET

from jostle.text import cap, clean, one_line

# Per run shown in the file; every run is in the HTML report and the store.
MAX_RUNS_SHOWN = 10
BODY_LIMIT = 16 * 1024
OUTPUT_LIMIT = 8 * 1024
_ERROR_CODES = {"TIMEOUT", "CRASH", "SANITIZER", "ERROR"}


def _time(seconds):
    return f"{max(0.0, seconds or 0.0):.3f}"


def _run_body(run):
    lines = [f"{run.code} ({run.reason}): {run.message}",
             f"seed {run.seed}, {(run.elapsed_ms or 0) / 1000:.3f}s, "
             f"{run.iterations_done} iterations, exit code {run.exit_code}, signal {run.signal}",
             f"repro: {run.repro}"]
    for check in run.checks or []:
        lines.append(f"check {check.get('file')}:{check.get('line')}: {check.get('expr')} {check.get('msg') or ''}")
    sanitizer = run.sanitizer or {}
    lines.extend(sanitizer.get("summaries") or [])
    if run.bad_lines:
        lines.append("event channel garbage: " + " | ".join(run.bad_lines[:3]))
    if run.stacks:
        lines.append("thread stacks at the deadline:\n" + run.stacks)
    elif run.stack_note and run.code == "TIMEOUT":
        lines.append(f"no thread stacks: {run.stack_note}")
    return cap("\n".join(lines), BODY_LIMIT)


def _element(parent, tag, run, primary_message=None):
    """One failure-like element for `run`; rerun/flaky elements get Surefire's children."""
    el = ET.SubElement(parent, tag, {"type": run.code,
                                     "message": one_line(primary_message or run.message or run.code)})
    if tag in ("failure", "error"):
        el.text = _run_body(run)
        return el
    ET.SubElement(el, "stackTrace").text = _run_body(run)
    if run.stdout:
        ET.SubElement(el, "system-out").text = cap(run.stdout, OUTPUT_LIMIT)
    if run.stderr:
        ET.SubElement(el, "system-err").text = cap(run.stderr, OUTPUT_LIMIT)
    return el


def _testcase(parent, inst):
    case = ET.SubElement(parent, "testcase", {"name": clean(inst["id"]),
                                              "classname": clean(f"{inst.get('suite')}.{inst.get('case')}"),
                                              "time": _time(inst["elapsed_s"])})
    code = inst["code"]
    failures = inst["failures"]
    some_passed = inst["runs"] > inst["failed_runs"]
    outcome = "failed"
    if code is None:
        ET.SubElement(case, "skipped", {"message": "not run (the session ended first)"})
        outcome = "skipped"
    elif code == "UNSUPPORTED":
        ET.SubElement(case, "skipped", {"message": one_line(f"unsupported: {inst.get('unsupported_reason') or ''}")})
        outcome = "skipped"
    elif inst["expect"] == "informative" or code in ("PASS", "XFAIL"):
        outcome = "passed"
    elif inst["quarantined"] and not inst["gating"]:
        ET.SubElement(case, "skipped", {"message": one_line(f"quarantined: {inst['rate_text']} ({code})")})
        outcome = "skipped"
    elif inst.get("tolerated"):
        # The gate found this failure already known on its baseline and not significantly more frequent.
        ET.SubElement(case, "skipped", {"message": one_line(f"known on the baseline: {inst['tolerated']}")})
        outcome = "skipped"
    elif code == "FLAKY":
        ET.SubElement(case, "failure", {"type": "FLAKY", "message": one_line(f"flaky: {inst['rate_text']}")}).text = \
            cap(f"{inst['rate_text']}\nfirst failing run:\n{_run_body(failures[0])}", BODY_LIMIT)
    elif code == "XPASS":
        ET.SubElement(case, "failure", {"type": "XPASS", "message": one_line(
            f"mutant escaped: expected to fail, but {inst['runs']} run(s) passed")}).text = \
            "This instance is a declared catcher of its mutant backend and should have failed."
    else:
        primary = next((r for r in failures if r.code == code), failures[0])
        tag = "error" if code in _ERROR_CODES else "failure"
        _element(case, tag, primary, f"{code}: {primary.message or ''} ({inst['rate_text']})")
        failures = [r for r in failures if r is not primary]
    if code not in (None, "XFAIL", "XPASS"):
        flaky = some_passed or code == "FLAKY" or inst["expect"] == "informative"
        for run in failures[:MAX_RUNS_SHOWN]:
            is_error = run.code in _ERROR_CODES
            if flaky:
                _element(case, "flakyError" if is_error else "flakyFailure", run)
            else:
                _element(case, "rerunError" if is_error else "rerunFailure", run)
    notes = [inst["rate_text"]]
    if inst["expect"] != "pass":
        notes.append(f"expect={inst['expect']}; verdict {code}")
    if len(failures) > MAX_RUNS_SHOWN:
        notes.append(f"{len(failures) - MAX_RUNS_SHOWN} more failed runs are in report.html and results.jsonl")
    if inst["outcomes"]:
        notes.append("outcomes: " + ", ".join(f"{k}={v['count']} ({v['grade']})" for k, v in inst["outcomes"].items()))
    ET.SubElement(case, "system-out").text = cap("\n".join(notes), BODY_LIMIT)
    return outcome, case


def render(model):
    session = model["session"]
    started = (session.get("started") or "")[:19]
    root = ET.Element("testsuites", {"name": "jostle"})
    suites = {}
    for inst in model["instances"]:
        suites.setdefault(inst.get("suite") or "unknown", []).append(inst)
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for name, instances in suites.items():
        suite = ET.SubElement(root, "testsuite", {"name": clean(name)})
        props = ET.SubElement(suite, "properties")
        config = session.get("config", {})
        for key, value in (("session", session.get("id")), ("command", session.get("command")),
                           ("build", session.get("build", {}).get("preset")), ("seed", config.get("seed")),
                           ("jobs", config.get("jobs")), ("amplify", (config.get("amplify") or {}).get("mode")),
                           ("cpus", len(session.get("machine", {}).get("affinity", []) or [])),
                           ("status", session.get("status"))):
            ET.SubElement(props, "property", {"name": f"jostle.{key}", "value": clean(value)})
        counts = {"failed": 0, "errors": 0, "skipped": 0}
        elapsed = 0.0
        for inst in instances:
            outcome, case = _testcase(suite, inst)
            elapsed += inst["elapsed_s"]
            if outcome == "skipped":
                counts["skipped"] += 1
            elif outcome == "failed":
                counts["errors" if case.find("error") is not None else "failed"] += 1
        suite.attrib.update({"tests": str(len(instances)), "failures": str(counts["failed"]),
                             "errors": str(counts["errors"]), "skipped": str(counts["skipped"]),
                             "time": _time(elapsed), "timestamp": started or _now(),
                             "hostname": clean(session.get("machine", {}).get("hostname", ""))})
        totals["tests"] += len(instances)
        totals["failures"] += counts["failed"]
        totals["errors"] += counts["errors"]
        totals["time"] += elapsed
    root.attrib.update({"tests": str(totals["tests"]), "failures": str(totals["failures"]),
                        "errors": str(totals["errors"]), "time": _time(totals["time"])})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _now():
    return datetime.datetime.now().isoformat(timespec="seconds")
