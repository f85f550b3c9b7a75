#!/usr/bin/python3
"""ctest plugin.mutants-caught: each in-tree mutant plugin (harness/backends/plugin/examples/mutant_plugin.c) is
caught by its declared case, run on the mutant plugin's own backend. A failing check, a FORBIDDEN outcome, a
watchdog hang or a crash counts as caught; each catcher gets up to ATTEMPTS runs with fresh seeds.

usage: plugin_mutants.py BUILD_DIR [KIND...]
"""
import json
import os
import subprocess
import sys

ATTEMPTS = int(os.environ.get("JOSTLE_MUTANT_ATTEMPTS", "6"))
CAUGHT = {1, 4}
CRASH_MIN = 128

# kind -> (suite binary, case id "suite/case"); the same table as docs/mutants.md "Plugin ABI".
# Built but not gated: escaped its catcher in 6/6 runs when measured (docs/mutants.md, known gap).
KNOWN_GAPS = {"cv_claims_keeps": "condvar/cv_timeout_signal_handoff"}

CATCHERS = {
    "futex_wake_zero": ("futex", "futex/wake_n_exact"),
    "timed_ms_deadline": ("condvar", "condvar/mutex_timed_not_early"),
    "sem_timeout_swallows": ("futex", "futex/semaphore_conservation"),
    "event_not_latched": ("futex", "futex/event_set_before_wait"),
    "wg_wake_one": ("futex", "futex/wg_all_waiters_released"),
    "recursive_unowned": ("condvar", "condvar/mutex_owner_semantics"),
    "close_wakes_one": ("condvar", "condvar/channel_close_wakes_all"),
    "cached_thread_id": ("agents", "agents/thread_ids_unique"),
    "lifo_notify": ("atomics", "atomics/wait_fifo"),
    "rmw_not_atomic": ("atomics", "atomics/rmw_counter_storm"),
    "safepoint_straggler": ("agents", "agents/safepoint_stopped_phase"),
    "async_drain_on_arm": ("futex", "futex/async_notify_first"),
}


def main():
    build, kinds = sys.argv[1], sys.argv[2:] or sorted(CATCHERS)
    failures = []
    for kind in kinds:
        suite, case = CATCHERS[kind]
        binary = os.path.join(build, "bin", f"jostle-{suite}")
        so = os.path.join(build, "plugins", f"libjostle-plugin-mutant-{kind}.so")
        listed = subprocess.run([binary, "--plugin", so, "--list"], capture_output=True, text=True)
        if listed.returncode != 0:
            failures.append(f"{kind}: --list exited {listed.returncode}: {listed.stderr.strip()}")
            continue
        ids = [r["id"] for r in map(json.loads, filter(None, listed.stdout.splitlines()))
               if r.get("plugin") == f"mutant_{kind}" and r["id"].split("@")[0] == case]
        if not ids:
            failures.append(f"{kind}: {case} has no instance on the mutant plugin")
            continue
        for inst in ids:
            codes = []
            for seed in range(1, ATTEMPTS + 1):
                proc = subprocess.run([binary, "--plugin", so, "--run", inst, "--seed", str(seed), "--timeout", "30s",
                                       "--quiet"], capture_output=True, text=True, timeout=120)
                code = proc.returncode if proc.returncode >= 0 else CRASH_MIN - proc.returncode
                codes.append(code)
                if code in CAUGHT or code >= CRASH_MIN:
                    break
            caught = codes[-1] in CAUGHT or codes[-1] >= CRASH_MIN
            print(f"{'caught' if caught else 'ESCAPED'} mutant_{kind} by {inst} (exit codes {codes})")
            if not caught:
                failures.append(f"{kind}: {inst} did not fail in {ATTEMPTS} runs (exit codes {codes})")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
