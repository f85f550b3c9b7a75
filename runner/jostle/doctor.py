"""`jostle doctor`: what this machine can do for concurrency testing, and why not when it cannot."""

import os
import shutil
import subprocess
import tempfile

from jostle import discovery

_TSAN_PROBE = r"""
#include <pthread.h>
int shared;
void *bump(void *) { shared++; return 0; }
int main() { pthread_t t; pthread_create(&t, 0, bump, 0); shared++; pthread_join(t, 0); return 0; }
"""
_ASAN_PROBE = "int main() { int *p = new int[1]; delete[] p; return 0; }\n"


def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return None


def _run(argv, timeout=20):
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    return done.returncode, (done.stdout + done.stderr).decode("utf-8", "replace")


def _first_line(text):
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def cpu_lines():
    affinity = sorted(os.sched_getaffinity(0))
    lines = [("cores (host)", str(os.cpu_count())),
             ("cpus usable (affinity)", f"{len(affinity)}: {_ranges(affinity)}  <- the default for -j")]
    cpuset = _read("/sys/fs/cgroup/cpuset.cpus.effective") or _read("/sys/fs/cgroup/cpuset/cpuset.effective_cpus")
    lines.append(("cgroup cpuset", cpuset or "not visible"))
    quota = _read("/sys/fs/cgroup/cpu.max")
    if quota and not quota.startswith("max"):
        limit, period = quota.split()
        lines.append(("cgroup cpu quota", f"{int(limit) / int(period):.2f} CPUs (runs may be throttled)"))
    load = os.getloadavg()
    lines.append(("load average", f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"))
    return lines


def _ranges(cpus):
    parts, start = [], None
    for i, cpu in enumerate(cpus):
        if start is None:
            start = cpu
        if i + 1 == len(cpus) or cpus[i + 1] != cpu + 1:
            parts.append(str(start) if start == cpu else f"{start}-{cpu}")
            start = None
    return ",".join(parts)


def perf_lines():
    paranoid = _read("/proc/sys/kernel/perf_event_paranoid")
    lines = [("perf_event_paranoid", paranoid if paranoid is not None else "not readable")]
    if shutil.which("perf"):
        code, out = _run(["perf", "stat", "-x", ",", "-e", "instructions:u", "true"])
        if code == 0 and "not supported" not in out and "<not counted>" not in out:
            verdict = "usable"
        elif "not supported" in out:
            verdict = "not usable: perf reports instructions:u as <not supported> (no PMU exposed, e.g. in a VM)"
        else:
            verdict = f"not usable: {_first_line(out) or 'perf failed'}"
        lines.append(("hardware counters", verdict))
    else:
        lines.append(("hardware counters", "unknown (perf not installed)"))
    rr = shutil.which("rr")
    if rr is None:
        lines.append(("rr", "not installed (apt-get install rr); record/replay amplification is off"))
    else:
        code, out = _run([rr, "record", "-n", "--", "true"], timeout=30)
        lines.append(("rr", "can record" if code == 0 else f"cannot record here: {_first_line(out)}"
                      " (rr needs hardware performance counters; chaos-mode amplification is off)"))
    return lines


def _compiler_version(cc):
    code, out = _run([cc, "--version"])
    return _first_line(out) if code == 0 else None


def sanitizer_lines(quick):
    lines = []
    compilers = [(cc, _compiler_version(cc)) for cc in ("g++", "clang++") if shutil.which(cc)]
    for cc, version in compilers:
        lines.append((f"compiler {cc}", version or "present, but --version failed"))
    if not compilers:
        lines.append(("compilers", "neither g++ nor clang++ found"))
    if shutil.which("gcc"):
        for runtime in ("libtsan.so", "libasan.so", "libubsan.so"):
            code, out = _run(["gcc", f"-print-file-name={runtime}"])
            path = out.strip() if code == 0 else ""
            lines.append((f"runtime {runtime}", path if os.path.isabs(path) and os.path.exists(path) else "missing"))
    mmap_bits = _read("/proc/sys/vm/mmap_rnd_bits")
    if mmap_bits:
        note = "" if int(mmap_bits) <= 28 else \
            " (TSan may fail with 'unexpected memory mapping': sysctl vm.mmap_rnd_bits=28)"
        lines.append(("vm.mmap_rnd_bits", mmap_bits + note))
    if quick or not compilers:
        return lines
    cc = compilers[0][0]
    with tempfile.TemporaryDirectory(prefix="jostle-doctor-") as tmp:
        for name, flag, source, extra in (("tsan", "thread", _TSAN_PROBE, ["-pthread"]),
                                          ("asan", "address", _ASAN_PROBE, [])):
            src = os.path.join(tmp, f"{name}.cc")
            exe = os.path.join(tmp, name)
            with open(src, "w", encoding="utf-8") as f:
                f.write(source)
            code, out = _run([cc, f"-fsanitize={flag}", "-g", "-O1", *extra, src, "-o", exe], timeout=60)
            if code != 0:
                lines.append((f"{name} probe", f"does not compile with {cc}: {_first_line(out)}"))
                continue
            code, out = _run([exe])
            if name == "tsan":
                verdict = tsan_verdict(code, out, mmap_bits)
            else:
                ok = code == 0
                verdict = "works" if ok else f"fails (exit {code}): {_first_line(out)}"
            lines.append((f"{name} probe ({cc})", verdict))
    return lines


def tsan_verdict(code, out, mmap_bits):
    """What the TSan probe's exit code and output say about ThreadSanitizer on this kernel."""
    if "data race" in out:
        return f"works on this kernel (vm.mmap_rnd_bits={mmap_bits or '?'}; the probe's race was reported)"
    if "unexpected memory mapping" in out or code == 139:
        return (f"CANNOT RUN on this kernel (vm.mmap_rnd_bits={mmap_bits or '?'}): "
                f"{_first_line(out) or 'exit ' + str(code)}; fix: `sudo sysctl vm.mmap_rnd_bits=28`, "
                "or run jostle under `setarch $(uname -m) -R`; until then every tsan run is an ERROR, never a race")
    return f"runs but reported nothing (exit {code}): {_first_line(out)}"


def tool_lines():
    lines = []
    for tool, use in (("gdb", "hang stacks"), ("eu-stack", "hang stacks (fallback)"), ("valgrind", "optional"),
                      ("cmake", "build"), ("xmllint", "JUnit schema check in tests"),
                      ("chromium", "dashboard browser test"), ("parallel", "GNU parallel, scale-out recipe")):
        path = shutil.which(tool)
        lines.append((tool, f"{path} ({use})" if path else f"missing ({use})"))
    scope = _read("/proc/sys/kernel/yama/ptrace_scope")
    if scope not in (None, "0") and os.geteuid() != 0:
        lines.append(("ptrace_scope", f"{scope}: gdb may not attach to hung runs (stacks will be missing)"))
    return lines


def build_lines(build_dir):
    try:
        binaries = discovery.find_binaries(build_dir)
    except Exception as exc:  # noqa: BLE001 - doctor reports every problem as a line, never stops
        return [("harness", str(exc))]
    lines = [("build dir", build_dir)]
    for name, path in binaries.items():
        code, out = _run([path, "--version"])
        lines.append((f"jostle-{name}", _first_line(out) if code == 0 else f"--version failed (exit {code})"))
    return lines


def report(build_dir, quick=False):
    sections = [("CPUs", cpu_lines()), ("performance counters and rr", perf_lines()),
                ("compilers and sanitizers", sanitizer_lines(quick)), ("tools", tool_lines()),
                ("harness", build_lines(build_dir))]
    width = max(len(key) for _, lines in sections for key, _ in lines)
    out = []
    for title, lines in sections:
        out.append(f"{title}:")
        out.extend(f"  {key:<{width}}  {value}" for key, value in lines)
    return "\n".join(out) + "\n"
