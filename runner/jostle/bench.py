"""`jostle bench`: run the Google Benchmark binaries (BUILD/bench/jostle-bench-*) into the result store.

Each binary's JSON (--benchmark_format=json) is stored whole as one `bench` record, with the
build preset and the machine, so the dashboard can draw trends and flag regressions across nights.
"""

import json
import os
import subprocess
import tempfile

from jostle import query, session, store
from jostle.errors import EXIT_OK, EXIT_UNEXPECTED, InfraError
from jostle.records import new_id, now_iso

BENCH_TIMEOUT_S = 30 * 60


def find(build_dir):
    """{name: path} of the benchmark binaries of a build."""
    bench_dir = os.path.join(build_dir, "bench")
    found = {}
    if os.path.isdir(bench_dir):
        for name in sorted(os.listdir(bench_dir)):
            path = os.path.join(bench_dir, name)
            if name.startswith("jostle-bench-") and os.path.isfile(path) and os.access(path, os.X_OK):
                found[name[len("jostle-bench-"):]] = path
    if not found:
        raise InfraError(f"no benchmark binaries (bench/jostle-bench-*) in {build_dir}: build a preset with "
                         f"benchmarks (release; tsan and asan turn them off) or pass --build-dir")
    return found


def run_one(path, extra_args):
    """The parsed JSON of one benchmark binary; InfraError when it fails or writes no JSON."""
    with tempfile.TemporaryDirectory(prefix="jostle-bench-") as tmp:
        out = os.path.join(tmp, "out.json")
        argv = [path, "--benchmark_format=json", f"--benchmark_out={out}", "--benchmark_out_format=json",
                *extra_args]
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=BENCH_TIMEOUT_S,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InfraError(f"{os.path.basename(path)}: {exc}") from None
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise InfraError(f"{os.path.basename(path)} failed (exit {done.returncode})"
                             + (f": {err[-1][:200]}" if err else ""))
        try:
            with open(out, encoding="utf-8") as f:
                return json.load(f), argv[:1] + argv[4:]
        except (OSError, ValueError) as exc:
            raise InfraError(f"{os.path.basename(path)}: no benchmark JSON ({exc})") from None


def run(args, log):
    binaries = find(args.build_dir)
    extra = []
    if args.filter:
        extra.append(f"--benchmark_filter={args.filter}")
    if args.repetitions:
        extra.append(f"--benchmark_repetitions={args.repetitions}")
    store.prepare_out_dir(args.out)
    writer = store.Writer(args.out, warn=log)
    preset = session.build_preset(args.build_dir, [])
    bench_session = new_id()
    try:
        for name, path in binaries.items():
            log(f"bench: {name}")
            result, argv = run_one(path, extra)
            writer.append({"type": "bench", "session": bench_session, "finished": now_iso(),
                           "binary": name, "argv": argv, "preset": preset, "build_dir": os.path.abspath(args.build_dir),
                           "machine": session.machine_info(), "context": result.get("context", {}),
                           "benchmarks": result.get("benchmarks", [])})
    finally:
        writer.close()
    trends = query.bench_trends(store.load(args.out, log))
    regressions = [b for b in trends if b["regression"]]
    for b in trends:
        change = "" if b["change"] is None else f"  {b['change'] * 100:+.1f}% vs median of previous"
        flag = "  REGRESSION" if b["regression"] else ""
        print(f"{b['name']:<50} {b['latest']['value']:>12.4g} {b['latest']['unit']}{change}{flag}")
    print(f"bench: {len(binaries)} binaries, {len(trends)} benchmarks, {len(regressions)} regression(s); "
          f"store {args.out} (`jostle dashboard --store {args.out}` draws the trends)")
    return EXIT_UNEXPECTED if regressions and args.fail_on_regression else EXIT_OK
