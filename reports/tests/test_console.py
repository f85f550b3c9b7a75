import re

from reports import console


def test_console_summary(model):
    text = console.render(model)
    assert text.splitlines()[0].startswith("jostle run: session S, 14 instances, 20 runs")
    assert "PASS 1" in text and "FLAKY 2" in text and "not run 1" in text
    assert "FLAKY     x/flaky@good: lost wakeup" in text
    assert "./jostle replay 'jostle-x --run x/fail@good --seed 3" in text
    assert "mutants: 1 caught, 1 escaped, 0 not run" in text
    assert "ESCAPED  x/mutant.e" in text
    assert text.rstrip().endswith("exit code 1: 8 unexpected result(s)")
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", text)
