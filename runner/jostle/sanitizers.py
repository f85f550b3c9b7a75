"""Sanitizer reports: the options a run gets, the reports it left, their signatures and suppressions.

Classify from the output, not the exit code: 66 is also what TSan exits with when it cannot
start ("unexpected memory mapping"), and ASan exits 1 like a failed check.

Each run writes its reports to its own files (log_path=DIR/tsan gives DIR/tsan.PID); the runner
reads them back with stderr. A report becomes a signature made of the tool, the report type and
the top normalized frames of its access stacks (both stacks of a race, sorted, so that A/B and
B/A collide): the same defect found in another run, instance or night has the same signature.
"""

import glob
import hashlib
import os
import re

from jostle.errors import UsageError

_REPORT = re.compile(r"^(?:==\d+==)?\s*(?:WARNING|ERROR): (ThreadSanitizer|AddressSanitizer|LeakSanitizer|"
                     r"MemorySanitizer|UndefinedBehaviorSanitizer): ([^(\n]*?)\s*(?:\(pid=\d+\)|on address|$)",
                     re.MULTILINE)
_UBSAN = re.compile(r"^\S+:\d+:\d+: runtime error: (.*)$", re.MULTILINE)
_SUMMARY = re.compile(r"^SUMMARY: (\w+Sanitizer): (.*)$", re.MULTILINE)
# Tool failures: the sanitizer never got to look at the code under test.
_TOOL_ERROR = re.compile(r"^(?:==\d+==)?\s*FATAL: (?:ThreadSanitizer|AddressSanitizer|LeakSanitizer|"
                         r"MemorySanitizer)[^\n]*$", re.MULTILINE)
_FRAME = re.compile(r"^\s+#(\d+)\s+(.*)$")
_SECTION = re.compile(r"^\s{0,4}(\S.*):\s*$")
_TSAN_MATCHED = re.compile(r"^ThreadSanitizer: Matched \d+ suppressions?.*:\s*$")
_TSAN_HIT = re.compile(r"^\s*(\d+)\s+(\w+:\S.*?)\s*$")
_ASAN_HIT = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\S.*?)\s*$")

_SHORT = {"ThreadSanitizer": "tsan", "AddressSanitizer": "asan", "LeakSanitizer": "lsan",
          "MemorySanitizer": "msan", "UndefinedBehaviorSanitizer": "ubsan"}
# Frames that name the sanitizer or the allocator rather than the code that did the access.
_SKIP_FRAMES = re.compile(r"^(?:__tsan|__asan|__lsan|__ubsan|__sanitizer|__interceptor_|__interception|"
                          r"operator new|operator delete|malloc$|calloc$|realloc$|free$|<null>)")
# Volatile parts of a report type (sizes, addresses, values in UBSan messages), masked before hashing.
_VOLATILE = re.compile(r"0x[0-9a-fA-F]+|\b\d+\b")
TOP_FRAMES = 3
SAMPLE_KEEP = 16 * 1024

# Options per tool, in front of the user's own (sanitizers read left to right: the user wins).
# halt_on_error=0 lets TSan collect every race of a run; atexit_sleep_ms is cut from 1000 because
# thousands of short runs would each wait a second at exit.
TOOL_OPTIONS = {
    "TSAN_OPTIONS": ("tsan", ["color=never", "halt_on_error=0", "exitcode=66", "atexit_sleep_ms=50",
                              "second_deadlock_stack=1", "history_size=4", "print_suppressions=1"]),
    "ASAN_OPTIONS": ("asan", ["color=never", "halt_on_error=1", "exitcode=67", "detect_leaks=1",
                              "print_suppressions=1"]),
    "UBSAN_OPTIONS": ("ubsan", ["color=never", "halt_on_error=1", "exitcode=68", "print_stacktrace=1"]),
    # No exitcode here: ASan reads LSAN_OPTIONS after its own, so it would override ASan's.
    "LSAN_OPTIONS": ("lsan", ["color=never", "print_suppressions=1"]),
}
LOG_PREFIXES = tuple(prefix for prefix, _ in TOOL_OPTIONS.values())


def suppression_files(root):
    """{variable: path} of the checked-in suppression files under ROOT/ci that exist."""
    found = {}
    for variable, (tool, _) in TOOL_OPTIONS.items():
        path = os.path.join(root, "ci", f"{tool}.supp")
        if os.path.isfile(path):
            found[variable] = path
    return found


def options_env(env, log_dir=None, root=None, suppressions=None):
    """`env` with TSAN/ASAN/UBSAN/LSAN_OPTIONS set: ours first, the user's own after them.

    log_dir: each tool writes its reports to log_dir/TOOL.PID instead of stderr. root: stripped
    from file names in frames. suppressions: {variable: path} (see suppression_files).
    """
    env = dict(env)
    for variable, (tool, ours) in TOOL_OPTIONS.items():
        options = list(ours)
        if log_dir:
            options.append(f"log_path={os.path.join(log_dir, tool)}")
        if root:
            options.append(f"strip_path_prefix={root.rstrip('/')}/")
        if suppressions and suppressions.get(variable):
            options.append(f"suppressions={suppressions[variable]}")
        if env.get(variable):
            options.append(env[variable])
        env[variable] = ":".join(options)
    return env


def read_logs(log_dir, limit):
    """The text of every report file a run left in log_dir (TOOL.PID), at most `limit` characters each."""
    texts = []
    for prefix in LOG_PREFIXES:
        for path in sorted(glob.glob(os.path.join(log_dir, prefix + ".*"))):
            try:
                with open(path, "rb") as f:
                    data = f.read(limit + 1)
            except OSError:
                continue
            text = data.decode("utf-8", "backslashreplace")
            texts.append(text if len(text) <= limit else text[:limit] + "\n[... report file cut ...]\n")
    return "".join(texts)


# -- suppressions ---------------------------------------------------------------------------------

def load_suppressions(path):
    """Entries of a suppression file, each {kind, pattern, line, reason, owner}; UsageError if one lacks them.

    Every entry needs `# reason: ...` and `# owner: ...` comment lines in the comment block right
    above it, so that nobody can silence a report without saying why and who looks after it.
    """
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise UsageError(f"suppressions {path}: {exc.strerror or exc}") from None
    entries, notes = [], {}
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            notes = {}
            continue
        if text.startswith("#"):
            key, sep, value = text.lstrip("#").strip().partition(":")
            if sep and key.strip().lower() in ("reason", "owner", "bug", "review"):
                notes[key.strip().lower()] = value.strip()
            continue
        kind, sep, pattern = text.partition(":")
        if not sep or not pattern.strip():
            raise UsageError(f"{path} line {number}: {text!r} is not a KIND:PATTERN suppression")
        missing = [key for key in ("reason", "owner") if not notes.get(key)]
        if missing:
            raise UsageError(f"{path} line {number}: suppression {text!r} has no "
                             f"{' and no '.join('# ' + m + ':' for m in missing)} line above it")
        entries.append({"kind": kind.strip(), "pattern": pattern.strip(), "line": number, **notes})
        notes = {}
    return entries


def suppression_hits(text):
    """{'kind:pattern': count} from TSan's "Matched N suppressions" and ASan/LSan's "Suppressions used"."""
    hits = {}
    if not text:
        return hits
    mode = None
    for line in text.splitlines():
        if _TSAN_MATCHED.match(line):
            mode = "tsan"
            continue
        if line.strip() == "Suppressions used:":
            mode = "asan"
            continue
        if mode == "tsan":
            m = _TSAN_HIT.match(line)
            if m:
                hits[m.group(2)] = hits.get(m.group(2), 0) + int(m.group(1))
                continue
        elif mode == "asan":
            m = _ASAN_HIT.match(line)
            if m:
                key = m.group(3) if ":" in m.group(3) else "leak:" + m.group(3)
                hits[key] = hits.get(key, 0) + int(m.group(1))
                continue
            if line.strip().startswith("count"):
                continue
        mode = None
    return hits


# -- reports and signatures -----------------------------------------------------------------------

def _frame(text):
    """'func@file' of one frame line's text (after '#N'), or None for a frame with nothing stable in it."""
    text = re.sub(r"^0x[0-9a-fA-F]+\s+in\s+", "", text.strip())
    text = re.sub(r"\s+\([^()]*\+0x[0-9a-fA-F]+\)$", "", text)       # (module+0x1234)
    func, place = text, ""
    m = re.match(r"^(.*\S)\s+(\S+?)(?::\d+)?(?::\d+)?$", text)
    if m and ("/" in m.group(2) or "." in m.group(2)) and not m.group(2).endswith(")"):
        func, place = m.group(1), m.group(2)
    func = func.strip()
    if not func or _SKIP_FRAMES.match(func):
        return None
    return f"{func}@{os.path.basename(place)}" if place else func


def _sections(lines):
    """[(header, [frame texts])] of one report: the indented 'Xxx at:' headers with their frames."""
    sections = []
    for line in lines:
        frame = _FRAME.match(line)
        if frame:
            if not sections:
                sections.append(("", []))
            sections[-1][1].append(frame.group(2))
            continue
        header = _SECTION.match(line)
        if header or re.match(r"^(?:READ|WRITE|Direct leak|Indirect leak)\b", line.strip()):
            sections.append((line.strip(), []))
    return sections


def _access_stacks(tool, kind, sections):
    """The stacks that identify the defect: both accesses of a race, else the first stack."""
    stacks = [frames for header, frames in sections if frames]
    if tool == "tsan" and "race" in kind:
        access = [frames for header, frames in sections if frames and re.match(
            r"^(?:Previous\s+)?(?:atomic\s+)?(?:read|write)", header, re.IGNORECASE)]
        return access[:2] or stacks[:2]
    return stacks[:1]


def signature(tool, kind, stacks):
    """'tool:type:frames|frames' from top normalized frames; stacks are sorted so the order of accesses is moot."""
    keys = []
    for frames in stacks:
        top = [f for f in (_frame(t) for t in frames) if f][:TOP_FRAMES]
        keys.append(">".join(top) or "?")
    kind = _VOLATILE.sub("N", kind)
    return f"{tool}:{kind}:" + "|".join(sorted(keys))


def signature_id(sig):
    """A short stable id for tables and links."""
    return hashlib.sha1(sig.encode("utf-8")).hexdigest()[:10]


def _blocks(text):
    """(tool, kind, lines) per report in `text`, in order."""
    lines = text.splitlines()
    starts = []
    for i, line in enumerate(lines):
        m = _REPORT.match(line)
        if m:
            starts.append((i, _SHORT[m.group(1)], m.group(2).strip() or "report"))
            continue
        m = _UBSAN.match(line)
        if m:
            starts.append((i, "ubsan", "runtime error: " + m.group(1).strip()[:160]))
    blocks = []
    for n, (i, tool, kind) in enumerate(starts):
        stop = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        for j in range(i + 1, stop):
            if lines[j].startswith("SUMMARY: "):
                stop = j + 1
                break
        blocks.append((tool, kind, lines[i:stop]))
    return blocks


def parse_reports(text):
    """Every report in `text`: [{tool, type, summary, stacks, signature, id, text}]."""
    reports = []
    for tool, kind, lines in _blocks(text or ""):
        summary = next((line for line in lines if line.startswith("SUMMARY: ")), None)
        stacks = _access_stacks(tool, kind, _sections(lines[1:]))
        sig = signature(tool, kind, stacks)
        body = "\n".join(lines)
        reports.append({"tool": tool, "type": kind, "summary": summary,
                        "stacks": [[f for f in (_frame(t) for t in frames) if f][:8] for frames in stacks],
                        "signature": sig, "id": signature_id(sig),
                        "text": body if len(body) <= SAMPLE_KEEP else body[:SAMPLE_KEEP] + "\n[... cut ...]"})
    return reports


def scan(stderr):
    """What sanitizers said in `stderr` (with the run's report files appended).

    Returns None when nothing was reported, else a dict with `tool` (tsan, asan, ...), `kind`
    (e.g. "data race"), `summaries` (the SUMMARY lines), `tool_error` (the FATAL line when the
    sanitizer itself failed, which is an ERROR rather than a finding) and `reports` (parse_reports).
    """
    if not stderr:
        return None
    summaries = [m.group(0) for m in _SUMMARY.finditer(stderr)]
    report = _REPORT.search(stderr)
    ubsan = _UBSAN.search(stderr)
    fatal = _TOOL_ERROR.search(stderr)
    if report:
        found = {"tool": _SHORT[report.group(1)], "kind": report.group(2).strip() or "report"}
    elif ubsan:
        found = {"tool": "ubsan", "kind": "runtime error: " + ubsan.group(1).strip()[:120]}
    elif fatal:
        return {"tool": "sanitizer", "kind": "tool error", "summaries": summaries,
                "tool_error": fatal.group(0).strip(), "reports": []}
    elif summaries:
        tool = _SUMMARY.search(stderr).group(1)
        found = {"tool": _SHORT.get(tool, tool), "kind": _SUMMARY.search(stderr).group(2).strip()[:120]}
    else:
        return None
    return {**found, "summaries": summaries, "tool_error": None, "reports": parse_reports(stderr)}


TOOL_ERROR_ADVICE = ("the sanitizer itself failed, not the code under test; run `./jostle doctor` "
                     "(TSan needs vm.mmap_rnd_bits <= 28: `sudo sysctl vm.mmap_rnd_bits=28`, or run under `setarch -R`)")


def collect(runs):
    """Sanitizer signatures over RunRecords: one full sample each, with counts and instances.

    Returns [{signature, id, tool, type, summary, count, runs, instances, sample, first_seen}],
    most frequent first; `count` is reports, `runs` the runs that had one.
    """
    found = {}
    for run in runs:
        sanitizer = run.sanitizer or {}
        reports = sanitizer.get("reports")
        if reports is None and sanitizer.get("tool") and not sanitizer.get("tool_error"):
            # Records written before signatures existed: tool and type are all there is.
            reports = [{"tool": sanitizer["tool"], "type": sanitizer.get("kind", "report"),
                        "summary": (sanitizer.get("summaries") or [None])[0], "stacks": [],
                        "signature": f"{sanitizer['tool']}:{sanitizer.get('kind')}:?", "text": ""}]
        seen_here = set()
        for report in reports or []:
            sig = report["signature"]
            entry = found.get(sig)
            if entry is None:
                entry = found[sig] = {"signature": sig, "id": signature_id(sig), "tool": report["tool"],
                                      "type": report["type"], "summary": report.get("summary"),
                                      "stacks": report.get("stacks", []), "count": 0, "runs": 0,
                                      "instances": [], "sample": report.get("text", ""),
                                      "sample_repro": run.repro, "first_seen": run.finished}
            entry["count"] += 1
            if sig not in seen_here:
                entry["runs"] += 1
                seen_here.add(sig)
            if run.instance not in entry["instances"]:
                entry["instances"].append(run.instance)
    return sorted(found.values(), key=lambda e: (-e["count"], e["signature"]))


def collect_suppressions(runs):
    """{'kind:pattern': hits} summed over RunRecords."""
    total = {}
    for run in runs:
        for key, count in (run.suppressed or {}).items():
            total[key] = total.get(key, 0) + count
    return total
