"""One run's raw facts (a RunResult) -> its Verdict: result code, reason tag, one-line message, sanitizer scan.

The order of the rules matters and follows docs/protocol.md ("What the runner concludes"), with
one refinement: a sanitizer report wins even when an end event was written, because TSan lets the
case finish and then exits 66, and that run found a real race.
"""

import signal

from jostle import protocol, sanitizers
from jostle.records import Verdict


def _signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _first_line(text):
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def _fail_message(end, checks):
    if checks:
        c = checks[0]
        where = f"{c.get('file', '?')}:{c.get('line', '?')}"
        what = c.get("expr", "")
        msg = c.get("msg") or ""
        more = end.get("checks_failed", len(checks)) - 1
        tail = f" (+{more} more)" if more > 0 else ""
        return f"{'REQUIRE' if c.get('fatal') else 'CHECK'} failed at {where}: {what}" + \
            (f" - {msg}" if msg else "") + tail
    forbidden = [k for k, o in (end.get("outcomes") or {}).items() if o.get("grade") == "FORBIDDEN"]
    if forbidden:
        return f"FORBIDDEN outcome{'s' if len(forbidden) > 1 else ''}: " + ", ".join(sorted(forbidden)[:5])
    return "the harness reported failure"


def _forbidden_keys(events):
    keys = set()
    for event in events:
        if event.get("ev") in ("end", "progress"):
            keys.update(k for k, o in (event.get("outcomes") or {}).items() if o.get("grade") == "FORBIDDEN")
    return keys


def _failure_evidence(events, checks):
    """FAIL when any event says the run failed, whatever `end` claims (a lying or scribbled end is no pass).

    The message also names the contradiction when `end` claimed another status.
    """
    end = next(e for e in events if e.get("ev") == "end")
    failed_checks = len(checks) or end.get("checks_failed") or 0
    forbidden = _forbidden_keys(events)
    if not failed_checks and not forbidden and not end.get("forbidden"):
        return None
    message = _fail_message(dict(end, checks_failed=max(failed_checks, end.get("checks_failed") or 0)), checks)
    if not checks and not failed_checks and forbidden and "FORBIDDEN" not in message:
        message = f"FORBIDDEN outcome{'s' if len(forbidden) > 1 else ''}: " + ", ".join(sorted(forbidden)[:5])
    if end.get("status") != "fail":
        message += f" (contradiction: the end event claimed status={end.get('status')!r}; the verdict follows " \
                   f"the failed checks and outcomes)"
    return "FAIL", "check" if failed_checks else "forbidden", message


def classify(raw):
    """The Verdict of a RunResult; the reason is a stable tag such as 'signal' or 'no-end'.

    The sanitizer text is scanned here once; the scan rides on the verdict into the run record.
    """
    if raw.spawn_error:
        return Verdict("ERROR", "spawn", raw.spawn_error)
    found = sanitizers.scan(raw.sanitizer_text or raw.stderr)
    code, reason, message = _judge(raw, found)
    return Verdict(code, reason, message, found)


def _judge(raw, found):
    events = raw.events
    end = raw.event("end")
    hang = raw.event("hang")
    checks = raw.all_events("check")
    code, sig = raw.exit_code, raw.signal

    if found and found["tool_error"]:
        return "ERROR", "sanitizer-tool", found["tool_error"][:200]
    if found:
        return "SANITIZER", found["tool"], f"{found['tool']}: {found['kind']}"
    if end is None and (hang is not None or raw.hang_seen):
        deadline = hang.get("deadline_ms") if hang else None
        where = f" in iteration {hang.get('iteration')}" if hang and hang.get("iteration") is not None else ""
        if hang and hang.get("reason") == "deadlock":
            quiet = hang.get("quiet_ms") or 0
            return ("TIMEOUT", "hang", f"lost wakeup or deadlock: every thread asleep in an untimed futex wait "
                                       f"for {quiet:.0f} ms without running{where}")
        if isinstance(deadline, (int, float)):
            return "TIMEOUT", "hang", f"watchdog fired after {deadline:g} ms{where}"
        return "TIMEOUT", "hang", "watchdog fired" + where
    if end is None and raw.runner_deadline:
        return "TIMEOUT", "deadline", f"no end and no hang event by the runner's deadline ({raw.elapsed_s:.1f}s)"
    if sig is not None:
        return "CRASH", "signal", f"killed by {_signal_name(sig)}" + ("" if end is None else " after its end event")
    if raw.bad_lines:
        return "ERROR", "garbage", f"event channel: not a protocol line: {raw.bad_lines[0][:120]!r}"
    if raw.protocol_errors:
        problem, line = raw.protocol_errors[0]
        return "ERROR", "protocol", f"event channel: {problem}: {line[:120]!r}"
    if end is None:
        if code == protocol.EXIT_USAGE:
            return "ERROR", "usage", f"harness usage error: {_first_line(raw.stderr)}"
        if code == protocol.EXIT_INFRA:
            return "ERROR", "infra", f"harness infrastructure error: {_first_line(raw.stderr)}"
        if code == protocol.EXIT_HANG:
            return "ERROR", "hang-no-event", "exit code 4 (watchdog) without a hang event"
        if not events:
            return "CRASH", "no-events", f"exited with code {code} without writing any event"
        return "CRASH", "no-end", f"exited with code {code} before its end event"
    failed = _failure_evidence(events, checks)
    if failed is not None:
        return failed
    status = end.get("status")
    expected_exit = {"pass": protocol.EXIT_PASS, "fail": protocol.EXIT_FAIL,
                     "unsupported": protocol.EXIT_UNSUPPORTED}.get(status)
    if expected_exit is None:
        return "ERROR", "bad-end", f"end event with unknown status {status!r}"
    if code != expected_exit:
        return "ERROR", "exit-mismatch", f"end.status={status} but exit code {code}"
    if status == "pass":
        return "PASS", "pass", ""
    if status == "unsupported":
        return "UNSUPPORTED", "unsupported", end.get("reason") or "unsupported here"
    return "FAIL", "forbidden", _fail_message(end, checks)
