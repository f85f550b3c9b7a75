#!/usr/bin/python3
"""A stand-in harness binary for the runner's tests: docs/protocol.md v1, misbehaving on purpose.

Installed by the tests as bin/jostle-fake. What an instance does depends on its case name (see
CASES); mutant backends change what `ok` does. FAKE_LIST=fail|garbage breaks --list instead.
Installed as bin/jostle-evil it is the fault-injection suite instead: each case (EVIL_CASES) sends one
kind of bad event or misbehaves towards the runner in one way (tests/test_faults.py).
"""

import json
import os
import signal
import sys
import time

SUITE = os.path.basename(sys.argv[0]).split("jostle-", 1)[-1]
START = time.monotonic()

# case -> (timeout_ms, description)
CASES = {
    "ok": (30000, "passes, with an outcome histogram"),
    "fail": (30000, "a CHECK fails"),
    "forbidden": (30000, "a FORBIDDEN outcome"),
    "flaky": (30000, "fails on odd seeds"),
    "crash": (30000, "aborts (SIGABRT)"),
    "hang": (1000, "the watchdog fires and writes a hang event"),
    "stuck": (1000, "hangs and its watchdog never fires"),
    "garbage": (30000, "writes a non-JSON line on the event channel"),
    "early": (30000, "exits 0 before its end event"),
    "unsupported": (30000, "cannot run here"),
    "tsan": (30000, "a ThreadSanitizer data race report, exit 66"),
    "tsanfatal": (30000, "ThreadSanitizer cannot start: unexpected memory mapping"),
    "mismatch": (30000, "end says pass but the exit code is 1"),
    "torn": (30000, "dies by SIGKILL in the middle of an event line"),
    "noisy": (30000, "fails, with <&\"' and control bytes everywhere"),
}
# The fault-injection suite (jostle-evil): case -> (timeout_ms, what it does wrong).
EVIL_CASES = {
    "ok": (30000, "a clean pass, so that good runs sit beside the bad ones"),
    "outcomes_list": (30000, "end.outcomes is a list"),
    "checks_failed_str": (30000, "end.checks_failed is the string '3'"),
    "quiet_ms_str": (30000, "hang.quiet_ms is 'x', then exit 4"),
    "count_many": (30000, "an outcome count of 'many'"),
    "start_no_id": (30000, "a start event without its id"),
    "check_then_pass": (30000, "a failed check, then end status pass and exit 0"),
    "forbidden_then_pass": (30000, "a FORBIDDEN outcome in end, with status pass and exit 0"),
    "long_line": (30000, "one event line of 3 MiB"),
    "deep": (30000, "JSON nested 200000 deep, then runs on for a second"),
    "flood": (30000, "20000 check events"),
    "loud": (30000, "5 MiB on stdout and stderr, then a failed check"),
    "escapes": (30000, "terminal escape sequences on stdout, stderr and in a check message; fails"),
    "grandchild": (30000, "starts a grandchild that sleeps, then hangs without a hang event"),
    "slow": (30000, "sleeps FAKE_SLOW_S seconds (default 0.3), then passes"),
}
NASTY = "<b>&amp;\"quoted\" 'single'</b>\x1b[31mred\x00nul\x07bell\x7f"
BACKENDS = [
    {"name": "good", "mutant": False, "catches": [], "description": "a correct backend"},
    {"name": "mutant.lost", "mutant": True, "catches": [f"{SUITE}/ok"], "difficulty": "D1",
     "source": "test fixture", "description": "makes ok fail"},
    {"name": "mutant.sneaky", "mutant": True, "catches": [f"{SUITE}/ok"], "difficulty": "D3",
     "source": "test fixture", "description": "ok still passes: escapes"},
]


def instances():
    result = []
    for backend in BACKENDS:
        for case, (timeout_ms, desc) in (EVIL_CASES if SUITE == "evil" else CASES).items():
            if backend["mutant"] and (SUITE == "evil" or case not in ("ok", "flaky")):
                continue
            params = [{}]
            if case == "ok" and not backend["mutant"]:
                params.append({"msg": "<&\"'>"})
            for p in params:
                iid = f"{SUITE}/{case}@{backend['name']}" + "".join(f"/{k}={v}" for k, v in p.items())
                expect = "pass"
                if backend["mutant"]:
                    expect = "fail" if f"{SUITE}/{case}" in backend["catches"] else "informative"
                result.append({"v": 1, "type": "instance", "id": iid, "suite": SUITE, "case": case,
                               "backend": backend["name"], "primitive": "fake", "kind": "conformance",
                               "clauses": [], "params": p, "threads": 2, "iterations": 100,
                               "timeout_ms": timeout_ms, "expect": expect, "mutant": backend["mutant"],
                               "profile": "posix", "description": desc})
    return result


class Events:
    def __init__(self, path, fd):
        self.fd = None
        if path:
            self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        elif fd is not None:
            self.fd = fd

    def raw(self, data):
        if self.fd is not None:
            os.write(self.fd, data)

    def emit(self, ev, **fields):
        record = {"v": 1, "ev": ev, "t_ms": (time.monotonic() - START) * 1000, **fields}
        self.raw((json.dumps(record) + "\n").encode())


def parse_ms(text):
    for unit, scale in (("ms", 1), ("s", 1000), ("m", 60000)):
        if text.endswith(unit) and text[:-len(unit)].replace(".", "").isdigit():
            return float(text[:-len(unit)]) * scale
    return float(text) * 1000


def run(args):
    opts = {"--seed": "1", "--hang-hold": "0ms"}
    i = 0
    while i < len(args):
        if args[i] == "--quiet":
            i += 1
            continue
        opts[args[i]] = args[i + 1]
        i += 2
    known = {inst["id"]: inst for inst in instances()}
    iid = opts["--run"]
    if iid not in known:
        sys.stderr.write(f"unknown instance {iid!r}\n")
        return 2
    inst = known[iid]
    case, backend = inst["case"], inst["backend"]
    seed = int(opts["--seed"])
    iterations = int(opts.get("--iterations", inst["iterations"]))
    timeout_ms = parse_ms(opts["--timeout"]) if "--timeout" in opts else inst["timeout_ms"]
    ev = Events(opts.get("--events"), int(opts["--events-fd"]) if "--events-fd" in opts else None)
    ev.emit("start", id=iid, seed=seed, iterations=iterations, duration_ms=None, timeout_ms=timeout_ms,
            pid=os.getpid(), build={"preset": "fake", "compiler": "python", "sanitizer": "none"},
            chaos=opts.get("--chaos"))
    outcomes = {"a": {"count": iterations, "grade": "ACCEPTABLE", "desc": "the usual"}}

    def end(status, code, **extra):
        fields = {"status": status, "iterations_done": iterations, "elapsed_ms": 1.0, "checks_failed": 0,
                  "forbidden": 0, "outcomes": outcomes, "metrics": {"op": {"n": 2, "min": 1, "max": 3, "sum": 4,
                                                                           "unit": "ns"}}}
        fields.update(extra)
        ev.emit("end", **fields)
        return code

    if SUITE == "evil":
        return run_evil(case, ev, end, outcomes, opts, timeout_ms)
    failing = case == "fail" or (case == "flaky" and seed % 2 == 1) or (case == "ok" and backend == "mutant.lost")
    if case in ("ok", "fail", "flaky") and not failing:
        print("hello from", iid)
        outcomes["rare"] = {"count": 1, "grade": "INTERESTING", "desc": "seen once"}
        return end("pass", 0)
    if failing:
        ev.emit("check", fatal=False, file="fake.cc", line=42, expr="x == 5", msg="lost wakeup", thread=1,
                iteration=3)
        return end("fail", 1, checks_failed=1)
    if case == "forbidden":
        outcomes["torn-read"] = {"count": 2, "grade": "FORBIDDEN", "desc": "never allowed"}
        return end("fail", 1, forbidden=2)
    if case == "crash":
        sys.stdout.flush()
        os.abort()
    if case in ("hang", "stuck"):
        if case == "stuck":
            while True:
                time.sleep(1)
        time.sleep(max(0.0, timeout_ms / 1000 - (time.monotonic() - START)))
        ev.emit("hang", deadline_ms=timeout_ms, iteration=7,
                threads=[{"actor": 0, "tid": os.getpid(), "phase": "wait", "since_ms": 900}])
        time.sleep(parse_ms(opts["--hang-hold"]) / 1000)
        return 4
    if case == "garbage":
        ev.raw(b"this is not json <&>\n")
        return end("pass", 0)
    if case == "early":
        return 0
    if case == "unsupported":
        return end("unsupported", 5, reason="needs 64 cores")
    if case == "tsan":
        sys.stderr.write("==================\nWARNING: ThreadSanitizer: data race (pid=123)\n"
                         "  Write of size 4 at 0x7b04 by thread T1:\n    #0 bump fake.cc:10:3 (fake+0x1234)\n"
                         "SUMMARY: ThreadSanitizer: data race fake.cc:10:3 in bump\n==================\n"
                         "ThreadSanitizer: reported 1 warnings\n")
        end("pass", 0)
        return 66
    if case == "tsanfatal":
        sys.stderr.write("FATAL: ThreadSanitizer: unexpected memory mapping 0x7f0000000000-0x7f0000001000\n")
        return 66
    if case == "mismatch":
        return end("pass", 1)
    if case == "torn":
        ev.raw(b'{"v":1,"ev":"progress","t_ms":3,"iterations_do')
        os.kill(os.getpid(), signal.SIGKILL)
    if case == "noisy":
        print(NASTY)
        sys.stderr.write(NASTY + "\n")
        ev.emit("check", fatal=True, file="<fake>.cc", line=1, expr="a < b && c > \"d\"", msg=NASTY, thread=-1,
                iteration=0)
        return end("fail", 1, checks_failed=1)
    return 3


ESCAPES = "\x1b]0;owned title\x07\x1b[2J\x1b[31mred\x1b[0m\x9b31m"


def run_evil(case, ev, end, outcomes, opts, timeout_ms):
    if case == "ok":
        return end("pass", 0)
    if case == "outcomes_list":
        return end("pass", 0, outcomes=[1, 2])
    if case == "checks_failed_str":
        return end("fail", 1, checks_failed="3")
    if case == "quiet_ms_str":
        ev.emit("hang", reason="deadlock", deadline_ms=timeout_ms, quiet_ms="x", iteration=1, threads=[])
        return 4
    if case == "count_many":
        return end("pass", 0, outcomes={"a": {"count": "many", "grade": "ACCEPTABLE"}})
    if case == "start_no_id":
        ev.emit("start", seed=1)
        return end("pass", 0)
    if case == "check_then_pass":
        ev.emit("check", fatal=False, file="evil.cc", line=7, expr="ok", msg="but I say pass", thread=0,
                iteration=1)
        return end("pass", 0)
    if case == "forbidden_then_pass":
        outcomes["torn"] = {"count": 1, "grade": "FORBIDDEN", "desc": "never allowed"}
        return end("pass", 0)
    if case == "long_line":
        ev.raw(b'{"v":1,"ev":"progress","t_ms":1,"junk":"' + b"x" * (3 << 20) + b'"}\n')
        return end("pass", 0)
    if case == "deep":
        ev.raw(b"[" * 200000 + b"]" * 200000 + b"\n")
        ev.raw(b'{"v":1,"ev":"progress","t_ms":1,"x":' + b"[" * 100000 + b"]" * 100000 + b"}\n")
        time.sleep(1)
        return end("pass", 0)
    if case == "flood":
        line = json.dumps({"v": 1, "ev": "check", "t_ms": 1, "fatal": False, "file": "evil.cc", "line": 1,
                           "expr": "x", "msg": "", "thread": 0, "iteration": 1}).encode() + b"\n"
        ev.raw(line * 20000)
        return end("fail", 1, checks_failed=20000)
    if case == "loud":
        chunk = ("0123456789abcdef" * 64 + "\n") * 1024
        for _ in range(5):
            sys.stdout.write(chunk)
            sys.stderr.write(chunk)
        sys.stdout.flush()
        ev.emit("check", fatal=False, file="evil.cc", line=3, expr="quiet", msg="too loud", thread=0, iteration=1)
        return end("fail", 1, checks_failed=1)
    if case == "escapes":
        print("stdout " + ESCAPES, flush=True)
        sys.stderr.write("stderr " + ESCAPES + "\n")
        ev.emit("check", fatal=False, file="evil.cc", line=5, expr="x", msg="msg " + ESCAPES, thread=0, iteration=1)
        return end("fail", 1, checks_failed=1)
    if case == "grandchild":
        child = os.fork()
        if child == 0:
            pidfile = os.environ.get("FAKE_PIDFILE")
            if pidfile:
                with open(pidfile, "a", encoding="utf-8") as f:
                    f.write(f"{os.getpid()}\n")
            while True:
                time.sleep(1)
        pidfile = os.environ.get("FAKE_PIDFILE")
        if pidfile:
            with open(pidfile, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()}\n")
        while True:
            time.sleep(1)
    if case == "slow":
        time.sleep(float(os.environ.get("FAKE_SLOW_S", "0.3")))
        return end("pass", 0)
    return 3


def main(args):
    if os.environ.get("FAKE_LIST") == "fail" and args[:1] in (["--list"], ["--list-backends"]):
        sys.stderr.write("fake: cannot list: registry corrupted\n")
        return 1
    if args[:1] == ["--version"]:
        print(json.dumps({"protocol": 1, "build": {"preset": "fake", "compiler": "python", "sanitizer": "none"}}))
        return 0
    if args[:1] in (["--list"], ["--list-backends"]) and os.environ.get("FAKE_LIST_SLEEP"):
        if os.environ.get("FAKE_LIST_MARK"):
            open(os.environ["FAKE_LIST_MARK"], "w", encoding="utf-8").close()
        time.sleep(float(os.environ["FAKE_LIST_SLEEP"]))
    if args[:1] == ["--list"]:
        if os.environ.get("FAKE_LIST") == "garbage":
            print("definitely not json")
        for inst in instances():
            print(json.dumps(inst))
        return 0
    if args[:1] == ["--list-backends"]:
        for b in BACKENDS:
            print(json.dumps({"v": 1, "type": "backend", "primitive": "fake", **b}))
        return 0
    if args[:1] == ["--run"]:
        return run(args)
    sys.stderr.write("usage: jostle-fake --list | --list-backends | --run ID [options]\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
