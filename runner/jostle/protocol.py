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


class EventReader:
    """Incremental reader of an event stream that tolerates a torn last line.

    Bytes arrive in chunks (the runner polls the event file while the process runs); only
    complete lines are parsed. Lines that are not JSON objects of protocol version 1 are kept
    raw in `bad_lines`, which classifies the run as ERROR.
    """

    def __init__(self):
        self.events = []
        self.bad_lines = []
        self._pending = b""

    def feed(self, data):
        """Parse the complete lines in `data` (plus what was pending); returns the new events."""
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        fresh = []
        for raw in lines:
            if not raw.strip():
                continue
            event = _parse_event(raw)
            if event is None:
                self.bad_lines.append(raw.decode("utf-8", "backslashreplace"))
            else:
                fresh.append(event)
        self.events.extend(fresh)
        return fresh

    @property
    def torn(self):
        """The unterminated tail left when the writer died mid-line (or '')."""
        return self._pending.decode("utf-8", "backslashreplace")

    def first(self, name):
        return next((e for e in self.events if e.get("ev") == name), None)


def _parse_event(raw):
    try:
        event = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("v") != PROTOCOL_VERSION or not isinstance(event.get("ev"), str):
        return None
    return event
