import pytest

from jostle import protocol
from jostle.amplify import Amplification
from jostle.plan import RunSpec


def test_event_reader_keeps_torn_tail_and_bad_lines():
    reader = protocol.EventReader()
    reader.feed(b'{"v":1,"ev":"start","t_ms":0,"id":"a/b@c","seed":1}\n{"v":1,"ev":"chec')
    assert [e["ev"] for e in reader.events] == ["start"]
    assert reader.torn == '{"v":1,"ev":"chec'
    reader.feed(b'k","t_ms":1}\nnot json\n{"v":2,"ev":"end"}\n[1,2]\n\n')
    assert [e["ev"] for e in reader.events] == ["start", "check"]
    assert reader.bad_lines == ["not json", '{"v":2,"ev":"end"}', "[1,2]"]
    assert reader.torn == ""


def test_event_reader_keeps_invalid_utf8_visible():
    reader = protocol.EventReader()
    reader.feed(b"\xff\xfe garbage\n")
    assert reader.bad_lines == ["\\xff\\xfe garbage"]


def test_parse_json_lines_names_the_bad_line():
    good = '{"v":1,"type":"backend","name":"linux"}\n'
    assert protocol.parse_json_lines(good + "\n", "backend", "x")[0]["name"] == "linux"
    with pytest.raises(protocol.ProtocolError, match="line 2 is not JSON"):
        protocol.parse_json_lines(good + "oops\n", "backend", "x")
    with pytest.raises(protocol.ProtocolError, match="protocol version 2"):
        protocol.parse_json_lines('{"v":2,"type":"backend"}', "backend", "x")
    with pytest.raises(protocol.ProtocolError, match="type 'instance'"):
        protocol.parse_json_lines('{"v":1,"type":"instance"}', "backend", "x")


def test_check_instance_requires_fields():
    with pytest.raises(protocol.ProtocolError, match="lacks"):
        protocol.check_instance({"id": "a/b@c"}, "x")
    inst = protocol.check_instance({"id": "a/b@c", "suite": "a", "case": "b", "backend": "c", "expect": "pass",
                                    "mutant": False}, "x")
    assert inst["timeout_ms"] == 30000 and inst["params"] == {}


def test_run_argv():
    spec = RunSpec("a/b@c/k=v", "a", "/bin/jostle-a", 7, 0, 100, 1.5, 30.0,
                   Amplification("chaos", "p=0.1"), ("/x/plugin.so",))
    assert protocol.run_argv(spec.binary, spec) == [
        "/bin/jostle-a", "--run", "a/b@c/k=v", "--seed", "7", "--iterations", "100", "--duration", "1500ms",
        "--timeout", "30000ms", "--chaos", "p=0.1", "--plugin", "/x/plugin.so"]
