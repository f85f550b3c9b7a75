"""Fault injection: bad events, killed runners, full and read-only stores, corrupt stores, hostile inputs.

Each test keeps one promise of docs/reliability.md; the table there names the test. The harness is the
fake one installed as bin/jostle-evil (runner/tests/fake_harness.py, EVIL_CASES): one case per kind of
bad event, selectable with --suite evil like a real suite.
"""

import json
import os

import pytest

from fakebuild import jostle, make_build
from jostle import protocol


def records(out):
    with open(os.path.join(out, "results.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def one_line_error(done, code):
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("jostle: warning")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def evil_build(tmp_path_factory):
    return make_build(str(tmp_path_factory.mktemp("evil") / "build"), suites=("evil", "fake"))


# -- bad events --------------------------------------------------------------------------------------

# case -> (code, reason, words the message must contain)
BAD_EVENTS = {
    "ok": ("PASS", "pass", ""),
    "outcomes_list": ("ERROR", "protocol", "end.outcomes: expected an object"),
    "checks_failed_str": ("ERROR", "protocol", "end.checks_failed: expected a whole number"),
    "quiet_ms_str": ("ERROR", "protocol", "hang.quiet_ms: expected a number"),
    "count_many": ("ERROR", "protocol", "end.outcomes['a'].count"),
    "start_no_id": ("ERROR", "protocol", "start.id: missing"),
    "check_then_pass": ("FAIL", "check", "contradiction"),
    "forbidden_then_pass": ("FAIL", "forbidden", "contradiction"),
    "long_line": ("ERROR", "protocol", f"longer than {protocol.MAX_EVENT_LINE} bytes"),
    "deep": ("ERROR", "protocol", "nested deeper"),
    "flood": ("FAIL", "check", "+19999 more"),
    "loud": ("FAIL", "check", "too loud"),
}


@pytest.fixture(scope="module")
def bad_event_session(evil_build, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("bad-events") / "out")
    cases = [arg for case in BAD_EVENTS for arg in ("--case", f"evil/{case}@good")]
    done = jostle("run", "--build-dir", evil_build, "--suite", "evil", "--out", out, "--seed", "1",
                  "--progress", "none", "-j", "2", *cases)
    return out, done


def test_bad_events_error_one_run_and_the_session_goes_on(bad_event_session):
    out, done = bad_event_session
    assert done.returncode == 1, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    recs = records(out)
    assert recs[-1]["type"] == "session_end" and recs[-1]["status"] == "complete"
    runs = {r["instance"].split("/")[1].split("@")[0]: r for r in recs if r["type"] == "run"}
    assert set(runs) == set(BAD_EVENTS)
    for case, (code, reason, words) in BAD_EVENTS.items():
        assert (runs[case]["code"], runs[case]["reason"]) == (code, reason), (case, runs[case]["message"])
        assert words in runs[case]["message"], (case, runs[case]["message"])
        if code == "ERROR":
            assert runs[case]["bad_lines"], case       # the offending line is kept, cut


def test_no_record_holds_what_its_readers_cannot_read(bad_event_session, tmp_path):
    out, _ = bad_event_session
    for r in records(out):
        if r["type"] == "run":
            assert isinstance(r["outcomes"], dict)
            assert all(isinstance(o["count"], int) for o in r["outcomes"].values())
            assert r["checks_failed"] is None or isinstance(r["checks_failed"], int)
            assert len(r["checks"]) <= protocol.MAX_CHECK_EVENTS
    assert jostle("report", "--out", out).returncode == 0
    assert jostle("dashboard", "--store", out, "--out", str(tmp_path / "d.html")).returncode == 0
    assert jostle("gate", "--build-dir", os.path.dirname(os.path.dirname(out)) + "/nonexistent", "--baseline", out,
                  "--out", str(tmp_path / "g")).returncode in (2, 3)


def test_event_lines_and_output_are_capped_in_the_store(bad_event_session):
    out, _ = bad_event_session
    size = os.path.getsize(os.path.join(out, "results.jsonl"))
    # 12 runs, of which one wrote a 3 MiB line, one 200000-deep JSON and one 10 MiB of output.
    assert size < 600 * 1024, size
    with open(os.path.join(out, "results.jsonl"), "rb") as f:
        assert max(len(line) for line in f) < 300 * 1024
    assert os.path.getsize(os.path.join(out, "report.html")) < 1024 * 1024


def test_no_harness_outlives_its_run(bad_event_session):
    out, _ = bad_event_session
    pids = [r["start"]["pid"] for r in records(out) if r["type"] == "run" and r.get("start")]
    assert pids and not [pid for pid in pids if alive(pid)]


def test_reader_caps_a_long_line_fed_in_pieces():
    reader = protocol.EventReader()
    reader.feed(b'{"v":1,"ev":"progress","t_ms":1,"x":"')
    for _ in range(5):
        reader.feed(b"y" * (protocol.MAX_EVENT_LINE // 2))
    assert len(reader._pending) == 0      # nothing of the long line is held in memory
    reader.feed(b'"}\n{"v":1,"ev":"end","t_ms":2,"status":"pass"}\n')
    assert [e["ev"] for e in reader.events] == ["end"]
    assert len(reader.protocol_errors) == 1 and len(reader.protocol_errors[0][1]) <= protocol.BAD_LINE_KEEP


def test_reader_keeps_one_progress_and_caps_checks():
    reader = protocol.EventReader()
    check = b'{"v":1,"ev":"check","t_ms":1,"fatal":false,"file":"a","line":1,"expr":"x","msg":"","thread":0,' \
            b'"iteration":1}\n'
    progress = b'{"v":1,"ev":"progress","t_ms":1,"iterations_done":%d,"outcomes":{}}\n'
    reader.feed(check * 500 + b"".join(progress % i for i in range(100)))
    assert sum(e["ev"] == "check" for e in reader.events) == protocol.MAX_CHECK_EVENTS
    assert [e["iterations_done"] for e in reader.events if e["ev"] == "progress"] == [99]
    assert reader.dropped == 500 - protocol.MAX_CHECK_EVENTS


@pytest.mark.parametrize("line,problem", [
    (b'{"v":1,"ev":"end","t_ms":1,"status":"pass","outcomes":[1]}', "end.outcomes: expected an object"),
    (b'{"v":1,"ev":"end","t_ms":1,"status":"pass","metrics":{"m":{"n":"2"}}}', "end.metrics['m'].n"),
    (b'{"v":1,"ev":"end","t_ms":1}', "end.status: missing"),
    (b'{"v":1,"ev":"end","t_ms":"soon","status":"pass"}', "end.t_ms: expected a number"),
    (b'{"v":1,"ev":"hang","t_ms":1,"threads":[{"tid":"x"}]}', "hang.threads[0].tid"),
    (b'{"v":1,"ev":"check","t_ms":1,"line":"12"}', "check.line: expected a whole number"),
    (b'{"v":1,"ev":"start","t_ms":1,"id":"a","seed":-1}', "start.seed: expected a whole number >= 0"),
    (b'{"v":1,"ev":"progress","t_ms":1,"outcomes":{"k":{"count":1,"grade":"MEH"}}}', "grade"),
])
def test_event_field_types(line, problem):
    reader = protocol.EventReader()
    reader.feed(line + b"\n")
    assert not reader.events and problem in reader.protocol_errors[0][0]
