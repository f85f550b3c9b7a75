#!/usr/bin/python3
"""ctest for the plugin ABI: a suite binary with --plugin <example> lists the plugin's instances and passes
each briefly; with each broken plugin (and a missing file, and a bare library name) it prints one line on stderr
and exits 3, within a few seconds even when the plugin's entry function hangs.

usage: test_plugins.py BINARY EXAMPLE_SO BROKEN_SO...
"""
import json
import subprocess
import sys
import time


def main():
    binary, example, broken = sys.argv[1], sys.argv[2], sys.argv[3:]
    failures = []
    listing = subprocess.run([binary, "--plugin", example, "--list"], capture_output=True, text=True)
    if listing.returncode != 0:
        print(f"--list with the example plugin exited {listing.returncode}: {listing.stderr}")
        return 1
    instances = [json.loads(line) for line in listing.stdout.splitlines() if line.strip()]
    mine = [i for i in instances if "example" in i["backend"]]
    leaked = [i["id"] for i in instances if "__plugin" in i["id"]]
    if leaked:
        failures.append(f"placeholder names leaked into the listing: {leaked[:3]}")
    prims = sorted({i["primitive"] for i in mine})
    print(f"{len(mine)} example instances over {prims}")
    for want in ("mutex", "condvar", "rwlock", "channel"):
        if want not in prims:
            failures.append(f"no example instance of primitive {want}")
    for inst in mine:
        cmd = [binary, "--plugin", example, "--run", inst["id"], "--iterations", "3", "--seed", "1",
               "--timeout", "60s", "--quiet"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode not in (0, 5):
            failures.append(f"{inst['id']}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
    plain = subprocess.run([binary, "--list"], capture_output=True, text=True).stdout
    if "example" in plain:
        failures.append("example instances listed without --plugin")
    expected_words = {"broken1": "version 999", "broken2": "null 'lock'", "broken3": "exports no",
                      "broken4": "struct_size is 8", "broken5": "did not return within",
                      "broken6": "not a multiple of its alignment", "libm.so.6": "bare name",
                      "libnothing": "no such file"}
    for bad in broken + ["/nonexistent/libnothing.so", "libm.so.6"]:
        started = time.monotonic()
        proc = subprocess.run([binary, "--plugin", bad, "--list"], capture_output=True, text=True, timeout=60)
        took = time.monotonic() - started
        lines = proc.stderr.strip().splitlines()
        print(f"{bad}: exit {proc.returncode} in {took:.1f}s: {proc.stderr.strip()}")
        for key, words in expected_words.items():
            if key in bad and words not in proc.stderr:
                failures.append(f"{bad}: expected the message to say {words!r}")
        if took > 20:
            failures.append(f"{bad}: took {took:.0f}s to give up (a hanging entry must be bounded by a few seconds)")
        if proc.returncode != 3 or len(lines) != 1 or not lines[0].startswith("jostle: plugin"):
            failures.append(f"{bad}: expected one 'jostle: plugin ...' line and exit 3, got exit "
                            f"{proc.returncode} and {proc.stderr!r}")
        if proc.stdout.strip():
            failures.append(f"{bad}: listed instances despite the load failure")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
