"""The soak dashboard: model over several nights, static HTML, and a real headless Chromium."""

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from jostle import store
from jostle import sanitizers
import reports
from reports import dashboard

from sample_records import TSAN

def _write_dashboard(store_dir, path):
    return reports.write("dashboard", dashboard.build(store.load(store_dir)), store_dir, path)


SAMPLE_RACE = sanitizers.parse_reports(TSAN)[0]

NIGHTS = ("2024-05-01", "2024-05-02", "2024-05-03")


def _write_store(out):
    writer = store.Writer(str(out))
    for n, night in enumerate(NIGHTS):
        sid = f"s{n}"
        writer.append({"type": "session", "session": sid, "command": "soak", "started": f"{night}T22:00:00+00:00",
                       "labels": {"night": night}, "instances": [], "config": {},
                       "backends": [{"name": "mutant.lost", "suite": "futex", "mutant": True}]})
        for seq in range(20):
            failing = (night == NIGHTS[-1] and seq < 3)                  # starts failing on the last night
            writer.append({"type": "run", "session": sid, "seq": seq, "instance": "futex/wake@linux/<&>",
                           "suite": "futex", "expect": "pass", "code": "FAIL" if failing else "PASS",
                           "finished": f"{night}T23:00:00", "elapsed_ms": 10.0, "seed": n * 1000 + seq})
        race = {"tool": "tsan", "kind": "data race", "summaries": [], "tool_error": None,
                "reports": [SAMPLE_RACE]}
        writer.append({"type": "run", "session": sid, "seq": 99, "instance": "futex/race@linux", "suite": "futex",
                       "expect": "pass", "code": "SANITIZER", "sanitizer": race, "finished": f"{night}T23:00:00",
                       "suppressed": {"race:known": 2}, "elapsed_ms": 10.0, "seed": n})
        writer.append({"type": "run", "session": sid, "seq": 100, "instance": "futex/lost@mutant.lost",
                       "suite": "futex", "expect": "fail", "code": "FAIL" if n else "PASS",
                       "finished": f"{night}T23:00:00", "elapsed_ms": 10.0, "seed": n * 1000 + seq})
        writer.append({"type": "bench", "session": f"b{n}", "finished": f"{night}T21:00:00", "binary": "futex",
                       "preset": "release", "benchmarks": [{"name": "BM_wake", "run_type": "iteration",
                                                            "real_time": 100.0 + 40 * (n == 2), "time_unit": "ns"}]})
    writer.close()
    return str(out)


def test_model_over_nights(tmp_path):
    m = dashboard.build(store.load(_write_store(tmp_path)))
    assert m["nights"] == list(NIGHTS) and m["last"] == NIGHTS[-1]
    wake = next(r for r in m["rows"] if r["id"] == "futex/wake@linux/<&>")
    assert [(p["k"], p["n"]) for p in wake["series"]] == [(0, 20), (0, 20), (3, 20)]
    assert [n["what"] for n in m["new"]] == ["futex/wake@linux/<&>"]
    (sig,) = m["signatures"]
    assert sig["count"] == 3 and set(sig["nights"]) == set(NIGHTS)
    assert [len(n["caught"]) for n in m["mutants"]["nights"]] == [0, 1, 1]
    (bench,) = m["benches"]
    assert bench["regression"] and round(bench["change"], 2) == 0.4


def test_summary_on_top_and_clean_instances_in_one_line(tmp_path):
    out = _write_store(tmp_path)
    writer = store.Writer(out)
    for i in range(30):            # 30 clean instances on the last night: one line, not 30 rows
        writer.append({"type": "run", "session": "s2", "seq": 200 + i, "instance": f"futex/clean{i}@linux",
                       "suite": "futex", "expect": "pass", "code": "PASS", "finished": f"{NIGHTS[-1]}T23:00:00",
                       "seed": i, "elapsed_ms": 10})
    writer.close()
    m = dashboard.build(store.load(out))
    sm = m["summary"]
    assert sm["runs"] == 93 and sm["failing_runs"] == 6 and sm["new"] == 1
    assert [r["id"] for r in sm["flakiest"]] == ["futex/race@linux", "futex/wake@linux/<&>"]
    assert [(t["k"], t["n"]) for t in sm["trend"]] == [(1, 21), (1, 21), (4, 51)]
    assert sm["clean"]["count"] == 30 and sm["clean"]["runs"] == 30 and sm["clean"]["fewest"] == 1
    assert sm["mutants"]["night"] == NIGHTS[-1] and sm["mutants"]["caught"] == ["futex/mutant.lost"]
    page = dashboard.render(m)
    assert page.index('id="summary"') < page.index('id="new"') < page.index('id="flake"')
    flake = page[page.index('id="flake-table"'):page.index("</table>", page.index('id="flake-table"'))]
    assert flake.count("data-instance=") == 2 and "30 instances had no failing run" in flake


def test_page_is_static_escaped_and_svg_is_well_formed(tmp_path):
    path = _write_dashboard(_write_store(tmp_path), str(tmp_path / "d.html"))
    page = open(path, encoding="utf-8").read()
    assert "futex/wake@linux/&lt;&amp;&gt;" in page and "<&>" not in page.split("<script")[0]
    svgs = re.findall(r"<svg .*?</svg>", page, re.S)
    assert len(svgs) >= 5
    for svg in svgs:
        ET.fromstring(svg)              # every chart parses as XML
        assert "style=" not in svg      # presentation attributes only: survives a strict CSP
    for section in ("new", "flake", "sanitizers", "mutants", "bench"):
        assert f'id="{section}"' in page
    assert "race:known" in page and "regression" in page


def _chromium():
    for name in ("chromium", "chromium-headless-shell", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no chromium (apt-get install chromium; ci/bootstrap.sh should install it)")


def _browse(tmp_path, url, *extra):
    argv = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            f"--user-data-dir={tmp_path / ('profile' + str(len(list(tmp_path.iterdir()))))}",
            "--enable-logging=stderr", "--v=0", *extra, url]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_dashboard_in_headless_chromium(tmp_path):
    path = _write_dashboard(_write_store(tmp_path / "store"), str(tmp_path / "d.html"))
    done = _browse(tmp_path, "file://" + path, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console
    assert 'data-rendered="ok"' in done.stdout and 'data-nights="3"' in done.stdout   # the script ran cleanly
    assert done.stdout.count("<svg") >= 5 and "<circle" in done.stdout
    shot = tmp_path / "dashboard.png"
    done = _browse(tmp_path, "file://" + path, f"--screenshot={shot}", "--window-size=1200,1600")
    assert shot.exists() and shot.stat().st_size > 10_000, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dashboard_under_a_strict_csp_keeps_tables_and_charts(tmp_path):
    path = _write_dashboard(_write_store(tmp_path / "store"), str(tmp_path / "d.html"))
    page = open(path, encoding="utf-8").read().replace(
        "<head>", "<head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">", 1)
    strict = tmp_path / "strict.html"
    strict.write_text(page, encoding="utf-8")
    done = _browse(tmp_path, "file://" + str(strict), "--dump-dom")
    assert done.returncode == 0
    assert 'data-rendered="static"' in done.stdout            # the script was blocked, as Jenkins would
    assert "<table" in done.stdout and "<circle" in done.stdout and "3/20" in done.stdout
