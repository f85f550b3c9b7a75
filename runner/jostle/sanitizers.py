"""Recognise sanitizer reports in a run's stderr.

Classify from the output, not the exit code: 66 is also what TSan exits with when it cannot
start ("unexpected memory mapping"), and ASan exits 1 like a failed check.
"""

import re

_REPORT = re.compile(r"^(?:==\d+==)?\s*(?:WARNING|ERROR): (ThreadSanitizer|AddressSanitizer|LeakSanitizer|"
                     r"MemorySanitizer|UndefinedBehaviorSanitizer): ([^(\n]*?)\s*(?:\(pid=\d+\)|on address|$)",
                     re.MULTILINE)
_UBSAN = re.compile(r"^\S+:\d+:\d+: runtime error: (.*)$", re.MULTILINE)
_SUMMARY = re.compile(r"^SUMMARY: (\w+Sanitizer): (.*)$", re.MULTILINE)
# Tool failures: the sanitizer never got to look at the code under test.
_TOOL_ERROR = re.compile(r"^(?:==\d+==)?\s*FATAL: (?:ThreadSanitizer|AddressSanitizer|LeakSanitizer|"
                         r"MemorySanitizer)[^\n]*$", re.MULTILINE)

_SHORT = {"ThreadSanitizer": "tsan", "AddressSanitizer": "asan", "LeakSanitizer": "lsan",
          "MemorySanitizer": "msan", "UndefinedBehaviorSanitizer": "ubsan"}


def scan(stderr):
    """What sanitizers said in `stderr`.

    Returns None when nothing was reported, else a dict with `tool` (tsan, asan, ...), `kind`
    (e.g. "data race"), `summaries` (the SUMMARY lines) and `tool_error` (the FATAL line when the
    sanitizer itself failed, which is an ERROR rather than a finding).
    """
    if not stderr:
        return None
    summaries = [m.group(0) for m in _SUMMARY.finditer(stderr)]
    report = _REPORT.search(stderr)
    ubsan = _UBSAN.search(stderr)
    fatal = _TOOL_ERROR.search(stderr)
    if report:
        return {"tool": _SHORT[report.group(1)], "kind": report.group(2).strip() or "report",
                "summaries": summaries, "tool_error": None}
    if ubsan:
        return {"tool": "ubsan", "kind": "runtime error: " + ubsan.group(1).strip()[:120],
                "summaries": summaries, "tool_error": None}
    if fatal:
        return {"tool": "sanitizer", "kind": "tool error", "summaries": summaries, "tool_error": fatal.group(0).strip()}
    if summaries:
        tool = _SUMMARY.search(stderr).group(1)
        return {"tool": _SHORT.get(tool, tool), "kind": _SUMMARY.search(stderr).group(2).strip()[:120],
                "summaries": summaries, "tool_error": None}
    return None
