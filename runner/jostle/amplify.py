"""Amplification settings, kept as one record per run so that every run says how it was shaken.

Only the chaos-point pass-through is acted on today (`--chaos SPEC` goes to the harness); the
os/pct/mix modes are accepted and recorded so that stores and repro lines keep their shape when
the layers that implement them land.
"""

from dataclasses import dataclass

from jostle.errors import UsageError

MODES = ("none", "os", "chaos", "pct", "mix")


@dataclass(frozen=True)
class Amplification:
    mode: str = "none"
    chaos: str | None = None

    @classmethod
    def from_options(cls, mode, chaos):
        if mode not in MODES:
            raise UsageError(f"--amplify: unknown mode {mode!r} (accepted: {', '.join(MODES)})")
        if chaos is not None and not chaos.strip():
            raise UsageError("--chaos: empty spec (example: p=0.01,actions=yield+spin+sleep)")
        if chaos and mode == "none":
            mode = "chaos"
        return cls(mode, chaos)

    def harness_args(self):
        return ["--chaos", self.chaos] if self.chaos else []

    def as_record(self):
        return {"mode": self.mode, "chaos": self.chaos}

    @classmethod
    def from_record(cls, record):
        record = record or {}
        return cls(record.get("mode", "none"), record.get("chaos"))
