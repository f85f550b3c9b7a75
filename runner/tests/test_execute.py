"""execute.run + classify against the fake harness: every misbehaviour becomes its own classification."""

import os

import pytest

from jostle import classify, execute
from jostle.plan import RunSpec

from fakebuild import make_build


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    return os.path.join(make_build(str(tmp_path_factory.mktemp("build"))), "bin", "jostle-fake")


def go(binary, case, seed=1, timeout_s=30.0, backend="good", hang_hold_s=execute.HANG_HOLD_S):
    spec = RunSpec(f"fake/{case}@{backend}", "fake", binary, seed, 0, 10, None, timeout_s)
    raw = execute.run(spec, hang_hold_s=hang_hold_s)
    verdict = classify.classify(raw)
    return raw, (verdict.code, verdict.reason, verdict.message)


@pytest.mark.parametrize("case,seed,code,reason", [
    ("ok", 1, "PASS", "pass"),
    ("fail", 1, "FAIL", "check"),
    ("forbidden", 1, "FAIL", "forbidden"),
    ("flaky", 2, "PASS", "pass"),
    ("flaky", 3, "FAIL", "check"),
    ("crash", 1, "CRASH", "signal"),
    ("garbage", 1, "ERROR", "garbage"),
    ("early", 1, "CRASH", "no-end"),
    ("unsupported", 1, "UNSUPPORTED", "unsupported"),
    ("tsan", 1, "SANITIZER", "tsan"),
    ("tsanfatal", 1, "ERROR", "sanitizer-tool"),
    ("mismatch", 1, "ERROR", "exit-mismatch"),
    ("torn", 1, "CRASH", "signal"),
])
def test_misbehaviour_is_classified(binary, case, seed, code, reason):
    raw, (got_code, got_reason, _) = go(binary, case, seed)
    assert (got_code, got_reason) == (code, reason), raw.stderr


def test_raw_output_is_kept(binary):
    raw, _ = go(binary, "garbage")
    assert raw.bad_lines == ["this is not json <&>"]
    raw, _ = go(binary, "torn")
    assert raw.torn.startswith('{"v":1,"ev":"progress"')
    raw, _ = go(binary, "tsan")
    assert "SUMMARY: ThreadSanitizer: data race" in raw.stderr
    raw, _ = go(binary, "ok")
    assert raw.stdout.startswith("hello from fake/ok@good")


def test_hang_event_captures_stacks_then_kills(binary):
    raw, (code, reason, message) = go(binary, "hang", timeout_s=0.5)
    assert (code, reason) == ("TIMEOUT", "hang")
    assert "after 500" in message
    # The fake holds for HANG_HOLD_S after its hang event; the runner must not wait that long.
    assert raw.elapsed_s < execute.HANG_HOLD_S
    assert raw.signal == 9
    assert raw.stacks is not None, raw.stack_note
    assert "Thread" in raw.stacks or "TID" in raw.stacks


def test_runner_deadline_when_the_watchdog_never_fires(binary):
    raw, (code, reason, _) = go(binary, "stuck", timeout_s=0.2)
    assert (code, reason) == ("TIMEOUT", "deadline")
    assert raw.runner_deadline and raw.stacks is not None


def test_cancel_kills_the_run(binary):
    import threading
    cancel = threading.Event()
    cancel.set()
    spec = RunSpec("fake/stuck@good", "fake", binary, 1, 0, 10, None, 30.0)
    raw = execute.run(spec, cancel)
    assert raw.interrupted and raw.signal == 9


def test_missing_binary_is_an_error_not_an_exception(tmp_path):
    spec = RunSpec("fake/ok@good", "fake", str(tmp_path / "nope"), 1, 0, 10, None, 30.0)
    verdict = classify.classify(execute.run(spec))
    code, reason, message = verdict.code, verdict.reason, verdict.message
    assert (code, reason) == ("ERROR", "spawn") and "cannot start" in message


def test_unknown_instance_is_a_usage_error(binary):
    spec = RunSpec("fake/nope@good", "fake", binary, 1, 0, 10, None, 30.0)
    verdict = classify.classify(execute.run(spec))
    code, reason, message = verdict.code, verdict.reason, verdict.message
    assert (code, reason) == ("ERROR", "usage") and "unknown instance" in message


def test_child_env_keeps_user_sanitizer_options_last():
    env = execute.child_env({"TSAN_OPTIONS": "halt_on_error=1"}, log_dir="/tmp/run1")
    tsan = env["TSAN_OPTIONS"].split(":")
    assert tsan[0] == "color=never" and tsan[-1] == "halt_on_error=1" and "log_path=/tmp/run1/tsan" in tsan
    assert "exitcode=66" in tsan and "atexit_sleep_ms=50" in tsan
    assert env["ASAN_OPTIONS"].startswith("color=never:") and "log_path=/tmp/run1/asan" in env["ASAN_OPTIONS"]


def test_read_bounded_keeps_head_and_tail(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"H" * 100 + b"x" * 10_000 + b"T" * 100)
    text, size = execute.read_bounded(str(path), keep=400)
    assert size == 10_200 and text.startswith("H" * 100) and text.endswith("T" * 100) and "left out" in text
