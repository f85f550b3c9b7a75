"""The CI recipes under ci/pipelines: each parses as YAML, names only commands, options and files that exist,
and its shell steps pass when run here, in order, against fake harnesses (a night, then a gate on its stores)."""

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest

from jostle import cli

from fakebuild import HERE, REPO, make_build

PIPELINES = os.path.join(REPO, "ci", "pipelines")
FILES = sorted(f for f in os.listdir(PIPELINES) if f.endswith((".yml", ".yaml")))


def _load(name):
    yaml = pytest.importorskip("yaml", reason="python3-yaml is not installed (ci/bootstrap.sh --test)")
    with open(os.path.join(PIPELINES, name), encoding="utf-8") as f:
        return yaml.safe_load(f)


def _github_jobs(doc):
    """job name -> list of (kind, payload): ("run", shell text) or ("uses", action)."""
    return {name: [("run", s["run"]) if "run" in s else ("uses", s.get("uses")) for s in job.get("steps", [])]
            for name, job in doc["jobs"].items()}


def _gitlab_jobs(doc):
    """job name -> [before_script + script, after_script] as shell texts, with `extends` resolved: GitLab runs
    the first two in one shell (variables carry over from line to line), after_script in a new one."""
    def resolved(name):
        job = dict(doc[name])
        parent = job.pop("extends", None)
        if parent:
            base = resolved(parent)
            base.update(job)
            job = base
        return job
    jobs = {}
    for name, job in doc.items():
        if name.startswith(".") or not isinstance(job, dict) or "script" not in resolved(name):
            continue
        full = resolved(name)
        for key in ("before_script", "script", "after_script"):
            for line in full.get(key) or []:
                assert isinstance(line, str), f"{name}.{key}: a script item is not a string (quote it): {line!r}"
        main = [line for key in ("before_script", "script") for line in full.get(key) or []
                if not line.startswith("ci/bootstrap.sh")]      # installs Debian packages: not in a test
        jobs[name] = [("run", "\n".join(main)), ("run", "\n".join(full.get("after_script") or []))]
    return jobs


def _jobs(name):
    doc = _load(name)
    return _github_jobs(doc) if "jobs" in doc else _gitlab_jobs(doc)


VARIABLES = {"JOSTLE_BUDGET": "10m"}
GITHUB_EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def _jostle_calls(text):
    """Every `./jostle ...` command in a shell text, as argv lists (shell variables as placeholders)."""
    text = GITHUB_EXPR.sub("1", text.replace("\\\n", " "))
    text = re.sub(r"\$\(\(.*?\)\)", "0", text)
    calls = []
    for line in re.split(r"\n|;|&&|\|\|", text):
        line = line.strip()
        if line.startswith("./jostle "):
            words = [w for w in shlex.split(line)[1:] if w not in ("$base",)]
            calls.append([re.sub(r"\$\{?(\w+)\}?", lambda m: VARIABLES.get(m.group(1), "1"), w) for w in words])
    return calls


@pytest.mark.parametrize("name", FILES)
def test_pipeline_names_only_commands_options_and_files_that_exist(name):
    jobs = _jobs(name)
    texts = [payload for steps in jobs.values() for kind, payload in steps if kind == "run"]
    for text in texts:   # an unquoted `- echo "A: B"` is a YAML mapping, not a command
        assert isinstance(text, str), f"{name}: a script item is not a string (quote it): {text!r}"
    calls = [call for text in texts for call in _jostle_calls(text)]
    commands = {call[0] for call in calls}
    assert {"gate", "soak", "merge", "dashboard"} <= commands, commands
    assert any("--sanitizer" in call and "--baseline" in " ".join(texts) for call in calls)
    parser = cli.build_parser()
    for call in calls:
        # Bad options or values (a duration like `5h`, a shard like `0/4`) raise UsageError here.
        parser.parse_args([w.replace("1/1", "0/1") for w in call])
    for path in set(re.findall(r"\bci/[\w./-]+", "\n".join(texts))):
        assert os.path.exists(os.path.join(REPO, path)), f"{name} names {path}, which does not exist"
    for text in texts:
        plain = GITHUB_EXPR.sub("1", text)
        done = subprocess.run(["bash", "-n"], input=plain, text=True, capture_output=True, check=False)
        assert done.returncode == 0, f"{name}: shell syntax: {done.stderr}\n{plain}"


SHIM = r'''#!{python}
"""./jostle for the pipeline dry run: the real CLI over fake harnesses, with hours cut to seconds."""
import os, sys
sys.path[:0] = [{runner!r}, {repo!r}]
from jostle import cli
SHORT = {{"--for": "2.5s", "--budget": "2s", "--chunk": "2.5s"}}
args, out, i = sys.argv[1:], [], 0
while i < len(args):
    word = args[i]
    if word in SHORT and i + 1 < len(args):
        out += [word, SHORT[word]]
        i += 2
        continue
    out.append(word)
    i += 1
if out and out[0] in ("gate", "soak", "run", "stress", "bench"):
    out += ["--build-dir", {build!r}]
if out and out[0] in ("gate", "soak"):
    out += ["--case", "ok", "--backend", "good", "-j", "2", "--progress", "none"]
    if "--mutants" in out:
        out += ["--backend", "mutant.lost"]
sys.exit(cli.main(out))
'''


def _workspace(tmp_path):
    build = make_build(str(tmp_path / "fakebuild"))
    os.makedirs(os.path.join(build, "bench"))
    shutil.copy(os.path.join(HERE, "fake_bench.py"), os.path.join(build, "bench", "jostle-bench-futex"))
    os.chmod(os.path.join(build, "bench", "jostle-bench-futex"), 0o755)
    work = tmp_path / "checkout"
    work.mkdir()
    os.symlink(os.path.join(REPO, "ci"), work / "ci")
    shim = work / "jostle"
    shim.write_text(SHIM.format(python=sys.executable, runner=os.path.join(REPO, "runner"), repo=REPO,
                                build=build))
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return work


def _sh(work, text, env, allowed=(0,)):
    done = subprocess.run(["bash", "-eo", "pipefail", "-c", text], cwd=work, env=env, text=True,
                          capture_output=True, timeout=300, check=False)
    assert done.returncode in allowed, f"exit {done.returncode}: {text}\n{done.stdout}\n{done.stderr}"
    return done


def _env(tmp_path, **extra):
    env = dict(os.environ, GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"), CI_NODE_INDEX="1", CI_NODE_TOTAL="1",
               CI_PIPELINE_ID="7", CI_JOB_TOKEN="token", JOSTLE_BUDGET="10m")
    env.pop("JOSTLE_PRESET", None)
    env.update(extra)
    return env


def _zip_dirs(path, root, names):
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            for folder, _, files in os.walk(os.path.join(root, name)):
                for f in files:
                    full = os.path.join(folder, f)
                    archive.write(full, os.path.relpath(full, root))


def test_github_recipe_runs_a_night_then_a_gate_on_its_stores(tmp_path):
    jobs = _jobs("github-actions.yml")
    work = _workspace(tmp_path)
    env = _env(tmp_path)
    expr = {"matrix.shard": "0", "github.run_id": "7"}

    def run_job(name, downloads=()):
        for kind, payload in jobs[name]:
            if kind == "uses":
                continue
            text = GITHUB_EXPR.sub(lambda m: expr[m.group(1)], payload)
            if text.startswith(("sudo sysctl", "ci/bootstrap.sh")):
                continue
            _sh(work, text, env)

    run_job("soak-shard")
    run_job("soak-tsan")
    run_job("nightly")            # no earlier stores: merge creates them (the GitLab test runs a second night)
    for store in ("store", "tsan-store"):
        assert os.path.exists(work / store / "results.jsonl") and os.path.exists(work / store / "dashboard.html")
    # A pull request: the gate downloads the nightly stores into baseline/.
    (work / "baseline").mkdir()
    for store in ("store", "tsan-store"):
        shutil.copytree(work / store, work / "baseline" / store)
    run_job("gate")
    assert "jostle gate" in (tmp_path / "summary.md").read_text()
    for out in ("jostle-out", "jostle-tsan"):
        assert os.path.exists(work / out / "junit.xml")
        assert "baseline" in (work / out / "gate.md").read_text()


def test_gitlab_recipe_runs_a_night_then_a_gate_on_its_stores(tmp_path):
    jobs = _jobs("gitlab-ci.yml")
    work = _workspace(tmp_path)
    artifact = tmp_path / "artifacts.zip"
    env = _env(tmp_path, JOSTLE_NIGHTLY_URL=artifact.as_uri())

    def _publish():   # the dashboard job's artifacts, as the next pipeline downloads them
        _zip_dirs(artifact, work, ("store", "tsan-store"))
        for leftover in ("store", "tsan-store", "shard-1", "tsan-shard", "nightly"):
            shutil.rmtree(work / leftover, ignore_errors=True)

    def run_job(name):
        for _, text in jobs[name]:
            _sh(work, text, env)

    run_job("jostle-soak")        # the first night: no artifact yet (the fetch is optional)
    run_job("jostle-soak-tsan")
    run_job("jostle-dashboard")
    assert os.path.exists(work / "store" / "dashboard.html") and os.path.exists(work / "tsan-store" / "results.jsonl")
    first = (work / "store" / "results.jsonl").read_text().count('"type":"session"')
    _publish()
    run_job("jostle-soak")        # the second night starts from the first one's stores
    run_job("jostle-soak-tsan")
    run_job("jostle-dashboard")
    assert (work / "store" / "results.jsonl").read_text().count('"type":"session"') > first
    _publish()
    run_job("jostle-gate")
    assert "no baseline" not in (work / "jostle-out" / "gate.md").read_text()
    shutil.rmtree(work / "jostle-out")
    shutil.rmtree(work / "nightly")
    run_job("jostle-gate-tsan")
    assert os.path.exists(work / "jostle-out" / "junit.xml")


def test_fetch_artifact_is_loud_except_for_a_missing_optional_one(tmp_path):
    script = os.path.join(REPO, "ci", "fetch-artifact.py")
    missing = (tmp_path / "none.zip").as_uri()
    done = subprocess.run([sys.executable, script, "--optional", missing, str(tmp_path / "d")], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and "going on without it" in done.stdout and not os.path.exists(tmp_path / "d")
    done = subprocess.run([sys.executable, script, missing, str(tmp_path / "d")], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    done = subprocess.run([sys.executable, script, "--optional", bad.as_uri(), str(tmp_path / "d")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "cannot unpack" in done.stderr
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../outside.txt", "x")
    done = subprocess.run([sys.executable, script, evil.as_uri(), str(tmp_path / "d")], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 1 and "outside" in done.stderr and not os.path.exists(tmp_path / "outside.txt")


def test_quarantine_files_read():
    assert cli._read_quarantine(os.path.join(REPO, "ci", "quarantine.txt")) == []
    assert isinstance(cli._read_quarantine(os.path.join(REPO, "ci", "sanitizer-quarantine.txt")), list)
