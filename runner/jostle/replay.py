"""Repro lines: `./jostle replay 'jostle-futex --run ID --seed N ... build=release amplify=none'`.

The quoted part is the harness command line exactly as the runner ran it (minus the event plumbing,
which the runner adds again), followed by the runner-side settings as key=value words. It is
shell-quoted twice: once per word inside, once as a whole, so that ids with any characters survive
a copy and paste.
"""

import os
import shlex
from dataclasses import dataclass

from jostle.amplify import MODES, Amplification
from jostle.errors import UsageError
from jostle.plan import RunSpec
from jostle.units import harness_duration, parse_duration

PREFIX = "./jostle replay "
_VALUE_OPTIONS = {"--run", "--seed", "--iterations", "--duration", "--timeout", "--chaos", "--plugin"}
_SETTINGS = ("build", "amplify")


def repro_words(spec, build):
    words = [os.path.basename(spec.binary), "--run", spec.instance, "--seed", str(spec.seed)]
    if spec.iterations is not None:
        words += ["--iterations", str(spec.iterations)]
    if spec.duration_s is not None:
        words += ["--duration", harness_duration(spec.duration_s)]
    words += ["--timeout", harness_duration(spec.timeout_s)]
    words += spec.amplify.harness_args()
    for plugin in spec.plugins:
        words += ["--plugin", plugin]
    return words + [f"build={build}", f"amplify={spec.amplify.mode}"]


def repro_line(spec, build):
    return PREFIX + shlex.quote(shlex.join(repro_words(spec, build)))


@dataclass
class Request:
    binary_name: str
    spec_fields: dict
    build: str | None
    amplify_mode: str


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
    settings = {"build": None, "amplify": "none"}
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
    return Request(os.path.basename(words[0]), fields, settings["build"], settings["amplify"])


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
    return RunSpec(instance=f["run"], suite=suite, binary=binary_path, seed=seed, batch=0, iterations=iterations,
                   duration_s=duration, timeout_s=timeout,
                   amplify=Amplification(request.amplify_mode, f.get("chaos")), plugins=tuple(f["plugins"]))
