"""Progress for long sessions: a live bar on a terminal, a periodic one-line status otherwise.

The ETA is honest: from observed throughput (finished runs per second so far) for fixed plans,
from the deadline for budgeted ones, and "?" until there is anything to go on.
"""

import shutil
import sys
import time

from jostle.units import human_duration


class Progress:
    def __init__(self, total=None, deadline=None, stream=None, mode="auto", interval_s=10.0, clock=time.monotonic):
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "lines"
        self.mode = mode
        self.total = total
        self.deadline = deadline
        self.interval_s = interval_s if mode == "lines" else 0.2
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.failing = 0
        self.running = 0
        self._last = None

    def note(self, message):
        """A line that must not be overwritten by the bar (warnings, failures as they happen)."""
        if self.mode == "none":
            return
        if self.mode == "bar":
            self.stream.write("\r\033[K")
        self.stream.write(message + "\n")
        self.stream.flush()
        if self.mode == "bar":
            self.tick(force=True)

    def finished_run(self, failed):
        self.done += 1
        self.failing += bool(failed)

    def eta_s(self):
        now = self.clock()
        if self.total is not None:
            if self.done == 0:
                return None
            per_run = (now - self.started) / self.done
            return per_run * (self.total - self.done)
        if self.deadline is not None:
            return max(0.0, self.deadline - now)
        return None

    def status_line(self):
        elapsed = self.clock() - self.started
        count = f"{self.done}/{self.total} runs" if self.total is not None else f"{self.done} runs"
        eta = self.eta_s()
        prefix = "≤" if self.total is None and eta is not None else ""
        return (f"{count}, {self.failing} failing, {self.running} running, "
                f"{human_duration(elapsed)} elapsed, ETA {prefix}{human_duration(eta)}")

    def tick(self, force=False):
        if self.mode == "none":
            return
        now = self.clock()
        if not force and self._last is not None and now - self._last < self.interval_s:
            return
        self._last = now
        if self.mode == "lines":
            self.stream.write("jostle: " + self.status_line() + "\n")
        else:
            width = shutil.get_terminal_size((100, 20)).columns
            fraction = self._fraction()
            bar_width = 24
            filled = int(bar_width * fraction)
            line = f"[{'#' * filled}{'-' * (bar_width - filled)}] {fraction:4.0%} {self.status_line()}"
            self.stream.write("\r\033[K" + line[:width - 1])
        self.stream.flush()

    def _fraction(self):
        if self.total:
            return min(1.0, self.done / self.total)
        if self.deadline is not None:
            span = self.deadline - self.started
            return min(1.0, (self.clock() - self.started) / span) if span > 0 else 1.0
        return 0.0

    def close(self):
        if self.mode == "bar":
            self.tick(force=True)
            self.stream.write("\n")
            self.stream.flush()
        elif self.mode == "lines":
            self.stream.write("jostle: " + self.status_line() + "\n")
            self.stream.flush()
