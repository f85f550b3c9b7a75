#!/usr/bin/python3
"""A stand-in Google Benchmark binary: writes --benchmark_out JSON shaped like libbenchmark 1.7's.

FAKE_BENCH_NS sets the real time of BM_wake (default 100); FAKE_BENCH_FAIL=1 makes it exit 1.
"""

import json
import os
import sys


def main(args):
    if os.environ.get("FAKE_BENCH_FAIL"):
        sys.stderr.write("fake bench: cannot pin CPU\n")
        return 1
    opts = dict(a.split("=", 1) for a in args if "=" in a)
    ns = float(os.environ.get("FAKE_BENCH_NS", "100"))
    report = {"context": {"date": "2024-05-01T00:00:00+00:00", "host_name": "fake", "num_cpus": 2,
                          "library_build_type": "release"},
              "benchmarks": [{"name": "BM_wake/4", "run_name": "BM_wake/4", "run_type": "iteration",
                              "iterations": 1000, "real_time": ns, "cpu_time": ns, "time_unit": "ns"},
                             {"name": "BM_spin", "run_name": "BM_spin", "run_type": "iteration",
                              "iterations": 1000, "real_time": 50.0, "cpu_time": 50.0, "time_unit": "ns"}]}
    if "--benchmark_filter" in opts:
        report["benchmarks"] = [b for b in report["benchmarks"] if opts["--benchmark_filter"] in b["name"]]
    with open(opts["--benchmark_out"], "w", encoding="utf-8") as f:
        json.dump(report, f)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
