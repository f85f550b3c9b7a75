"""Sharding and merge: the scale-out recipe of docs/scale-out.md, exercised with local shard processes."""

import json
import os
import shutil
import subprocess

import pytest

from jostle import shard
from jostle.errors import UsageError

from fakebuild import PYTHON, REPO, jostle

SELECT = ["--case", "ok", "--case", "fail", "--case", "flaky", "--case", "forbidden", "--progress", "none", "-j", "1"]


def _runs(out):
    with open(os.path.join(out, "results.jsonl"), encoding="utf-8") as f:
        return [r for r in map(json.loads, f) if r["type"] == "run"]


def test_parse_and_environment(tmp_path):
    assert shard.parse("2/4") == (2, 4)
    for bad, message in (("4/4", "outside 0..3"), ("1/0", "at least 1"), ("two", "INDEX/TOTAL")):
        with pytest.raises(UsageError, match=message):
            shard.parse(bad)
    status = tmp_path / "status"
    env = {"TEST_TOTAL_SHARDS": "3", "TEST_SHARD_INDEX": "1", "TEST_SHARD_STATUS_FILE": str(status)}
    assert shard.from_env(env) == (1, 3) and status.exists()
    assert shard.from_env({"GTEST_TOTAL_SHARDS": "2", "GTEST_SHARD_INDEX": "0"}) == (0, 2)
    assert shard.choose("0/2", {"TEST_TOTAL_SHARDS": "5", "TEST_SHARD_INDEX": "4"}) == (0, 2)
    assert shard.choose(None, {}) is None and shard.choose("0/1") is None
    assert [shard.batch(k, (1, 3)) for k in range(3)] == [1, 4, 7]
    assert shard.pick(range(7), (2, 3)) == [2, 5]


def test_local_shard_processes_merge_into_the_unsharded_session(build_dir, tmp_path):
    whole = str(tmp_path / "whole")
    unsharded = jostle("run", "--build-dir", build_dir, "--out", whole, "--seed", "5", "--runs", "3", *SELECT)
    assert unsharded.returncode == 1, unsharded.stderr
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(REPO, "runner"), REPO]))
    env.pop("JOSTLE_PRESET", None)
    # Three workers at once, as `parallel -j3 jostle run --shard {}/3 ...` would start them; one via Bazel's variables.
    procs = []
    for i in range(3):
        args = ["run", "--build-dir", build_dir, "--out", str(tmp_path / f"s{i}"), "--seed", "5", "--runs", "3",
                *SELECT]
        extra = {"TEST_TOTAL_SHARDS": "3", "TEST_SHARD_INDEX": str(i)} if i == 2 else {}
        if not extra:
            args += ["--shard", f"{i}/3"]
        procs.append(subprocess.Popen([PYTHON, "-m", "jostle", *args], env=dict(env, **extra),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for proc in procs:
        proc.communicate(timeout=120)
    shards = [_runs(str(tmp_path / f"s{i}")) for i in range(3)]
    assert all(shards)
    keys = [{(r["instance"], r["seed"]) for r in runs} for runs in shards]
    assert not (keys[0] & keys[1]) and not (keys[1] & keys[2]) and not (keys[0] & keys[2])
    merged = str(tmp_path / "merged")
    done = jostle("merge", "--out", merged, *[str(tmp_path / f"s{i}") for i in range(3)])
    assert done.returncode == 1, done.stderr     # the merged session has the same failures as the whole one
    assert {(r["instance"], r["seed"], r["code"]) for r in _runs(merged)} == \
        {(r["instance"], r["seed"], r["code"]) for r in _runs(whole)}
    assert done.stdout.splitlines()[-1] == unsharded.stdout.splitlines()[-1] == "exit code 1: 3 unexpected result(s)"
    assert os.path.exists(os.path.join(merged, "junit.xml"))
    # Merging again adds nothing.
    again = jostle("merge", "--out", merged, str(tmp_path / "s0"))
    assert again.returncode == 2 and "no new session" in again.stderr
    assert len(_runs(merged)) == len(_runs(whole))


def test_stress_shards_get_disjoint_seeds(build_dir, tmp_path):
    seeds = []
    for i in range(2):
        out = str(tmp_path / f"st{i}")
        jostle("stress", "--build-dir", build_dir, "--out", out, "--seed", "100", "--budget", "1s", "--shard",
               f"{i}/2", "--case", "ok", "--progress", "none")
        seeds.append({r["seed"] for r in _runs(out)})
        assert all((s - 100) % 2 == i for s in seeds[-1])
    assert seeds[0] and seeds[1] and not seeds[0] & seeds[1]


@pytest.mark.skipif(shutil.which("parallel") is None, reason="GNU parallel is not installed (apt-get install parallel)")
def test_gnu_parallel_recipe(build_dir, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(REPO, "runner"), REPO]))
    command = (f"{PYTHON} -m jostle run --build-dir {build_dir} --out {tmp_path}/p{{}} --seed 5 --shard {{}}/2 "
               f"--case ok --progress none")
    subprocess.run(["parallel", "-j2", "--halt", "never", command, ":::", "0", "1"], env=env, check=False,
                   capture_output=True, timeout=120)
    done = jostle("merge", "--out", str(tmp_path / "m"), str(tmp_path / "p0"), str(tmp_path / "p1"))
    assert done.returncode == 0, done.stderr
