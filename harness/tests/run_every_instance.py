#!/usr/bin/python3
"""ctest's checks over one harness binary.

  run_every_instance.py BINARY              every instance on a correct backend passes a short run
  run_every_instance.py --plugin SO BINARY  the same over the instances a plugin adds (and only those)
  run_every_instance.py --mutants BINARY    every mutant is caught by each case it declares, and every
                                            conformance case is declared as the catcher of some mutant
                                            (or listed in harness/tests/known_gaps.txt with a reason)

A mutant's catcher is run up to MUTANT_ATTEMPTS (6) times with fresh seeds (with `--chaos SPEC` when the mutant
declares kCatchesUnder: a natural race window that plain repetition rarely hits); a failing check, a FORBIDDEN outcome,
a watchdog hang or a crash counts as caught. Anything else (a pass on a correct backend excepted) fails the
test with the instance id, the exit code and the last events.
"""
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

MAX_ITERATIONS = int(os.environ.get("JOSTLE_SMOKE_ITERATIONS", "20"))
# D2/D3 mutants are caught in 70-95% of single runs; six attempts keep the gate's own false alarm rate for
# the weakest declared catcher (about 70%) below 0.1%.
MUTANT_ATTEMPTS = int(os.environ.get("JOSTLE_MUTANT_ATTEMPTS", "6"))
KNOWN_GAPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "known_gaps.txt")
CAUGHT = {1, 4}  # failed checks / forbidden outcome, watchdog hang


PLUGIN_ARGS = []


def run(binary, inst, tmp, seed, iterations, timeout="120s"):
    events = os.path.join(tmp, f"{inst['id'].replace('/', '_')}.{seed}.jsonl")
    cmd = [binary, *PLUGIN_ARGS, "--run", inst["id"], "--iterations", str(iterations), "--seed", str(seed),
           "--timeout", timeout, "--events", events, "--quiet"]
    if inst.get("chaos"):  # a natural-window mutant: its catcher is declared under this amplification
        cmd += ["--chaos", inst["chaos"]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    tail = []
    if os.path.exists(events):
        with open(events, errors="replace") as f:
            tail = f.read().splitlines()[-3:]
    code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    return code, (proc.stdout + proc.stderr)[-2000:], tail


def known_gaps():
    """Lines 'suite/case  reason' or 'mutant.name  reason'; # starts a comment."""
    gaps = {}
    if os.path.exists(KNOWN_GAPS):
        with open(KNOWN_GAPS) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    key, _, reason = line.partition(" ")
                    gaps[key] = reason.strip()
    return gaps


def check_correct(binary, instances, tmp):
    def one(inst):
        iterations = max(1, min(int(inst["iterations"]), MAX_ITERATIONS))
        return inst["id"], *run(binary, inst, tmp, 1, iterations)

    failures = []
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for inst_id, code, output, tail in pool.map(one, [i for i in instances if not i["mutant"]]):
            if code not in (0, 5):
                failures.append(f"{inst_id}: exit {code}\n{output}\n" + "\n".join(tail))
    return failures, sum(1 for i in instances if not i["mutant"])


def check_mutants(binary, instances, backends, tmp):
    gaps = known_gaps()
    failures = []
    catchers = [i for i in instances if i["expect"] == "fail"]

    def one(inst):
        results = []
        for attempt in range(MUTANT_ATTEMPTS):
            code, output, tail = run(binary, inst, tmp, 1 + attempt, int(inst["iterations"]),
                                     timeout=f"{max(5, int(inst['timeout_ms'] / 1000))}s")
            results.append(code)
            if code in CAUGHT or code >= 128:
                return inst, True, results, ""
        return inst, False, results, output + "\n".join(tail)

    caught_by = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for inst, caught, codes, detail in pool.map(one, catchers):
            if caught:
                caught_by.setdefault(inst["backend"], []).append(inst["id"])
            elif inst["backend"] not in gaps:
                failures.append(f"{inst['id']}: mutant escaped its declared catcher "
                                f"(exit codes {codes})\n{detail}")
    for b in backends:
        if b["mutant"] and b["name"] not in caught_by and b["name"] not in gaps:
            failures.append(f"{b['name']}: no declared catcher caught it (declares {b['catches'] or 'none'}); "
                            "declare a catching case or list it in harness/tests/known_gaps.txt with a reason")
    declared = {c for b in backends if b["mutant"] for c in b["catches"]}
    for case_id in sorted({f"{i['suite']}/{i['case']}" for i in instances
                           if i["kind"] == "conformance" and not i["mutant"]}):
        if case_id not in declared and case_id not in gaps:
            failures.append(f"{case_id}: no mutant declares this conformance case as its catcher; a case that "
                            "cannot fail is suspect (declare it in a mutant's kCatches or list it in "
                            "harness/tests/known_gaps.txt with a reason)")
    for name, ids in sorted(caught_by.items()):
        print(f"caught {name}: {', '.join(ids)}")
    checks = len(catchers) + sum(1 for b in backends if b["mutant"]) + len(
        {f"{i['suite']}/{i['case']}" for i in instances if i["kind"] == "conformance" and not i["mutant"]})
    return failures, checks


def main():
    args = sys.argv[1:]
    mutants = "--mutants" in args
    args = [a for a in args if a != "--mutants"]
    if "--plugin" in args:
        i = args.index("--plugin")
        PLUGIN_ARGS.extend(args[i:i + 2])
        del args[i:i + 2]
    if len(args) != 1:
        print("usage: run_every_instance.py [--mutants] BINARY", file=sys.stderr)
        return 2
    binary = args[0]
    instances = [json.loads(line) for line in
                 subprocess.run([binary, *PLUGIN_ARGS, "--list"], capture_output=True, text=True,
                                check=True).stdout.splitlines() if line.strip()]
    if PLUGIN_ARGS:
        plain = subprocess.run([binary, "--list"], capture_output=True, text=True, check=True).stdout
        ours = {json.loads(line)["id"] for line in plain.splitlines() if line.strip()}
        instances = [i for i in instances if i["id"] not in ours]
    backends = [json.loads(line) for line in
                subprocess.run([binary, "--list-backends"], capture_output=True, text=True,
                               check=True).stdout.splitlines() if line.strip()]
    if not instances:
        print(f"{binary} lists no instances")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        if mutants:
            failures, n = check_mutants(binary, instances, backends, tmp)
        else:
            failures, n = check_correct(binary, instances, tmp)
    for f in failures:
        print(f)
    print(f"{max(0, n - len(failures))} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
