"""The shape the architecture promises (docs/architecture.md, "The runner half"), checked:

- runner -> reports: only the CLI imports the reports package;
- reports -> runner: reports import only the neutral modules (records, the store and its query layer, stats and
  the small helpers), never a pipeline stage (session, plan, execute, classify, ...);
- the neutral modules import only each other, so neither side can pull the other in through them;
- no source file over MAX_LINES lines without a reason stated near its top ("Long because: ...").
"""

import ast
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = os.path.join(REPO, "runner", "jostle")
REPORTS = os.path.join(REPO, "reports")
# Shared by the runner and the reports: typed records, the store (and its schema), the query layer, statistics,
# the event protocol's definitions, text helpers.
NEUTRAL = {"errors", "outcome", "protocol", "query", "query_detect", "records", "sanitizers", "stats", "store",
           "store_schema", "text", "units"}
# Modules allowed to import both halves.
BOTH = {"cli", "__main__"}
MAX_LINES = 400
REASON = re.compile(r"long because", re.IGNORECASE)
SOURCE_DIRS = ("runner", "reports", "harness", "suites", "ci", "bench", "examples", "docs")
SOURCE_EXT = (".py", ".cc", ".h", ".c", ".sh", ".js", ".mjs")


def _imports(path):
    """(package, module) pairs for every import in a file, function-level ones included."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                found.add((parts[0], parts[1] if len(parts) > 1 else None))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add((parts[0], parts[1]))
            else:
                found.update((parts[0], alias.name) for alias in node.names)
    return found


def _modules(directory):
    return sorted(name[:-3] for name in os.listdir(directory) if name.endswith(".py"))


def _graph():
    graph = {}
    for name in _modules(RUNNER):
        graph[("jostle", name)] = _imports(os.path.join(RUNNER, name + ".py"))
    for name in _modules(REPORTS):
        graph[("reports", name)] = _imports(os.path.join(REPORTS, name + ".py"))
    return graph


def test_only_the_cli_imports_the_reports():
    offenders = [f"jostle/{name}.py imports reports.{what or ''}"
                 for (pkg, name), imports in _graph().items() if pkg == "jostle" and name not in BOTH
                 for target, what in imports if target == "reports"]
    assert not offenders, offenders


def test_reports_import_only_neutral_runner_modules():
    offenders = [f"reports/{name}.py imports jostle.{what}"
                 for (pkg, name), imports in _graph().items() if pkg == "reports"
                 for target, what in imports if target == "jostle" and what not in NEUTRAL]
    assert not offenders, offenders


def test_neutral_modules_import_only_neutral_modules():
    offenders = [f"jostle/{name}.py imports {target}.{what}"
                 for (pkg, name), imports in _graph().items() if pkg == "jostle" and name in NEUTRAL
                 for target, what in imports
                 if target == "reports" or (target == "jostle" and what not in NEUTRAL)]
    assert not offenders, offenders


def test_the_rule_sees_a_violation(tmp_path):
    """The checker itself: an import of a pipeline module from a report is found (function-level too)."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from jostle import session\n    import reports.html\n")
    assert {("jostle", "session"), ("reports", "html")} <= _imports(str(bad))


def _long_files_without_reason():
    missing = []
    for top in SOURCE_DIRS:
        for root, dirs, files in os.walk(os.path.join(REPO, top)):
            dirs[:] = [d for d in dirs if not d.startswith((".", "build", "node_modules", "__pycache__"))]
            for name in files:
                if not name.endswith(SOURCE_EXT):
                    continue
                path = os.path.join(root, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    lines = f.readlines()
                if len(lines) > MAX_LINES and not any(REASON.search(line) for line in lines[:40]):
                    missing.append(f"{os.path.relpath(path, REPO)} ({len(lines)} lines)")
    return missing


def test_no_long_module_without_a_reason_at_its_top():
    missing = _long_files_without_reason()
    assert not missing, (f"over {MAX_LINES} lines with no 'Long because: ...' in the first 40 lines "
                         f"(split it, or say why it is one file): {', '.join(missing)}")


@pytest.mark.parametrize("reason", [False, True])
def test_the_size_rule_sees_a_long_file(tmp_path, monkeypatch, reason):
    folder = tmp_path / "runner"
    folder.mkdir()
    body = ["# Long because: one table.\n"] if reason else []
    (folder / "big.py").write_text("".join(body + ["x = 1\n"] * (MAX_LINES + 1)))
    monkeypatch.setattr(__import__(__name__), "REPO", str(tmp_path))
    assert _long_files_without_reason() == ([] if reason else [f"runner/big.py ({MAX_LINES + 1 + reason} lines)"])
