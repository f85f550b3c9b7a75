"""Plain store records covering every verdict, built by hand: the renderers must need nothing else."""

NASTY = "<script>alert('x')</script> & \"q\" 'a'\x1b[31m\x00\x07\x7f\ud800"
TSAN = ("==================\nWARNING: ThreadSanitizer: data race (pid=9)\n  Write of size 4 by thread T1:\n"
        "    #0 bump a.cc:3\nSUMMARY: ThreadSanitizer: data race a.cc:3 in bump\n==================\n")
STACKS = "Thread 2 (Thread 0x7f (LWP 12)):\n#0  futex_wait () at <futex.h>:10\nThread 1 (LWP 11):\n#0  main ()\n"


def inst(iid, expect="pass", backend="good", mutant=False, case=None):
    suite, rest = iid.split("/", 1)
    return {"id": iid, "suite": suite, "case": case or rest.split("@")[0], "backend": backend, "expect": expect,
            "mutant": mutant, "kind": "conformance", "description": "d " + NASTY, "params": {}, "clauses": [],
            "threads": 2}


def run(iid, seq, code, reason="r", message="", **extra):
    record = {"schema": 1, "type": "run", "session": "S", "seq": seq, "instance": iid, "suite": iid.split("/")[0],
              "seed": seq, "code": code, "reason": reason, "message": message, "elapsed_ms": 12.5,
              "iterations_done": 100, "exit_code": 0, "signal": None, "checks": [], "outcomes": {},
              "metrics": {}, "stdout": "", "stderr": "", "stdout_bytes": 0, "stderr_bytes": 0, "stacks": None,
              "stack_note": None, "bad_lines": [], "torn": "", "sanitizer": None, "hang": None,
              "repro": f"./jostle replay 'jostle-x --run {iid} --seed {seq} build=release amplify=none'"}
    record.update(extra)
    return record


def make_records(status="complete"):
    instances = [
        inst("x/pass@good"), inst("x/fail@good"), inst("x/flaky@good"), inst("x/crash@good"),
        inst("x/hang@good"), inst("x/race@good"), inst("x/unsup@good"), inst("x/err@good"),
        inst("x/quar@good"), inst("x/notrun@good"),
        inst(f"x/{NASTY}@good", case="nasty"),
        inst("x/pass@mutant.m", "fail", "mutant.m", True), inst("x/fail@mutant.m", "informative", "mutant.m", True),
        inst("x/pass@mutant.e", "fail", "mutant.e", True),
    ]
    outcomes = {"ok": {"count": 1_000_000, "grade": "ACCEPTABLE", "desc": "fine"},
                "rare": {"count": 3, "grade": "INTERESTING", "desc": "seen"},
                NASTY: {"count": 1, "grade": "FORBIDDEN", "desc": NASTY}}
    check = {"v": 1, "ev": "check", "fatal": False, "file": "a.cc", "line": 4, "expr": "x < 5 && y", "msg": NASTY,
             "thread": 1, "iteration": 2}
    runs = [
        run("x/pass@good", 1, "PASS", outcomes={"ok": outcomes["ok"]}),
        run("x/pass@good", 2, "PASS", outcomes={"ok": outcomes["ok"], "rare": outcomes["rare"]}),
        run("x/fail@good", 3, "FAIL", "check", "CHECK failed", checks=[check], exit_code=1),
        run("x/fail@good", 4, "FAIL", "check", "CHECK failed", checks=[check], exit_code=1),
        run("x/flaky@good", 5, "PASS"), run("x/flaky@good", 6, "FAIL", "check", "lost wakeup", exit_code=1),
        run("x/flaky@good", 7, "PASS"),
        run("x/crash@good", 8, "CRASH", "signal", "killed by SIGSEGV", signal=11, exit_code=None),
        run("x/crash@good", 9, "CRASH", "signal", "killed by SIGSEGV", signal=11, exit_code=None),
        run("x/hang@good", 10, "TIMEOUT", "hang", "watchdog fired", stacks=STACKS, signal=9,
            hang={"v": 1, "ev": "hang", "deadline_ms": 1000, "iteration": 7,
                  "threads": [{"actor": 0, "tid": 12, "phase": "wait", "since_ms": 990}]}),
        run("x/race@good", 11, "PASS"),
        run("x/race@good", 12, "SANITIZER", "tsan", "tsan: data race", stderr=TSAN, exit_code=66,
            sanitizer={"tool": "tsan", "kind": "data race",
                       "summaries": ["SUMMARY: ThreadSanitizer: data race a.cc:3 in bump"], "tool_error": None}),
        run("x/unsup@good", 13, "UNSUPPORTED", "unsupported", "needs 64 cores", exit_code=5),
        run("x/err@good", 14, "ERROR", "garbage", "not a protocol line", bad_lines=[NASTY], torn=NASTY),
        run("x/quar@good", 15, "PASS"), run("x/quar@good", 16, "FAIL", "check", "flaky but known", exit_code=1),
        run(f"x/{NASTY}@good", 17, "FAIL", "check", NASTY, stdout=NASTY * 3, stderr=NASTY, outcomes=outcomes,
            checks=[check]),
        run("x/pass@mutant.m", 18, "FAIL", "check", "caught", expect="fail"),
        run("x/fail@mutant.m", 19, "FAIL", "check", "informative", expect="informative"),
        run("x/pass@mutant.e", 20, "PASS", expect="fail"),
    ]
    head = {"schema": 1, "type": "session", "session": "S", "command": "run", "argv": ["run", "--case", NASTY],
            "started": "2025-01-02T03:04:05+00:00",
            "machine": {"hostname": "host", "cpus": 2, "affinity": [0, 1], "kernel": "6.1"},
            "build": {"preset": "release", "dir": "/b", "versions": {"x": {"protocol": 1}}},
            "config": {"mode": "run", "seed": 1, "jobs": 2, "quarantine": ["x/quar@*"], "confidence": 0.95,
                       "amplify": {"mode": "none", "chaos": None}},
            "instances": instances,
            "backends": [{"name": "good", "mutant": False, "suite": "x"},
                         {"name": "mutant.m", "mutant": True, "suite": "x", "catches": ["x/pass"],
                          "difficulty": "D1", "source": "bug 1", "description": NASTY},
                         {"name": "mutant.e", "mutant": True, "suite": "x", "catches": ["x/pass"],
                          "difficulty": "D3", "source": "bug 2", "description": "escapes"}],
            "warnings": ["budget " + NASTY]}
    records = [head, *runs]
    if status:
        records.append({"schema": 1, "type": "session_end", "session": "S", "status": status, "elapsed_s": 3.5,
                        "finished": "2025-01-02T03:04:09+00:00"})
    return records
