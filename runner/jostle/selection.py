"""--suite / --backend / --case / --mutants: pick instances, and name close matches when nothing fits."""

import difflib
import sys
from fnmatch import fnmatchcase

from jostle import discovery
from jostle.errors import UsageError
from jostle.records import Found


def _suggest(word, candidates):
    plain = word.replace("*", "").replace("?", "").replace("[", "").replace("]", "")
    close = difflib.get_close_matches(plain, sorted(set(candidates)), n=3, cutoff=0.5)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def check_suites(requested, available):
    """Raise UsageError for the first requested suite that has no binary."""
    for name in requested or ():
        if name not in available:
            raise UsageError(f"unknown suite {name!r}{_suggest(name, available)}; "
                             f"available: {', '.join(sorted(available)) or 'none'}")


def _case_matches(glob, inst):
    if "/" in glob or "@" in glob:
        return (fnmatchcase(inst["id"], glob) or fnmatchcase(f"{inst['suite']}/{inst['case']}", glob)
                or ("/" in inst["case"] and fnmatchcase(inst["case"], glob)))
    return fnmatchcase(inst["case"], glob)


def plugin_warnings(suites):
    """One line per plugin table that no case of these suites runs (a table loaded but never run)."""
    offered, unused = {}, {}
    for suite in suites:
        for p in suite.plugins:
            offered.setdefault(p["name"], set()).update(p.get("tables", []))
            unused.setdefault(p["name"], set(p.get("tables", [])))
            unused[p["name"]] &= set(p.get("unused_tables", []))
    return [f"plugin {name!r} offers the {table} table, but no case of the selected suites runs it"
            for name in sorted(unused) for table in sorted(unused[name])]


def select(suites, backend_globs=(), case_globs=(), mutants=False, plugins=()):
    """The instances of `suites` (discovery.Suite list) that the selection keeps, in listing order.

    With plugins loaded and no --backend, only the plugins' instances are kept (the built-in backends are
    already gated by jostle's own CI).
    """
    everything = [inst for suite in suites for inst in suite.instances]
    if plugins and not backend_globs:
        everything = [inst for inst in everything if inst.get("plugin")]
        if not everything:
            raise UsageError("the plugins offer no table any case of the selected suites runs "
                             "(./jostle plugin check PATH shows what they offer)")
    backend_names = {inst["backend"] for inst in everything} | {
        b.get("name") for suite in suites for b in suite.backends if b.get("name")}
    for glob in backend_globs:
        hits = [name for name in backend_names if fnmatchcase(name, glob)]
        if not hits:
            raise UsageError(f"no backend matches --backend {glob!r}{_suggest(glob, backend_names)}")
        if not mutants and all(name.startswith("mutant.") for name in hits):
            raise UsageError(f"--backend {glob!r} matches only mutant backends; add --mutants to run them")
    for glob in case_globs:
        if not any(_case_matches(glob, inst) for inst in everything):
            names = {inst["case"] for inst in everything}
            raise UsageError(f"no case matches --case {glob!r}{_suggest(glob, names)}")
    chosen = [inst for inst in everything
              if (mutants or not inst.get("mutant"))
              and (not backend_globs or any(fnmatchcase(inst["backend"], g) for g in backend_globs))
              and (not case_globs or any(_case_matches(g, inst) for g in case_globs))]
    if not chosen:
        hint = "; mutant instances need --mutants" if not mutants and any(i.get("mutant") for i in everything) else ""
        raise UsageError("no instance matches the selection" + hint)
    return chosen


def selected_backends(suites, instances):
    """The --list-backends records of the backends that selected instances use, mutants first-class."""
    used = {(inst["suite"], inst["backend"]) for inst in instances}
    return [dict(b, suite=suite.name) for suite in suites for b in suite.backends
            if (suite.name, b.get("name")) in used]


def from_build(build_dir, suites=(), backends=(), cases=(), mutants=False, plugins=(), harnesses=None):
    """The Found (binaries, suites, chosen instances) of a selection over the harnesses in build_dir, or over
    `harnesses` ({suite: command}, the test262 bridge's; runner/jostle/engines.py) when given."""
    binaries = dict(harnesses) if harnesses else discovery.find_binaries(build_dir)
    check_suites(suites, binaries)
    if suites:
        binaries = {name: path for name, path in binaries.items() if name in suites}
    found = discovery.discover(binaries, plugins)
    for line in plugin_warnings(found):
        print(f"jostle: warning: {line}", file=sys.stderr)
    return Found(binaries, found, select(found, backends, cases, mutants, plugins))


def for_request(request):
    """The Found of a SessionRequest: its own discovery, or the one it carries, narrowed to its kinds."""
    found = request.found or from_build(request.build_dir, request.suites, request.backends, request.cases,
                                        request.mutants, request.plugins, request.harnesses)
    if request.kinds:
        found = Found(found.binaries, found.suites, [i for i in found.instances if i.get("kind") in request.kinds])
    return found
