"""Sanitizer options, report parsing, signatures and suppressions: on canned text and on real TSan/ASan."""

import glob
import os
import shutil
import subprocess

import pytest

from jostle import sanitizers
from jostle.errors import UsageError
from jostle.records import RunRecord

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TSAN_RACE = """==================
WARNING: ThreadSanitizer: data race (pid=4242)
  Write of size 4 at 0x55d0c0ffee10 by thread T1:
    #0 bump(void*) suites/futex/race.cc:12:10 (jostle-futex+0x1234)
    #1 worker suites/futex/race.cc:20:3 (jostle-futex+0x1300)
    #2 <null> <null> (libtsan.so.2+0x3d3c9)

  Previous read of size 4 at 0x55d0c0ffee10 by main thread:
    #0 main suites/futex/race.cc:30:7 (jostle-futex+0x1400)

  Location is global 'shared' of size 4 at 0x55d0c0ffee10 (jostle-futex+0x4010)

  Thread T1 (tid=4244, running) created by main thread at:
    #0 pthread_create ../../../../src/libsanitizer/tsan/tsan_interceptors_posix.cpp:1001 (libtsan.so.2+0x5e686)
    #1 main suites/futex/race.cc:28:3 (jostle-futex+0x13f0)

SUMMARY: ThreadSanitizer: data race suites/futex/race.cc:12:10 in bump(void*)
==================
"""

ASAN_UAF = """=================================================================
==777==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x55 bp 0x7ff sp 0x7fe
READ of size 4 at 0x602000000010 thread T0
    #0 0x55d0 in main /src/uaf.cc:5
    #1 0x7f00 in __libc_start_main (/lib/x86_64-linux-gnu/libc.so.6+0x23d0a)

0x602000000010 is located 0 bytes inside of 4-byte region [0x602000000010,0x602000000014)
freed by thread T0 here:
    #0 0x7f11 in operator delete[](void*) (/lib/libasan.so.8+0xb8fd)
    #1 0x55c0 in main /src/uaf.cc:4

SUMMARY: AddressSanitizer: heap-use-after-free /src/uaf.cc:5 in main
"""


def test_race_report_is_parsed_with_both_access_stacks():
    reports = sanitizers.parse_reports(TSAN_RACE)
    assert len(reports) == 1
    r = reports[0]
    assert (r["tool"], r["type"]) == ("tsan", "data race")
    assert r["summary"].startswith("SUMMARY: ThreadSanitizer: data race")
    assert r["stacks"] == [["bump(void*)@race.cc", "worker@race.cc"], ["main@race.cc"]]
    assert r["signature"] == "tsan:data race:bump(void*)@race.cc>worker@race.cc|main@race.cc"


def test_race_signature_ignores_order_addresses_pids_and_lines():
    swapped = TSAN_RACE.replace("Write of size 4", "Xrite").replace("Previous read", "Read")
    # Same race seen the other way round: the main thread's access first.
    other = """WARNING: ThreadSanitizer: data race (pid=1)
  Read of size 4 at 0x1 by main thread:
    #0 main suites/futex/race.cc:31:9 (jostle-futex+0x99)
  Previous write of size 4 at 0x1 by thread T7:
    #0 bump(void*) suites/futex/race.cc:13:1 (jostle-futex+0x88)
    #1 worker suites/futex/race.cc:21:3 (jostle-futex+0x77)
SUMMARY: ThreadSanitizer: data race suites/futex/race.cc:13:1 in bump(void*)
"""
    first = sanitizers.parse_reports(TSAN_RACE)[0]["signature"]
    assert sanitizers.parse_reports(other)[0]["signature"] == first
    assert sanitizers.parse_reports(swapped)[0]["signature"] != ""


def test_asan_report_uses_the_access_stack():
    r = sanitizers.parse_reports(ASAN_UAF)[0]
    assert (r["tool"], r["type"]) == ("asan", "heap-use-after-free")
    assert r["stacks"] == [["main@uaf.cc", "__libc_start_main"]]


def test_scan_keeps_old_fields_and_adds_reports():
    found = sanitizers.scan("noise\n" + TSAN_RACE + ASAN_UAF)
    assert found["tool"] == "tsan" and found["kind"] == "data race" and found["tool_error"] is None
    assert [r["tool"] for r in found["reports"]] == ["tsan", "asan"]
    fatal = sanitizers.scan("FATAL: ThreadSanitizer: unexpected memory mapping 0x1-0x2\n")
    assert fatal["tool_error"].startswith("FATAL") and fatal["reports"] == []


def test_ubsan_message_numbers_are_masked():
    a = sanitizers.parse_reports("x.cc:3:5: runtime error: signed integer overflow: 2147483647 + 1 cannot be\n")
    b = sanitizers.parse_reports("x.cc:3:5: runtime error: signed integer overflow: 2147483600 + 99 cannot be\n")
    assert a[0]["signature"] == b[0]["signature"] and a[0]["tool"] == "ubsan"


def test_collect_counts_runs_and_instances():
    report = {"tool": "tsan", "kind": "data race", "summaries": [], "tool_error": None,
              "reports": sanitizers.parse_reports(TSAN_RACE)}
    runs = [RunRecord(session="S", seq=seq, code="SANITIZER", instance=iid, sanitizer=report)
            for seq, iid in enumerate("aba", 1)]
    runs.append(RunRecord(session="S", seq=4, code="PASS", instance="c", suppressed={"race:x": 2}))
    (entry,) = sanitizers.collect(runs)
    assert entry["count"] == 3 and entry["runs"] == 3 and entry["instances"] == ["a", "b"]
    assert "WARNING: ThreadSanitizer" in entry["sample"]
    assert sanitizers.collect_suppressions(runs) == {"race:x": 2}


def test_suppression_hits_from_tsan_and_lsan_output():
    text = ("ThreadSanitizer: Matched 3 suppressions (pid=5):\n2 race:bump\n1 race_top:other\n\n"
            "-----\nSuppressions used:\n  count      bytes template\n      4        64 leaky_init\n-----\n")
    assert sanitizers.suppression_hits(text) == {"race:bump": 2, "race_top:other": 1, "leak:leaky_init": 4}


def test_suppression_entries_need_a_reason_and_an_owner(tmp_path):
    good = tmp_path / "good.supp"
    good.write_text("# header\n\n# reason: known libfoo race, bug 12\n# owner: ana\nrace:libfoo\n")
    assert sanitizers.load_suppressions(str(good)) == [
        {"kind": "race", "pattern": "libfoo", "line": 5, "reason": "known libfoo race, bug 12", "owner": "ana"}]
    bad = tmp_path / "bad.supp"
    bad.write_text("# reason: because\nrace:bar\n")
    with pytest.raises(UsageError, match=r"line 2: suppression 'race:bar' has no # owner:"):
        sanitizers.load_suppressions(str(bad))


def test_checked_in_suppression_files_are_valid():
    files = sanitizers.suppression_files(REPO)
    assert set(files) == {"TSAN_OPTIONS", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}
    for path in files.values():
        sanitizers.load_suppressions(path)


def test_options_put_the_users_last_and_log_per_run():
    env = sanitizers.options_env({"ASAN_OPTIONS": "detect_leaks=0"}, log_dir="/r", root="/repo/",
                                 suppressions={"ASAN_OPTIONS": "/repo/ci/asan.supp"})
    asan = env["ASAN_OPTIONS"].split(":")
    assert asan[-1] == "detect_leaks=0" and "log_path=/r/asan" in asan
    assert "strip_path_prefix=/repo/" in asan and "suppressions=/repo/ci/asan.supp" in asan


# -- the real thing ---------------------------------------------------------------------------------

RACE_C = r"""
#include <pthread.h>
int shared;
__attribute__((noinline)) void bump(void) { shared++; }
void *worker(void *arg) { (void)arg; bump(); return 0; }
int main(void) { pthread_t t; pthread_create(&t, 0, worker, 0); shared++; pthread_join(t, 0); return 0; }
"""


def _compile(tmp_path, flag):
    cc = shutil.which("gcc")
    if cc is None:
        pytest.skip("gcc is not installed")
    src, exe = tmp_path / "probe.c", tmp_path / "probe"
    src.write_text(RACE_C if flag == "thread" else
                   "#include <stdlib.h>\nint main(void){int *p=malloc(4);free(p);return p[0];}\n")
    done = subprocess.run([cc, f"-fsanitize={flag}", "-g", "-O1", "-pthread", str(src), "-o", str(exe)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot build a -fsanitize={flag} probe: {done.stderr.strip()[:200]}")
    return str(exe)


def _run_probe(exe, log_dir, suppressions=None):
    os.makedirs(log_dir, exist_ok=True)
    env = sanitizers.options_env(os.environ, log_dir=log_dir, root=os.path.dirname(exe), suppressions=suppressions)
    done = subprocess.run([exe], capture_output=True, text=True, env=env, check=False, timeout=60)
    text = done.stderr + sanitizers.read_logs(log_dir, 1 << 20)
    if "unexpected memory mapping" in text:
        pytest.skip("TSan cannot run on this kernel (vm.mmap_rnd_bits); see ./jostle doctor")
    return done, text


def test_real_tsan_race_has_a_stable_signature_and_can_be_suppressed(tmp_path):
    exe = _compile(tmp_path, "thread")
    signatures = set()
    for i in range(2):
        done, text = _run_probe(exe, str(tmp_path / f"run{i}"))
        assert done.returncode == 66 and "data race" not in done.stderr   # the report went to the log file
        assert glob.glob(str(tmp_path / f"run{i}" / "tsan.*"))
        (report,) = sanitizers.parse_reports(text)
        assert report["type"] == "data race" and "bump@probe.c" in report["signature"]
        signatures.add(report["signature"])
    assert len(signatures) == 1
    supp = tmp_path / "tsan.supp"
    supp.write_text("# reason: test\n# owner: tests\nrace:bump\n")
    done, text = _run_probe(exe, str(tmp_path / "supp"), {"TSAN_OPTIONS": str(supp)})
    assert done.returncode == 0 and sanitizers.parse_reports(text) == []
    assert sanitizers.suppression_hits(text) == {"race:bump": 1}


def test_real_asan_use_after_free(tmp_path):
    exe = _compile(tmp_path, "address")
    done, text = _run_probe(exe, str(tmp_path / "run"))
    assert done.returncode == 67
    (report,) = sanitizers.parse_reports(text)
    assert report["type"] == "heap-use-after-free" and report["stacks"][0][0] == "main@probe.c"
