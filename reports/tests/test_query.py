from jostle import query
from jostle.errors import EXIT_INTERRUPTED

from sample_records import make_records


def verdicts(model):
    return {i["id"]: (i["code"], i["gating"]) for i in model["instances"]}


def test_verdicts_from_plain_records(model):
    v = verdicts(model)
    assert v["x/pass@good"] == ("PASS", False)
    assert v["x/fail@good"] == ("FAIL", True)
    assert v["x/flaky@good"] == ("FLAKY", True)
    assert v["x/crash@good"] == ("CRASH", True)
    assert v["x/hang@good"] == ("TIMEOUT", True)
    assert v["x/race@good"] == ("SANITIZER", True)
    assert v["x/unsup@good"] == ("UNSUPPORTED", False)
    assert v["x/err@good"] == ("ERROR", True)
    assert v["x/quar@good"] == ("FLAKY", False)
    assert v["x/notrun@good"] == (None, False)
    assert v["x/pass@mutant.m"] == ("XFAIL", False)
    assert v["x/fail@mutant.m"] == ("FAIL", False)
    assert v["x/pass@mutant.e"] == ("XPASS", True)
    assert model["exit_code"] == 1
    assert model["not_run"] == 1


def test_histograms_and_rates(model):
    passing = next(i for i in model["instances"] if i["id"] == "x/pass@good")
    assert passing["outcomes"]["ok"]["count"] == 2_000_000
    assert passing["outcomes"]["rare"]["count"] == 3
    assert passing["rate_text"] == "0/2 runs failed (p < 77.6% at 95%)"
    flaky = next(i for i in model["instances"] if i["id"] == "x/flaky@good")
    assert flaky["failed_runs"] == 1 and flaky["runs"] == 3
    assert flaky["wilson"][0] < 1 / 3 < flaky["wilson"][1]


def test_mutant_summary(model):
    m = {x["name"]: x for x in model["mutants"]}
    assert m["mutant.m"]["status"] == "caught" and m["mutant.m"]["caught_by"] == ["x/pass@mutant.m"]
    assert m["mutant.m"]["also_failed"] == ["x/fail@mutant.m"]
    assert m["mutant.e"]["status"] == "escaped" and m["mutant.e"]["catchers"] == ["x/pass@mutant.e"]


def test_interrupted_and_incomplete_sessions_exit_130():
    assert query.build(make_records("interrupted"))["exit_code"] == EXIT_INTERRUPTED
    model = query.build(make_records(None))
    assert model["exit_code"] == EXIT_INTERRUPTED and model["session"]["status"] == "incomplete"


def test_session_selection():
    records = make_records() + [dict(r, session="T") for r in make_records()]
    assert query.sessions(records) == ["S", "T"]
    assert query.build(records)["session"]["id"] == "T"
    assert query.build(records, "S")["session"]["id"] == "S"
