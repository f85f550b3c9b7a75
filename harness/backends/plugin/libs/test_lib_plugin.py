#!/usr/bin/python3
"""ctest for one real-library plugin (docs/real-libraries.md): load it into each suite binary, check it offers
what the library should, and run every instance of the plugin's own backend once, briefly (one iteration: a
load-and-smoke gate in seconds; the full gate and the stress runs are recorded in the doc).

usage: test_lib_plugin.py PLUGIN_SO NAME EXPECTED BINARY...
       test_lib_plugin.py --skip REASON      (the library is absent: print the reason, exit 77 = ctest skip)

EXPECTED is a comma-separated list of what the plugin must offer: a primitive (mutex, async, thread...) needs at
least one instance of it on the plugin's backend; a case id (condvar/mutex_owner_semantics) names a case that
only an optional table or function brings (the owned mutex, the mutex's timed_lock) and must be listed.
"""
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

SKIP = 77
PASSED, UNSUPPORTED = 0, 5


def listing(binary, plugin):
    proc = subprocess.run([binary, "--plugin", plugin, "--list"], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise SystemExit(f"FAIL: {binary} --plugin {plugin} --list exited {proc.returncode}: {proc.stderr.strip()}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def run_once(binary, plugin, inst):
    cmd = [binary, "--plugin", plugin, "--run", inst["id"], "--iterations", "1", "--seed", "1",
           "--timeout", "60s", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return inst["id"], proc.returncode, (proc.stdout + proc.stderr)[-1500:]


def main(argv):
    if argv[:1] == ["--skip"]:
        print("SKIP:", " ".join(argv[1:]))
        return SKIP
    plugin, name, expected, binaries = argv[0], argv[1], set(argv[2].split(",")), argv[3:]
    primitives = {e for e in expected if "/" not in e}
    cases = expected - primitives
    mine = []
    for binary in binaries:
        mine += [(binary, inst) for inst in listing(binary, plugin) if inst["backend"] == name]
    offered = {inst["primitive"] for _, inst in mine}
    listed = {inst["id"].split("@")[0] for _, inst in mine}
    failures = [f"offers no {p} instance (expected from the library)" for p in sorted(primitives - offered)]
    failures += [f"{c} is not listed for it (expected from the library)" for c in sorted(cases - listed)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda bi: run_once(bi[0], plugin, bi[1]), mine))
    for inst_id, code, out in results:
        if code not in (PASSED, UNSUPPORTED):
            failures.append(f"{inst_id}: exit {code}\n{out}")
    print(f"{name}: {len(results)} instances over {sorted(offered)}, "
          f"{sum(code == PASSED for _, code, _ in results)} passed, "
          f"{sum(code == UNSUPPORTED for _, code, _ in results)} unsupported")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
