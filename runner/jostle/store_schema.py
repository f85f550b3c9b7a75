"""The shape of every store record that a reader relies on, checked when a store is read.

The runner only writes records of this shape (the event stream is validated at the boundary,
jostle.protocol); this check is for what reaches a store by other roads: a hand edit, a truncating
copy, another tool. A record that fails it is named with its line and field, so that a reader never
meets a value it cannot handle (docs/runner.md, "The store"; docs/reliability.md).
"""

from jostle import outcome, protocol

_EXPECTS = ("pass", "fail", "informative")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_num(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _list_of(test):
    return lambda v: isinstance(v, list) and all(test(item) for item in v)


# (test, what it should be)
STR = (lambda v: isinstance(v, str), "a string")
OPT_STR = (lambda v: v is None or isinstance(v, str), "a string or null")
INT = (_is_int, "a whole number")
OPT_INT = (lambda v: v is None or _is_int(v), "a whole number or null")
SEED = (lambda v: _is_int(v) or (isinstance(v, str) and v.isdigit()), "a whole number")
OPT_NUM = (lambda v: v is None or _is_num(v), "a number or null")
BOOL = (lambda v: isinstance(v, bool), "true or false")
DICT = (lambda v: isinstance(v, dict), "an object")
OPT_DICT = (lambda v: v is None or isinstance(v, dict), "an object or null")
LIST = (lambda v: isinstance(v, list), "a list")
STRS = (_list_of(lambda item: isinstance(item, str)), "a list of strings")
DICTS = (_list_of(lambda item: isinstance(item, dict)), "a list of objects")
CODE = (lambda v: v in outcome.CODES, "a result code (" + ", ".join(outcome.CODES) + ")")
EXPECT = (lambda v: v in _EXPECTS, "one of " + ", ".join(_EXPECTS))

# type -> {field: ((test, want), required)}. Fields not listed are not read by anything that could break.
RECORD_FIELDS = {
    "session": {"session": (STR, True), "command": (OPT_STR, False), "argv": (STRS, False),
                "started": (OPT_STR, False), "machine": (DICT, False), "build": (DICT, False),
                "config": (DICT, False), "instances": (DICTS, False), "backends": (DICTS, False),
                "warnings": (STRS, False), "labels": (DICT, False)},
    "run": {"session": (STR, True), "seq": (INT, True), "instance": (STR, True), "code": (CODE, True),
            "suite": (OPT_STR, False), "expect": (EXPECT, False), "reason": (OPT_STR, False),
            "message": (OPT_STR, False), "seed": (SEED, False), "batch": (OPT_INT, False),
            "iterations": (OPT_INT, False), "duration_ms": (OPT_NUM, False), "timeout_ms": (OPT_NUM, False),
            "amplify": (OPT_DICT, False), "plugins": (STRS, False), "build": (OPT_STR, False),
            "argv": (STRS, False), "exit_code": (OPT_INT, False), "signal": (OPT_INT, False),
            "elapsed_ms": (OPT_NUM, False), "iterations_done": (OPT_INT, False), "checks": (DICTS, False),
            "checks_failed": (OPT_INT, False), "forbidden": (OPT_INT, False), "start": (OPT_DICT, False),
            "hang": (OPT_DICT, False), "end": (BOOL, False), "stacks": (OPT_STR, False),
            "stack_note": (OPT_STR, False), "stdout": (OPT_STR, False), "stderr": (OPT_STR, False),
            "stdout_bytes": (OPT_INT, False), "stderr_bytes": (OPT_INT, False), "bad_lines": (STRS, False),
            "torn": (OPT_STR, False), "sanitizer": (OPT_DICT, False), "suppressed": (OPT_DICT, False),
            "sanitizer_log": (OPT_STR, False), "repro": (OPT_STR, False), "schedule": (OPT_DICT, False),
            "finished": (OPT_STR, False), "raw_files": (OPT_STR, False)},
    "session_end": {"session": (STR, True), "status": (STR, True), "runs": (OPT_INT, False),
                    "elapsed_s": (OPT_NUM, False), "finished": (OPT_STR, False), "sprt": (OPT_DICT, False)},
    "gate": {"session": (OPT_STR, False)},
    "bench": {"benchmarks": (DICTS, False), "binary": (OPT_STR, False), "finished": (OPT_STR, False)},
}

_INSTANCE = {"id": STR, "suite": STR, "expect": EXPECT}


def _nested_problem(kind, record):
    """Problems inside the fields that hold harness events, outcome maps or instance records."""
    if kind == "run":
        for field in ("outcomes", "metrics"):
            if field in record and record[field] is not None:
                problem = protocol.outcomes_problem(record[field], need_grade=False) if field == "outcomes" \
                    else protocol.metrics_problem(record[field])
                if problem:
                    return f"{field}{problem if problem.startswith('[') else ': ' + problem}"
        for field in ("start", "hang"):
            if isinstance(record.get(field), dict):
                problem = protocol.event_problem(record[field], field)
                if problem:
                    return f"{field} (the {field} event): {problem}"
        for i, check in enumerate(record.get("checks") or []):
            problem = protocol.event_problem(check, "check")
            if problem:
                return f"checks[{i}]: {problem}"
        sanitizer = record.get("sanitizer")
        if isinstance(sanitizer, dict):
            reports = sanitizer.get("reports")
            if reports is not None and not (isinstance(reports, list) and all(
                    isinstance(r, dict) and isinstance(r.get("signature"), str) and isinstance(r.get("tool"), str)
                    for r in reports)):
                return "sanitizer.reports: expected a list of reports with a signature and a tool"
        suppressed = record.get("suppressed")
        if isinstance(suppressed, dict) and not all(_is_int(v) for v in suppressed.values()):
            return "suppressed: expected counts"
    if kind == "session":
        for i, inst in enumerate(record.get("instances") or []):
            for field, (test, want) in _INSTANCE.items():
                if not test(inst.get(field)):
                    return f"instances[{i}].{field}: expected {want}, got {_short(inst.get(field))}"
    return None


def _short(value, limit=40):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def record_problem(record):
    """What is wrong with one store record (already a dict with a type and a schema), or None."""
    kind = record.get("type")
    if not isinstance(kind, str):
        return f"field 'type': expected a string, got {_short(kind)}"
    for field, ((test, want), required) in RECORD_FIELDS.get(kind, {}).items():
        if field not in record:
            if required:
                return f"field '{field}' is missing (a {kind} record needs it)"
            continue
        if not test(record[field]):
            return f"field '{field}': expected {want}, got {_short(record[field])}"
    return _nested_problem(kind, record)
