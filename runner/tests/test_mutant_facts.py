"""The mutant facts derived from the listing: naming scheme, docs index, detect baseline rows, stale mentions."""

import pytest

from jostle import mutant_facts as mf
from jostle.discovery import Suite
from jostle.errors import UsageError


def suite():
    s = Suite("futex", "/bin/jostle-futex")
    s.backends = [
        {"name": "linux", "primitive": "futex", "mutant": False},
        {"name": "mutant.futex.early_timeout", "primitive": "futex", "mutant": True, "difficulty": "D1",
         "catches": ["futex/timed_wait_timeout"], "description": "gives up | early", "source": "libuv#4773"},
        {"name": "mutant.futex.lost", "primitive": "futex", "mutant": True, "catches": [],
         "catches_under": "p=0.1,actions=yield"},
    ]
    s.instances = [
        {"id": "futex/timed_wait_timeout@linux", "expect": "pass"},
        {"id": "futex/timed_wait_timeout@mutant.futex.early_timeout", "expect": "fail"},
        {"id": "futex/smoke@mutant.futex.early_timeout", "expect": "informative"},
    ]
    return s


def doc_with(table):
    return "# Mutants\n\nintro\n\n" + table + "\n\n## Rates\n"


def test_naming_scheme_wants_primitive_and_snake_case():
    bad = [{"name": "mutant.early-timeout", "primitive": "futex"},
           {"name": "mutant.event.early_timeout", "primitive": "futex"},
           {"name": "mutant.futex.early_timeout", "primitive": "futex"}]
    problems = mf.naming_problems(bad)
    assert len(problems) == 2
    assert "mutant.<primitive>.<defect>" in problems[0]
    assert "'futex'" in problems[1]


def test_index_lists_every_mutant_and_escapes_cells():
    mutants, ids = mf.collect([suite()])
    assert [m["name"] for m in mutants] == ["mutant.futex.early_timeout", "mutant.futex.lost"]
    assert ids == ["futex/timed_wait_timeout@mutant.futex.early_timeout"]
    table = mf.render_index(mutants, {"mutant.futex.lost": "D4 on x86"})
    assert "gives up \\| early" in table
    assert "none: known gap" in table
    assert "`--chaos p=0.1,actions=yield`" in table


def test_splice_replaces_only_between_markers():
    doc = doc_with(mf.BEGIN + "\nold\n" + mf.END)
    out = mf.splice(doc, mf.BEGIN + "\nnew\n" + mf.END)
    assert "new" in out and "old" not in out and out.endswith("## Rates\n")
    with pytest.raises(UsageError):
        mf.splice("# no markers\n", "x")


def test_baseline_rows_follow_the_catcher_instances():
    baseline = {"about": "x", "hang_detected": {"gone@mutant.a.b": "hang"},
                "reliably_killed": {"kept@mutant.a.b": {"mode": "chaos"}, "gone@mutant.a.b": {"mode": "os"}},
                "undetectable": {}}
    new, stale, added = mf.regenerate_baseline(baseline, ["kept@mutant.a.b", "new@mutant.a.b"])
    assert new["reliably_killed"] == {"kept@mutant.a.b": {"mode": "chaos"}}
    assert new["hang_detected"] == {}
    assert new["unrated"] == {"new@mutant.a.b": mf.UNRATED_NOTE}
    assert stale == ["gone@mutant.a.b"] and added == ["new@mutant.a.b"]
    again, stale, added = mf.regenerate_baseline(new, ["kept@mutant.a.b", "new@mutant.a.b"])
    assert again == new and not stale and not added


def test_unreliable_rows_count_as_rated_and_are_kept():
    baseline = {"hang_detected": {}, "reliably_killed": {}, "undetectable": {},
                "unreliable": {"rare@mutant.a.b": "killed 1 of 2 trials"}}
    new, stale, added = mf.regenerate_baseline(baseline, ["rare@mutant.a.b"])
    assert new["unreliable"] == {"rare@mutant.a.b": "killed 1 of 2 trials"}
    assert "unrated" not in new and not stale and not added


def test_problems_report_each_drift_once():
    s = suite()
    mutants, ids = mf.collect([s])
    doc = doc_with(mf.render_index(mutants, {}))
    baseline = {"hang_detected": {}, "reliably_killed": {ids[0]: {}}, "undetectable": {}}
    assert mf.problems([s], doc, baseline, {"mutant.futex.lost": ["docs/x.md"]}, {}) == []
    drift = mf.problems([s], doc.replace("gives up", "gave up"), {"reliably_killed": {}, "undetectable": {}},
                        {"mutant.futex.renamed": ["docs/x.md"]}, {})
    assert any("docs/mutants.md" in d for d in drift)
    assert any("has no row" in d for d in drift)
    assert any("mutant.futex.renamed" in d and "docs/x.md" in d for d in drift)


def test_mentions_skip_patterns_and_trailing_dots(tmp_path):
    (tmp_path / "a.md").write_text("`mutant.*` and mutant.<primitive>.<defect>; see mutant.futex.lost. Also "
                                   "x@mutant.futex.early_timeout/paddles=2\n")
    found = mf.mentioned([str(tmp_path)])
    assert sorted(found) == ["mutant.futex.early_timeout", "mutant.futex.lost"]
