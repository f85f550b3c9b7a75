"""Turn selected instances and a budget into runs: one harness process per (instance, seed, batch).

`run` is a gate: a fixed list (each instance once, or --runs N times), where a budget only caps
how long each run may take. `stress` fills its budget: batches go round-robin over the instances
until the deadline, an instance leaves the rotation once it has the runs its target needs (or its
SPRT decided), and every batch gets a fresh seed.
"""

import json
import os
import re
import time
from collections import deque
from dataclasses import dataclass, field

from jostle import shard, stats
from jostle.amplify import Amplification
from jostle.records import SEED_MASK

# Below this a run spends most of its time starting up; the planner warns instead of pretending.
MIN_RUN_SECONDS = 0.25
# Runs of unknown cost are assumed to take this long when estimating whether a budget suffices.
GUESS_RUN_SECONDS = 0.5
# `stress` splits an instance's share of the budget into at least this many runs.
STRESS_MIN_RUNS = 10
# The detect baseline: for each reliably killed mutant instance, the settings (amplification, iterations,
# watchdog) and the time per trial that kill it in every trial (docs/detection.md).
DETECT_BASELINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "detect_baseline.json")


def _baseline_rows(path, keys):
    """{key: rows} for the detect baseline's sections `keys` ({} for a missing or unreadable file or section)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return {k: data[k] for k in keys if isinstance(data, dict) and isinstance(data.get(k), dict)}


def catch_settings(path=DETECT_BASELINE):
    """instance id -> {mode, iterations, timeout_s, budget_s} from the detect baseline ({} when unreadable)."""
    return _baseline_rows(path, ("reliably_killed",)).get("reliably_killed", {})


# The in-tree backends whose primitive lives in a shared library reached through the plugin ABI: opaque mutants
# and mutant plugins (the naming scheme of docs/mutants.md). A --plugin library's instances say "plugin".
_THROUGH_PLUGIN = re.compile(r"^mutant\.[a-z_]+\.(opaque|plugin)_")


def through_plugin(inst):
    return bool(inst.get("plugin")) or bool(_THROUGH_PLUGIN.match(inst.get("backend") or ""))


def excused_catchers(path=DETECT_BASELINE):
    """instance id -> reason, for the catcher instances the detect baseline lists as `undetectable` or
    `unreliable` (too rare for one rated trial): `run --mutants` reports them, it does not gate on them."""
    sections = _baseline_rows(path, ("undetectable", "unreliable"))
    return {i: f"{key}: {reason}" for key, rows in sections.items() for i, reason in rows.items()
            if isinstance(reason, str)}


@dataclass(frozen=True)
class RunSpec:
    """Everything needed to start one run, and to repeat it exactly."""

    instance: str
    suite: str
    binary: str
    seed: int
    batch: int
    iterations: int | None
    duration_s: float | None
    timeout_s: float
    amplify: Amplification = field(default_factory=Amplification)
    plugins: tuple = ()


@dataclass(frozen=True)
class Settings:
    mode: str                      # "run" or "stress"
    runs: int | None               # fixed runs per instance, or None for budget planning
    budget_s: float | None
    jobs: int
    seed: int
    timeout_s: float | None = None     # overrides every instance's declared timeout
    iterations: int | None = None      # overrides every instance's declared iterations
    amplify: Amplification = field(default_factory=Amplification)
    plugins: tuple = ()
    target_rate: float | None = None
    confidence: float = 0.95
    sprt: bool = False
    shard: tuple | None = None     # (index, total) from jostle.shard, None for the whole plan
    max_iterations: int | None = None  # caps each instance's declared iterations (selftest's short runs)
    stop_when_caught: bool = False     # a mutant catcher (expect=fail) leaves the plan at its first failing run


def seed_for(base, batch):
    """Batch k of every instance uses base + k, so `--seed 7 --runs 3` runs seeds 7, 8, 9."""
    return (base + batch) & SEED_MASK


class Plan:
    """Hands out RunSpecs on demand and learns from finished runs (stress stops early on that)."""

    def __init__(self, instances, binaries, settings, history=None, clock=time.monotonic):
        self.instances = list(instances)
        self.binaries = binaries
        self.settings = settings
        self.history = history or {}
        self.clock = clock
        self.warnings = []
        self.deadline = None
        self.needed = stats.runs_needed(settings.target_rate, settings.confidence) if settings.target_rate else None
        self._expect = {inst["id"]: inst.get("expect") for inst in self.instances}
        self._runs = {inst["id"]: 0 for inst in self.instances}
        self._failures = {inst["id"]: 0 for inst in self.instances}
        self._sprt = {}
        if settings.sprt and settings.target_rate:
            self._sprt = {inst["id"]: stats.Sprt.for_target(settings.target_rate, settings.confidence)
                          for inst in self.instances}
        self._done = set()
        # `run --mutants` with no amplification asked for: each mutant instance gets the settings its detect
        # rating kills it with, and further runs (fresh seeds) until it is caught or its rated time is spent,
        # so a README command passes out of the box instead of reporting a one-run escape.
        # The catchers the baseline calls undetectable or unreliable become informative, with the reason (the
        # instance dicts are the session's, so its header and reports say so): reported, never gating.
        self._catch = {}
        if settings.mode == "run" and settings.amplify.mode == "none" and settings.runs is None:
            rated = catch_settings()
            self._catch = {inst["id"]: rated[inst["id"]] for inst in self.instances
                           if inst.get("expect") == "fail" and inst["id"] in rated}
            excused = excused_catchers()
            for inst in self.instances:
                if inst.get("expect") == "fail" and inst["id"] in excused and inst["id"] not in rated:
                    inst["expect"] = "informative"
                    inst["excused"] = excused[inst["id"]]
        self._spent = {}
        self._fixed = settings.mode == "run" or settings.runs is not None
        self._run_cap = self._per_run_cap()
        self._queue = self._fixed_specs() if self._fixed else iter(())
        self._total = self._fixed_count() if self._fixed else 0
        self._extra = deque()        # reruns of rated mutants that escaped a run (fixed plans)
        self._by_id = {inst["id"]: inst for inst in self.instances}
        self._check_budget()

    # -- planning ---------------------------------------------------------------------------------

    def _share_s(self):
        """Wall-clock seconds one instance may use if the budget is spread evenly over -j workers."""
        return self.settings.budget_s * self.settings.jobs / max(1, len(self.instances))

    def _per_run_cap(self):
        if self.settings.budget_s is None:
            return None
        if self.settings.mode == "run":
            return max(MIN_RUN_SECONDS, self._share_s() / (self.settings.runs or 1))
        return max(MIN_RUN_SECONDS, self._share_s() / STRESS_MIN_RUNS)

    def _fixed_specs(self):
        """The fixed plan, made lazily (--runs 10000000 must not build ten million specs up front).

        Batch-major order, so that an interrupted session has covered every instance once first; a shard
        takes every N-th block of that order (shard.pick_lazily).
        """
        blocks = ((inst, batch) for batch in range(self.settings.runs or 1) for inst in self.instances)
        for inst, batch in shard.pick_lazily(blocks, self.settings.shard):
            yield self._spec(inst, batch)

    def _fixed_count(self):
        blocks = (self.settings.runs or 1) * len(self.instances)
        if self.settings.shard is None:
            return blocks
        index, total = self.settings.shard
        return max(0, (blocks - index + total - 1) // total)

    def _timeout_s(self, inst):
        rated = self._catch.get(inst["id"], {}).get("timeout_s")
        return self.settings.timeout_s or rated or inst.get("timeout_ms", 30000) / 1000

    def _spec(self, inst, batch, remaining_s=None):
        timeout_s = self._timeout_s(inst)
        duration = self._run_cap
        if duration is not None:
            # Leave the watchdog headroom over the duration: a slow last iteration is not a hang.
            duration = min(duration, timeout_s / 2)
            if remaining_s is not None:
                duration = max(MIN_RUN_SECONDS, min(duration, remaining_s))
        seed = seed_for(self.settings.seed, batch)
        return RunSpec(instance=inst["id"], suite=inst["suite"], binary=self.binaries[inst["suite"]],
                       seed=seed, batch=batch,
                       iterations=(self.settings.iterations or self._catch.get(inst["id"], {}).get("iterations")
                                   or self._iterations(inst)),
                       duration_s=duration, timeout_s=timeout_s,
                       amplify=self._amplify(inst, seed),
                       plugins=tuple(self.settings.plugins))

    def _iterations(self, inst):
        declared = inst.get("iterations")
        cap = self.settings.max_iterations
        return max(1, min(int(declared), cap)) if cap and declared else declared

    def _amplify(self, inst, seed):
        """The session's amplification; a mutant catcher declared under chaos (`chaos` in its --list line: the
        mutant keeps its natural race window) gets that spec when the session asked for none, so that
        `run --mutants` checks the declared contract instead of reporting a plain-run escape."""
        if inst.get("chaos") and self.settings.amplify.mode == "none":
            return Amplification("chaos", inst["chaos"], drawn="chaos", user_chaos=True)
        rated = self._catch.get(inst["id"])
        if rated and rated.get("mode", "none") != "none":
            return Amplification(rated["mode"]).for_run(seed, salt=inst["id"])
        return self.settings.amplify.for_run(seed, salt=inst["id"], through_plugin=through_plugin(inst))

    def _estimate_run_s(self, inst):
        known = self.history.get(inst["id"])
        cap = self._run_cap if self._run_cap is not None else self._timeout_s(inst)
        return min(cap, known if known is not None else GUESS_RUN_SECONDS)

    def _check_budget(self):
        s = self.settings
        if s.budget_s is None or not self.instances:
            return
        n = len(self.instances)
        if s.mode == "run":
            share = self._share_s() / (s.runs or 1)
            if share < MIN_RUN_SECONDS:
                self.warnings.append(
                    f"budget {s.budget_s:g}s cannot cover {n} instances at -j {s.jobs}: each run gets "
                    f"{share * 1000:.0f} ms; runs are stretched to {MIN_RUN_SECONDS * 1000:.0f} ms and the session "
                    f"will take about {MIN_RUN_SECONDS * n * (s.runs or 1) / s.jobs:.0f}s "
                    f"(raise --budget or narrow the selection)")
            return
        once = sum(self._estimate_run_s(inst) for inst in self.instances) / s.jobs
        if once > s.budget_s:
            self.warnings.append(
                f"budget {s.budget_s:g}s probably cannot run each of the {n} instances even once at -j {s.jobs} "
                f"(estimate: {once:.0f}s); instances left without a run are reported as not run")
        elif self.needed is not None:
            cost = sum(self._estimate_run_s(inst) for inst in self.instances) * self.needed / s.jobs
            if cost > s.budget_s:
                self.warnings.append(
                    f"budget {s.budget_s:g}s probably cannot give {n} instances the {self.needed} clean runs each "
                    f"that rate < {stats.format_rate(s.target_rate)} at {s.confidence:.0%} needs "
                    f"(estimate: {cost:.0f}s at -j {s.jobs}); the summary says which instances got there")

    # -- handing out runs -----------------------------------------------------------------------

    @property
    def total(self):
        """Runs in the whole plan when that is known up front (fixed plans), else None."""
        return self._total if self._fixed else None

    def start(self):
        """Start the clock of a budgeted stress session."""
        if not self._fixed and self.settings.budget_s is not None:
            self.deadline = self.clock() + self.settings.budget_s

    def take(self):
        """The next run to start, or None when the plan has nothing more to start."""
        if self._fixed:
            if self._extra:
                return self._extra.popleft()
            for spec in self._queue:
                if spec.instance not in self._done:
                    return spec
            return None
        remaining = self.deadline - self.clock() if self.deadline is not None else None
        if remaining is not None and remaining <= 0:
            return None
        active = [inst for inst in self.instances if inst["id"] not in self._done]
        if not active:
            return None
        # Round-robin: the instance with the fewest handed-out runs goes next.
        inst = min(active, key=lambda i: self._runs[i["id"]])
        batch = shard.batch(self._runs[inst["id"]], self.settings.shard)
        self._runs[inst["id"]] += 1
        if self.needed is not None and not self._sprt and self._runs[inst["id"]] >= self.needed:
            self._done.add(inst["id"])
        return self._spec(inst, batch, remaining)

    def rated_mutants(self):
        """How many mutant instances run with their detect-rated catch settings."""
        return len(self._catch)

    def catch_budget_s(self):
        """Worst-case extra run time the rated mutants may take (their rated time per trial), for the estimate."""
        return sum(rated.get("budget_s") or 0 for rated in self._catch.values())

    def observe(self, spec, failed, caught=False, elapsed_s=0.0):
        """Learn from a finished run; an SPRT decision (or, with stop_when_caught, a mutant catcher's first catching
        run: FAIL, TIMEOUT, CRASH or SANITIZER) takes the instance out of the rotation, and a rated mutant that
        escaped this run gets another one while its rated time lasts."""
        if failed:
            self._failures[spec.instance] += 1
        if caught and self.settings.stop_when_caught and self._expect.get(spec.instance) == "fail":
            self._done.add(spec.instance)
        rated = self._catch.get(spec.instance)
        if rated:
            self._spent[spec.instance] = self._spent.get(spec.instance, 0.0) + (elapsed_s or 0.0)
            if failed:
                self._done.add(spec.instance)
            elif self._spent[spec.instance] < (rated.get("budget_s") or 0):
                self._runs[spec.instance] += 1
                self._extra.append(self._spec(self._by_id[spec.instance], spec.batch + 1))
                self._total += 1
        test = self._sprt.get(spec.instance)
        if test is not None and test.update(failed) is not None:
            self._done.add(spec.instance)

    def sprt_decisions(self):
        return {iid: test.decision() for iid, test in self._sprt.items()}
