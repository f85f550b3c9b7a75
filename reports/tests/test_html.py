import re
from html.parser import HTMLParser

from reports import html

from sample_records import make_records
from jostle import query, query_detect


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(text):
    collector = Collector()
    collector.feed(text)
    return collector


def test_single_file_without_scripts_or_network(model):
    page = html.render(model)
    tags = parse(page).tags
    assert not any(tag in ("script", "link", "img", "iframe", "object", "embed") for tag, _ in tags)
    assert not any(name in ("src", "href") or name.startswith("on") for _, attrs in tags for name in attrs)
    # The only URL is the SVG namespace, which is a name, not a fetch.
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    # Charts use presentation attributes, so a CSP that blocks inline style still shows them.
    assert not any("style" in attrs for _, attrs in tags)
    assert page.count("<svg") == page.count("</svg>") > 10


def test_every_byte_of_output_escaped(model):
    page = html.render(model)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;q&#34;" in page
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]", page)
    assert "\\x1b[31m\\x00\\x07\\x7f\\ud800" in page
    page.encode("utf-8")


def test_sections_and_details(model):
    page = html.render(model)
    text = "".join(parse(page).text)
    for needle in ("Summary", "Mutants", "Failures", "All instances", "Environment",
                   "jostle run: 8 unexpected results",
                   "futex_wait",                                   # hang stacks
                   "SUMMARY: ThreadSanitizer: data race",          # sanitizer output
                   "./jostle replay 'jostle-x --run x/fail@good",  # repro lines
                   "1/3 runs failed",                               # flake rate with interval
                   "95% CI", "p < 77.6%", "escaped", "caught"):
        assert needle in text, needle
    assert 'aria-label="outcome histogram"' in page and 'aria-label="failure rate"' in page


def test_interrupted_session_says_so():
    page = html.render(query.build(make_records("interrupted")))
    assert "jostle run: interrupted" in page


def _detect_records():
    head = {"type": "detect-session", "session": "D1", "started": "2026-11-21T20:00:00+00:00",
            "modes": ["none", "chaos", "pct"], "budget_per_mutant_s": 20, "trials": 3, "iterations": 1,
            "hang_timeout_s": 2, "quick": False}
    cell = {"type": "detect", "session": "D1", "instance": "x/y@mutant.<b>", "trials": 3, "replayed": None,
            "median_runs": 40, "codes": ["TIMEOUT"]}
    return [head,
            dict(cell, mode="none", killed=1, median_s=20.0, median_censored=True, speedup=None),
            dict(cell, mode="chaos", killed=3, median_s=0.5, median_censored=False, median_runs=3, speedup=40.0,
                 speedup_censored=True),
            dict(cell, mode="pct", killed=2, median_s=1.25, median_censored=False, median_runs=7, speedup=16.0,
                 speedup_censored=True, replayed=[20, 20])]


def test_detect_table_in_the_report(model):
    detect = query_detect.page_model(_detect_records())
    assert detect["modes"] == ["none", "chaos", "pct"] and len(detect["rows"]) == 1
    page = html.render(dict(model, detect=detect))
    text = "".join(parse(page).text)
    for needle in ("Detection benchmark", "1/3 killed", "20.00s", "3/3 killed, 0.50s, 3 runs, x>=40",
                   "replay 20/20", "1 iteration(s) per run", "2s watchdog per run"):
        assert needle in text, needle
    assert "x/y@mutant.&lt;b&gt;" in page
    # No detect records: no section.
    assert query_detect.page_model([]) is None
    assert "Detection benchmark" not in html.render(model)


def test_detect_page_of_its_own():
    page = html.render_detect(query_detect.page_model(_detect_records()))
    tags = parse(page).tags
    assert not any(tag == "script" for tag, _ in tags)
    assert "jostle detect" in page and "x>=16" in "".join(parse(page).text)
