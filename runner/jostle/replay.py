"""Repro lines: `./jostle replay 'jostle-futex --run ID --seed N ... build=release amplify=none'`.

The quoted part is the harness command line exactly as the runner ran it (minus the event plumbing,
which the runner adds again), followed by the runner-side settings as key=value words. It is
shell-quoted twice: once per word inside, once as a whole, so that ids with any characters survive
a copy and paste.
"""

import difflib
import os
import shlex
from dataclasses import dataclass

from jostle import classify, discovery, engines, execute, outcome, protocol
from jostle.amplify import MODES, Amplification, OsKnobs
from jostle.errors import EXIT_OK, EXIT_UNEXPECTED, InfraError, UsageError
from jostle.plan import RunSpec
from jostle.units import parse_duration
from jostle.text import clean, one_line

PREFIX = "./jostle replay "
_VALUE_OPTIONS = {"--run", "--seed", "--iterations", "--duration", "--timeout", "--chaos", "--plugin"}
_SETTINGS = ("build", "amplify", "drawn", "os")


def repro_words(spec, build):
    # Exactly the harness command line of the run, so that replay cannot drift from execute.
    argv = protocol.run_argv(discovery.display_words(spec.binary), spec)
    words = argv + [f"build={build}", f"amplify={spec.amplify.mode}"]
    # What the run drew (mix) and the runner-side OS knobs it had: replay applies the same again.
    if spec.amplify.drawn and spec.amplify.drawn != spec.amplify.mode:
        words.append(f"drawn={spec.amplify.drawn}")
    if spec.amplify.os.word():
        words.append(f"os={spec.amplify.os.word()}")
    return words


def repro_line(spec, build):
    return PREFIX + shlex.quote(shlex.join(repro_words(spec, build)))


@dataclass
class Request:
    binary_name: str
    spec_fields: dict
    build: str | None
    amplify_mode: str
    drawn: str | None = None
    os_knobs: str = ""
    prefix: tuple = ()      # the program's fixed options (the test262 bridge: --test262 DIR --engine E)


def parse(text):
    """A Request from the quoted part of a repro line (or the whole line, pasted as one argument)."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"replay: cannot split the repro line: {exc}") from None
    # Accept the whole line pasted as one argument: `./jostle replay '...'` quoted once more.
    if len(words) >= 3 and os.path.basename(words[0]) == "jostle" and words[1] == "replay":
        return parse(words[2])
    if not words or not os.path.basename(words[0]).startswith("jostle-"):
        raise UsageError("replay: a repro line starts with the harness name, e.g. "
                         "'jostle-futex --run futex/wake@linux --seed 1 build=release amplify=none'")
    fields = {"plugins": []}
    settings = {"build": None, "amplify": "none", "drawn": None, "os": ""}
    prefix = []
    if os.path.basename(words[0]) == engines.PROGRAM_NAME:
        prefix, rest = engines.split_prefix(words[1:])
        words = words[:1] + rest
    i = 1
    while i < len(words):
        word = words[i]
        if word in _VALUE_OPTIONS:
            if i + 1 >= len(words):
                raise UsageError(f"replay: {word} needs a value")
            value = words[i + 1]
            if word == "--plugin":
                fields["plugins"].append(value)
            else:
                fields[word[2:]] = value
            i += 2
            continue
        key, eq, value = word.partition("=")
        if eq and key in _SETTINGS:
            settings[key] = value
            i += 1
            continue
        raise UsageError(f"replay: unexpected word {word!r} in the repro line")
    if "run" not in fields:
        raise UsageError("replay: the repro line has no --run INSTANCE")
    if settings["amplify"] not in MODES:
        raise UsageError(f"replay: unknown amplify={settings['amplify']!r} (accepted: {', '.join(MODES)})")
    OsKnobs.parse(settings["os"])  # a bad os= word is a usage error now, not at run time
    return Request(os.path.basename(words[0]), fields, settings["build"], settings["amplify"], settings["drawn"],
                   settings["os"], tuple(prefix))


def to_spec(request, binary_path):
    f = request.spec_fields
    try:
        seed = int(f.get("seed", "1"))
        iterations = int(f["iterations"]) if "iterations" in f else None
    except ValueError:
        raise UsageError("replay: --seed and --iterations take whole numbers") from None
    duration = parse_duration(f["duration"], "--duration") if "duration" in f else None
    timeout = parse_duration(f["timeout"], "--timeout") if "timeout" in f else 30.0
    suite = request.binary_name[len("jostle-"):]
    if request.prefix:
        binary_path = (binary_path, *request.prefix)
    return RunSpec(instance=f["run"], suite=suite, binary=binary_path, seed=seed, batch=0, iterations=iterations,
                   duration_s=duration, timeout_s=timeout,
                   amplify=Amplification(request.amplify_mode, f.get("chaos"),
                                         drawn=request.drawn or request.amplify_mode,
                                         os=OsKnobs.parse(request.os_knobs)),
                   plugins=tuple(f["plugins"]))


def resolve_binary(request, build_dir, warn):
    """Path of the harness a repro line names: --build-dir, else the build its build= names.

    Without --build-dir the candidates are: the wrapper's build when it is the named preset,
    build/<preset> in this repository, then whatever build is at hand (with a warning, since a
    different build may not reproduce).
    """
    if request.binary_name == engines.PROGRAM_NAME:
        return engines.program()      # part of the source tree, not of a build
    env_dir = os.environ.get("JOSTLE_BUILD_DIR")
    env_preset = os.environ.get("JOSTLE_PRESET") or (os.path.basename(os.path.normpath(env_dir)) if env_dir else None)
    if build_dir:
        candidates = [build_dir]
    else:
        candidates = []
        if env_dir and env_preset == request.build:
            candidates.append(env_dir)
        if request.build:
            candidates.append(os.path.join(discovery.repo_root(), "build", request.build))
        candidates.append(discovery.default_build_dir())
    ordered = list(dict.fromkeys(candidates))
    for directory in ordered:
        path = os.path.join(directory, "bin", request.binary_name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            if not build_dir and len(ordered) > 1 and directory == ordered[-1] and request.build:
                warn(f"the repro line says build={request.build}; using the build in {directory}")
            return path
    where = ", ".join(os.path.join(d, "bin") for d in ordered)
    raise InfraError(f"replay: {request.binary_name} not found in {where}"
                     + (f" (build the {request.build} preset first, or pass --build-dir)" if request.build else ""))


def check_instance_exists(spec):
    """A repro line naming an instance the binary does not list is a usage error, before anything runs."""
    plugin_args = [arg for plugin in spec.plugins for arg in ("--plugin", plugin)]
    listed = discovery.list_instance_ids(spec.binary, plugin_args)
    if spec.instance not in listed:
        close = difflib.get_close_matches(spec.instance, listed, n=1, cutoff=0.6)
        raise UsageError(f"replay: {discovery.display_words(spec.binary)[0]} has no instance {spec.instance!r}"
                         + (f" (did you mean {close[0]}?)" if close else " (see `jostle list`)"))


def run(line, build_dir, warn):
    """Re-execute a repro line once and print what happened; exit 1 when the run failed again."""
    request = parse(line)
    spec = to_spec(request, resolve_binary(request, build_dir, warn))
    check_instance_exists(spec)
    if request.os_knobs:
        warn(f"os={request.os_knobs}: the OS knobs are applied again, but they reproduce conditions, "
             f"not the schedule; chaos and pct runs replay from their seed")
    if "mode=preempt" in (spec.amplify.chaos or ""):
        warn("mode=preempt: the seed replays each thread's draws (delays, yield or sleep), but the interrupts land "
             "wherever the thread is at that wall-clock instant, so the failure comes back only probabilistically")
    print(f"replaying {shlex.join(repro_words(spec, request.build or '?'))}", flush=True)
    raw = execute.run(spec)
    verdict = classify.classify(raw)
    code, reason, message = verdict.code, verdict.reason, verdict.message
    print(one_line(f"result: {code} ({reason}){': ' + message if message else ''}", 2000))
    end = raw.event("end") or {}
    how = f"signal {raw.signal}" if raw.signal else f"exit code {raw.exit_code}"
    print(f"{raw.elapsed_s:.2f}s, {end.get('iterations_done', '?')} iterations, {how}")
    for check in raw.all_events("check")[:10]:
        print("  check " + one_line(f"{check.get('file')}:{check.get('line')}: {check.get('expr')} "
                                    f"{check.get('msg') or ''}", 2000))
    for title, text in (("stacks", raw.stacks), ("stderr", raw.stderr), ("stdout", raw.stdout)):
        if text and (code != "PASS" or title == "stderr"):
            print(f"--- {title} ---")
            # The code under test wrote this: escape sequences are shown, never sent to the terminal.
            print(clean(text[-8000:]).rstrip())
    return EXIT_UNEXPECTED if outcome.CODES[code].is_failure else EXIT_OK
