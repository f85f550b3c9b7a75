"""Mutant facts, generated from the harness's own listing: a mutant is declared once, in its backend's folder
(kName, kDescription, kCatches, kCatchesUnder, kDifficulty, kSource), and everything else is derived from
`--list-backends` and `--list`:

  - docs/mutants.md's index table (between the BEGIN/END markers);
  - the rows of the detect baseline (runner/jostle/detect_baseline.json): one per declared catcher instance
    (`expect: fail`), each in `reliably_killed` (measured), `unreliable` (killed in some trials only: measured,
    with the figures), `undetectable` (with a reason) or `unrated` (new, to be measured with
    `jostle detect --instance ID`).

  python3 -m jostle.mutant_facts --check [--build-dir DIR]   exit 1 listing every drift, one line each
  python3 -m jostle.mutant_facts --write [--build-dir DIR]   regenerate the index and the baseline's rows

--check also enforces the naming scheme `mutant.<primitive>.<defect>` (the backend's primitive, the defect in
snake_case) and that every mutant name the docs, known_gaps.txt, the quarantine files and the baseline mention
exists. CI runs it as the ctest `mutant-facts`.
"""

import argparse
import json
import os
import re
import sys

from jostle import discovery
from jostle.errors import JostleError, UsageError

ROOT = discovery.repo_root()
DOC = os.path.join(ROOT, "docs", "mutants.md")
BASELINE = os.path.join(ROOT, "runner", "jostle", "detect_baseline.json")
KNOWN_GAPS = os.path.join(ROOT, "harness", "tests", "known_gaps.txt")
# Files whose mutant names must exist (a rename that missed one is drift).
MENTIONING = ["docs", KNOWN_GAPS, os.path.join(ROOT, "ci", "quarantine.txt"),
              os.path.join(ROOT, "ci", "sanitizer-quarantine.txt"), BASELINE]

BEGIN = ("<!-- BEGIN mutant index: generated from --list-backends by `python3 -m jostle.mutant_facts --write`; "
         "do not edit by hand -->")
END = "<!-- END mutant index -->"
NAME_RE = re.compile(r"^mutant\.([a-z_]+)\.([a-z0-9]+(?:_[a-z0-9]+)*)$")
MENTION_RE = re.compile(r"mutant\.[A-Za-z0-9_.\-]*[A-Za-z0-9_]")
UNRATED_NOTE = "new catcher instance: rate it with `jostle detect --instance ID` and move it to reliably_killed"


def collect(suites):
    """(mutants, catcher_ids): one record per mutant backend (first suite that lists it) and the sorted ids of
    every declared catcher instance (expect == "fail")."""
    mutants = {}
    for suite in suites:
        for b in suite.backends:
            if b.get("mutant") and b["name"] not in mutants:
                mutants[b["name"]] = dict(b, suite=suite.name)
    ids = sorted({i["id"] for s in suites for i in s.instances if i.get("expect") == "fail"})
    return [mutants[n] for n in sorted(mutants)], ids


def naming_problems(mutants):
    problems = []
    for m in mutants:
        match = NAME_RE.match(m["name"])
        if not match:
            problems.append(f"{m['name']}: not of the form mutant.<primitive>.<defect> (snake_case)")
        elif match.group(1) != m.get("primitive"):
            problems.append(f"{m['name']}: the second part must be its primitive {m.get('primitive')!r}")
    return problems


def known_gaps(path=KNOWN_GAPS):
    gaps = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    key, _, reason = line.partition(" ")
                    gaps[key] = reason.strip()
    return gaps


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_index(mutants, gaps):
    lines = [BEGIN, "",
             "| mutant | suite | difficulty | defect | declared catchers | catchers run under | source |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for m in mutants:
        catches = ", ".join(f"`{c}`" for c in m.get("catches") or [])
        if not catches:
            catches = "none: known gap (harness/tests/known_gaps.txt)" if m["name"] in gaps else "none"
        under = f"`--chaos {m['catches_under']}`" if m.get("catches_under") else ""
        lines.append(f"| `{m['name']}` | {m['suite']} | {m.get('difficulty', '')} | {_cell(m.get('description', ''))} "
                     f"| {catches} | {under} | {_cell(m.get('source', ''))} |")
    lines += ["", END]
    return "\n".join(lines)


def splice(doc, table):
    """doc with the text between the markers replaced by table; UsageError when the markers are missing."""
    start, end = doc.find(BEGIN), doc.find(END)
    if start < 0 or end < start:
        raise UsageError(f"{DOC}: the mutant index markers are missing (add the BEGIN and END lines)")
    return doc[:start] + table + doc[end + len(END):]


def regenerate_baseline(baseline, ids):
    """(new baseline, stale ids, added ids): rows for exactly `ids`; measured rows kept, stale ones dropped, new
    ones put under `unrated`."""
    want = set(ids)
    new = dict(baseline)
    stale = []
    for key in ("reliably_killed", "unreliable", "undetectable", "unrated", "hang_detected"):
        rows = baseline.get(key, {})
        stale += [i for i in rows if i not in want and key != "hang_detected"]
        new[key] = {i: v for i, v in rows.items() if i in want}
    rated = set(new["reliably_killed"]) | set(new["undetectable"]) | set(new["unreliable"])
    added = [i for i in ids if i not in rated and i not in new["unrated"]]
    for i in added:
        new["unrated"][i] = UNRATED_NOTE
    for key in ("unrated", "unreliable"):
        if not new[key]:
            del new[key]
    return new, sorted(set(stale)), added


def mentioned(paths=None):
    """{mutant name: [file, ...]} for every mutant name written in the given files (directories: their *.md)."""
    found = {}
    for path in paths or MENTIONING:
        files = ([os.path.join(path, f) for f in sorted(os.listdir(path)) if f.endswith(".md")]
                 if os.path.isdir(path) else [path] if os.path.exists(path) else [])
        for file in files:
            with open(file, encoding="utf-8") as f:
                for name in set(MENTION_RE.findall(f.read())):
                    found.setdefault(name, []).append(os.path.relpath(file, ROOT))
    return found


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read it as JSON ({exc})") from None


def problems(suites, doc_text, baseline, mentions, gaps):
    """Every drift between the listing and the files derived from it, one line each."""
    mutants, ids = collect(suites)
    found = naming_problems(mutants)
    if splice(doc_text, render_index(mutants, gaps)) != doc_text:
        found.append("docs/mutants.md: the mutant index differs from --list-backends (run --write)")
    regenerated, stale, added = regenerate_baseline(baseline, ids)
    found += [f"detect baseline: {i} is no catcher instance any more (run --write)" for i in stale]
    found += [f"detect baseline: catcher instance {i} has no row (run --write, then rate it)" for i in added]
    if regenerated.get("hang_detected") != baseline.get("hang_detected", {}):
        found.append("detect baseline: hang_detected names instances that are not catchers (run --write)")
    names = {m["name"] for m in mutants}
    for name, files in sorted(mentions.items()):
        if name not in names:
            found.append(f"{', '.join(sorted(files))}: names {name}, which no suite lists")
    return found


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m jostle.mutant_facts", description=__doc__.split("\n\n")[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 when the docs or the baseline drifted")
    mode.add_argument("--write", action="store_true", help="regenerate docs/mutants.md's index and the baseline rows")
    p.add_argument("--build-dir", default=None, help="the build whose bin/jostle-* to list (default build/release)")
    args = p.parse_args(argv)
    try:
        suites = discovery.discover(discovery.find_binaries(args.build_dir or discovery.default_build_dir()))
        with open(DOC, encoding="utf-8") as f:
            doc = f.read()
        baseline = load_json(BASELINE)
        gaps = known_gaps()
        if args.write:
            mutants, ids = collect(suites)
            with open(DOC, "w", encoding="utf-8") as f:
                f.write(splice(doc, render_index(mutants, gaps)))
            new, stale, added = regenerate_baseline(baseline, ids)
            with open(BASELINE, "w", encoding="utf-8") as f:
                json.dump(new, f, indent=2, ensure_ascii=False)
                f.write("\n")
            print(f"mutant_facts: {len(mutants)} mutants, {len(ids)} catcher instances; baseline: "
                  f"{len(stale)} stale rows dropped, {len(added)} new rows unrated")
            left = naming_problems(mutants)
        else:
            left = problems(suites, doc, baseline, mentioned(), gaps)
        for line in left:
            print(f"mutant_facts: {line}", file=sys.stderr)
        if left:
            return 1
        if args.check:
            print("mutant_facts: docs/mutants.md and the detect baseline match --list-backends")
        return 0
    except JostleError as exc:
        print(f"mutant_facts: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
