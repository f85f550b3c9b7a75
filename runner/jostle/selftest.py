"""`jostle selftest`: the checks ctest runs over one suite's harness, through the ordinary session pipeline.

  selftest --suite S               every instance on a correct backend passes one short run (seed 1,
                                   iterations capped at SMOKE_ITERATIONS, a generous watchdog)
  selftest --suite S --plugin SO   the same over the instances the plugin adds (and only those)
  selftest --suite S --mutants     every declared catcher catches its mutant within MUTANT_ATTEMPTS runs (fresh
                                   seeds, the mutant's declared chaos spec; a catcher stops at its first catch),
                                   every mutant is caught, and every conformance case is some mutant's declared
                                   catcher; or the mutant/case is listed in harness/tests/known_gaps.txt with a reason

A thin caller: it builds a SessionRequest, runs session.run, and judges the session model the query layer
builds from the store (so every failure has its record and repro line in --out).
"""

import dataclasses
import os

from jostle import discovery, query, selection, session, store
from jostle.errors import EXIT_OK, EXIT_UNEXPECTED, UsageError
from jostle.records import Found

SMOKE_ITERATIONS = 20
SMOKE_TIMEOUT_S = 120.0
# D2/D3 mutants are caught in 70-95% of single runs; six attempts keep the gate's own false alarm rate for
# the weakest declared catcher (about 70%) below 0.1%.
MUTANT_ATTEMPTS = 6


def known_gaps_path():
    return os.path.join(discovery.repo_root(), "harness", "tests", "known_gaps.txt")


def known_gaps(path):
    """{suite/case or mutant.name: reason} from lines '<key> <reason>'; # starts a comment."""
    gaps = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return gaps
    except OSError as exc:
        raise UsageError(f"--known-gaps {path}: {exc.strerror or exc}") from None
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            key, _, reason = line.partition(" ")
            if not reason.strip():
                raise UsageError(f"{path}: '{key}' needs a reason after it (format: <suite/case or mutant> <reason>)")
            gaps[key] = reason.strip()
    return gaps


def _found(request, mutants):
    """The instances to run: the correct backends' (or the plugin's own), or the mutant catchers; all listed ones
    too, for the case-coverage check."""
    everything = selection.from_build(request.build_dir, request.suites, request.backends, request.cases,
                                      mutants=True, plugins=request.plugins)
    instances = everything.instances
    if request.plugins:
        plain = selection.from_build(request.build_dir, request.suites, mutants=True)
        ours = {i["id"] for i in plain.instances}
        instances = [i for i in instances if i["id"] not in ours]
    if mutants:
        chosen = [i for i in instances if i["expect"] == "fail"]
    else:
        chosen = [i for i in instances if not i.get("mutant")]
    if not chosen:
        raise UsageError("selftest: the selection lists no " + ("mutant catcher" if mutants else "instance") + " to run")
    return Found(everything.binaries, everything.suites, chosen), instances


def plan_settings(settings, mutants):
    if mutants:
        return dataclasses.replace(settings, mode="run", runs=MUTANT_ATTEMPTS, budget_s=None, seed=1, shard=None,
                                   stop_when_caught=True)
    return dataclasses.replace(settings, mode="run", runs=1, budget_s=None, seed=1, shard=None,
                               max_iterations=SMOKE_ITERATIONS, timeout_s=settings.timeout_s or SMOKE_TIMEOUT_S)


def judge_correct(model):
    failures = []
    for inst in model["instances"]:
        if inst["gating"] or inst["code"] is None:
            first = inst["failures"][0] if inst["failures"] else None
            message, repro = (first.message, first.repro) if first else (None, None)
            failures.append(f"{inst['id']}: {inst['code'] or 'not run'}: {message or ''}"
                            + (f"\n  {repro}" if repro else ""))
    return failures, len(model["instances"])


def judge_mutants(model, listed, backends, gaps):
    failures = []
    caught_by = {}
    for inst in model["instances"]:
        if inst["code"] == "XFAIL":
            caught_by.setdefault(inst["backend"], []).append(inst["id"])
        elif inst["backend"] not in gaps:
            codes = ", ".join(f"{c} x{n}" for c, n in inst["run_codes"].items()) or "not run"
            failures.append(f"{inst['id']}: mutant escaped its declared catcher (runs: {codes})")
    mutants = [b for b in backends if b.get("mutant")]
    for b in mutants:
        if b["name"] not in caught_by and b["name"] not in gaps:
            failures.append(f"{b['name']}: no declared catcher caught it (declares {b.get('catches') or 'none'}); "
                            "declare a catching case or list it in harness/tests/known_gaps.txt with a reason")
    declared = {"/".join(c.split("/")[:2]) for b in mutants for c in b.get("catches", [])}  # "suite/case[/k=v]"
    cases = sorted({f"{i['suite']}/{i['case']}" for i in listed if i.get("kind") == "conformance" and not i["mutant"]})
    for case_id in cases:
        if case_id not in declared and case_id not in gaps:
            failures.append(f"{case_id}: no mutant declares this conformance case as its catcher; a case that cannot "
                            "fail is suspect (declare it in a mutant's kCatches or list it in "
                            "harness/tests/known_gaps.txt with a reason)")
    return failures, len(model["instances"]) + len(mutants) + len(cases), caught_by


def run(request, mutants, gaps_path, log):
    """Run the selftest of `request` (its selection and build); prints the verdicts, returns the exit code."""
    gaps = known_gaps(gaps_path) if mutants else {}
    found, listed = _found(request, mutants)
    # A hung mutant catcher is a catch, not a mystery: no debugger post-mortem (seconds of gdb per hang).
    request = dataclasses.replace(request, command="selftest", found=found, capture_stacks=not mutants,
                                  settings=plan_settings(request.settings, mutants))
    store.prepare_out_dir(request.out)
    result = session.run(request, log)
    model = query.build(store.load(request.out, log), result.session)
    if mutants:
        backends = [dict(b, suite=suite.name) for suite in found.suites for b in suite.backends]
        failures, checks, caught_by = judge_mutants(model, listed, backends, gaps)
        for name, ids in sorted(caught_by.items()):
            print(f"caught {name}: {', '.join(ids)}")
    else:
        failures, checks = judge_correct(model)
    if result.status != "complete":
        failures.append(f"session {result.status}")
    for line in failures:
        print(line)
    print(f"{max(0, checks - len(failures))} passed, {len(failures)} failed (store: {request.out}, "
          f"session {result.session})")
    return EXIT_UNEXPECTED if failures else EXIT_OK
