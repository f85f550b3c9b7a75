"""Fault injection: bad events, killed runners, full and read-only stores, corrupt stores, hostile inputs.

Each test keeps one promise of docs/reliability.md; the table there names the test. The harness is the
fake one installed as bin/jostle-evil (runner/tests/fake_harness.py, EVIL_CASES): one case per kind of
bad event, selectable with --suite evil like a real suite.

Long because: it is the one index of fault tests that docs/reliability.md's table points into, one test per
promise; they share the evil-harness fixtures at the top.
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
    from jostle import gate
    assert gate.Baseline.load(out).runs == len(BAD_EVENTS)


def test_event_lines_and_output_are_capped_in_the_store(bad_event_session):
    out, _ = bad_event_session
    size = os.path.getsize(os.path.join(out, "results.jsonl"))
    # 12 runs, of which one wrote a 3 MiB line, one 200000-deep JSON and one 10 MiB of output.
    assert size < 600 * 1024, size
    with open(os.path.join(out, "results.jsonl"), "rb") as f:
        assert max(len(line) for line in f) < 300 * 1024
    assert os.path.getsize(os.path.join(out, "report.html")) < 1024 * 1024
    # What was cut is kept whole beside the store, and the record points to it.
    runs = {r["instance"]: r for r in records(out) if r["type"] == "run"}
    long_line = os.path.join(out, runs["evil/long_line@good"]["raw_files"], "events.jsonl")
    assert os.path.getsize(long_line) > 3 << 20
    loud = os.path.join(out, runs["evil/loud@good"]["raw_files"], "stdout")
    assert os.path.getsize(loud) == 5 * 1024 * 1025     # all of it
    assert runs["evil/ok@good"]["raw_files"] is None


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


# -- corrupt stores: report, gate --baseline, dashboard ------------------------------------------------

@pytest.fixture(scope="module")
def good_store(evil_build, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("good") / "store")
    cases = [arg for case in ("ok", "fail", "tsan", "hang", "forbidden") for arg in ("--case", f"fake/{case}@good")]
    done = jostle("run", "--build-dir", evil_build, "--suite", "fake", "--out", out, "--seed", "2",
                  "--progress", "none", "-j", "2", *cases)
    assert done.returncode == 1, done.stderr
    with open(os.path.join(out, "results.jsonl"), encoding="utf-8") as f:
        return out, [json.loads(line) for line in f]


def _wrong(value):
    """A value of another type than `value`."""
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, (int, float)):
        return "x"
    if isinstance(value, str):
        return 123
    if isinstance(value, dict):
        return [1]
    if isinstance(value, list):
        return "x"
    return {"a": [1]}


def _mutations(recs):
    """(name, line number from 1, the corrupt line) over every field of one record of each type."""
    seen = set()
    covered = set()      # (type, field) already mutated with a real value in it
    for number, rec in enumerate(recs, 1):
        kind = (rec["type"], rec.get("code"))
        if kind in seen or rec["type"] not in ("session", "run", "session_end"):
            continue
        seen.add(kind)
        for field, value in rec.items():
            # Each field once with a value in it (the runs of other codes add stacks, hang, sanitizer, ...).
            if field in ("type", "schema") or (rec["type"], field) in covered or value in (None, [], {}, ""):
                continue
            covered.add((rec["type"], field))
            missing = {k: v for k, v in rec.items() if k != field}
            name = "-".join(filter(None, (rec["type"], rec.get("code"), field)))
            yield f"{name}-missing", number, json.dumps(missing)
            yield f"{name}-null", number, json.dumps(dict(rec, **{field: None}))
            yield f"{name}-wrong", number, json.dumps(dict(rec, **{field: _wrong(value)}))
        if kind == ("run", "FAIL"):
            fail_run = number, rec
            nested = {"outcomes": {"a": {"count": "many", "grade": "ACCEPTABLE"}},
                      "checks": [{"line": "x"}], "hang": {"threads": "x"}, "metrics": {"m": {"n": []}},
                      "sanitizer": {"reports": [{"signature": 1}]}, "suppressed": {"x": "y"}}
            for field, bad in nested.items():
                yield f"run-{field}-nested", number, json.dumps(dict(rec, **{field: bad}))
        if rec["type"] == "session":
            yield "session-instance-id", number, json.dumps(dict(rec, instances=[{"id": 5}]))
    number, rec = fail_run
    for field in rec:
        if ("run", field) not in covered and field not in ("type", "schema"):
            yield f"run-{field}-wrong-when-empty", number, json.dumps(dict(rec, **{field: _wrong(rec[field])}))
    yield "not-json", 2, "{not json"
    yield "array", 2, "[1, 2]"
    yield "schema-string", 1, json.dumps(dict(recs[0], schema="1"))
    yield "schema-future", 1, json.dumps(dict(recs[0], schema=99))
    yield "no-type", 2, json.dumps({"schema": 1, "session": "x"})
    yield "binary", 2, "\udcff\udcfe garbage"


def _write_store(directory, recs, number, line):
    os.makedirs(directory, exist_ok=True)
    lines = [json.dumps(r) for r in recs]
    lines[number - 1] = line
    with open(os.path.join(directory, "results.jsonl"), "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write("\n".join(lines) + "\n")


def _cli(capsys, *argv):
    from jostle import cli
    code = cli.main(list(argv))
    err = capsys.readouterr().err
    return code, err


def test_corrupt_store_matrix(good_store, tmp_path, capsys):
    """Every corruption of every field: report, gate --baseline and dashboard each end in a one-line error
    naming the file, line and field (exit 3), or read the store fine; never an internal error."""
    from jostle import gate, query, store
    from jostle.errors import InfraError
    _, recs = good_store
    model = query.build(recs)
    cases = list(_mutations(recs))
    assert len(cases) > 100
    rejected = 0
    for name, number, line in cases:
        directory = str(tmp_path / name)
        _write_store(directory, recs, number, line)
        code, err = _cli(capsys, "report", "--out", directory)
        assert "internal error" not in err and "Traceback" not in err, (name, err)
        if code == 3:
            rejected += 1
            errors = [e for e in err.strip().splitlines() if "error:" in e]
            assert len(errors) == 1 and f"line {number}" in errors[0] and "results.jsonl" in errors[0], (name, err)
        else:
            assert code == 0, (name, code, err)
        dash_code, err = _cli(capsys, "dashboard", "--store", directory, "--out", str(tmp_path / "d.html"))
        assert dash_code == code and "internal error" not in err, (name, err)
        try:
            gate.evaluate(model, gate.Baseline.load(directory))
            assert code == 0, name
        except InfraError as exc:
            assert code == 3 and f"line {number}" in str(exc), (name, exc)
    assert rejected >= len(cases) // 2


def test_corrupt_baseline_stops_the_gate_before_it_runs(evil_build, good_store, tmp_path):
    _, recs = good_store
    baseline = str(tmp_path / "baseline")
    _write_store(baseline, recs, 2, json.dumps(dict(recs[1], session=None)))
    out = str(tmp_path / "out")
    line = one_line_error(jostle("gate", "--build-dir", evil_build, "--suite", "fake", "--case", "ok",
                                 "--baseline", baseline, "--out", out, "--budget", "5s"), 3)
    assert "results.jsonl line 2: field 'session'" in line
    assert not os.path.exists(os.path.join(out, "results.jsonl"))      # nothing ran


@pytest.mark.parametrize("state,field", [
    ({"deadline": "tomorrow"}, "deadline"),
    ({"chunks": -1}, "chunks"),
    ({"sessions": "abc"}, "sessions"),
    ({"seed": "x"}, "seed"),
])
def test_corrupt_soak_state(evil_build, tmp_path, state, field):
    store_dir = tmp_path / "soak"
    store_dir.mkdir()
    good = {"soak": "s1", "night": "n1", "for_s": 60, "started": 0, "deadline": 1e12, "chunks": 0,
            "sessions": [], "finished": False, "seed": 1}
    (store_dir / "soak.json").write_text(json.dumps(dict(good, **state)))
    line = one_line_error(jostle("soak", "--build-dir", evil_build, "--suite", "fake", "--case", "ok",
                                 "--for", "5s", "--store", str(store_dir)), 3)
    assert "soak.json" in line and f"field '{field}'" in line


def test_binary_quarantine_file(evil_build, tmp_path):
    quarantine = tmp_path / "q.txt"
    quarantine.write_bytes(b"fake/ok@good\n\x00\xff\xfe\x80binary\n")
    line = one_line_error(jostle("run", "--build-dir", evil_build, "--suite", "fake", "--case", "ok",
                                 "--quarantine", str(quarantine), "--out", str(tmp_path / "o")), 3)
    assert "q.txt line 2" in line
    assert not os.path.exists(tmp_path / "o")


# -- the bad-input matrix: every subcommand ---------------------------------------------------------------

BAD_INPUTS = [
    # (argv after the subcommand's build options, exit code, words in the error)
    ("list --suite nope", 2, "unknown suite"),
    ("list --bogus", 2, "unrecognized arguments"),
    ("run --iterations 99999999999999", 2, "1,000,000,000"),
    ("run --iterations 0", 2, "at least 1"),
    ("run --timeout 99999999999h", 2, "30 days"),
    ("run --timeout 0s", 2, "longer than zero"),
    ("run --chaos garbage", 2, "not key=value"),
    ("run --chaos p=2", 2, "probability"),
    ("run --chaos actions=yield+teleport", 2, "unknown action"),
    ("run --budget -5s", 2, "must not be negative"),
    ("run --budget soon", 2, "cannot read 'soon'"),
    ("run --runs 100000000", 2, "10,000,000"),
    ("run --runs 0", 2, "at least 1"),
    ("run -j 0", 2, "at least 1"),
    ("run -j 100000", 2, "1,024"),
    ("run --seed -1", 2, "outside 0 .. 2^64-1"),
    ("run --seed 18446744073709551616", 2, "outside 0 .. 2^64-1"),
    ("run --amplify bogus", 2, "invalid choice"),
    ("run --case nope", 2, "no case matches"),
    ("run --backend nope", 2, "no backend matches"),
    ("run --shard 5/2", 2, "outside 0..1"),
    ("run --quarantine /nonexistent/q.txt", 2, "No such file"),
    ("run --out /dev/null", 2, "not a directory"),
    ("stress --target-rate 2", 2, "strictly between 0 and 1"),
    ("stress --sprt", 2, "--sprt needs --target-rate"),
    ("stress --budget 1s --runs 2", 2, "not allowed with argument"),
    ("gate --alpha 2", 2, "between 0 and 0.5"),
    ("gate --runs 3", 2, "unrecognized arguments: --runs"),
    ("soak --for 0s", 2, "longer than zero"),
    ("soak --for 1h --chunk -1m", 2, "must not be negative"),
    ("soak", 2, "required: --for"),
    ("dashboard --store /nonexistent", 2, "no such directory"),
    ("report --out /nonexistent", 2, "no such directory"),
    ("merge --out m /nonexistent", 2, "no such store directory"),
    ("bench --repetitions 0", 2, "at least 1"),
    ("detect --trials 0", 2, "--trials >= 1"),
    ("replay", 2, "required: REPRO-LINE"),
    ("replay \"'unbalanced\"", 2, "cannot split"),
    ("replay 'ls -la'", 2, "starts with the harness name"),
    ("replay 'jostle-evil --seed 1'", 2, "no --run"),
    ("replay 'jostle-evil --run evil/nope@good --seed 1'", 2, "has no instance 'evil/nope@good'"),
    ("replay 'jostle-evil --run evil/ok@good --seed x'", 2, "whole numbers"),
    ("replay 'jostle-evil --run evil/ok@good amplify=warp'", 2, "unknown amplify"),
    ("doctor --bogus", 2, "unrecognized arguments"),
    ("frobnicate", 2, "invalid choice"),
]
_NEEDS_BUILD = ("list", "run", "stress", "gate", "soak", "bench", "detect", "replay", "doctor")


@pytest.mark.parametrize("command,code,words", BAD_INPUTS, ids=[c for c, _, _ in BAD_INPUTS])
def test_bad_input_matrix(evil_build, tmp_path, monkeypatch, capsys, command, code, words):
    """A one-line error with the documented exit code, no traceback, nothing written anywhere."""
    import shlex
    argv = shlex.split(command)
    if argv[0] in _NEEDS_BUILD:
        argv += ["--build-dir", evil_build]
    if argv[0] in ("run", "stress", "gate"):
        argv += ["--out", str(tmp_path / "out")] if "--out" not in argv else []
    if argv[0] == "soak":
        argv += ["--store", str(tmp_path / "out")]
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    got, err = _cli(capsys, *argv)
    lines = err.strip().splitlines()
    assert got == code and len(lines) == 1, (got, err)
    assert "Traceback" not in err and "internal error" not in err and words in lines[0], lines
    assert sorted(os.listdir(tmp_path)) == ["cwd"] and not os.listdir(work)


# -- full and read-only stores ------------------------------------------------------------------------------

def _mount(args, target):
    import subprocess
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here (needs root or CAP_SYS_ADMIN): {done.stderr.strip()[:120]}")


def _umount(target):
    import subprocess
    subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 2 MiB tmpfs: a disk that fills up for real."""
    if os.geteuid() != 0:
        pytest.skip("a full filesystem needs a tmpfs mount, which needs root")
    target = tmp_path / "full"
    target.mkdir()
    _mount(["-t", "tmpfs", "-o", "size=2m", "tmpfs"], target)
    yield target
    _umount(target)


def _fill(directory):
    """Fill the filesystem of `directory` to the last byte."""
    fd = os.open(os.path.join(directory, "filler"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (65536, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError:
                    break
    finally:
        os.close(fd)


@pytest.fixture
def read_only(tmp_path):
    """read_only(src) -> a read-only view of directory src (a read-only bind mount as root, modes otherwise)."""
    mounts = []

    def make(src):
        if os.geteuid() != 0:
            for root, dirs, files in os.walk(src):
                for name in dirs + files:
                    os.chmod(os.path.join(root, name), 0o555 if name in dirs else 0o444)
            os.chmod(src, 0o555)
            return str(src)
        target = tmp_path / f"ro{len(mounts)}"
        target.mkdir()
        _mount(["--bind", str(src)], target)
        mounts.append(target)
        _mount(["-o", "remount,bind,ro"], target)
        return str(target)
    yield make
    for target in mounts:
        _umount(target)


def test_report_on_a_full_disk_keeps_the_index_and_leaves_no_temp_file(good_store, small_tmpfs):
    import shutil
    import sqlite3
    src, recs = good_store
    store_dir = small_tmpfs / "store"
    store_dir.mkdir()
    shutil.copy(os.path.join(src, "results.jsonl"), store_dir)
    shutil.copy(os.path.join(src, "store.sqlite"), store_dir)
    # A session_end line the index has not seen: report must catch the index up, which needs space.
    with open(store_dir / "results.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(dict(recs[-1], session="extra")) + "\n")
    _fill(small_tmpfs)
    before = os.path.getsize(store_dir / "store.sqlite")
    done = jostle("report", "--out", str(store_dir))
    line = one_line_error(done, 3)
    assert "No space left on device" in line, line
    assert os.path.getsize(store_dir / "store.sqlite") == before
    conn = sqlite3.connect(f"file:{store_dir / 'store.sqlite'}?immutable=1", uri=True)
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == sum(r["type"] == "run" for r in recs)
    conn.close()
    assert not [name for name in os.listdir(store_dir) if name.endswith(".tmp")]


def test_run_into_a_disk_that_fills_keeps_every_finished_run(evil_build, small_tmpfs):
    out = small_tmpfs / "out"
    done = jostle("run", "--build-dir", evil_build, "--suite", "evil", "--case", "loud", "--case", "ok",
                  "--runs", "40", "-j", "2", "--seed", "1", "--out", str(out), "--progress", "none")
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert "No space left on device" in done.stderr
    with open(out / "results.jsonl", "rb") as f:
        data = f.read()
    # Every whole line is a readable record (a torn last line is allowed: the write that failed).
    lines = data.split(b"\n")
    recs = [json.loads(line) for line in lines[:-1]]
    assert recs and recs[0]["type"] == "session" and sum(r["type"] == "run" for r in recs) >= 1


def test_read_only_store_reads_everywhere(evil_build, good_store, read_only, tmp_path):
    src, _ = good_store
    ro = read_only(src)
    # report: renders nothing into a read-only store, says where to put the reports instead.
    line = one_line_error(jostle("report", "--out", ro), 3)
    assert "Read-only file system" in line or "Permission denied" in line
    assert "--to DIR" in line
    done = jostle("report", "--out", ro, "--to", str(tmp_path / "reports"))
    assert done.returncode == 0 and "internal error" not in done.stderr, done.stderr
    assert os.path.exists(tmp_path / "reports" / "report.html")
    # dashboard: the page goes elsewhere.
    done = jostle("dashboard", "--store", ro, "--out", str(tmp_path / "d.html"))
    assert done.returncode == 0, done.stderr
    # gate --baseline: reading a baseline needs no write access.
    done = jostle("gate", "--build-dir", evil_build, "--suite", "fake", "--case", "fake/ok@good", "--baseline", ro,
                  "--out", str(tmp_path / "gate"), "--budget", "4s", "--progress", "none")
    assert done.returncode == 0, done.stderr
    assert "internal error" not in done.stderr and "warning" not in done.stderr


# -- killed runners -------------------------------------------------------------------------------------------

def _start_runner(*args, env=None):
    import subprocess

    from fakebuild import PYTHON, REPO
    full_env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(REPO, "runner"), REPO]))
    full_env.pop("JOSTLE_PRESET", None)
    full_env.update(env or {})
    return subprocess.Popen([PYTHON, "-m", "jostle", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=full_env)


def _wait_for(predicate, timeout=30.0):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _pids(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [int(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def test_sigkill_of_the_runner_takes_its_children_and_run_dirs(evil_build, tmp_path):
    import signal
    pidfile, tmp = tmp_path / "pids", tmp_path / "tmp"
    tmp.mkdir()
    proc = _start_runner("run", "--build-dir", evil_build, "--suite", "evil", "--case", "grandchild", "--runs", "2",
                         "-j", "2", "--out", str(tmp_path / "out"), "--progress", "none",
                         env={"FAKE_PIDFILE": str(pidfile), "TMPDIR": str(tmp)})
    try:
        assert _wait_for(lambda: len(_pids(pidfile)) == 4), proc.stderr
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # The harnesses and their forked children die with the runner; the run directories go too.
    assert _wait_for(lambda: not [pid for pid in _pids(pidfile) if alive(pid)], timeout=10), _pids(pidfile)
    runs_dir = tmp / f"jostle-runs-{os.getuid()}"
    assert _wait_for(lambda: not os.listdir(runs_dir), timeout=10), os.listdir(runs_dir)
    # What was written is readable.
    assert jostle("report", "--out", str(tmp_path / "out")).returncode in (0, 1)


def test_next_session_removes_run_dirs_of_a_dead_runner(evil_build, tmp_path):
    tmp = tmp_path / "tmp"
    stale = tmp / f"jostle-runs-{os.getuid()}" / "999999999-abc"      # no such pid
    stale.mkdir(parents=True)
    (stale / "events.jsonl").write_text("x")
    done = jostle("run", "--build-dir", evil_build, "--suite", "evil", "--case", "evil/ok@good", "--out",
                  str(tmp_path / "out"), "--progress", "none", env={"TMPDIR": str(tmp)})
    assert done.returncode == 0, done.stderr
    assert not stale.exists()


def test_sigterm_during_discovery_exits_130(evil_build, tmp_path):
    import signal
    out, mark = tmp_path / "out", tmp_path / "listing"
    proc = _start_runner("run", "--build-dir", evil_build, "--suite", "evil", "--out", str(out),
                         "--progress", "none", env={"FAKE_LIST_SLEEP": "5", "FAKE_LIST_MARK": str(mark)})
    assert _wait_for(mark.exists)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not out.exists()         # nothing was written: nothing to read back


def test_sigterm_mid_session_keeps_every_finished_run_once(evil_build, tmp_path):
    import signal
    out = tmp_path / "out"
    proc = _start_runner("run", "--build-dir", evil_build, "--suite", "evil", "--case", "evil/slow@good",
                         "--runs", "40", "-j", "2", "--seed", "5", "--out", str(out), "--progress", "none",
                         env={"FAKE_SLOW_S": "0.2"})
    results = out / "results.jsonl"
    assert _wait_for(lambda: results.exists() and results.read_text().count('"type":"run"') >= 3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    recs = records(str(out))
    runs = [r for r in recs if r["type"] == "run"]
    assert recs[-1]["type"] == "session_end" and recs[-1]["status"] == "interrupted"
    assert len({(r["instance"], r["seed"]) for r in runs}) == len(runs) >= 3
    assert not [r for r in runs if alive((r.get("start") or {}).get("pid", 0) or 0)]
    # A second command into the same store says that it starts a new session.
    done = jostle("run", "--build-dir", evil_build, "--suite", "evil", "--case", "evil/ok@good", "--out", str(out),
                  "--progress", "none")
    assert done.returncode == 0 and "this starts a new session" in done.stderr


def test_soak_killed_mid_chunk_resumes_with_fresh_seeds(tmp_path):
    """A soak killed inside a chunk (SIGKILL: soak.json is not updated after it) resumes with the next chunk's
    seeds, so the killed chunk's runs are never repeated with the same seeds."""
    from jostle import soak
    from jostle.plan import Settings
    from jostle.records import SessionRequest, SessionResult

    class Killed(Exception):
        pass

    seeds = []

    def run_session(request, _log):
        seeds.append(request.settings.seed)
        if len(seeds) == 2:
            raise Killed()          # the runner dies inside the second chunk
        return SessionResult(session=f"s{len(seeds)}", status="complete", runs=1, failing_runs=0, elapsed_s=1.0,
                             build="fake")

    now = [1000.0]

    def clock():
        now[0] += 10
        return now[0]

    request = SessionRequest(command="soak", build_dir="b", out=str(tmp_path / "soak"),
                             settings=Settings(mode="stress", runs=None, budget_s=None, jobs=1, seed=9))
    with pytest.raises(Killed):
        soak.run(request, 100.0, 10.0, "n1", False, lambda _m: None, run_session=run_session, clock=clock)
    assert soak.run(request, 100.0, 10.0, "n1", False, lambda _m: None, run_session=run_session,
                    clock=clock) == 0
    assert len(seeds) > 3 and len(set(seeds)) == len(seeds), seeds


def test_every_statistic_counts_unique_runs(good_store):
    from jostle import gate, query
    from reports import dashboard
    _, recs = good_store
    head = next(r for r in recs if r["type"] == "session")
    again = [dict(r, session="again") for r in recs if r.get("session") == head["session"]]
    doubled = recs + again
    assert dashboard.build(doubled)["runs"] == dashboard.build(recs)["runs"]
    assert gate.Baseline(doubled).counts == gate.Baseline(recs).counts
    pooled = query.combine(doubled, [head["session"], "again"])
    assert sum(r["type"] == "run" for r in pooled) == sum(r["type"] == "run" for r in recs)


# -- what the code under test or a label writes never acts on a page or a terminal -----------------------------

def test_dashboard_data_island_survives_hostile_labels(good_store):
    import re

    from reports import dashboard
    _, recs = good_store
    label = "<!--<script></script>&amp;"
    heads = [dict(r, labels={"night": label}) if r["type"] == "session" else r for r in recs]
    page = dashboard.render(dashboard.build(heads))
    island = re.search(r'<script type="application/json" id="jostle-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in island and ">" not in island and "&" not in island
    assert json.loads(island)["nights"] == [label]
    assert page.count("<script") == 2 and page.count("</script>") == 2


def test_replay_neutralises_terminal_escapes(evil_build):
    done = jostle("replay", "jostle-evil --run evil/escapes@good --seed 1", "--build-dir", evil_build)
    assert done.returncode == 1, done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout and "\x9b" not in done.stdout
    assert "\\x1b]0;owned title" in done.stdout
