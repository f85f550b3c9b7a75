"""The runner over the real harness binaries, when a build exists: the protocol from both sides."""

import glob
import json
import os
import shutil
import subprocess

import pytest

from fakebuild import REPO, jostle

BUILD = os.environ.get("JOSTLE_BUILD_DIR") or os.path.join(REPO, "build", "release")
XSD = os.path.join(REPO, "reports", "tests", "junit-10.xsd")

pytestmark = pytest.mark.skipif(not glob.glob(os.path.join(BUILD, "bin", "jostle-*")),
                                reason=f"no harness binaries in {BUILD} (build first: ./jostle builds)")


def test_real_binaries_list_what_the_runner_needs():
    done = jostle("list", "--json", "--mutants", "--build-dir", BUILD)
    assert done.returncode == 0, done.stderr
    listed = [json.loads(line) for line in done.stdout.splitlines()]
    assert listed
    for inst in listed:
        assert inst["id"].startswith(f"{inst['suite']}/{inst['case']}@{inst['backend']}")
        assert inst["expect"] in ("pass", "fail", "informative")


def test_real_run_is_classified_and_reported(tmp_path):
    out = str(tmp_path / "out")
    done = jostle("run", "--build-dir", BUILD, "--out", out, "--budget", "20s", "--progress", "none",
                  "--seed", "1", timeout=300)
    # Whether the suites pass is the gate's business, not this test's: the runner must not fail to work.
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    with open(os.path.join(out, "results.jsonl"), encoding="utf-8") as f:
        runs = [r for r in map(json.loads, f) if r["type"] == "run"]
    assert runs and all(r["reason"] not in ("garbage", "exit-mismatch", "bad-end", "usage") for r in runs)
    if shutil.which("xmllint"):
        check = subprocess.run(["xmllint", "--noout", "--schema", XSD, os.path.join(out, "junit.xml")],
                               capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stderr
