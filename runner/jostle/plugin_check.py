"""`jostle plugin check PATH`: load a plugin into every suite binary, validate its tables, run one quick iteration
of each table's probe cases on it, and print what it offers and which cases will run.

The harness does the loading and the validation (one line per mistake, exit 3); this module asks each suite
binary with --plugin-info and --list, and runs a probe per offered table: a case chosen because it exercises
every operation of the table once and catches the common mistakes (a bare n passed to FUTEX_WAKE, a timed call
that returns early, a wake that is lost).
"""

import json
import subprocess
import sys

from jostle import discovery
from jostle.errors import EXIT_INFRA, EXIT_OK, UsageError

# table -> probe cases ("suite/case"); the first instance of each on the plugin runs one iteration.
PROBES = {
    "futex": ["futex/wake_n_exact", "futex/timed_wait_timeout"],
    "mutex": ["condvar/mutex_smoke"],
    "rwlock": ["condvar/rwlock_smoke"],
    "condvar": ["condvar/cv_signal"],
    "semaphore": ["futex/semaphore_conservation"],
    "event": ["futex/event_state_machine"],
    "waitgroup": ["futex/wg_all_waiters_released"],
    "owned_mutex": ["condvar/mutex_owner_semantics"],
    "channel": ["condvar/channel_close_wakes_all"],
    "thread": ["agents/thread_ids_unique"],
    "executor": ["agents/vt_precedence"],
    "waiter_list": ["atomics/wait_fifo"],
    "atomics": ["atomics/rmw_counter_storm"],
    "safepoint": ["agents/safepoint_stopped_phase"],
    "async": ["futex/async_notify_first"],
}
PROBE_TIMEOUT_S = 20


def _ask(binary, args):
    try:
        return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "", f"{binary} did not answer within 60 s")


def _to_stderr(line):
    print(line, file=sys.stderr)


def check(build_dir, path, out=print, err=_to_stderr):
    """Returns the exit code: 0 all probes passed, 1 a probe failed, 3 the plugin does not load (said on `err`)."""
    binaries = discovery.find_binaries(build_dir)
    if not binaries:
        raise UsageError(f"no suite binaries under {build_dir}/bin (build first: cmake --build --preset release)")
    info, per_table, loaded, unused = {}, {}, False, None
    for suite, binary in sorted(binaries.items()):
        proc = _ask(binary, ["--plugin", path, "--plugin-info"])
        if proc.returncode != 0:
            err(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else
                f"jostle: {suite}: --plugin-info exited {proc.returncode}")
            return EXIT_INFRA
        loaded = True
        for line in filter(None, proc.stdout.splitlines()):
            info = json.loads(line)
            unused = set(info.get("unused_tables", [])) if unused is None else unused & set(info.get("unused_tables", []))
        listed = _ask(binary, ["--plugin", path, "--list"])
        for line in filter(None, listed.stdout.splitlines()):
            inst = json.loads(line)
            if inst.get("plugin"):
                per_table.setdefault(inst["primitive"], []).append((suite, binary, inst))
    if not loaded or not info:
        err("jostle: the plugin loaded nowhere")
        return EXIT_INFRA
    out(f"plugin {info['name']!r} (ABI version {info['abi_version']}) from {info['path']}")
    out(f"offers: {', '.join(info['tables'])}")
    total = sum(len(v) for v in per_table.values())
    out(f"{total} instances will run on it with ./jostle run --plugin {path}:")
    for prim in sorted(per_table):
        cases = sorted({f"{i['suite']}/{i['case']}" for _, _, i in per_table[prim]})
        out(f"  {prim}: {len(per_table[prim])} instances ({', '.join(cases[:6])}{', ...' if len(cases) > 6 else ''})")
    failed = 0
    everything = [x for v in per_table.values() for x in v]
    for table in info["tables"]:
        probes = PROBES.get(table, [])
        ran = False
        for case in probes:
            hits = [(b, i) for _, b, i in everything if f"{i['suite']}/{i['case']}" == case]
            if not hits:
                continue
            binary, inst = hits[0]
            ran = True
            proc = subprocess.run([binary, "--plugin", path, "--run", inst["id"], "--iterations", "1", "--seed", "1",
                                   "--timeout", f"{PROBE_TIMEOUT_S}s", "--deadlock-after", "2s"],
                                  capture_output=True, text=True, timeout=PROBE_TIMEOUT_S + 30)
            verdict = {0: "ok", 5: "unsupported"}.get(proc.returncode, f"FAILED (exit {proc.returncode})")
            out(f"probe {table}: {inst['id']}: {verdict}")
            if proc.returncode not in (0, 5):
                failed += 1
                for line in (proc.stdout + proc.stderr).strip().splitlines()[-6:]:
                    out(f"    {line}")
        if not ran:
            out(f"probe {table}: no probe case instantiated for this table "
                f"(WARNING: the table is loaded but no case runs it)" if table in (unused or ())
                else f"probe {table}: no quick probe; its cases run with ./jostle run --plugin")
    out("plugin check: " + ("every probe passed" if not failed else f"{failed} probe(s) failed"))
    return EXIT_OK if not failed else 1
