"""Helpers for the runner tests: a build directory of fake harnesses and a way to call the CLI."""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FAKE = os.path.join(HERE, "fake_harness.py")
PYTHON = sys.executable


def make_build(root, suites=("fake",)):
    """A build directory holding only fake harness binaries (copies, so argv[0] names the suite)."""
    bin_dir = os.path.join(root, "bin")
    os.makedirs(bin_dir, exist_ok=True)
    for suite in suites:
        target = os.path.join(bin_dir, f"jostle-{suite}")
        shutil.copy(FAKE, target)
        os.chmod(target, 0o755)
    return root


def jostle(*args, env=None, timeout=120, **kwargs):
    """Run `python -m jostle ARGS` as users do; returns the CompletedProcess."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join([os.path.join(REPO, "runner"), REPO])
    full_env.pop("JOSTLE_PRESET", None)
    full_env.update(env or {})
    return subprocess.run([PYTHON, "-m", "jostle", *args], capture_output=True, text=True, env=full_env,
                          timeout=timeout, check=False, **kwargs)
