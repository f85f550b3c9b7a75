"""The typed records: a run record survives the store's JSON, and a bad one is refused in one line."""

import json

import pytest

from jostle import records
from jostle.errors import InfraError
from jostle.records import RunRecord, RunResult


def _record(**extra):
    return RunRecord(session="s1", seq=1, instance="futex/x@linux", code="FAIL", suite="futex", seed=(1 << 64) - 1,
                     batch=0, reason="check", message="lost wakeup", outcomes={"a": {"count": 3}},
                     checks=[{"ev": "check", "expr": "x"}], end=True, **extra)


def test_run_record_round_trips_through_json():
    record = _record(sanitizer={"tool": "tsan"})
    line = json.dumps(record.to_json())
    back = RunRecord.from_json(json.loads(line))
    assert back == record and back.to_json()["type"] == "run"


def test_from_json_ignores_unknown_fields_and_fills_defaults():
    data = {"type": "run", "session": "s", "seq": 3, "instance": "i", "code": "PASS", "elapsed_ms": 2.5,
            "future_field": 1}
    record = RunRecord.from_json(data)
    assert record.expect == "pass" and record.outcomes == {} and record.stdout == ""


@pytest.mark.parametrize("change,message", [
    ({"code": "MAYBE"}, "field 'code': expected a result code (PASS"),
    ({"seq": "1"}, "field 'seq': expected a whole number"),
    ({"seed": 1.5}, "field 'seed'"),
    ({"end": 1}, "field 'end': expected true or false"),
    ({"outcomes": []}, "outcomes"),
    ({"type": "session"}, "not a run record"),
])
def test_from_json_refuses_a_bad_record_in_one_line(change, message):
    data = dict(_record().to_json(), **change)
    with pytest.raises(InfraError) as err:
        RunRecord.from_json(data, "results.jsonl line 7")
    assert message in str(err.value) and str(err.value).startswith("results.jsonl line 7")
    assert "\n" not in str(err.value)


def test_missing_required_field_is_named():
    data = _record().to_json()
    del data["instance"]
    with pytest.raises(InfraError, match="field 'instance' is missing"):
        RunRecord.from_json(data)


def test_to_json_refuses_to_write_a_bad_record():
    with pytest.raises(InfraError, match="'code'"):
        RunRecord(session="s", seq=1, instance="i", code="NOPE").to_json()


def test_records_are_frozen_and_seeds_are_64_bit():
    with pytest.raises(Exception):
        _record().code = "PASS"
    with pytest.raises(Exception):
        RunResult(argv=[]).exit_code = 1
    seed = records.random_seed()
    assert 0 <= seed < 1 << 63
    assert records.derive_seed((1 << 64) - 1, 1) == (1 << 32) - 1
    assert records.new_id() != records.new_id()


def test_run_result_event_lookup():
    raw = RunResult(argv=[], events=[{"ev": "progress", "n": 1}, {"ev": "end"}, {"ev": "progress", "n": 2}])
    assert raw.event("progress")["n"] == 1 and raw.event("progress", last=True)["n"] == 2
    assert raw.event("hang") is None and len(raw.all_events("progress")) == 2


def test_store_refuses_a_malformed_run_line(tmp_path):
    from jostle import store
    writer = store.Writer(str(tmp_path))
    writer.append(_record().to_json())
    writer.append({"type": "run", "session": "s1", "seq": 2, "instance": "i", "code": 7})
    writer.close()
    with pytest.raises(InfraError, match=r"corrupt store: .*results.jsonl line 2: field 'code'"):
        store.load(str(tmp_path))
