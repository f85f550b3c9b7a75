"""The result store: results.jsonl (the truth, append-only) and store.sqlite (an index rebuilt from it).

Every record is one JSON line written with a single write(2) and fsync'd before the runner goes
on, so a crash, Ctrl-C or kill of the runner leaves every finished run readable. The SQLite index
(WAL) is only ever derived: when it is missing, corrupt or behind the JSONL it is rebuilt or
caught up, never trusted over the JSONL.
"""

import json
import os
import sqlite3

from jostle import store_schema
from jostle.errors import InfraError, UsageError

SCHEMA_VERSION = 1
RESULTS = "results.jsonl"
INDEX = "store.sqlite"

_INDEX_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE sessions(session TEXT PRIMARY KEY, command TEXT, started TEXT, status TEXT, line INTEGER);
CREATE TABLE runs(session TEXT, seq INTEGER, instance TEXT, suite TEXT, code TEXT, reason TEXT, seed TEXT,
                  iterations_done INTEGER, elapsed_ms REAL, line INTEGER, PRIMARY KEY(session, seq));
CREATE INDEX runs_by_instance ON runs(instance);
"""


def check_out_dir(path, option="--out"):
    """A usage error when `path` exists and is not a directory (creates nothing)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{option} {path}: exists and is not a directory")


def prepare_out_dir(path, option="--out"):
    """Create `path` if needed and prove it is a writable directory; raises a one-line error if not."""
    check_out_dir(path, option)
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".jostle-write-probe")
        with open(probe, "w", encoding="utf-8") as f:
            f.write("ok")
        os.unlink(probe)
    except OSError as exc:
        try:
            os.unlink(os.path.join(path, ".jostle-write-probe"))
        except OSError:
            pass
        raise InfraError(f"{option} {path}: not writable ({exc.strerror or exc})") from None


def _read_lines(path):
    """(records with their line numbers, torn tail bytes) of a results.jsonl; raises InfraError if corrupt."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return [], b""
    except OSError as exc:
        raise InfraError(f"cannot read {path}: {exc.strerror or exc}") from None
    body, sep, torn = data.rpartition(b"\n")
    if not sep:
        body, torn = b"", data
    records = []
    for number, line in enumerate(body.split(b"\n") if body else [], 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except ValueError:
            raise InfraError(f"corrupt store: {path} line {number} is not a JSON record "
                             f"(move the file aside or delete that line; the other records are intact)") from None
        if not isinstance(record, dict) or "type" not in record or "schema" not in record:
            raise InfraError(f"corrupt store: {path} line {number} is not a jostle record "
                             f"(it needs 'type' and 'schema'; the other records are intact)")
        if not isinstance(record["schema"], int) or isinstance(record["schema"], bool):
            raise InfraError(f"corrupt store: {path} line {number}: field 'schema': expected a whole number, "
                             f"got {record['schema']!r} (the other records are intact)")
        if record["schema"] > SCHEMA_VERSION:
            raise InfraError(f"{path} line {number} has store schema {record['schema']}; this jostle reads "
                             f"up to {SCHEMA_VERSION} (update jostle or use another --out)")
        problem = store_schema.record_problem(record)
        if problem:
            raise InfraError(f"corrupt store: {path} line {number}: {problem} (move that line aside; "
                             f"the other records are intact)")
        records.append((number, record))
    return records, torn


def load(out_dir, warn=None):
    """Every record of the store in order (plain dicts). A torn last line is skipped with a warning."""
    path = os.path.join(out_dir, RESULTS)
    if not os.path.exists(path):
        raise InfraError(f"no result store at {path} (run `jostle run --out {out_dir}` first)")
    numbered, torn = _read_lines(path)
    if torn.strip() and warn:
        warn(f"{path}: ignoring a torn last record ({len(torn)} bytes): the runner was stopped while writing it")
    _refresh_index_for_reading(out_dir, numbered, warn)
    return [record for _, record in numbered]


def _refresh_index_for_reading(out_dir, numbered, warn):
    """Catch the index up when we may; reading needs only results.jsonl, so a read-only store (a baseline
    downloaded as an artifact) or a full disk never stops a reader."""
    if not _writable(out_dir):
        return
    try:
        ensure_index(out_dir, numbered, warn)
    except InfraError:
        pass    # the index is a cache: a reader goes on from results.jsonl, a writer reports it


def _connect(path):
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def _drop_index(path):
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(path + suffix)
        except FileNotFoundError:
            pass
        except OSError:
            pass


def _sql_text(value):
    """Harness JSON may carry lone surrogates (\\ud800), which SQLite's UTF-8 cannot hold."""
    if value is None:
        return None
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def _index_records(conn, numbered):
    for number, record in numbered:
        record = {key: _sql_text(value) if isinstance(value, str) else value for key, value in record.items()}
        if record.get("type") == "session":
            conn.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, 'running', ?)",
                         (record["session"], record.get("command"), record.get("started"), number))
        elif record.get("type") == "session_end":
            conn.execute("UPDATE sessions SET status = ? WHERE session = ?", (record.get("status"), record["session"]))
        elif record.get("type") == "run":
            conn.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (record["session"], record.get("seq"), record.get("instance"), record.get("suite"),
                          record.get("code"), record.get("reason"), str(record.get("seed")),
                          record.get("iterations_done"), record.get("elapsed_ms"), number))


def ensure_index(out_dir, numbered=None, warn=None):
    """Make store.sqlite agree with results.jsonl, rebuilding it when it is missing or unreadable."""
    results = os.path.join(out_dir, RESULTS)
    index = os.path.join(out_dir, INDEX)
    if numbered is None:
        numbered, _ = _read_lines(results)
    lines = numbered[-1][0] if numbered else 0
    try:
        if not os.path.exists(index):
            raise FileNotFoundError(index)
        conn = _connect(index)
        try:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("quick_check failed")
            row = conn.execute("SELECT value FROM meta WHERE key = 'lines'").fetchone()
            indexed = int(row[0])
            if indexed == lines:
                return
            if indexed > lines:
                raise sqlite3.DatabaseError("index is ahead of results.jsonl")
            _catch_up(conn, index, numbered, indexed, lines)
            return
        finally:
            conn.close()
    except FileNotFoundError:
        pass
    except sqlite3.OperationalError as exc:
        if not _is_corruption(exc):
            # A full disk, a read-only file or a lock: the index may be intact, so it is left alone.
            raise InfraError(f"{index}: cannot use the index: {exc}") from None
        if warn:
            warn(f"{index}: rebuilding the index from {RESULTS} ({exc})")
    except (sqlite3.DatabaseError, TypeError, ValueError) as exc:
        if warn:
            warn(f"{index}: rebuilding the index from {RESULTS} ({exc})")
    _rebuild_index(index, numbered, lines)


def _is_corruption(exc):
    """OperationalError covers both a damaged index (missing tables) and a machine that cannot write."""
    return any(words in str(exc) for words in ("no such table", "no such column", "malformed"))


def _catch_up(conn, index, numbered, indexed, lines):
    """Index the lines after `indexed`; a failure to write (full disk) leaves the intact index as it was."""
    try:
        with conn:
            _index_records(conn, [(n, r) for n, r in numbered if n > indexed])
            conn.execute("UPDATE meta SET value = ? WHERE key = 'lines'", (str(lines),))
    except sqlite3.OperationalError as exc:
        raise InfraError(f"{index}: cannot update the index: {exc}") from None


def _rebuild_index(index, numbered, lines):
    """Build a new index beside the old one and swap it in; the old one stays until the new one is complete."""
    tmp = f"{index}.{os.getpid()}.tmp"
    try:
        _drop_index(tmp)
        conn = sqlite3.connect(tmp)
        try:
            with conn:
                conn.executescript(_INDEX_SCHEMA)
                conn.execute("INSERT INTO meta VALUES ('schema', ?), ('lines', ?)",
                             (str(SCHEMA_VERSION), str(lines)))
                _index_records(conn, numbered)
        finally:
            conn.close()
        # The stale index's WAL must not be replayed onto the new file.
        for suffix in ("-wal", "-shm"):
            if os.path.exists(index + suffix):
                os.unlink(index + suffix)
        os.replace(tmp, index)
    except (sqlite3.Error, OSError) as exc:
        _drop_index(tmp)
        raise InfraError(f"{index}: cannot build the index: {_reason(exc)}") from None


def _reason(exc):
    return getattr(exc, "strerror", None) or str(exc)


def _writable(directory):
    return os.access(directory, os.W_OK)


def run_seconds_history(out_dir):
    """Mean wall-clock seconds per run of each instance in earlier sessions ({} when unknown)."""
    index = os.path.join(out_dir, INDEX)
    if not os.path.exists(index):
        return {}
    try:
        conn = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT instance, AVG(elapsed_ms) FROM runs "
                                "WHERE code IN ('PASS', 'FAIL') GROUP BY instance").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return {}
    return {instance: ms / 1000 for instance, ms in rows if ms is not None}


class Writer:
    """The single writer of one store; append() returns only once the record is on disk."""

    def __init__(self, out_dir, warn=None):
        prepare_out_dir(out_dir)
        self.out_dir = out_dir
        self.path = os.path.join(out_dir, RESULTS)
        numbered, torn = _read_lines(self.path)
        if torn:
            if torn.strip() and warn:
                warn(f"{self.path}: dropping a torn last record ({len(torn)} bytes) left by a killed runner")
            with open(self.path, "r+b") as f:
                f.truncate(os.path.getsize(self.path) - len(torn))
        self.lines = numbered[-1][0] if numbered else 0
        ended = {r.get("session") for _, r in numbered if r.get("type") == "session_end" and r.get("status") == "complete"}
        # Sessions of this store that were interrupted or killed: a new session does not resume them.
        self.unfinished = [r["session"] for _, r in numbered if r.get("type") == "session" and r["session"] not in ended]
        ensure_index(out_dir, numbered, warn)
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._index = _connect(os.path.join(out_dir, INDEX))
        except (OSError, sqlite3.Error) as exc:
            raise InfraError(f"cannot open the store in {out_dir}: {exc}") from None

    def append(self, record):
        record = {"schema": SCHEMA_VERSION, **record}
        data = (json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
            os.fsync(self._fd)
        except OSError as exc:
            raise InfraError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self.lines += 1
        try:
            with self._index:
                _index_records(self._index, [(self.lines, record)])
                self._index.execute("UPDATE meta SET value = ? WHERE key = 'lines'", (str(self.lines),))
        except (sqlite3.Error, ValueError):
            # The JSONL has the record; the index catches up (or is rebuilt) on the next open.
            pass

    def close(self):
        os.close(self._fd)
        self._index.close()


def merge_into(out_dir, sources, warn=None):
    """Append the records of shard stores to the store in out_dir; returns the ids of the sessions merged.

    Records are copied unchanged, session by session; a session already in out_dir (a merge run
    twice, or a shard listed twice) is skipped whole, so merging is idempotent.
    """
    loaded = []
    for source in sources:
        if os.path.abspath(source) == os.path.abspath(out_dir):
            raise UsageError(f"merge: {source} is the --out store itself")
        if not os.path.isdir(source):
            raise UsageError(f"merge: {source}: no such store directory")
        loaded.append(load(source, warn))
    writer = Writer(out_dir, warn=warn)
    try:
        numbered, _ = _read_lines(writer.path)
        present = {r.get("session") for _, r in numbered if r.get("type") == "session"}
        merged = []
        for records in loaded:
            for record in records:
                sid = record.get("session")
                if record.get("type") == "session":
                    if sid in present:
                        continue
                    present.add(sid)
                    merged.append(sid)
                elif sid not in merged:
                    continue
                writer.append({key: value for key, value in record.items() if key != "schema"})
    finally:
        writer.close()
    return merged
