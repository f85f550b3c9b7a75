"""Plugins through the runner: explicit paths, default selection, the unused-table warning, `plugin check`.

The selection and warning logic is tested on records; the end-to-end tests use the real harness and the
in-tree plugins when a build exists (they skip otherwise)."""

import glob
import json
import os

import pytest

from fakebuild import jostle
from jostle import discovery, selection
from jostle.errors import UsageError

BUILD = os.environ.get("JOSTLE_BUILD_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "release")
EXAMPLE = os.path.join(BUILD, "plugins", "libjostle-plugin-example.so")
V1 = os.path.join(BUILD, "plugins", "libjostle-plugin-example-v1.so")
MUTANT_FUTEX = os.path.join(BUILD, "plugins", "libjostle-plugin-mutant-futex_wake_zero.so")
real = pytest.mark.skipif(not (glob.glob(os.path.join(BUILD, "bin", "jostle-*")) and os.path.exists(EXAMPLE)),
                          reason=f"no harness binaries and example plugin in {BUILD} (build first)")


def _inst(backend, plugin=None):
    rec = {"id": f"s/c@{backend}", "suite": "s", "case": "c", "backend": backend, "mutant": False}
    if plugin:
        rec["plugin"] = plugin
    return rec


def _suite(instances, plugins=()):
    s = discovery.Suite("s", "bin")
    s.instances = instances
    s.plugins = list(plugins)
    return s


def test_plugin_selects_only_its_instances_unless_backend_given():
    suites = [_suite([_inst("std"), _inst("mylib", "mylib"), _inst("futex+mylib", "mylib")])]
    picked = selection.select(suites, plugins=("/x/libmylib.so",))
    assert [i["backend"] for i in picked] == ["mylib", "futex+mylib"]
    picked = selection.select(suites, backend_globs=("std", "mylib"), plugins=("/x/libmylib.so",))
    assert [i["backend"] for i in picked] == ["std", "mylib"]
    assert len(selection.select(suites)) == 3


def test_plugin_with_no_runnable_table_is_a_usage_error():
    with pytest.raises(UsageError, match="offer no table"):
        selection.select([_suite([_inst("std")])], plugins=("/x/libmylib.so",))


def test_a_table_no_suite_runs_is_warned_about():
    info = {"name": "mylib", "tables": ["futex", "semaphore"]}
    suites = [_suite([], [dict(info, unused_tables=["semaphore"])]),
              _suite([], [dict(info, unused_tables=["futex", "semaphore"])])]
    assert selection.plugin_warnings(suites) == [
        "plugin 'mylib' offers the semaphore table, but no case of the selected suites runs it"]


def test_bare_name_and_missing_file_are_one_line_usage_errors(tmp_path):
    for arg, words in (("libm.so.6", "bare name"), (str(tmp_path / "nope.so"), "no such file")):
        done = jostle("list", "--build-dir", str(tmp_path), "--plugin", arg)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and words in done.stderr


@real
def test_list_with_plugin_shows_every_suite_and_only_plugin_instances():
    done = jostle("list", "--json", "--build-dir", BUILD, "--plugin", EXAMPLE)
    assert done.returncode == 0, done.stderr
    listed = [json.loads(line) for line in done.stdout.splitlines()]
    assert listed and all(i.get("plugin") == "example" for i in listed)
    assert {i["suite"] for i in listed} >= {"futex", "condvar", "atomics", "agents"}
    prims = {i["primitive"] for i in listed}
    for want in ("futex", "mutex", "condvar", "semaphore", "event", "waitgroup", "channel", "thread", "safepoint"):
        assert want in prims, (want, sorted(prims))


@real
def test_version1_plugin_loads_and_lists():
    done = jostle("list", "--json", "--build-dir", BUILD, "--suite", "condvar", "--plugin", V1)
    assert done.returncode == 0, done.stderr
    assert any(json.loads(line)["backend"] == "example" for line in done.stdout.splitlines())


@real
def test_plugin_check_reports_tables_cases_and_probes():
    done = jostle("plugin", "check", EXAMPLE, "--build-dir", BUILD, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "offers: futex, mutex" in done.stdout
    assert "probe futex: futex/wake_n_exact@example: ok" in done.stdout
    assert "every probe passed" in done.stdout


@real
def test_plugin_check_catches_a_bare_n_passed_to_futex_wake():
    if not os.path.exists(MUTANT_FUTEX):
        pytest.skip("mutant plugins not built")
    done = jostle("plugin", "check", MUTANT_FUTEX, "--build-dir", BUILD, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "probe futex: futex/wake_n_exact@mutant_futex_wake_zero: FAILED" in done.stdout


@real
def test_plugin_check_of_a_broken_plugin_is_one_line(tmp_path):
    broken = os.path.join(BUILD, "plugins", "libjostle-plugin-broken2.so")
    done = jostle("plugin", "check", broken, "--build-dir", BUILD)
    assert done.returncode == 3
    assert "null 'lock'" in done.stderr and "null 'lock'" not in done.stdout
    assert "Traceback" not in done.stderr


@real
def test_plugin_check_of_a_file_that_is_no_library_says_so_on_stderr(tmp_path):
    fake = tmp_path / "libfake.so"
    fake.write_text("not an ELF file\n")
    done = jostle("plugin", "check", str(fake), "--build-dir", BUILD)
    assert done.returncode == 3
    assert "cannot load the library" in done.stderr and done.stdout.strip() == ""
    assert "Traceback" not in done.stderr
