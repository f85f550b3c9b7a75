"""Durations as users type them (90s, 1.5m, 500ms) and as the harness reads them."""

import re

from jostle.errors import UsageError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_duration(text, option="duration"):
    """Seconds in `text`; a bare number means seconds. Raises UsageError naming `option`."""
    match = _DURATION.match(str(text))
    if not match:
        raise UsageError(f"{option}: cannot read {text!r} as a duration (examples: 90s, 1.5m, 500ms, 2h)")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds <= 0:
        raise UsageError(f"{option}: {text!r} must be longer than zero")
    return seconds


def harness_duration(seconds):
    """The harness's own duration syntax, in whole milliseconds so that no precision is lost."""
    return f"{max(1, round(seconds * 1000))}ms"


def human_duration(seconds):
    """Short human form: 0.35s, 42s, 3m05s, 1h02m."""
    if seconds is None:
        return "?"
    if seconds < 10:
        return f"{seconds:.2f}s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
