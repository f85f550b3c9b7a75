import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from reports import junit

XSD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "junit-10.xsd")


def cases(xml_text):
    root = ET.fromstring(xml_text)
    return root, {c.get("name"): c for c in root.iter("testcase")}


def children(case):
    return [child.tag for child in case if child.tag != "system-out"]


def test_valid_against_junit_10(model, tmp_path):
    if not shutil.which("xmllint"):
        pytest.skip("xmllint is not installed (apt-get install libxml2-utils)")
    path = tmp_path / "junit.xml"
    path.write_text(junit.render(model), encoding="utf-8")
    done = subprocess.run(["xmllint", "--noout", "--schema", XSD, str(path)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr


def test_schema_rejects_what_junit_10_rejects(tmp_path):
    """The vendored schema is only worth something if it fails bad files: file= and testcase properties."""
    if not shutil.which("xmllint"):
        pytest.skip("xmllint is not installed (apt-get install libxml2-utils)")
    for bad in ('<testcase name="a" file="x.cc"/>', '<testcase name="a"><properties/></testcase>',
                '<testcase name="a" time="1.5s"/>'):
        path = tmp_path / "bad.xml"
        path.write_text(f'<testsuites><testsuite name="s" tests="1" failures="0" errors="0">{bad}'
                        f'</testsuite></testsuites>')
        done = subprocess.run(["xmllint", "--noout", "--schema", XSD, str(path)], capture_output=True, check=False)
        assert done.returncode != 0, bad


def test_one_testcase_per_instance_with_surefire_mapping(model):
    root, by_name = cases(junit.render(model))
    names = [c.get("name") for c in root.iter("testcase")]
    assert len(names) == len(set(names)) == len(model["instances"])
    assert children(by_name["x/pass@good"]) == []
    assert children(by_name["x/fail@good"]) == ["failure", "rerunFailure"]
    assert children(by_name["x/flaky@good"]) == ["failure", "flakyFailure"]
    assert by_name["x/flaky@good"].find("failure").get("type") == "FLAKY"
    assert children(by_name["x/crash@good"]) == ["error", "rerunError"]
    assert children(by_name["x/hang@good"]) == ["error"]
    assert "futex_wait" in by_name["x/hang@good"].find("error").text
    assert children(by_name["x/race@good"]) == ["error"]
    assert by_name["x/race@good"].find("error").get("type") == "SANITIZER"
    assert children(by_name["x/unsup@good"]) == ["skipped"]
    assert children(by_name["x/quar@good"]) == ["skipped", "flakyFailure"]
    assert by_name["x/quar@good"].find("skipped").get("message").startswith("quarantined: 1/2")
    assert children(by_name["x/notrun@good"]) == ["skipped"]
    assert children(by_name["x/pass@mutant.m"]) == []
    assert children(by_name["x/fail@mutant.m"]) == ["flakyFailure"]
    assert children(by_name["x/pass@mutant.e"]) == ["failure"]
    flaky = by_name["x/flaky@good"].find("flakyFailure")
    assert [c.tag for c in flaky] == ["stackTrace"]
    assert "./jostle replay" in flaky.find("stackTrace").text


def test_suite_counts(model):
    root, _ = cases(junit.render(model))
    suite = root.find("testsuite")
    assert suite.get("tests") == "14"
    # failures: fail, flaky, nasty, XPASS; errors: crash, hang, race, err; skipped: unsup, quar, notrun
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("4", "4", "3")
    assert root.get("failures") == "4" and root.get("errors") == "4"
    assert re.fullmatch(r"\d+\.\d{3}", suite.get("time"))
    assert suite.get("timestamp") == "2025-01-02T03:04:05"


def test_every_byte_escaped(model):
    text = junit.render(model)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text)
    root, by_name = cases(text)
    nasty = next(name for name in by_name if name.startswith("x/<script>"))
    assert "<script>alert('x')</script> & \"q\" 'a'\\x1b[31m\\x00\\x07\\x7f\\ud800" in nasty
    body = by_name[nasty].find("failure")
    assert "\\x1b[31m" in body.get("message") and "<script>" in body.text
