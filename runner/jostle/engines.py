"""The test262 engine bridge seen from the runner: `--test262 DIR --engine E` picks the harness program
harness/test262/jostle-test262 instead of the build's bin/jostle-* binaries (docs/engines.md).

The program speaks docs/protocol.md, so planning, amplification, statistics, the store, the reports, the
gate, soak and replay treat it as one more suite (`test262`). Its command is a tuple: the program and the
options naming the checkout and the engine, which every --list/--run call and every repro line carry.
"""

import os

from jostle import discovery
from jostle.errors import UsageError

SUITE = "test262"
PROGRAM_NAME = "jostle-test262"
_PREFIX_OPTIONS = ("--test262", "--engine", "--select")


def program():
    return os.path.join(discovery.repo_root(), "harness", "test262", PROGRAM_NAME)


def add_arguments(parser):
    g = parser.add_argument_group("JavaScript engines (test262; docs/engines.md)")
    g.add_argument("--test262", metavar="DIR",
                   help="a test262 checkout: run its files on --engine instead of the native suites")
    g.add_argument("--engine", metavar="E",
                   help="node, spidermonkey, cmd:PATH, or an engine description .json (default node)")
    g.add_argument("--test262-select", action="append", default=[], metavar="GLOB", dest="test262_select",
                   help="paths under test/ to list instead of the default (built-ins/Atomics/** and every "
                        "file using $262.agent), e.g. '**' (repeatable; --case narrows further)")


def wanted(opts):
    """True when the options ask for the engine bridge; a lone --engine is a usage error."""
    if getattr(opts, "test262", None):
        return True
    if getattr(opts, "engine", None) or getattr(opts, "test262_select", None):
        raise UsageError("--engine/--test262-select need --test262 DIR (a test262 checkout)")
    return False


def binaries(opts):
    """{"test262": command tuple} for the options; checks what can be checked before any process starts."""
    root = os.path.abspath(opts.test262)
    if not os.path.isdir(os.path.join(root, "test")) or not os.path.isdir(os.path.join(root, "harness")):
        raise UsageError(f"--test262 {opts.test262}: not a test262 checkout (needs test/ and harness/ inside)")
    suites = getattr(opts, "suites", None) or []
    if suites and suites != [SUITE]:
        raise UsageError(f"--suite {','.join(suites)}: with --test262 the only suite is {SUITE}")
    engine = opts.engine or "node"
    if engine.endswith(".json") or (os.sep in engine and not engine.startswith("cmd:")):
        engine = os.path.abspath(engine)
    command = [program(), "--test262", root, "--engine", engine]
    for glob in opts.test262_select or ():
        command += ["--select", glob]
    return {SUITE: tuple(command)}


def split_prefix(words):
    """(prefix options, rest) for the words after the program name in a repro line."""
    prefix, rest, i = [], [], 0
    while i < len(words):
        if words[i] in _PREFIX_OPTIONS and i + 1 < len(words):
            prefix += words[i:i + 2]
            i += 2
        else:
            rest.append(words[i])
            i += 1
    return prefix, rest
