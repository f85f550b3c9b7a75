"""Find the harness binaries of a build and ask each to list its instances and backends."""

import json
import os
import subprocess
from dataclasses import dataclass, field

from jostle import protocol, sanitizers
from jostle.errors import InfraError

LIST_TIMEOUT_S = 60


@dataclass
class Suite:
    name: str
    binary: str
    version: dict = field(default_factory=dict)
    instances: list = field(default_factory=list)
    backends: list = field(default_factory=list)
    plugins: list = field(default_factory=list)  # --plugin-info records


def repo_root():
    """The repository that holds this runner (runner/jostle/ is two levels down)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def default_build_dir(preset=None):
    """$JOSTLE_BUILD_DIR (set by ./jostle) unless another preset is asked for, else build/PRESET here."""
    env_dir = os.environ.get("JOSTLE_BUILD_DIR")
    if env_dir and (preset is None or preset == os.environ.get("JOSTLE_PRESET")):
        return env_dir
    return os.path.join(repo_root(), "build", preset or "release")


def find_binaries(build_dir):
    """{suite: path} for every executable bin/jostle-* under build_dir."""
    bin_dir = os.path.join(build_dir, "bin")
    if not os.path.isdir(bin_dir):
        raise InfraError(f"no harness binaries: {bin_dir} does not exist (build first: ./jostle builds "
                         f"before it runs, or pass --build-dir)")
    found = {}
    for name in sorted(os.listdir(bin_dir)):
        path = os.path.join(bin_dir, name)
        if name.startswith("jostle-") and os.path.isfile(path) and os.access(path, os.X_OK):
            found[name[len("jostle-"):]] = path
    if not found:
        raise InfraError(f"no harness binaries (bin/jostle-*) in {bin_dir}")
    return found


def command_words(binary):
    """The argv prefix of a harness: a binary's path, or a program plus its fixed options (a tuple)."""
    return [str(w) for w in binary] if isinstance(binary, (tuple, list)) else [str(binary)]


def display_words(binary):
    """command_words with the program shortened to its name, as repro lines and messages show it."""
    words = command_words(binary)
    return [os.path.basename(words[0]), *words[1:]]


def _ask(binary, args, env=None):
    """stdout of `binary args...`; any failure becomes a one-line InfraError naming the command."""
    command = " ".join([*display_words(binary), *args])
    if env is None:
        # Listing runs the sanitized binary too: the same options and suppressions as runs get.
        root = repo_root()
        env = sanitizers.options_env(os.environ, root=root, suppressions=sanitizers.suppression_files(root))
    try:
        done = subprocess.run([*command_words(binary), *args], stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=LIST_TIMEOUT_S, check=False, env=env)
    except subprocess.TimeoutExpired:
        raise InfraError(f"{command}: no answer within {LIST_TIMEOUT_S}s") from None
    except OSError as exc:
        raise InfraError(f"{command}: cannot start {command_words(binary)[0]}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        how = f"exit code {done.returncode}" if done.returncode >= 0 else f"signal {-done.returncode}"
        raise InfraError(f"{command} failed ({how})" + (f": {err[-1][:200]}" if err else ""))
    return done.stdout.decode("utf-8", "replace")


def parse_version(text):
    """--version output: one JSON object if the harness writes one, else the first line as text."""
    text = text.strip()
    try:
        record = json.loads(text.splitlines()[0]) if text else {}
        if isinstance(record, dict):
            return record
    except ValueError:
        pass
    return {"text": text.splitlines()[0] if text else ""}


def list_instance_ids(binary, extra_args=()):
    """The instance ids `binary --list` names (a broken listing is an InfraError, as in discover)."""
    try:
        records = protocol.parse_json_lines(_ask(binary, ["--list", *extra_args]), "instance",
                                            f"{display_words(binary)[0]} --list")
    except protocol.ProtocolError as exc:
        raise InfraError(str(exc)) from None
    return [r.get("id") for r in records if isinstance(r.get("id"), str)]


def discover(binaries, plugins=(), env=None):
    """[Suite] for {suite: binary}, each with its version, instances and backends.

    Plugins add backends and instances, so the listing calls get the same --plugin options as runs.
    """
    plugin_args = [arg for plugin in plugins for arg in ("--plugin", plugin)]
    result = []
    for name, binary in binaries.items():
        suite = Suite(name, binary)
        suite.version = parse_version(_ask(binary, ["--version"], env))
        try:
            listed = _ask(binary, ["--list", *plugin_args], env)
            suite.instances = [protocol.check_instance(r, f"{name} --list")
                               for r in protocol.parse_json_lines(listed, "instance", f"{name} --list")]
            listed = _ask(binary, ["--list-backends", *plugin_args], env)
            suite.backends = protocol.parse_json_lines(listed, "backend", f"{name} --list-backends")
            if plugin_args:
                listed = _ask(binary, ["--plugin-info", *plugin_args], env)
                suite.plugins = protocol.parse_json_lines(listed, "plugin", f"{name} --plugin-info")
        except protocol.ProtocolError as exc:
            raise InfraError(str(exc)) from None
        result.append(suite)
    return result
