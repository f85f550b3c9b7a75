import pytest

from jostle.errors import UsageError
from jostle.units import harness_duration, human_duration, parse_duration


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("1.5m", 90), ("500ms", 0.5), ("2h", 7200), ("7", 7),
                                          (" 10m ", 600)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5x", "m", "-3s", "0s", "1.2.3s", "ten seconds"])
def test_malformed_durations_are_usage_errors(text):
    with pytest.raises(UsageError, match="--budget"):
        parse_duration(text, "--budget")


def test_harness_and_human_forms():
    assert harness_duration(1.5) == "1500ms"
    assert harness_duration(0.0001) == "1ms"
    assert human_duration(None) == "?"
    assert human_duration(185) == "3m05s"
    assert human_duration(3720) == "1h02m"
