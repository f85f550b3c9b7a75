"""A test262 checkout read the way INTERPRETING.md describes: frontmatter, scenarios, compiled sources."""

import fnmatch
import os
import re

import yaml

FRONTMATTER = re.compile(r"/\*---(.*?)---\*/", re.S)
AGENT_USE = "$262.agent"
DEFAULT_GLOBS = ("built-ins/Atomics/**",)
# Read before the test when the file is not `raw` (INTERPRETING.md, "Test Files").
BASE_INCLUDES = ("assert.js", "sta.js")
ASYNC_INCLUDE = "doneprintHandle.js"


class CorpusError(Exception):
    """The checkout or one of its files cannot be used; the message says which and why."""


class Test:
    """One test file: its path relative to test/, its metadata and its source."""

    def __init__(self, root, rel):
        self.root = root
        self.rel = rel
        self.path = os.path.join(root, "test", rel)
        try:
            with open(self.path, encoding="utf-8") as f:
                self.source = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CorpusError(f"cannot read test/{rel}: {exc}") from None
        match = FRONTMATTER.search(self.source)
        meta = {}
        if match:
            try:
                meta = yaml.safe_load(match.group(1)) or {}
            except yaml.YAMLError as exc:
                raise CorpusError(f"test/{rel}: frontmatter is not YAML: {str(exc).splitlines()[0]}") from None
            if not isinstance(meta, dict):
                raise CorpusError(f"test/{rel}: frontmatter is not a mapping")
        self.meta = meta
        self.flags = set(meta.get("flags") or [])
        self.features = list(meta.get("features") or [])
        self.includes = list(meta.get("includes") or [])
        self.negative = meta.get("negative")
        if self.negative is not None and not (isinstance(self.negative, dict) and "phase" in self.negative
                                              and "type" in self.negative):
            raise CorpusError(f"test/{rel}: negative needs phase and type")
        self.description = " ".join(str(meta.get("description") or meta.get("info") or "").split())

    def modes(self):
        """The scenarios INTERPRETING.md asks for: raw and module once, else strict and/or sloppy."""
        if "raw" in self.flags:
            return ["raw"]
        if "module" in self.flags:
            return ["module"]
        if "onlyStrict" in self.flags:
            return ["strict"]
        if "noStrict" in self.flags:
            return ["sloppy"]
        return ["strict", "sloppy"]

    def agents(self):
        return self.source.count(AGENT_USE + ".start(")

    def harness_files(self):
        if "raw" in self.flags:
            return []
        files = list(BASE_INCLUDES)
        if "async" in self.flags:
            files.append(ASYNC_INCLUDE)
        return files + [name for name in self.includes if name not in files]

    def compile(self, mode, prelude=""):
        """(source, first line of the test's own code in it): what the engine evaluates."""
        parts = []
        if mode == "strict":
            parts.append('"use strict";\n')
        if prelude and mode != "raw":
            parts.append(prelude if prelude.endswith("\n") else prelude + "\n")
        for name in self.harness_files():
            path = os.path.join(self.root, "harness", name)
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except OSError as exc:
                raise CorpusError(f"test/{self.rel} includes harness/{name}: {exc.strerror or exc}") from None
            parts.append(text if text.endswith("\n") else text + "\n")
        head = "".join(parts)
        return head + self.source, head.count("\n") + 1


def check_root(root):
    if not os.path.isdir(os.path.join(root, "test")) or not os.path.isdir(os.path.join(root, "harness")):
        raise CorpusError(f"--test262 {root}: not a test262 checkout (needs test/ and harness/ inside)")


def _glob_match(rel, glob):
    # `**` and `*` both cross directories here, as in --case.
    return fnmatch.fnmatchcase(rel, glob) or fnmatch.fnmatchcase(rel, glob.replace("/**", "*"))


def find(root, globs=()):
    """Relative paths under test/ (sorted) that a selection picks.

    No globs: the default selection, built-ins/Atomics/** plus every other file that uses $262.agent.
    Fixture files (`_FIXTURE` in the name) are never tests.
    """
    check_root(root)
    test_dir = os.path.join(root, "test")
    chosen = []
    for dirpath, dirnames, filenames in os.walk(test_dir):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(".js") or "_FIXTURE" in name:
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), test_dir).replace(os.sep, "/")
            if globs:
                if any(_glob_match(rel, g) for g in globs):
                    chosen.append(rel)
                continue
            if any(_glob_match(rel, g) for g in DEFAULT_GLOBS):
                chosen.append(rel)
                continue
            try:
                with open(os.path.join(dirpath, name), "rb") as f:
                    if AGENT_USE.encode() in f.read():
                        chosen.append(rel)
            except OSError:
                continue
    return chosen
