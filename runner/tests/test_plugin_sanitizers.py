"""Plugins under a sanitizer build (docs/writing-a-plugin.md, "Plugins under sanitizers").

A plugin built with the harness's sanitizer has its own races reported against its own source: the racy
fixture (harness/backends/plugin/examples/racy_plugin.c: a correct mutex with a contention counter written
outside the lock) must come out SANITIZER with a report naming its code, and the correct example plugin's
mutex cases must come out clean under the same build.

Needs a TSan build with its plugins (the tsan preset builds them with -fsanitize=thread): JOSTLE_TSAN_BUILD_DIR,
else build/tsan. ci/test.sh runs this file right after its TSan build; elsewhere it skips without one.
"""

import glob
import json
import os

import pytest

from fakebuild import REPO, jostle

TSAN = os.environ.get("JOSTLE_TSAN_BUILD_DIR") or os.path.join(REPO, "build", "tsan")
RACY = os.path.join(TSAN, "plugins", "libjostle-plugin-racy.so")
EXAMPLE = os.path.join(TSAN, "plugins", "libjostle-plugin-example.so")
# Asked for by name (ci/test.sh sets the variable), a missing build is a failure, not a skip.
pytestmark = pytest.mark.skipif(
    "JOSTLE_TSAN_BUILD_DIR" not in os.environ
    and not (os.path.exists(os.path.join(TSAN, "bin", "jostle-condvar")) and os.path.exists(RACY)),
    reason=f"no TSan build with plugins in {TSAN} (cmake --preset tsan && cmake --build --preset tsan)")

# Mutex cases with contention: enough lockers find the lock busy for the racy counter to be written
# concurrently in every run.
CASES = ("condvar/mutex_contended_exclusion@*", "condvar/mutex_churn@*")


def _run(tmp_path, plugin, name):
    out = tmp_path / name
    args = ["run", "--build-dir", TSAN, "--plugin", plugin, "--runs", "2", "--seed", "1",
            "--progress", "none", "--out", str(out)]
    for case in CASES:
        args += ["--case", case]
    done = jostle(*args, timeout=600)
    return done, out


def _store_text(out):
    texts = []
    for path in glob.glob(os.path.join(out, "**", "*"), recursive=True):
        if os.path.isfile(path) and path.endswith((".json", ".jsonl", ".xml")):
            with open(path, encoding="utf-8", errors="replace") as f:
                texts.append(f.read())
    return "\n".join(texts)


def _codes(out):
    codes = {}
    for path in glob.glob(os.path.join(out, "**", "*.jsonl"), recursive=True):
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict) and "instance" in rec and "code" in rec:
                    codes.setdefault(rec["instance"], set()).add(rec["code"])
    return codes


def test_a_race_inside_a_tsan_built_plugin_is_reported_against_the_plugin_source(tmp_path):
    done, out = _run(tmp_path, RACY, "racy")
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    codes = _codes(out)
    assert codes and any("SANITIZER" in c for c in codes.values()), (codes, done.stdout[-3000:])
    text = _store_text(out)
    assert "racy_lock" in text and "racy_plugin.c" in text, done.stdout[-3000:]
    # The repro line names the sanitizer build it came from (--build-dir), so replay reruns the TSan binary.
    assert "build=tsan" in done.stdout and "build=release" not in done.stdout, done.stdout[-3000:]


def test_the_correct_example_plugin_is_clean_under_the_same_build(tmp_path):
    done, out = _run(tmp_path, EXAMPLE, "example")
    codes = _codes(out)
    assert codes, done.stdout[-3000:] + done.stderr[-3000:]
    assert not any("SANITIZER" in c for c in codes.values()), codes
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
