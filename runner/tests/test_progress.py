import io

from jostle.progress import Progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_lines_mode_prints_periodically_with_an_honest_eta():
    clock, out = Clock(), io.StringIO()
    progress = Progress(total=10, stream=out, interval_s=10, clock=clock)
    assert progress.mode == "lines"
    assert "ETA ?" in progress.status_line()
    clock.now = 2.0
    progress.finished_run(failed=False)
    progress.finished_run(failed=True)
    progress.tick()
    clock.now = 5.0
    progress.tick()
    clock.now = 12.5
    progress.tick()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0] == "jostle: 2/10 runs, 1 failing, 0 running, 2.00s elapsed, ETA 8.00s"


def test_deadline_eta_is_an_upper_bound():
    clock = Clock()
    progress = Progress(deadline=90.0, stream=io.StringIO(), clock=clock)
    clock.now = 30.0
    assert "ETA ≤1m00s" in progress.status_line()


def test_bar_on_a_terminal_rewrites_one_line_and_keeps_notes():
    clock, out = Clock(), Tty()
    progress = Progress(total=4, stream=out, clock=clock)
    assert progress.mode == "bar"
    clock.now = 1.0
    progress.finished_run(failed=False)
    progress.tick()
    progress.note("FAIL: x")
    progress.close()
    text = out.getvalue()
    assert "\r\033[K[######------------------]  25% 1/4 runs" in text
    assert "FAIL: x\n" in text and text.endswith("\n")


def test_none_mode_is_silent():
    out = io.StringIO()
    progress = Progress(total=1, stream=out, mode="none")
    progress.tick(force=True)
    progress.note("x")
    progress.close()
    assert out.getvalue() == ""
