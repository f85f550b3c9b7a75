import json
import os
import sqlite3

import pytest

from jostle import store
from jostle.errors import InfraError, UsageError


def session(sid="s1"):
    return {"type": "session", "session": sid, "command": "run", "instances": [], "config": {}}


def run(sid, seq, code="PASS"):
    return {"type": "run", "session": sid, "seq": seq, "instance": "a/b@c", "suite": "a", "code": code,
            "elapsed_ms": 10.0, "seed": seq}


def write(out, records):
    writer = store.Writer(str(out))
    for record in records:
        writer.append(record)
    writer.close()


def test_roundtrip_and_index(tmp_path):
    write(tmp_path, [session(), run("s1", 1), run("s1", 2, "FAIL")])
    records = store.load(str(tmp_path))
    assert [r["type"] for r in records] == ["session", "run", "run"]
    assert all(r["schema"] == store.SCHEMA_VERSION for r in records)
    conn = sqlite3.connect(tmp_path / store.INDEX)
    assert conn.execute("SELECT code FROM runs ORDER BY seq").fetchall() == [("PASS",), ("FAIL",)]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.run_seconds_history(str(tmp_path)) == {"a/b@c": 0.01}


def test_torn_last_line_is_skipped_on_read_and_dropped_on_append(tmp_path):
    write(tmp_path, [session(), run("s1", 1)])
    with open(tmp_path / store.RESULTS, "ab") as f:
        f.write(b'{"schema":1,"type":"run","sess')
    warnings = []
    assert len(store.load(str(tmp_path), warnings.append)) == 2
    assert "torn" in warnings[0]
    write(tmp_path, [run("s1", 2)])
    assert [r.get("seq") for r in store.load(str(tmp_path))] == [None, 1, 2]


def test_corrupt_middle_line_is_a_clear_error(tmp_path):
    write(tmp_path, [session(), run("s1", 1)])
    lines = (tmp_path / store.RESULTS).read_text().splitlines()
    (tmp_path / store.RESULTS).write_text(lines[0] + "\n{broken\n" + lines[1] + "\n")
    with pytest.raises(InfraError, match="corrupt store: .* line 2"):
        store.load(str(tmp_path))
    with pytest.raises(InfraError, match="corrupt store"):
        store.Writer(str(tmp_path))


def test_newer_schema_is_refused(tmp_path):
    (tmp_path / store.RESULTS).write_text(json.dumps({"schema": 99, "type": "session"}) + "\n")
    with pytest.raises(InfraError, match="schema 99"):
        store.load(str(tmp_path))


def test_missing_index_is_rebuilt(tmp_path):
    write(tmp_path, [session(), run("s1", 1)])
    os.unlink(tmp_path / store.INDEX)
    store.load(str(tmp_path))
    conn = sqlite3.connect(tmp_path / store.INDEX)
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1


def test_corrupt_index_is_rebuilt_with_a_warning(tmp_path):
    write(tmp_path, [session(), run("s1", 1)])
    for suffix in ("-wal", "-shm"):
        if os.path.exists(str(tmp_path / store.INDEX) + suffix):
            os.unlink(str(tmp_path / store.INDEX) + suffix)
    (tmp_path / store.INDEX).write_bytes(b"this is not a database" * 100)
    warnings = []
    store.load(str(tmp_path), warnings.append)
    assert warnings and "rebuilding" in warnings[0]
    conn = sqlite3.connect(tmp_path / store.INDEX)
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1


def test_index_behind_the_jsonl_catches_up(tmp_path):
    write(tmp_path, [session(), run("s1", 1)])
    with open(tmp_path / store.RESULTS, "a") as f:
        f.write(json.dumps({"schema": 1, **run("s1", 2)}) + "\n")
    store.load(str(tmp_path))
    conn = sqlite3.connect(tmp_path / store.INDEX)
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2


def test_out_dir_checks(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        store.prepare_out_dir(str(a_file))
    with pytest.raises(InfraError, match="not writable"):
        store.prepare_out_dir(str(a_file / "sub"))
    with pytest.raises(InfraError, match="no result store"):
        store.load(str(tmp_path))
