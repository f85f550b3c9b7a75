"""The `jostle` command line's parser: every subcommand's options, their value types and limits, the examples.

cli.py dispatches what this parses; a new subcommand adds its parser block here (or an add_arguments in its
own module, as gate and detect do) and its cmd_ function there.
"""

import argparse
import os
import sys

from jostle import __version__, detect, engines, gate, soak
from jostle.amplify import MODES
from jostle.errors import UsageError
from jostle.units import parse_duration

DEFAULT_RUN_BUDGET = "2m"
DEFAULT_STRESS_BUDGET = "10m"
DEFAULT_GATE_BUDGET = "10m"
DEFAULT_OUT = "jostle-out"


# Upper limits of numeric options: what the harness accepts (docs/protocol.md) or what a machine can plan.
MAX_ITERATIONS = 1_000_000_000
MAX_TIMEOUT_S = 30 * 86400
MAX_DURATION_S = 366 * 86400
MAX_JOBS = 1024
MAX_RUNS = 10_000_000


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one line (exit 2) instead of usage + error."""

    def parse_args(self, args=None, namespace=None):
        # Shared with the subcommand parsers, whose error() reads it.
        _Parser.argv_seen = list(sys.argv[1:] if args is None else args)
        return super().parse_args(args, namespace)

    def error(self, message):
        negative = _negative_value(message, getattr(self, "argv_seen", None) or [])
        if negative:
            raise UsageError(negative)
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _plugin_path(text):
    # Plugins load from explicit files only: a bare name would make dlopen search the system library path.
    if "/" not in text:
        raise argparse.ArgumentTypeError(f"{text!r} is a bare name; give a path to the library file "
                                         f"(./{text} or an absolute path)")
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    return os.path.abspath(text)


def _negative_value(message, argv):
    """argparse reads `--budget -5s` as an option without its value; say that the value is negative."""
    if not message.endswith("expected one argument"):
        return None
    for option, value in zip(argv, argv[1:]):
        names = message.split(":")[0].replace("argument ", "").split("/")
        if option.startswith("-") and option in names and \
                len(value) > 1 and value[0] == "-" and (value[1].isdigit() or value[1] == "."):
            return f"{option} {value}: must not be negative (a positive value, e.g. {option} {value[1:]})"
    return None


def _bounded_int(low, high):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{text!r} must be at least {low}")
        if value > high:
            raise argparse.ArgumentTypeError(f"{text!r} is more than the {high:,} allowed")
        return value
    return parse


_positive_int = _bounded_int(1, MAX_RUNS)
_jobs = _bounded_int(1, MAX_JOBS)
_iterations = _bounded_int(1, MAX_ITERATIONS)


def _seed(text):
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value < 1 << 64:
        raise argparse.ArgumentTypeError(f"{text!r} is outside 0 .. 2^64-1")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be strictly between 0 and 1 (e.g. 0.001)")
    return value


def _duration(text, maximum=MAX_DURATION_S):
    try:
        seconds = parse_duration(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[1]) from None
    if seconds > maximum:
        raise argparse.ArgumentTypeError(f"{text!r} is longer than the {maximum // 86400:.0f} days allowed")
    return seconds


def _timeout(text):
    return _duration(text, MAX_TIMEOUT_S)


def _add_preset(p):
    # The ./jostle wrapper reads these to pick what it builds, then passes them on unchanged.
    p.add_argument("--build", "--sanitizer", dest="preset", metavar="PRESET", default=argparse.SUPPRESS,
                   help="build preset whose harness to use: release, debug, tsan, asan, clang (default release)")


def _add_build(p):
    _add_preset(p)
    p.add_argument("--build-dir", default=None,
                   help="directory with bin/jostle-* (default: $JOSTLE_BUILD_DIR, else build/PRESET)")
    p.add_argument("--plugin", action="append", default=[], metavar="PATH", type=_plugin_path,
                   help="outside backend library (a file path), passed to every harness call (repeatable); "
                        "selects the plugin's instances unless --backend says otherwise")


def _add_selection(p):
    g = p.add_argument_group("selection")
    g.add_argument("--suite", action="append", default=[], dest="suites", metavar="S",
                   help="suite name, e.g. futex (repeatable)")
    g.add_argument("--backend", action="append", default=[], dest="backends", metavar="GLOB",
                   help="backend name glob, e.g. 'linux' or 'emu*' (repeatable)")
    g.add_argument("--case", action="append", default=[], dest="cases", metavar="GLOB",
                   help="case name glob, or suite/case[@backend...] glob when it contains / or @ (repeatable)")
    g.add_argument("--mutants", action="store_true", help="also run the mutant backends (left out by default)")
    engines.add_arguments(p)


def _add_execution(p, default_budget, runs=True, amplify="none"):
    amount = p.add_mutually_exclusive_group()
    if runs:
        amount.add_argument("--runs", type=_positive_int, metavar="N", help="runs (processes) per instance")
        p.add_argument("-x", "--exitfirst", action="store_true",
                       help="stop starting runs at the first unexpected result (the runs in flight finish)")
        p.add_argument("--last-failed", action="store_true",
                       help="run only the instances that failed in the latest session of --out")
    amount.add_argument("--budget", type=_duration, metavar="D",
                        help=f"wall-clock budget for the session, e.g. 90s or 10m (default {default_budget})")
    p.add_argument("-j", "--jobs", type=_jobs, metavar="N",
                   help="parallel runs (default: CPUs in this process's affinity mask)")
    p.add_argument("--seed", type=_seed, metavar="N",
                   help="base seed; batch k of an instance uses N+k (default: random)")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                   help=f"result store and reports (default {DEFAULT_OUT}/)")
    p.add_argument("--timeout", type=_timeout, metavar="D", help="per-run watchdog, overriding each case's own")
    p.add_argument("--iterations", type=_iterations, metavar="N",
                   help="iterations per run, overriding each case's own")
    default_text = f"{amplify}, or chaos with --chaos" if amplify != "none" else amplify
    p.add_argument("--amplify", choices=MODES, default=None,
                   help=f"schedule amplification mode (default {default_text}; docs/amplification.md)")
    p.set_defaults(amplify_default=amplify)     # resolved in cli._settings (a --chaos spec alone means chaos)
    p.add_argument("--chaos", metavar="SPEC", help="chaos points for the harness, e.g. p=0.01,actions=yield+spin")
    p.add_argument("--quarantine", metavar="FILE",
                   help="file of instance-id globs (one per line, # comments) whose FLAKY verdict does not gate")
    p.add_argument("--progress", choices=("auto", "bar", "lines", "none"), default="auto",
                   help="live bar on a terminal, one status line every 10s otherwise (default auto)")
    p.add_argument("--shard", metavar="I/N",
                   help="run shard I of N (from 0; default: $TEST_SHARD_INDEX/$TEST_TOTAL_SHARDS); see `merge`")


# One line and an example per subcommand: `jostle COMMAND --help` shows both.
EXAMPLES = {
    "list": "jostle list --suite futex --backend 'emu*'",
    "run": "jostle run --suite condvar --budget 2m   |   jostle run --last-failed -x",
    "stress": "jostle stress --case 'futex/wake*' --budget 10m --amplify chaos --target-rate 0.01",
    "gate": "jostle gate --budget 10m --baseline nightly-store --quarantine ci/quarantine.txt",
    "soak": "jostle soak --for 8h --amplify mix   (into jostle-out/, then its dashboard)",
    "dashboard": "jostle dashboard --store jostle-out",
    "bench": "jostle bench --out jostle-out --fail-on-regression",
    "merge": "jostle merge --out store shard-0 shard-1 shard-2 shard-3",
    "detect": "jostle detect --quick   |   jostle detect --suite futex --modes none,chaos --budget-per-mutant 60s",
    "replay": "jostle replay 'jostle-futex --run futex/wake_n_exact@linux/waiters=4 --seed 17 ... build=release'",
    "report": "jostle report --out jostle-out   (re-renders junit.xml and report.html, runs nothing)",
    "doctor": "jostle doctor --quick",
    "selftest": "jostle selftest --suite futex --mutants   (what ctest runs per suite)",
    "plugin": "jostle plugin check ./libmyprims.so   (validate a plugin, probe each table, list its cases)",
}


def _sub(sub, name, help_text):
    return sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".",
                          epilog=f"example: {EXAMPLES[name]}", formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser():
    parser = _Parser(prog="jostle", description="Concurrency conformance and stress runner.",
                     epilog="example: jostle run   (every suite, the conformance gate; `jostle COMMAND --help`)")
    parser.add_argument("--version", action="version", version=f"jostle {__version__}")
    _add_preset(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = _sub(sub, "list", "list the instances a selection picks")
    _add_selection(p)
    _add_build(p)
    p.add_argument("--json", action="store_true", help="one JSON object per line, as the harness lists them")

    p = _sub(sub, "run", "conformance gate: every selected instance, a modest fixed budget")
    _add_selection(p)
    _add_execution(p, DEFAULT_RUN_BUDGET)
    _add_build(p)

    p = _sub(sub, "stress", "repeat instances over a budget and report flake rates")
    _add_selection(p)
    _add_execution(p, DEFAULT_STRESS_BUDGET, amplify="mix")
    p.add_argument("--target-rate", type=_fraction, metavar="P",
                   help="claim 'failure rate < P' per instance: plan the clean runs that needs")
    p.add_argument("--confidence", type=_fraction, default=0.95, metavar="C", help="for --target-rate (default 0.95)")
    p.add_argument("--sprt", action="store_true",
                   help="with --target-rate: stop an instance early once a sequential test decides")
    _add_build(p)

    p = _sub(sub, "gate", "the CI gate: conformance + a stress slice, judged against a baseline store")
    _add_selection(p)
    _add_execution(p, DEFAULT_GATE_BUDGET, runs=False)
    gate.add_arguments(p)
    _add_build(p)

    p = _sub(sub, "soak", "stress the selection for hours in chunks into a persistent store (resumable)")
    _add_selection(p)
    p.add_argument("--for", dest="for_s", type=_duration, required=True, metavar="D", help="total time, e.g. 8h")
    p.add_argument("--store", "--out", dest="out", default=DEFAULT_OUT, metavar="DIR",
                   help=f"the persistent store (default {DEFAULT_OUT}/, the one store every command uses)")
    p.add_argument("--chunk", dest="chunk_s", type=_duration, default=soak.DEFAULT_CHUNK_S, metavar="D",
                   help="length of each stress session (default 15m)")
    p.add_argument("--night", metavar="LABEL", help="the dashboard's night label (default: today's date)")
    p.add_argument("--fresh", action="store_true", help="start a new soak even if an unfinished one is there")
    p.add_argument("--amplify", choices=MODES, default="mix", help="amplification mode (default mix)")
    p.add_argument("--chaos", metavar="SPEC", help="chaos points for the harness")
    p.add_argument("-j", "--jobs", type=_jobs, metavar="N",
                   help="parallel runs (default: CPUs in this process's affinity mask)")
    p.add_argument("--seed", type=_seed, metavar="N", help="base seed of the soak; chunk c adds c<<32 (default random)")
    p.add_argument("--timeout", type=_timeout, metavar="D", help="per-run watchdog, overriding each case's own")
    p.add_argument("--iterations", type=_iterations, metavar="N", help="iterations per run, overriding each case's")
    p.add_argument("--quarantine", metavar="FILE",
                   help="file of instance-id globs (one per line, # comments) whose FLAKY verdict does not gate")
    p.add_argument("--shard", metavar="I/N", help="run shard I of N (from 0); see `merge`")
    p.add_argument("--progress", choices=("auto", "bar", "lines", "none"), default="lines",
                   help="live bar, a status line every 10s, or nothing (default lines: soaks run unattended)")
    _add_build(p)

    p = _sub(sub, "dashboard", "one static HTML page over every night of a store")
    p.add_argument("--store", dest="store", default=DEFAULT_OUT, metavar="DIR",
                   help=f"the store (default {DEFAULT_OUT}/: runs, gates, soaks and benchmarks all land there)")
    p.add_argument("--out", dest="out_file", metavar="FILE", help="the page (default STORE/dashboard.html)")

    p = _sub(sub, "bench", "run the Google Benchmark binaries into the store (trends on the dashboard)")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"the store (default {DEFAULT_OUT}/)")
    p.add_argument("--filter", metavar="REGEX", help="passed as --benchmark_filter")
    p.add_argument("--repetitions", type=_positive_int, metavar="N", help="passed as --benchmark_repetitions")
    p.add_argument("--fail-on-regression", action="store_true",
                   help="exit 1 when a benchmark is >10%% slower than the median of its previous five")
    _add_build(p)

    p = _sub(sub, "merge", "join shard stores into one store and report them as one session")
    p.add_argument("stores", nargs="+", metavar="STORE", help="shard stores (each a --out directory)")
    p.add_argument("--out", required=True, metavar="DIR", help="the merged store (created or appended to)")

    p = _sub(sub, "detect", "detection benchmark: time to kill each mutant under each amplification mode")
    _add_selection(p)
    detect.add_arguments(p)
    _add_build(p)

    p = _sub(sub, "selftest", "ctest's check of one suite: correct backends pass, mutants are caught")
    _add_selection(p)
    p.add_argument("--known-gaps", metavar="FILE", help="with --mutants: cases and mutants excused, each with a "
                   "reason (default harness/tests/known_gaps.txt)")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"the result store (default {DEFAULT_OUT}/)")
    p.add_argument("-j", "--jobs", type=_positive_int, metavar="N", help="parallel runs (default: CPUs available)")
    p.add_argument("--timeout", type=_duration, metavar="D", help="per-run watchdog, overriding each case's own")
    p.add_argument("--progress", choices=("auto", "bar", "lines", "none"), default="none",
                   help="live bar, a status line every 10s, or nothing (default none: ctest keeps the output)")
    _add_build(p)

    p = _sub(sub, "replay", "rerun one recorded run exactly, from its repro line")
    p.add_argument("line", metavar="REPRO-LINE", help="the quoted part of a `./jostle replay '...'` line")
    _add_preset(p)
    p.add_argument("--build-dir", default=None, help="where to find the harness (default: from build= in the line)")

    p = _sub(sub, "report", "re-render every report from the store; runs nothing")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"the store to read (default {DEFAULT_OUT}/)")
    p.add_argument("--session", default="latest", metavar="ID", help="which session to report (default latest)")
    p.add_argument("--to", metavar="DIR", help="write junit.xml and report.html here instead of into the store "
                                               "(for a read-only store)")

    p = _sub(sub, "plugin", "plugin tools: `plugin check PATH` loads a plugin and probes each table")
    p.add_argument("action", choices=("check",), help="check: validate, probe one iteration per table, list cases")
    p.add_argument("path", type=_plugin_path, metavar="PATH", help="the plugin library file")
    _add_preset(p)
    p.add_argument("--build-dir", default=None,
                   help="directory with bin/jostle-* (default: $JOSTLE_BUILD_DIR, else build/PRESET)")

    p = _sub(sub, "doctor", "what this machine can do: cores, cpuset, perf/rr, sanitizers, tools")
    _add_build(p)
    p.add_argument("--quick", action="store_true", help="skip the compile-and-run sanitizer probes")
    return parser
