"""The runner's half of docs/protocol.md: harness command lines, list records and the event stream."""

import json

from jostle.units import harness_duration

PROTOCOL_VERSION = 1

# Exit codes of a harness process (docs/protocol.md, "Exit codes").
EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_INFRA = 3
EXIT_HANG = 4
EXIT_UNSUPPORTED = 5

_INSTANCE_FIELDS = ("id", "suite", "case", "backend", "expect", "mutant")
_EXPECTS = ("pass", "fail", "informative")


class ProtocolError(ValueError):
    """A harness said something the protocol does not allow."""


def parse_json_lines(text, record_type, source):
    """The records of one `--list` / `--list-backends` output; raises ProtocolError on the first bad line."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise ProtocolError(f"{source}: line {number} is not JSON: {line[:80]!r}") from None
        if not isinstance(record, dict):
            raise ProtocolError(f"{source}: line {number} is not a JSON object")
        if record.get("v") != PROTOCOL_VERSION:
            raise ProtocolError(f"{source}: line {number} has protocol version {record.get('v')!r}, "
                                f"this runner speaks {PROTOCOL_VERSION}")
        if record.get("type") != record_type:
            raise ProtocolError(f"{source}: line {number} has type {record.get('type')!r}, expected {record_type!r}")
        records.append(record)
    return records


def check_instance(record, source):
    """Validate the fields the runner relies on and fill the optional ones."""
    missing = [f for f in _INSTANCE_FIELDS if f not in record]
    if missing:
        raise ProtocolError(f"{source}: instance {record.get('id', '?')!r} lacks {', '.join(missing)}")
    if record["expect"] not in _EXPECTS:
        raise ProtocolError(f"{source}: instance {record['id']!r} has expect={record['expect']!r}")
    record.setdefault("params", {})
    record.setdefault("kind", "conformance")
    record.setdefault("iterations", None)
    record.setdefault("timeout_ms", 30000)
    record.setdefault("description", "")
    record.setdefault("clauses", [])
    return record


def run_argv(binary, spec):
    """The harness command line for one planned run (see plan.RunSpec); `binary` is a path or a name, or a
    tuple of a program and its fixed options (the test262 bridge, runner/jostle/engines.py)."""
    words = [str(w) for w in binary] if isinstance(binary, (tuple, list)) else [str(binary)]
    argv = [*words, "--run", spec.instance, "--seed", str(spec.seed)]
    if spec.iterations is not None:
        argv += ["--iterations", str(spec.iterations)]
    if spec.duration_s is not None:
        argv += ["--duration", harness_duration(spec.duration_s)]
    argv += ["--timeout", harness_duration(spec.timeout_s)]
    argv += spec.amplify.harness_args()
    for plugin in spec.plugins:
        argv += ["--plugin", plugin]
    return argv


# Limits on what one run may say (docs/protocol.md, "Limits"). A longer line is cut and makes the run
# ERROR [protocol]; extra events are counted, not kept, so that a scribbling writer cannot fill the store.
MAX_EVENT_LINE = 1024 * 1024
MAX_CHECK_EVENTS = 50
MAX_EVENTS_PER_KIND = 20
# How much of an offending line the record keeps.
BAD_LINE_KEEP = 2000
# JSON nesting the reader accepts (the deepest real event is 4 levels); deeper is rejected unparsed.
MAX_NESTING = 32


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_num(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# One field's check: (test, what the protocol wants). Numbers may be null: the harness writes a
# non-finite double as null.
_STR = (lambda v: isinstance(v, str), "a string")
_BOOL = (lambda v: isinstance(v, bool), "true or false")
_COUNT = (lambda v: _is_int(v) and v >= 0, "a whole number >= 0")
_INT = (_is_int, "a whole number")
_NUM = (lambda v: v is None or _is_num(v), "a number")
_COUNT_OR_NULL = (lambda v: v is None or (_is_int(v) and v >= 0), "a whole number >= 0 or null")
_STR_OR_NULL = (lambda v: v is None or isinstance(v, str), "a string or null")
_OBJECT = (lambda v: isinstance(v, dict), "an object")
_GRADES = ("ACCEPTABLE", "INTERESTING", "FORBIDDEN")


def outcomes_problem(value, need_grade=True):
    if not isinstance(value, dict):
        return "expected an object of outcome keys"
    for key, entry in value.items():
        if not isinstance(entry, dict):
            return f"[{key!r}]: expected an object {{count, grade, desc}}"
        if not (_is_int(entry.get("count")) and entry["count"] >= 0):
            return f"[{key!r}].count: expected a whole number >= 0, got {entry.get('count')!r}"
        if (need_grade or "grade" in entry) and entry.get("grade") not in _GRADES:
            return f"[{key!r}].grade: expected one of {', '.join(_GRADES)}, got {entry.get('grade')!r}"
        if "desc" in entry and not isinstance(entry["desc"], str):
            return f"[{key!r}].desc: expected a string"
    return None


def metrics_problem(value):
    if not isinstance(value, dict):
        return "expected an object of metric names"
    for key, entry in value.items():
        if not isinstance(entry, dict):
            return f"[{key!r}]: expected an object {{n, min, max, sum, unit}}"
        if not (_is_int(entry.get("n")) and entry["n"] >= 0):
            return f"[{key!r}].n: expected a whole number >= 0, got {entry.get('n')!r}"
        for field in ("min", "max", "sum"):
            if field in entry and not _NUM[0](entry[field]):
                return f"[{key!r}].{field}: expected a number, got {entry[field]!r}"
        if "unit" in entry and not isinstance(entry["unit"], str):
            return f"[{key!r}].unit: expected a string"
    return None


def _threads_problem(value):
    if not isinstance(value, list):
        return "expected a list of threads"
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            return f"[{i}]: expected an object {{actor, tid, phase, since_ms}}"
        for field, (test, want) in (("actor", _INT), ("tid", _INT), ("phase", _STR), ("since_ms", _NUM)):
            if field in entry and not test(entry[field]):
                return f"[{i}].{field}: expected {want}, got {entry[field]!r}"
    return None


def _nested(problem):
    return (lambda v: problem(v) is None, problem)


# ev -> {field: (check, required)}; fields not listed are allowed (the protocol may grow).
EVENT_FIELDS = {
    "start": {"id": (_STR, True), "seed": (_COUNT, True), "iterations": (_COUNT_OR_NULL, False),
              "duration_ms": (_NUM, False), "timeout_ms": (_NUM, False), "pid": (_INT, False),
              "build": (_OBJECT, False), "chaos": (_STR_OR_NULL, False)},
    "check": {"fatal": (_BOOL, False), "file": (_STR, False), "line": (_INT, False), "expr": (_STR, False),
              "msg": (_STR_OR_NULL, False), "thread": (_INT, False), "iteration": (_COUNT, False)},
    "progress": {"iterations_done": (_COUNT, False), "outcomes": (_nested(outcomes_problem), False)},
    "hang": {"reason": (_STR, False), "deadline_ms": (_NUM, False), "quiet_ms": (_NUM, False),
             "iteration": (_COUNT_OR_NULL, False), "threads": (_nested(_threads_problem), False)},
    "schedule": {"mode": (_STR, False), "spec": (_STR_OR_NULL, False), "why": (_STR_OR_NULL, False),
                 "hits": (_COUNT, False), "injected_ms": (_NUM, False)},
    "end": {"status": (_STR, True), "reason": (_STR, False), "iterations_done": (_COUNT, False),
            "elapsed_ms": (_NUM, False), "checks_failed": (_COUNT, False), "forbidden": (_COUNT, False),
            "outcomes": (_nested(outcomes_problem), False), "metrics": (_nested(metrics_problem), False)},
}


def event_problem(event, kind=None):
    """What is wrong with a parsed event object against docs/protocol.md, or None when it is well formed.

    With `kind`, only the fields of that event kind are checked (events kept in a store record).
    """
    if not isinstance(event, dict):
        return "not a JSON object"
    ev = kind
    if kind is None:
        if event.get("v") != PROTOCOL_VERSION:
            return f"protocol version {event.get('v')!r}, expected {PROTOCOL_VERSION}"
        ev = event.get("ev")
        if not isinstance(ev, str):
            return f"'ev' must be a string, got {ev!r}"
        if not _is_num(event.get("t_ms")):
            return f"{ev}.t_ms: expected a number, got {event.get('t_ms')!r}"
    for field, ((test, want), required) in EVENT_FIELDS.get(ev, {}).items():
        if field not in event:
            if required:
                return f"{ev}.{field}: missing"
            continue
        value = event[field]
        if not test(value):
            detail = want(value) if callable(want) else f"expected {want}, got {_short(value)}"
            return f"{ev}.{field}{'' if callable(want) and detail.startswith('[') else ': '}{detail}"
    return None


def _short(value, limit=40):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _too_deep(raw):
    """Whether brackets nest deeper than MAX_NESTING (ignoring brackets inside strings): json would recurse."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_NESTING:
        return False
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


class EventReader:
    """Incremental reader of an event stream that tolerates a torn last line.

    Bytes arrive in chunks (the runner polls the event file while the process runs); only
    complete lines are parsed. Lines that are not JSON objects of protocol version 1 are kept
    raw in `bad_lines` (ERROR [garbage]); well-formed JSON that breaks docs/protocol.md (a field of
    the wrong type, a line over MAX_EVENT_LINE, nesting over MAX_NESTING) is kept, cut, in
    `protocol_errors` (ERROR [protocol]) and never reaches `events`, so no record holds it.
    """

    def __init__(self):
        self.events = []
        self.bad_lines = []
        self.protocol_errors = []     # [(problem, the line cut to BAD_LINE_KEEP)]
        self.dropped = 0              # events over the per-kind caps, counted only
        self.lines = 0
        self._pending = b""
        self._skipping = False        # inside an over-long line: drop bytes up to its newline
        self._kept = {}

    def feed(self, data):
        """Parse the complete lines in `data` (plus what was pending); returns the new events."""
        fresh = []
        while data:
            if self._skipping:
                cut = data.find(b"\n")
                if cut < 0:
                    return fresh
                data, self._skipping = data[cut + 1:], False
                continue
            newline = data.find(b"\n")
            if newline < 0:
                self._pending += data
                if len(self._pending) > MAX_EVENT_LINE:
                    self._too_long(self._pending)
                    self._pending, self._skipping = b"", True
                return fresh
            raw, data = self._pending + data[:newline], data[newline + 1:]
            self._pending = b""
            if len(raw) > MAX_EVENT_LINE:
                self._too_long(raw)
                continue
            if raw.strip():
                self.lines += 1
                self._take(raw, fresh)
        return fresh

    def _too_long(self, raw):
        self.lines += 1
        self.protocol_errors.append((f"line {self.lines} is longer than {MAX_EVENT_LINE} bytes (cut)",
                                     _text(raw[:BAD_LINE_KEEP])))

    def _take(self, raw, fresh):
        event, problem = _parse_event(raw)
        if event is None:
            self.bad_lines.append(_text(raw[:64 * 1024]))
            return
        if problem is not None:
            self.protocol_errors.append((f"line {self.lines}: {problem}", _text(raw[:BAD_LINE_KEEP])))
            return
        ev = event["ev"]
        if ev == "progress":
            # Only the latest progress is ever read: keep one.
            self.events = [e for e in self.events if e.get("ev") != "progress"]
        else:
            limit = MAX_CHECK_EVENTS if ev == "check" else MAX_EVENTS_PER_KIND
            if self._kept.get(ev, 0) >= limit:
                self.dropped += 1
                return
            self._kept[ev] = self._kept.get(ev, 0) + 1
        self.events.append(event)
        fresh.append(event)

    @property
    def torn(self):
        """The unterminated tail left when the writer died mid-line (or '')."""
        return _text(self._pending[:BAD_LINE_KEEP])

    def first(self, name):
        return next((e for e in self.events if e.get("ev") == name), None)


def _text(raw):
    return raw.decode("utf-8", "backslashreplace")


def _parse_event(raw):
    """(event, problem): (None, None) for a line that is not a protocol line at all (garbage)."""
    if _too_deep(raw):
        return {}, f"JSON nested deeper than {MAX_NESTING} levels"
    try:
        event = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(event, dict) or event.get("v") != PROTOCOL_VERSION or not isinstance(event.get("ev"), str):
        return None, None
    return event, event_problem(event)
