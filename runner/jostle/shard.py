"""Sharding: one slice of a selection's runs per process, so that a matrix, GNU parallel, a Kubernetes
Indexed Job or a Slurm array can spread a session over machines; `jostle merge` joins the stores.

Shards are numbered from 0, as Bazel (TEST_SHARD_INDEX), GoogleTest and Kubernetes number them.
A fixed plan (run, or --runs N) is a list of (instance, batch) run blocks dealt round-robin over
the shards; a stress plan gives every shard every instance but its own batches (k*N + i), hence
its own seeds, so that one hot instance spreads over all machines and no seed runs twice.
"""

import os
import re

from jostle.errors import UsageError

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
ENV_PAIRS = (("TEST_SHARD_INDEX", "TEST_TOTAL_SHARDS", "TEST_SHARD_STATUS_FILE"),
             ("GTEST_SHARD_INDEX", "GTEST_TOTAL_SHARDS", "GTEST_SHARD_STATUS_FILE"))


def _check(index, total, source):
    if total < 1:
        raise UsageError(f"{source}: the number of shards must be at least 1")
    if not 0 <= index < total:
        raise UsageError(f"{source}: shard index {index} is outside 0..{total - 1} (shards count from 0)")
    return index, total


def parse(text):
    """'i/N' -> (i, N), 0 <= i < N."""
    match = _SPEC.match(text or "")
    if not match:
        raise UsageError(f"--shard {text!r}: expected INDEX/TOTAL counting from 0, e.g. 0/4 .. 3/4")
    return _check(int(match.group(1)), int(match.group(2)), f"--shard {text}")


def from_env(environ=None):
    """(i, N) from TEST_SHARD_INDEX/TEST_TOTAL_SHARDS (or the GTEST_ pair), or None when unset.

    Acknowledges sharding by touching the *_SHARD_STATUS_FILE, as Bazel asks a test to do.
    """
    environ = os.environ if environ is None else environ
    for index_var, total_var, status_var in ENV_PAIRS:
        if environ.get(total_var):
            try:
                index, total = int(environ.get(index_var, "")), int(environ[total_var])
            except ValueError:
                raise UsageError(f"{index_var}={environ.get(index_var)!r} / {total_var}={environ[total_var]!r}: "
                                 f"not whole numbers") from None
            result = _check(index, total, f"{index_var}/{total_var}")
            if environ.get(status_var):
                try:
                    with open(environ[status_var], "a", encoding="utf-8"):
                        pass
                except OSError:
                    pass
            return result
    return None


def choose(option, environ=None):
    """The shard to run: --shard wins over the environment; None means the whole selection."""
    shard = parse(option) if option is not None else from_env(environ)
    return None if shard is None or shard[1] == 1 else shard


def pick(items, shard):
    """This shard's items of a deterministic list, dealt round-robin."""
    return list(pick_lazily(items, shard))


def pick_lazily(items, shard):
    """pick() over any iterable, one item at a time (a fixed plan of ten million runs is never a list)."""
    for position, item in enumerate(items):
        if shard is None or position % shard[1] == shard[0]:
            yield item


def batch(count, shard):
    """The batch number of this shard's count-th run of an instance in a stress plan."""
    if shard is None:
        return count
    index, total = shard
    return count * total + index
