"""The report checked as a person sees it (helpers.render_check): hand-written pages with a
known flaw each (a table wider than the window, an image that does not exist, a traceback
in a cell's stderr output) rendered in headless Chromium, then the small run's real
report.html. Skipped when Chromium is not installed (scripts/ensure-chromium, run by
`make test`, installs Debian's package where it can)."""

from __future__ import annotations

import stat

import pytest
from PIL import Image

from helpers import render_check
from helpers.render_check import (
    PRINT_WIDTH_PX,
    ErrorText,
    RenderCheckError,
    check_page,
    find_chromium,
)

needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="Chromium is not installed: run scripts/ensure-chromium (needs root or sudo "
           "without a password, and apt-get) to render the report")

#: nbconvert's markup for a cell's output (lab template), as in report.html.
STDERR_OUTPUT = ('<div class="jp-RenderedText jp-OutputArea-output" '
                 'data-mime-type="application/vnd.jupyter.stderr"><pre>{}</pre></div>')
PLAIN_OUTPUT = ('<div class="jp-RenderedText jp-OutputArea-output" '
                'data-mime-type="text/plain"><pre>{}</pre></div>')
TRACEBACK = ('<span class="ansi-red-fg">Traceback (most recent call last)</span>\n'
             '  File "x.py", line 1, in &lt;module&gt;\nValueError: bad amount')


def write_page(folder, body: str, name: str = "page.html"):
    """A page like nbconvert's: headings with anchor links, outputs in scrolling boxes."""
    path = folder / name
    path.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><style>"
        "body { margin: 8px; font-family: sans-serif; }"
        ".jp-OutputArea-output { overflow-x: auto; }"
        "</style></head><body>"
        "<h1 id='Report'>Report<a class='anchor-link' href='#Report'>¶</a></h1>"
        f"{body}</body></html>", encoding="utf-8")
    return path


def table(columns: int, cell_width: int, table_id: str) -> str:
    cells = "".join(f"<td style='min-width:{cell_width}px'>column {i}</td>"
                    for i in range(columns))
    return (f"<div class='jp-OutputArea-output'><table id='{table_id}'>"
            f"<tr>{cells}</tr><tr>{cells}</tr></table></div>")


@needs_chromium
@pytest.mark.parametrize("scrolling_box", [True, False], ids=["in-scrolling-box", "bare"])
def test_a_table_wider_than_the_window_fails_the_page_width_check(tmp_path, scrolling_box):
    wide = table(columns=20, cell_width=100, table_id="equity")  # about 2,100 px
    if not scrolling_box:
        wide = wide.replace("class='jp-OutputArea-output'", "")
    report = check_page(write_page(tmp_path, f"<h2>Equity</h2>{wide}"), width=1280)

    assert not report.ok
    # The table, not each of its rows and cells, nor its box (which the window clips).
    assert [(e.tag, e.name) for e in report.overflowing] == [("table", "#equity")]
    assert report.overflowing[0].right > 2000
    assert report.overflowing[0].text.startswith("column 0 column 1")
    assert any("past the window's 1280 px: <table#equity>" in p for p in report.problems())
    # Cut off in its box, the page keeps the window's width; bare, it widens the page.
    assert (report.scroll_width == 1280) == scrolling_box
    assert report.widest.name == "#equity" and report.widest.width > PRINT_WIDTH_PX


@needs_chromium
def test_the_same_page_without_the_wide_table_is_clean(tmp_path):
    page = write_page(tmp_path, "<h2>Equity</h2>" + table(5, 100, "equity")
                      + "<h2>Tiers</h2><h3>Not a section</h3><p>The standard error of the "
                        "mean is small; no error here.</p>")
    before = page.read_text()
    reports = [check_page(page), check_page(page)]

    assert reports[0] == reports[1]  # deterministic
    report = reports[0]
    assert report.ok and report.problems() == []
    assert report.overflowing == [] and report.error_texts == [] and report.scroll_width == 1280
    assert report.sections == ["Report", "Equity", "Tiers"]  # h1 and h2, without the ¶
    assert report.widest.name == "#equity"
    assert 500 < report.widest.width <= PRINT_WIDTH_PX
    assert page.read_text() == before  # the check works on a copy


@needs_chromium
def test_an_image_that_does_not_load_is_reported(tmp_path):
    Image.new("RGB", (40, 30), "steelblue").save(tmp_path / "chart.png")
    page = write_page(tmp_path, "<img src='chart.png' alt='chart'><img src='missing.png'>")

    report = check_page(page)

    assert report.images == 2
    assert report.broken_images == ["missing.png"]  # chart.png resolves from the page's folder
    assert report.problems() == ["image did not load: missing.png"]


@needs_chromium
def test_a_traceback_or_warning_on_the_page_is_reported(tmp_path):
    page = write_page(tmp_path, STDERR_OUTPUT.format(TRACEBACK)
                      + PLAIN_OUTPUT.format("/kit/x.py:3: FutureWarning: the default will change")
                      + "<p>Warning: 12 rows dated after the as-of date.</p>"
                      + "<p>A mean absolute error of 3 orders.</p>")

    report = check_page(page)

    assert report.error_texts == [
        ErrorText("stderr output", "Traceback (most recent call last)"),
        ErrorText("page text", "/kit/x.py:3: FutureWarning: the default will change"),
        ErrorText("page text", "Warning: 12 rows dated after the as-of date.")]
    assert not report.ok


@needs_chromium
def test_a_full_page_screenshot_is_the_window_wide_and_the_page_tall(tmp_path):
    page = write_page(tmp_path, "<div style='height:3000px'>tall</div>")

    report = check_page(page, width=1000, screenshot=tmp_path / "shots" / "page.png")

    assert report.height > 3000
    assert report.screenshot == tmp_path / "shots" / "page.png"
    with Image.open(report.screenshot) as shot:
        assert shot.size == report.screenshot_size == (1000, report.height)


@needs_chromium
def test_the_command_line_prints_the_findings_and_fails_on_a_problem(tmp_path, capsys):
    wide = write_page(tmp_path, table(20, 100, "equity"), "wide.html")
    clean = write_page(tmp_path, table(2, 100, "equity"), "clean.html")

    assert render_check.main([str(wide)]) == 1
    assert "past the window's 1280 px: <table#equity>" in capsys.readouterr().out
    assert render_check.main([str(clean)]) == 0
    assert "0 problem(s)" in capsys.readouterr().out
    assert render_check.main([str(tmp_path / "nowhere.html")]) == 2
    assert "No page to check" in capsys.readouterr().err


def fake_chromium(tmp_path, script: str) -> str:
    path = tmp_path / "chromium"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.mark.parametrize("script, message", [
    ("echo 'cannot open display' >&2; exit 3", r"Chromium failed \(exit code 3\)"),
    ("sleep 30", r"Chromium took more than 0.5 s"),
    ("echo '<html><body></body></html>'", r"did not finish loading"),
], ids=["fails", "hangs", "no-measurement"])
def test_chromium_failing_is_a_clear_error(tmp_path, monkeypatch, script, message):
    monkeypatch.setattr(render_check, "find_chromium", lambda: fake_chromium(tmp_path, script))
    with pytest.raises(RenderCheckError, match=message):
        check_page(write_page(tmp_path, "<p>hello</p>"), timeout=0.5)


def test_no_chromium_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(render_check, "find_chromium", lambda: None)
    with pytest.raises(RenderCheckError, match="scripts/ensure-chromium"):
        check_page(write_page(tmp_path, "<p>hello</p>"))


@needs_chromium
def test_the_real_report_renders_cleanly(small_report, tmp_path):
    report = check_page(small_report / "report.html", screenshot=tmp_path / "report.png")
    print(report.summary())  # the screenshot's size and the section list, with -s

    assert report.broken_images == [] and report.images >= 1
    assert report.overflowing == [], "\n".join(map(str, report.overflowing))
    assert report.scroll_width == report.width
    assert report.error_texts == [], "\n".join(map(str, report.error_texts))
    assert report.screenshot_size == (1280, report.height) and report.height > 1000
    assert len(report.sections) >= 3
    assert report.ok
