"""The CI pipeline templates under ci/pipelines parse and call the gate; ci/quarantine.txt is readable."""

import os

import pytest

from jostle import cli

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PIPELINES = os.path.join(REPO, "ci", "pipelines")


def _scripts(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("run", "script", "after_script"):
                yield from (value if isinstance(value, list) else [value])
            else:
                yield from _scripts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _scripts(item)


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_pipeline_calls_the_gate_and_publishes_artifacts(name):
    yaml = pytest.importorskip("yaml", reason="python3-yaml is not installed")
    with open(os.path.join(PIPELINES, name), encoding="utf-8") as f:
        text = f.read()
    doc = yaml.safe_load(text)
    scripts = "\n".join(str(s) for s in _scripts(doc))
    assert "./jostle gate" in scripts and "--sanitizer tsan" in scripts
    assert "./jostle merge" in scripts and "./jostle dashboard" in scripts
    assert "junit.xml" in text and "report.html" in text and "gate.md" in text
    parser = cli.build_parser()
    # Every jostle command line in the file parses with today's CLI (shell variables replaced).
    for name, value in (("\\\n", " "), ("${{ matrix.shard }}", "0"), ('"$JOSTLE_BUDGET"', "10m"),
                        ("$((CI_NODE_INDEX - 1))/$CI_NODE_TOTAL", "0/4"), ("$CI_NODE_INDEX", "1"), ("$base", "")):
        scripts = scripts.replace(name, value)
    calls = [line.strip() for line in scripts.splitlines() if line.strip().startswith("./jostle ")]
    assert len(calls) >= 5
    for line in calls:
        parser.parse_args(line.split("||")[0].split()[1:])


def test_quarantine_file_reads():
    assert cli._read_quarantine(os.path.join(REPO, "ci", "quarantine.txt")) == []
