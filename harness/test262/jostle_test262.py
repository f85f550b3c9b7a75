"""jostle-test262: the harness protocol (docs/protocol.md) over test262 files run on a JavaScript engine.

  jostle-test262 --test262 DIR --engine E [--select GLOB]... --list | --list-backends
  jostle-test262 --test262 DIR --engine E --run ID [--seed N] [--iterations N] [--duration D] [--timeout D]
                 [--events PATH | --events-fd N] [--hang-hold D] [--chaos SPEC] [--quiet]
  jostle-test262 --version

Instances are `test262/<path under test/>@<engine>/<mode>` (mode: strict, sloppy, raw, module); a host
mutant instance is `test262/<path>@mutant.<name>/<mode>/engine=<engine>`. One iteration is one engine
process running the scenario once; the verdict follows INTERPRETING.md (docs/engines.md).
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time

import corpus
import engines

PROTOCOL = 1
SUITE = "test262"
AGENT_TIMEOUT_MS = 30000
PLAIN_TIMEOUT_MS = 15000
EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_INFRA, EXIT_HANG, EXIT_UNSUPPORTED = 0, 1, 2, 3, 4, 5
_T0 = time.monotonic()


class Usage(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Usage(message)


def _duration_ms(text):
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h)?\s*", text or "")
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 500ms, 2s, 1.5m)")
    scale = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, None: 1000}[match.group(2)]
    return float(match.group(1)) * scale


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1000000000:
        raise argparse.ArgumentTypeError(f"{text!r} is outside 1 .. 1000000000")
    return value


def _seed(text):
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value < 1 << 64:
        raise argparse.ArgumentTypeError(f"{text!r} is outside 0 .. 2^64-1")
    return value


def parser():
    p = _Parser(prog="jostle-test262", add_help=True)
    p.add_argument("--test262", metavar="DIR")
    p.add_argument("--engine", metavar="E")
    p.add_argument("--select", action="append", default=[], metavar="GLOB")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--list", action="store_true")
    what.add_argument("--list-backends", action="store_true")
    what.add_argument("--run", metavar="ID")
    what.add_argument("--version", action="store_true")
    p.add_argument("--seed", type=_seed, default=1)
    p.add_argument("--iterations", type=_positive)
    p.add_argument("--duration", type=_duration_ms)
    p.add_argument("--timeout", type=_duration_ms)
    p.add_argument("--events")
    p.add_argument("--events-fd", type=int)
    p.add_argument("--hang-hold", type=_duration_ms, default=0.0)
    p.add_argument("--chaos")
    p.add_argument("--deadlock-after", type=_duration_ms)   # accepted for protocol parity; no effect here
    p.add_argument("--plugin", action="append", default=[])
    p.add_argument("--quiet", action="store_true")
    return p


# -- listing ---------------------------------------------------------------------------------------

def instance_id(rel, backend, mode, engine_name=None):
    tail = f"/engine={engine_name}" if engine_name else ""
    return f"{SUITE}/{rel}@{backend}/{mode}{tail}"


def parse_id(text):
    """(rel, backend, mode, engine-or-None) of an instance id; raises Usage when it is not one."""
    match = re.fullmatch(rf"{SUITE}/(.+\.js)@([^/@]+)/(strict|sloppy|raw|module)(?:/engine=([^/]+))?", text)
    if not match:
        raise Usage(f"--run {text!r}: not a test262 instance id "
                    f"(expected test262/<path under test/>@<engine>/<strict|sloppy|raw|module>)")
    return match.groups()


def records(root, engine, globs):
    for rel in corpus.find(root, globs):
        try:
            test = corpus.Test(root, rel)
        except corpus.CorpusError as exc:
            # One unreadable file must not hide the rest: it is listed, and running it is a visible ERROR.
            yield {"v": PROTOCOL, "type": "instance", "suite": SUITE, "case": rel, "primitive": "agents",
                   "kind": "conformance", "threads": 1, "iterations": 1, "timeout_ms": PLAIN_TIMEOUT_MS,
                   "description": f"cannot be used: {exc}", "clauses": [], "profile": "test262",
                   "id": instance_id(rel, engine.name, "strict"), "backend": engine.name,
                   "params": {"mode": "strict"}, "expect": "pass", "mutant": False}
            continue
        agents = test.agents()
        base = {"v": PROTOCOL, "type": "instance", "suite": SUITE, "case": rel, "primitive": "agents",
                "kind": "conformance", "threads": 1 + agents, "iterations": 1,
                "timeout_ms": AGENT_TIMEOUT_MS if agents or "$262.agent" in test.source else PLAIN_TIMEOUT_MS,
                "description": test.description[:300], "clauses": [str(test.meta["esid"])] if test.meta.get(
                    "esid") else [], "profile": "test262", "features": test.features,
                "flags": sorted(test.flags)}
        for mode in test.modes():
            reason = engine.expected_failure(rel, mode)
            yield dict(base, id=instance_id(rel, engine.name, mode), backend=engine.name,
                       params={"mode": mode}, expect="fail" if reason else "pass", mutant=False,
                       **({"known_failure": reason} if reason else {}))
            if not engine.host_mutants or agents == 0:
                continue
            for name, _, catchers in engines.HOST_MUTANTS:
                yield dict(base, id=instance_id(rel, "mutant." + name, mode, engine.name), backend="mutant." + name,
                           params={"mode": mode, "engine": engine.name},
                           expect="fail" if rel in catchers else "informative", mutant=True)


def backend_records(engine):
    yield {"v": PROTOCOL, "type": "backend", "name": engine.name, "primitive": "agents", "mutant": False,
           "description": engine.description or f"test262 on {engine.name}", "version": engine.version()}
    if engine.host_mutants:
        for name, what, catchers in engines.HOST_MUTANTS:
            yield {"v": PROTOCOL, "type": "backend", "name": "mutant." + name, "primitive": "agents",
                   "mutant": True, "catches": [f"{SUITE}/{c}" for c in catchers], "difficulty": "D1",
                   "source": "test262 INTERPRETING.md agent contract", "description": f"{engine.name} host: {what}"}


# -- running ---------------------------------------------------------------------------------------

class Events:
    def __init__(self, path=None, fd=None):
        self.fd = None
        if path is not None:
            self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        elif fd is not None:
            self.fd = fd

    def emit(self, ev, **fields):
        if self.fd is None:
            return
        record = {"v": PROTOCOL, "ev": ev, "t_ms": round((time.monotonic() - _T0) * 1000, 3)}
        record.update(fields)
        os.write(self.fd, (json.dumps(record, sort_keys=False) + "\n").encode())


def host_chaos(spec, seed):
    """(env value for the host, schedule fields): the runner's chaos spec mapped onto host boundary points.

    The engine cannot be instrumented inside, so chaos acts where the host is called: start, broadcast,
    the agents' receipt of it, report and getReport. `mode=pct` has no meaning there; it becomes random
    points with p=0.05 and says so.
    """
    if not spec:
        return None, None
    fields = dict(part.partition("=")[::2] for part in spec.split(",") if part)
    why = "host boundary points (start, broadcast, receipt, report, getReport)"
    if fields.get("mode") == "pct":
        fields = {"p": "0.05", "actions": "yield+sleep"}
        why += "; pct has no scheduler inside an engine: random points with p=0.05 instead"
    try:
        p = float(fields.get("p", "0.05"))
    except ValueError:
        raise Usage(f"--chaos {spec!r}: p must be a number (e.g. p=0.05,actions=yield+sleep)") from None
    actions = [a for a in fields.get("actions", "yield+sleep").split("+") if a]
    actions = ["sleep" if a == "stall" else a for a in actions]
    bad = [a for a in actions if a not in ("yield", "spin", "sleep")]
    if bad or not 0 <= p <= 1:
        raise Usage(f"--chaos {spec!r}: accepted p in 0..1 and actions from yield, spin, sleep, stall")
    host = f"p={p},actions={'+'.join(actions)},seed={seed & 0xffffffff}"
    return host, {"mode": "host", "seed": seed, "spec": spec, "why": why, "host": host}


def hang_threads(outcome):
    threads = []
    for who, record in engines.last_by_actor(outcome.traces).items():
        actor = -1 if who == "main" else int(who[5:]) if who.startswith("agent") and who[5:].isdigit() else -2
        what = record.get("what", "?")
        if "value" in record:
            what += f" {record['value']!r}"
        threads.append({"actor": actor, "tid": None, "phase": what, "since_ms": record.get("t")})
    return threads


def hang_summary(outcome):
    reported = [r for r in outcome.traces if r.get("what") == "report"]
    parts = [f"{t['phase']} ({'main' if t['actor'] == -1 else 'agent ' + str(t['actor'])}, at {t['since_ms']} ms)"
             for t in hang_threads(outcome)]
    text = "last host events: " + ("; ".join(parts) if parts else "none traced")
    if reported:
        text += "; last reports: " + ", ".join(f"{r.get('who')}: {r.get('value')!r}" for r in reported[-4:])
    return text


def run(opts, engine, root, say):
    rel, backend, mode, engine_name = parse_id(opts.run)
    mutant = None
    if backend.startswith("mutant."):
        mutant = backend[len("mutant."):]
        if mutant not in {m for m, _, _ in engines.HOST_MUTANTS}:
            raise Usage(f"--run {opts.run!r}: unknown host mutant {mutant!r} "
                        f"(accepted: {', '.join(m for m, _, _ in engines.HOST_MUTANTS)})")
        if engine_name != engine.name or not engine.host_mutants:
            raise Usage(f"--run {opts.run!r}: this mutant is for engine {engine_name}, --engine is {engine.name}"
                        + ("" if engine.host_mutants else " (whose host has no mutants)"))
    elif backend != engine.name:
        raise Usage(f"--run {opts.run!r}: the instance is for engine {backend}, but --engine is {engine.name}")
    if not os.path.isfile(os.path.join(root, "test", rel)):
        raise Usage(f"--run {opts.run!r}: test/{rel} is not in {root}")
    try:
        test = corpus.Test(root, rel)
    except corpus.CorpusError as exc:
        raise Usage(str(exc)) from None
    if mode not in test.modes():
        raise Usage(f"--run {opts.run!r}: test/{rel} runs in {', '.join(test.modes())}, not {mode}")
    chaos_env, schedule = host_chaos(opts.chaos, opts.seed)
    timeout_ms = opts.timeout or (AGENT_TIMEOUT_MS if test.agents() else PLAIN_TIMEOUT_MS)
    iterations = opts.iterations or 1
    try:
        events = Events(opts.events, opts.events_fd)
    except OSError as exc:
        print(f"jostle-test262: cannot open --events {opts.events}: {exc.strerror}", file=sys.stderr)
        return EXIT_INFRA
    # The engine's version is in --list-backends; asking it here would start the engine twice per run.
    build = {"preset": None, "compiler": " ".join(engine.command[:1]), "sanitizer": None}
    events.emit("start", id=opts.run, seed=opts.seed, iterations=iterations,
                duration_ms=opts.duration, timeout_ms=timeout_ms, pid=os.getpid(), build=build, chaos=opts.chaos,
                engine=engine.name, mutant=mutant)
    reason = engine.unsupported(test, mode)
    if reason:
        events.emit("end", status="unsupported", reason=reason, iterations_done=0,
                    elapsed_ms=round((time.monotonic() - _T0) * 1000, 3), checks_failed=0, forbidden=0,
                    outcomes={}, metrics={})
        say(f"UNSUPPORTED {opts.run}: {reason}")
        return EXIT_UNSUPPORTED
    env = {}
    if mutant:
        env["JOSTLE_HOST_MUTANT"] = mutant
    if chaos_env:
        env["JOSTLE_HOST_CHAOS"] = chaos_env
    deadline = _T0 + timeout_ms / 1000
    stop_after = _T0 + opts.duration / 1000 if opts.duration else None
    done = 0
    checks = 0
    engine_ms = []
    workdir = tempfile.mkdtemp(prefix="jostle-t262-")
    try:
        while done < iterations:
            if done and stop_after is not None and time.monotonic() >= stop_after:
                break
            remaining = deadline - time.monotonic()
            outcome = engines.run_scenario(engine, test, mode, workdir, remaining, env)
            if outcome.status == "hang":
                threads = hang_threads(outcome)
                if schedule:
                    events.emit("schedule", **schedule)
                events.emit("hang", reason="deadline", deadline_ms=timeout_ms, iteration=done, threads=threads,
                            summary=hang_summary(outcome))
                sys.stderr.write(outcome.stderr[-64 * 1024:])
                say(f"HANG {opts.run}: {hang_summary(outcome)}")
                return EXIT_HANG
            done += 1
            engine_ms.append(outcome.elapsed_ms)
            if outcome.status == "fail":
                checks += 1
                events.emit("check", fatal=True, file=f"test/{rel}", line=outcome.line or 0, expr=outcome.expr,
                            msg=(outcome.message + ("\n" + outcome.stack if outcome.stack else ""))[:4000],
                            thread=-1, iteration=done - 1)
                sys.stdout.write(outcome.stdout[-16 * 1024:])
                sys.stderr.write(outcome.stderr[-64 * 1024:])
                break
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if schedule:
        events.emit("schedule", **schedule)
    status = "fail" if checks else "pass"
    metrics = {}
    if engine_ms:
        metrics["engine_ms"] = {"n": len(engine_ms), "min": min(engine_ms), "max": max(engine_ms),
                                "sum": sum(engine_ms), "unit": "ms"}
    events.emit("end", status=status, iterations_done=done,
                elapsed_ms=round((time.monotonic() - _T0) * 1000, 3), checks_failed=checks, forbidden=0,
                outcomes={"completed": {"count": done - checks, "grade": "ACCEPTABLE",
                                        "desc": "the scenario met its test262 verdict"}} if done - checks else {},
                metrics=metrics)
    say(f"{status.upper()} {opts.run}: {done} iteration(s)")
    return EXIT_FAIL if checks else EXIT_PASS


def main(argv=None):
    try:
        opts = parser().parse_args(argv)
        if opts.version:
            print(json.dumps({"protocol": PROTOCOL, "build": {"preset": None, "compiler": "jostle-test262",
                                                                 "sanitizer": None}}))
            return EXIT_PASS
        if not opts.test262 or not opts.engine:
            raise Usage("--test262 DIR and --engine E are both required (E: node, spidermonkey, cmd:PATH "
                        "or an engine description .json)")
        root = os.path.abspath(opts.test262)
        corpus.check_root(root)
        engine = engines.Engine(opts.engine)
        if opts.list:
            for record in records(root, engine, opts.select):
                print(json.dumps(record))
            return EXIT_PASS
        if opts.list_backends:
            for record in backend_records(engine):
                print(json.dumps(record))
            return EXIT_PASS

        def say(text):
            if not opts.quiet:
                print(text, flush=True)
        return run(opts, engine, root, say)
    except Usage as exc:
        print(f"jostle-test262: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (corpus.CorpusError, engines.EngineError) as exc:
        print(f"jostle-test262: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"jostle-test262: {exc}", file=sys.stderr)
        return EXIT_INFRA
    except KeyboardInterrupt:
        return 130
