#!/usr/bin/python3
"""Runs every non-mutant instance of one harness binary briefly (ctest's smoke pass over a suite).

Each instance gets a small iteration count and its own process; any result other than pass or unsupported
fails the test with the instance id, exit code and the last events.
"""
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

MAX_ITERATIONS = int(os.environ.get("JOSTLE_SMOKE_ITERATIONS", "20"))


def run(binary, inst, tmp):
    events = os.path.join(tmp, inst["id"].replace("/", "_") + ".jsonl")
    iterations = max(1, min(int(inst["iterations"]), MAX_ITERATIONS))
    cmd = [binary, "--run", inst["id"], "--iterations", str(iterations), "--seed", "1",
           "--timeout", "120s", "--events", events, "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    tail = open(events).read().splitlines()[-3:] if os.path.exists(events) else []
    return inst["id"], proc.returncode, proc.stdout + proc.stderr, tail


def main():
    binary = sys.argv[1]
    listing = subprocess.run([binary, "--list"], capture_output=True, text=True, check=True).stdout
    instances = [json.loads(line) for line in listing.splitlines() if line.strip()]
    instances = [i for i in instances if not i["mutant"]]
    if not instances:
        print(f"{binary} lists no instances")
        return 1
    failures = []
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for inst_id, code, output, tail in pool.map(lambda i: run(binary, i, tmp), instances):
            if code not in (0, 5):
                failures.append(f"{inst_id}: exit {code}\n{output}\n" + "\n".join(tail))
    print(f"{len(instances) - len(failures)} passed, {len(failures)} failed")
    for f in failures:
        print(f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
