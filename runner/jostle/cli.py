"""The `jostle` command line: parse, dispatch to a pipeline stage, map every outcome to an exit code.

Exit codes: 0 nothing unexpected, 1 unexpected results, 2 usage error, 3 infrastructure error,
130 interrupted (Ctrl-C or SIGTERM; finished runs are kept and the reports rendered).

The options of every subcommand are declared in cli_parser.py; here each one becomes a request and a report.
"""

import dataclasses
import json
import os
import signal
import sys

import reports
from jostle import (bench, detect, discovery, doctor, engines, gate, plugin_check, query, replay, selection, selftest,
                    session, shard, soak, store)
from jostle.amplify import Amplification
from jostle.cli_parser import DEFAULT_GATE_BUDGET, DEFAULT_RUN_BUDGET, DEFAULT_STRESS_BUDGET, build_parser
from jostle.errors import EXIT_INFRA, EXIT_INTERRUPTED, EXIT_OK, InfraError, JostleError, UsageError
from jostle.plan import Settings
from jostle.records import SessionRequest, default_jobs, random_seed
from jostle.units import parse_duration


def _log(message):
    print(f"jostle: {message}", file=sys.stderr, flush=True)


def _read_quarantine(path):
    if path is None:
        return []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UsageError(f"--quarantine {path}: {exc.strerror or exc}") from None
    globs = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InfraError(f"--quarantine {path} line {number}: not UTF-8 text (expected instance-id globs, "
                             f"one per line, # comments)") from None
        glob = line.split("#", 1)[0].strip()
        if any(ord(c) < 32 for c in glob):
            raise InfraError(f"--quarantine {path} line {number}: control characters in {glob[:40]!r} "
                             f"(expected an instance-id glob such as futex/*@linux)")
        if glob:
            globs.append(glob)
    return globs


def _amplify_mode(args):
    """--amplify as given; else the subcommand's default (cli_parser), except that a --chaos spec alone means
    chaos (Amplification.from_options turns none + a spec into chaos)."""
    asked = getattr(args, "amplify", None)
    if asked:
        return asked
    return "none" if getattr(args, "chaos", None) else getattr(args, "amplify_default", "none")


def _settings(args, mode, budget_s):
    """The Settings of a session command line: every default (jobs, seed, amplification) resolved here, once.

    Options a subcommand does not offer take their defaults."""
    opt = lambda name, default=None: getattr(args, name, default)  # noqa: E731 - a local shorthand
    target = opt("target_rate")
    if opt("sprt", False) and target is None:
        raise UsageError("--sprt needs --target-rate (the rate the sequential test decides about)")
    return Settings(mode=mode, runs=opt("runs"), budget_s=budget_s, jobs=opt("jobs") or default_jobs(),
                    seed=opt("seed") if opt("seed") is not None else random_seed(),
                    timeout_s=opt("timeout"), iterations=opt("iterations"),
                    amplify=Amplification.from_options(_amplify_mode(args), opt("chaos")),
                    plugins=tuple(args.plugin), target_rate=target, confidence=opt("confidence", 0.95),
                    sprt=opt("sprt", False), shard=shard.choose(opt("shard")))


def _request(args, settings):
    """The SessionRequest of a run/stress/gate/soak/selftest command line."""
    return SessionRequest(command=args.command, build_dir=args.build_dir, out=args.out, settings=settings,
                          suites=tuple(args.suites), backends=tuple(args.backends), cases=tuple(args.cases),
                          mutants=args.mutants, quarantine=tuple(_read_quarantine(getattr(args, "quarantine", None))),
                          harnesses=engines.binaries(args) if engines.wanted(args) else None,
                          argv=tuple(sys.argv[1:]), progress=args.progress, progress_stream=sys.stderr)


def _render(out, session_id, to_dir=None):
    model = reports.render_all(out, session_id, warn=_log, to_dir=to_dir)
    print(reports.REPORTS["console"].render(model), end="")
    return model


def cmd_list(args):
    found = selection.from_build(args.build_dir, args.suites, args.backends, args.cases, args.mutants, args.plugin,
                                 engines.binaries(args) if engines.wanted(args) else None)
    for inst in found.instances:
        if args.json:
            print(json.dumps(inst, sort_keys=True))
        else:
            flags = "" if inst["expect"] == "pass" else f"  expect={inst['expect']}"
            print(f"{inst['id']}  [{inst.get('kind')}, {inst.get('iterations')} iterations]{flags}")
    return EXIT_OK


def _last_failed(out):
    """The instances that failed (or gated) in the latest session of the store at `out` (a gate: all its phases)."""
    if not os.path.exists(os.path.join(out, store.RESULTS)):
        raise UsageError(f"--last-failed: no result store in {out}/ yet (run something first, or pass --out)")
    records = store.load(out, _log)
    gate_record = query.gate_record(records)
    model = (query.build(query.combine(records, gate_record["sessions"])) if gate_record
             else query.build(records))
    return model["session"]["id"], {i["id"] for i in model["instances"]
                                    if i["gating"] or (i["expect"] == "pass" and i["failed_runs"])}


def cmd_session(args):
    default_budget = DEFAULT_RUN_BUDGET if args.command == "run" else DEFAULT_STRESS_BUDGET
    budget = args.budget if args.budget is not None else (None if args.runs else parse_duration(default_budget))
    request = _request(args, _settings(args, args.command, budget))
    if args.last_failed:
        sid, ids = _last_failed(args.out)
        if not ids:
            _log(f"--last-failed: nothing failed in session {sid} of {args.out}/; nothing to run")
            return EXIT_OK
        found = selection.for_request(request)
        kept = [inst for inst in found.instances if inst["id"] in ids]
        if not kept:
            raise UsageError(f"--last-failed: none of the {len(ids)} instance(s) that failed in session {sid} is in "
                             f"this selection")
        _log(f"--last-failed: {len(kept)} instance(s) that failed in session {sid}")
        request = dataclasses.replace(request, found=dataclasses.replace(found, instances=kept))
    request = dataclasses.replace(request, stop=session.STOP_UNEXPECTED if args.exitfirst else session.STOP_NEVER)
    # Only the cheap check up front: the store is created once the selection proved valid (a usage error
    # leaves nothing behind).
    store.check_out_dir(args.out)
    result = session.run(request, _log)
    return _render(args.out, result.session)["exit_code"]


def cmd_gate(args):
    if not 0 < args.alpha < 0.5:
        raise UsageError(f"--alpha {args.alpha:g}: must be between 0 and 0.5 (e.g. 0.001)")
    budget = args.budget if args.budget is not None else parse_duration(DEFAULT_GATE_BUDGET)
    request = _request(args, _settings(args, "run", budget))
    baseline = gate.Baseline.load(args.baseline, _log)
    model = gate.run(request, baseline, args.alpha, _log, flaky=args.flaky, max_reruns=args.reruns)
    model["files"] = [reports.write(name, model, args.out) for name in reports.SESSION_FILES]
    model["files"].append(reports.write("gate-summary", model, args.out, args.summary))
    print(reports.REPORTS["console"].render(model), end="")
    return model["exit_code"]


def cmd_soak(args):
    request = _request(args, _settings(args, "stress", None))
    code = soak.run(request, args.for_s, args.chunk_s, args.night, args.fresh, _log)
    state = soak.load_state(args.out)
    if state and state.get("sessions"):
        # The soak's chunks pooled, as `run` reports a session: the same summary and the same exit codes.
        model = _render(args.out, ",".join(state["sessions"]))
        if code == EXIT_OK:
            code = model["exit_code"]
    _log(f"dashboard: {os.path.abspath(_write_dashboard(args.out))} (every night in {args.out}; "
         f"`jostle dashboard --store {args.out}` renders it again)")
    return code


def _write_dashboard(store_dir, path=None):
    model = reports.REPORTS["dashboard"].build(store.load(store_dir, _log))
    return reports.write("dashboard", model, store_dir, path)


def cmd_dashboard(args):
    if not os.path.isdir(args.store):
        raise UsageError(f"--store {args.store}: no such directory")
    print(_write_dashboard(args.store, args.out_file))
    return EXIT_OK


def cmd_bench(args):
    return bench.run(args, _log)


def cmd_merge(args):
    store.check_out_dir(args.out)
    merged = store.merge_into(args.out, args.stores, warn=_log)
    if not merged:
        raise UsageError("merge: no new session in " + ", ".join(args.stores))
    _log(f"merged {len(merged)} session(s); report them again with "
         f"`jostle report --out {args.out} --session {','.join(merged)}`")
    return _render(args.out, ",".join(merged))["exit_code"]


def cmd_report(args):
    if not os.path.isdir(args.out):
        raise UsageError(f"--out {args.out}: no such directory")
    if args.to:
        store.prepare_out_dir(args.to, option="--to")
    _render(args.out, args.session, args.to)
    return EXIT_OK


def cmd_replay(args):
    return replay.run(args.line, args.explicit_build_dir, _log)


def cmd_detect(args):
    if args.trials < 1 or args.budget_per_mutant <= 0 or args.replays < 0:
        raise UsageError("detect: --trials >= 1, --budget-per-mutant > 0 and --replays >= 0")
    args.argv = sys.argv[1:]
    store.prepare_out_dir(args.out)
    result = detect.run(args, _log)
    records = store.load(args.out, _log)
    text = reports.produce("detect-table", records, result.session)
    print(text, end="")
    if args.markdown:
        reports.write_file(args.markdown, text)
    try:
        # detect.html next to the store: the session's table (the same one report.html shows).
        reports.write("detect-page", reports.REPORTS["detect-page"].build(records, result.session), args.out)
    except JostleError as exc:
        _log(f"detect.html not written: {exc}")
    return result.exit_code


def cmd_selftest(args):
    request = _request(args, _settings(args, "run", None))
    return selftest.run(request, args.mutants, args.known_gaps or selftest.known_gaps_path(), _log)


def cmd_plugin(args):
    return plugin_check.check(args.build_dir, args.path)


def cmd_doctor(args):
    print(doctor.report(args.build_dir, quick=args.quick), end="")
    return EXIT_OK


COMMANDS = {"list": cmd_list, "run": cmd_session, "stress": cmd_session, "gate": cmd_gate, "merge": cmd_merge,
            "soak": cmd_soak, "dashboard": cmd_dashboard, "bench": cmd_bench,
            "replay": cmd_replay, "detect": cmd_detect, "selftest": cmd_selftest,
            "report": cmd_report, "doctor": cmd_doctor, "plugin": cmd_plugin}


def _interrupt_on_sigterm(_signum, _frame):
    raise KeyboardInterrupt()


def main(argv=None):
    # SIGTERM (a CI cancel) is Ctrl-C in every phase, discovery included: exit 130, never a silent 143.
    previous = signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    try:
        return _main(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv):
    try:
        args = build_parser().parse_args(argv)
        args.explicit_build_dir = getattr(args, "build_dir", None)
        if args.explicit_build_dir is None and args.command not in ("report", "merge", "dashboard"):
            args.build_dir = discovery.default_build_dir(getattr(args, "preset", None))
        return COMMANDS[args.command](args)
    except JostleError as exc:
        _log(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _log("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `jostle list | head`: the reader left; that is not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - one line instead of a traceback, as the CLI promises
        if os.environ.get("JOSTLE_DEBUG"):
            raise
        _log(f"internal error: {type(exc).__name__}: {exc} (set JOSTLE_DEBUG=1 for the traceback)")
        return EXIT_INFRA

