#!/usr/bin/python3
"""ctest for the plugin ABI: a suite binary with --plugin <example> lists the plugin's instances and passes
each briefly; with each broken plugin (and a missing file) it prints one line on stderr and exits 3.

usage: test_plugins.py BINARY EXAMPLE_SO BROKEN_SO...
"""
import json
import subprocess
import sys


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
    for bad in broken + ["/nonexistent/libnothing.so"]:
        proc = subprocess.run([binary, "--plugin", bad, "--list"], capture_output=True, text=True)
        lines = proc.stderr.strip().splitlines()
        print(f"{bad}: exit {proc.returncode}: {proc.stderr.strip()}")
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
