"""Engine descriptions, expectations files and running one test scenario on one engine.

An engine is a JSON description (docs/engines.md, "Adding an engine"):

  {"name": "node",
   "command": ["node", "--expose-gc", "{host}", "{test}", "{kind}", "{async}"],
   "host": "../hosts/node.js",          file put at {host}; relative to the description
   "prelude": null,                      or a JS file evaluated before the harness files (engines without a host)
   "version": ["node", "--version"],
   "can_block_main": true,               [[CanBlock]] of the main agent
   "missing_features": {"Atomics.pause": "reason", ...},
   "expectations": "../expectations/node.txt",
   "host_mutants": true}                 the host honours JOSTLE_HOST_MUTANT (jostle's own hosts do)

Placeholders: {host}, {test} (the compiled file), {kind} (script|module), {async} ("async" or dropped).
"""

import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILTIN = {"node": "node.json", "spidermonkey": "spidermonkey.json"}
ERROR_LINE = "jostle-t262:error "
DONE_LINE = "jostle-t262:done"
# After a host says the test is done, its process may still wait for agents parked in untimed waits
# (the SpiderMonkey shell joins its workers); it gets this long to exit, then it is killed.
EXIT_GRACE_S = 1.0
POLL_S = 0.02
TRACE_LINE = "jostle-trace "
ASYNC_DONE = "Test262:AsyncTestComplete"
ASYNC_FAIL = "Test262:AsyncTestFailure:"
# Host mutants: (name, what is wrong, catchers in jostle's own corpus under suites/agents/test262).
HOST_MUTANTS = (
    ("reorder-reports", "getReport hands out the newest pending report instead of the oldest",
     ("jostle/agent/report-fifo.js", "jostle/agent/report-fifo-two-agents.js")),
    ("broadcast-no-wait", "broadcast returns before the agents retrieved the message",
     ("jostle/agent/broadcast-waits-for-retrieval.js",)),
    ("clock-backwards", "agents read monotonicNow from their own thread's clock, behind the main thread's",
     ("jostle/agent/monotonic-now-one-clock.js",)),
)


class EngineError(Exception):
    """The engine description is unusable; the message says what is wrong and what is right."""


class Engine:
    def __init__(self, spec):
        self.spec = spec
        self.expect = {}
        desc, base = self._load(spec)
        self.base = base
        self.name = desc.get("name")
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z0-9_.+-]+", self.name or ""):
            raise EngineError(f"--engine {spec}: 'name' must be a word of letters, digits, _ . + -")
        command = desc.get("command")
        if not (isinstance(command, list) and command and all(isinstance(w, str) for w in command)):
            raise EngineError(f"--engine {spec}: 'command' must be a non-empty list of strings "
                              f"(e.g. [\"/usr/bin/js\", \"{{host}}\", \"{{test}}\"])")
        if "{test}" not in command:
            raise EngineError(f"--engine {spec}: 'command' must contain the {{test}} placeholder")
        self.command = command
        self.host = self._path(desc.get("host"))
        self.prelude_path = self._path(desc.get("prelude"))
        self.version_command = desc.get("version") or []
        self.can_block_main = bool(desc.get("can_block_main", True))
        self.missing = dict(desc.get("missing_features") or {})
        self.host_mutants = bool(desc.get("host_mutants", False))
        self.expectations_path = self._path(desc.get("expectations"))
        self.expectations = read_expectations(self.expectations_path) if self.expectations_path else []
        self.description = desc.get("description", "")

    def _load(self, spec):
        if spec in BUILTIN:
            path = os.path.join(HERE, "engines", BUILTIN[spec])
        elif spec.startswith("cmd:"):
            exe = spec[4:]
            if not exe:
                raise EngineError("--engine cmd:PATH needs the engine's executable after 'cmd:'")
            name = re.sub(r"[^A-Za-z0-9_.+-]", "_", os.path.basename(exe)) or "cmd"
            return {"name": name, "command": [exe, "{test}"],
                    "description": f"{exe} run on the compiled test file (its shell must define $262)"}, os.getcwd()
        elif spec.endswith(".json") or os.sep in spec:
            path = spec
        else:
            raise EngineError(f"--engine {spec}: unknown engine (accepted: {', '.join(sorted(BUILTIN))}, "
                              f"cmd:PATH, or a JSON description file)")
        try:
            with open(path, encoding="utf-8") as f:
                desc = json.load(f)
        except OSError as exc:
            raise EngineError(f"--engine {spec}: cannot read {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise EngineError(f"--engine {spec}: {path} is not JSON: {exc}") from None
        if not isinstance(desc, dict):
            raise EngineError(f"--engine {spec}: {path} must hold a JSON object")
        return desc, os.path.dirname(os.path.abspath(path))

    def _path(self, value):
        if not value:
            return None
        path = value if os.path.isabs(value) else os.path.join(self.base, value)
        if not os.path.isfile(path):
            raise EngineError(f"--engine {self.spec}: {value} does not exist (looked at {path})")
        return path

    def executable(self):
        """The engine's program as found on PATH, or None."""
        first = self.command[0]
        return shutil.which(first) if os.sep not in first else (first if os.access(first, os.X_OK) else None)

    def version(self):
        if not self.version_command or self.executable() is None:
            return None
        try:
            done = subprocess.run(self.version_command, capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return None
        text = (done.stdout or done.stderr).decode("utf-8", "replace").strip()
        return text.splitlines()[0] if text else None

    def prelude(self):
        if not self.prelude_path:
            return ""
        with open(self.prelude_path, encoding="utf-8") as f:
            return f.read()

    def unsupported(self, test, mode):
        """Why this scenario cannot run on this engine, or None."""
        if self.executable() is None:
            return f"engine {self.name}: {self.command[0]} is not installed"
        for feature in test.features:
            if feature in self.missing:
                return f"feature {feature} is not supported by {self.name}: {self.missing[feature]}"
        if "CanBlockIsFalse" in test.flags and self.can_block_main:
            return f"CanBlockIsFalse: {self.name}'s main agent can block ([[CanBlock]] is true)"
        if "CanBlockIsTrue" in test.flags and not self.can_block_main:
            return f"CanBlockIsTrue: {self.name}'s main agent cannot block ([[CanBlock]] is false)"
        return None

    def expected_failure(self, rel, mode):
        """The expectations file's reason when (rel, mode) is a known failure, else None."""
        for glob, modes, reason in self.expectations:
            if fnmatch.fnmatchcase(rel, glob) and (not modes or mode in modes):
                return reason
        return None

    def argv(self, test_file, kind, is_async):
        values = {"{host}": self.host or "", "{test}": test_file, "{kind}": kind,
                  "{async}": "async" if is_async else ""}
        out = []
        for word in self.command:
            for key, value in values.items():
                word = word.replace(key, value)
            if word:
                out.append(word)
        return out


def read_expectations(path):
    """[(glob, modes, reason)] from lines `PATH-GLOB[@mode,mode] reason...` (# starts a comment line)."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            word, _, reason = line.partition(" ")
            glob, _, modes = word.partition("@")
            if not reason.strip():
                raise EngineError(f"{path}:{number}: an expectation needs a reason after the path "
                                  f"(e.g. `built-ins/Atomics/x.js V8 bug 123`)")
            entries.append((glob, tuple(m for m in modes.split(",") if m), reason.strip()))
    return entries


class Outcome:
    """What one execution of a scenario came to."""

    def __init__(self, status, message="", stack="", line=None, expr="", elapsed_ms=0.0, traces=None,
                 stdout="", stderr=""):
        self.status = status          # pass, fail, hang
        self.message = message
        self.stack = stack
        self.line = line
        self.expr = expr
        self.elapsed_ms = elapsed_ms
        self.traces = traces or []
        self.stdout = stdout
        self.stderr = stderr


def parse_traces(stderr):
    traces = []
    for line in stderr.splitlines():
        if line.startswith(TRACE_LINE):
            try:
                record = json.loads(line[len(TRACE_LINE):])
            except ValueError:
                continue
            if isinstance(record, dict):
                traces.append(record)
    return traces


def last_by_actor(traces):
    """{who: last trace record} in first-seen order: what each agent (and main) last did."""
    last = {}
    for record in traces:
        last[str(record.get("who", "?"))] = record
    return last


def _line_in_test(stack, test_name, offset):
    for match in re.finditer(re.escape(test_name) + r":(\d+)", stack or ""):
        line = int(match.group(1)) - offset + 1
        if line >= 1:
            return line
    return None


def judge(test, stdout, stderr, exit_code, test_name, offset):
    """(status, message, stack, line, expr) of a finished engine process for this test."""
    error = None
    done = failure = None
    for line in (stdout + "\n" + stderr).splitlines():
        if line.startswith(ERROR_LINE) and error is None:
            try:
                error = json.loads(line[len(ERROR_LINE):])
            except ValueError:
                error = {"name": "?", "message": line[len(ERROR_LINE):], "stack": "", "phase": None}
        elif line.startswith(ASYNC_FAIL) and failure is None:
            failure = line[len(ASYNC_FAIL):]
        elif line.strip() == ASYNC_DONE:
            done = True
    if error is None and exit_code != 0:
        # An engine without a jostle host: read its own uncaught-error line.
        text = stderr + "\n" + stdout
        match = re.search(r"^(?:Uncaught\s+|.*?:\d+:\d+\s+)?([A-Za-z_$][\w$]*(?:Error|Exception))\b:?\s*(.*)$",
                          text, re.M)
        error = {"name": match.group(1) if match else "?", "phase": None,
                 "message": match.group(2) if match else f"exit code {exit_code}: {text.strip()[-300:]}",
                 "stack": text.strip()[-2000:]}
    negative = test.negative
    if negative:
        want_phase = "parse" if negative["phase"] == "early" else negative["phase"]
        if error is None:
            return ("fail", f"expected {negative['type']} in phase {negative['phase']}, but the test completed",
                    "", None, "negative")
        if error.get("name") != negative["type"]:
            return ("fail", f"expected {negative['type']} in phase {negative['phase']}, got "
                            f"{error.get('name')}: {error.get('message')}", error.get("stack", ""),
                    _line_in_test(error.get("stack"), test_name, offset), "negative")
        got_phase = error.get("phase")
        if got_phase and want_phase != got_phase and not (want_phase == "resolution" and got_phase == "parse"):
            return ("fail", f"expected {negative['type']} in phase {negative['phase']}, it came in phase {got_phase}",
                    error.get("stack", ""), None, "negative")
        return "pass", "", "", None, ""
    if error is not None:
        stack = error.get("stack") or ""
        return ("fail", f"{error.get('name')}: {error.get('message')}", stack,
                _line_in_test(stack, test_name, offset), error.get("name") or "uncaught")
    if "async" in test.flags:
        if failure is not None:
            return "fail", failure, "", None, "$DONE(error)"
        if not done:
            return "fail", "async test ended without printing Test262:AsyncTestComplete", "", None, "$DONE"
    if exit_code != 0:
        return "fail", f"engine exited with code {exit_code}", stderr[-2000:], None, "exit code"
    return "pass", "", "", None, ""


def run_scenario(engine, test, mode, workdir, timeout_s, env_extra=None):
    """Compile, run once, judge. Never raises for the engine's behaviour; the Outcome says it."""
    kind = "module" if mode == "module" else "script"
    source, offset = test.compile(mode, engine.prelude())
    name = "test.mjs" if kind == "module" else "test.js"
    test_file = os.path.join(workdir, name)
    with open(test_file, "w", encoding="utf-8") as f:
        f.write(source)
    env = dict(os.environ)
    env.update(env_extra or {})
    argv = engine.argv(test_file, kind, "async" in test.flags)
    out_path, err_path = os.path.join(workdir, "stdout"), os.path.join(workdir, "stderr")
    started = time.monotonic()
    hung = False
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                    cwd=workdir)
        except OSError as exc:
            return Outcome("fail", f"cannot start {argv[0]}: {exc.strerror or exc}", expr="engine start")
        try:
            code, hung, lingered = _wait(proc, started + max(0.05, timeout_s), err_path)
        except BaseException:
            _kill(proc)
            proc.wait()
            raise
    elapsed_ms = (time.monotonic() - started) * 1000
    stdout = _read(out_path)
    stderr = _read(err_path)
    traces = parse_traces(stderr)
    if lingered:
        code = 0 if f"{DONE_LINE} fail" not in stderr else 1
    if hung:
        return Outcome("hang", f"no verdict within {timeout_s:.1f}s", elapsed_ms=elapsed_ms, traces=traces,
                       stdout=stdout, stderr=stderr)
    if code < 0:
        return Outcome("fail", f"engine killed by signal {-code}", stack=stderr[-2000:], expr="crash",
                       elapsed_ms=elapsed_ms, traces=traces, stdout=stdout, stderr=stderr)
    status, message, stack, line, expr = judge(test, stdout, stderr, code, name, offset)
    return Outcome(status, message, stack, line, expr, elapsed_ms, traces, stdout, stderr)


def _wait(proc, deadline, err_path):
    """(exit code, hung, lingered): wait for the engine; a host's done line ends the wait after a grace."""
    done_at = None
    size = 0
    while True:
        try:
            return proc.wait(timeout=POLL_S), False, False
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if done_at is None:
            try:
                grown = os.path.getsize(err_path)
            except OSError:
                grown = size
            if grown != size:
                size = grown
                with open(err_path, "rb") as f:
                    if DONE_LINE.encode() in f.read():
                        done_at = now
        if done_at is not None and now - done_at >= EXIT_GRACE_S:
            _kill(proc)
            proc.wait()
            return None, False, True
        if now >= deadline:
            _kill(proc)
            proc.wait()
            return None, True, False


def _kill(proc):
    # The engine stays in the harness's process group: when the runner kills the harness's group
    # (its own deadline, Ctrl-C) the engine goes too. Agents are threads of the engine process.
    try:
        proc.send_signal(signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read(path, keep=256 * 1024):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    if len(data) > keep:
        data = data[: keep // 2] + b"\n[... cut ...]\n" + data[-keep // 2:]
    return data.decode("utf-8", "backslashreplace")
