import pytest

from jostle import classify as classify_module
from jostle.records import RunResult


def raw(events=(), exit_code=0, sig=None, **extra):
    return RunResult(argv=["jostle-x"], events=list(events), exit_code=exit_code, signal=sig, elapsed_s=1.0,
                     **extra)


def classify(facts):
    verdict = classify_module.classify(facts)
    return verdict.code, verdict.reason, verdict.message


START = {"v": 1, "ev": "start"}


def end(status, **fields):
    return {"v": 1, "ev": "end", "status": status, **fields}


@pytest.mark.parametrize("facts,code,reason", [
    (raw([START, end("pass")]), "PASS", "pass"),
    (raw([START, end("fail", checks_failed=1)], 1), "FAIL", "check"),
    (raw([START, end("fail", forbidden=1, outcomes={"x": {"grade": "FORBIDDEN", "count": 1}})], 1),
     "FAIL", "forbidden"),
    (raw([START, end("unsupported", reason="no")], 5), "UNSUPPORTED", "unsupported"),
    (raw([START, end("pass")], 1), "ERROR", "exit-mismatch"),
    (raw([START, end("unsupported")], 0), "ERROR", "exit-mismatch"),
    (raw([START, end("maybe")], 0), "ERROR", "bad-end"),
    (raw([START, {"v": 1, "ev": "hang", "deadline_ms": 1000}], 4), "TIMEOUT", "hang"),
    (raw([START], None, 9, runner_deadline=True), "TIMEOUT", "deadline"),
    (raw([START], None, 6), "CRASH", "signal"),
    (raw([START, end("pass")], None, 11), "CRASH", "signal"),
    (raw([START], 0), "CRASH", "no-end"),
    (raw([], 1), "CRASH", "no-events"),
    (raw([], 2, stderr="unknown instance 'x'\n"), "ERROR", "usage"),
    (raw([], 3, stderr="cannot open events\n"), "ERROR", "infra"),
    (raw([START], 4), "ERROR", "hang-no-event"),
    (raw([START, end("pass")], 0, bad_lines=["garbage"]), "ERROR", "garbage"),
    (raw([START, end("pass")], 66, stderr="WARNING: ThreadSanitizer: data race (pid=1)\n"), "SANITIZER", "tsan"),
    (raw([START], 1, stderr="==9==ERROR: AddressSanitizer: heap-use-after-free on address 0x1\n"),
     "SANITIZER", "asan"),
    (raw([START, end("pass")], 0, stderr="a.cc:3:5: runtime error: signed integer overflow\n"),
     "SANITIZER", "ubsan"),
    (raw([], 66, stderr="FATAL: ThreadSanitizer: unexpected memory mapping 0x1-0x2\n"), "ERROR", "sanitizer-tool"),
    (raw(spawn_error="cannot start x"), "ERROR", "spawn"),
])
def test_classify(facts, code, reason):
    got_code, got_reason, message = classify(facts)
    assert (got_code, got_reason) == (code, reason)
    assert isinstance(message, str)


def test_fail_message_names_the_check():
    check = {"v": 1, "ev": "check", "fatal": True, "file": "a.cc", "line": 9, "expr": "x == 1", "msg": "lost"}
    _, _, message = classify(raw([START, check, end("fail", checks_failed=3)], 1))
    assert message == "REQUIRE failed at a.cc:9: x == 1 - lost (+2 more)"


def test_signal_is_named():
    assert classify(raw([START], None, 6))[2] == "killed by SIGABRT"


def test_deadlock_hang_says_lost_wakeup_not_deadline():
    hang = {"v": 1, "ev": "hang", "reason": "deadlock", "quiet_ms": 201.5, "deadline_ms": 10000, "iteration": 3}
    code, reason, message = classify(raw([START, hang], 4))
    assert (code, reason) == ("TIMEOUT", "hang")
    assert "lost wakeup or deadlock" in message and "202 ms" in message and "iteration 3" in message
    deadline = {"v": 1, "ev": "hang", "reason": "deadline", "deadline_ms": 10000}
    assert "watchdog fired after 10000 ms" in classify(raw([START, deadline], 4))[2]
