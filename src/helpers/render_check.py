"""Check the HTML report as a person sees it: rendered by headless Chromium.

:func:`check_page` opens a temporary copy of the page in Chromium with a small script added
that, once the page has loaded, measures what a reader would notice: images that did not
load, anything past the right edge of the window, error or warning text (a Python
traceback, a ``FutureWarning``, a notebook's stderr output) and the section headings. It can
also take a full-page screenshot. From a shell::

    python -m helpers.render_check reports/demo/2025-12-31/report.html --screenshot page.png

prints the findings and exits 1 when there is a problem (2 when Chromium is missing or
fails). Chromium is Debian's ``chromium`` package; ``scripts/ensure-chromium`` (run by
``make test``) installs it where it can.

The check is deterministic: a fixed window width and device scale, no network (the page is
meant to be a self-contained file, so anything it fetches from the internet counts as not
loaded), and Chromium's virtual time, which runs the page's timers without waiting for them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

__all__ = ["PRINT_WIDTH_PX", "RenderCheckError", "PageElement", "ErrorText", "RenderReport",
           "find_chromium", "check_page"]

#: Content width of an A4 page printed at 96 dpi with Chromium's default margins: 210 mm is
#: 794 px, less about 1 cm (38 px) each side. A table wider than this is cut or shrunk on
#: paper even when it fits the window (:attr:`RenderReport.widest`). Checking the page with
#: ``width=PRINT_WIDTH_PX`` lays it out as on paper and lists what would not fit.
PRINT_WIDTH_PX = 718

#: What the injected script writes into the page, URI-encoded so that ``--dump-dom`` passes
#: it through unescaped.
_RESULT_ID = "cvkit-render-check"

#: Measures the page after it has loaded (images settled, fonts ready) and
#: writes the findings as JSON into a hidden element, which ``--dump-dom`` then returns.
_MEASURE_SCRIPT = r"""
<script>
(() => {
  // A traceback, a Python exception or warning class (ValueError, FutureWarning) or a
  // logged "Error:" / "Warning:": prose such as "standard error" is not matched.
  const ERROR_TEXT = new RegExp(['Traceback \\(most recent call last\\)',
                                  '\\b[A-Z]\\w*(?:Error|Warning|Exception)\\b',
                                  '\\b(?:Error|ERROR|Warning|WARNING)\\s*:'].join('|'));
  const STDERR = '[data-mime-type="application/vnd.jupyter.stderr"]';
  const CONTENT = 'table, img, svg, pre, canvas, video, iframe';
  const squash = (text) => (text || '').replace(/\s+/g, ' ').trim();
  const snippet = (text) => {
    const t = squash(text);
    return t.length > 80 ? t.slice(0, 79) + '…' : t;
  };
  const rendered = (el) => el.getClientRects().length > 0;
  const right = (el) => el.getBoundingClientRect().right + window.scrollX;
  const describe = (el) => {
    const classes = (el.getAttribute('class') || '').split(/\s+/).filter(Boolean);
    return {tag: el.tagName.toLowerCase(),
            name: el.id ? '#' + el.id : classes.map((c) => '.' + c).join(''),
            text: snippet(el.innerText || el.textContent || el.getAttribute('alt')),
            right: Math.round(right(el)),
            width: Math.round(el.getBoundingClientRect().width)};
  };
  const source = (img) => {
    const src = img.getAttribute('src') || '';
    return src.startsWith('data:') ? src.slice(0, 30) + '… (' + src.length + ' characters)' : src;
  };
  const settled = (img) => new Promise((done) => {
    img.addEventListener('load', done);
    img.addEventListener('error', done);
  });

  function measure() {
    const viewport = document.documentElement.clientWidth;
    const elements = [...document.body.querySelectorAll('*')].filter(rendered);
    // Every element past the window's right edge, reported at its outermost: a wide table,
    // not each of its cells. An element clipped by a scrolling box still counts: the reader
    // sees it cut off.
    const past = new Set(elements.filter((el) => right(el) > viewport + 0.5));
    const outermost = [...past].filter((el) => {
      for (let up = el.parentElement; up; up = up.parentElement) if (past.has(up)) return false;
      return true;
    });
    const content = elements.filter((el) => el.matches(CONTENT));
    const width = (el) => el.getBoundingClientRect().width;
    const widest = content.reduce((best, el) => (best && width(best) >= width(el) ? best : el),
                                  null);

    const stderr = [...document.querySelectorAll(STDERR)].filter(rendered);
    const errors = stderr.map((el) => ({where: 'stderr output',
      text: snippet(el.innerText.split('\n').find((line) => line.trim()))}));
    const inStderr = new Set(stderr.flatMap((el) => el.innerText.split('\n').map(squash)));
    const seen = new Set();
    for (const line of document.body.innerText.split('\n').map(squash)) {
      if (ERROR_TEXT.test(line) && !inStderr.has(line) && !seen.has(line)) {
        seen.add(line);
        errors.push({where: 'page text', text: snippet(line)});
      }
    }

    const sections = [...document.querySelectorAll('h1, h2')].filter(rendered).map((h) => {
      const heading = h.cloneNode(true);
      heading.querySelectorAll('.anchor-link').forEach((a) => a.remove());  // nbconvert's ¶
      return squash(heading.textContent);
    });
    return {viewport: viewport,
            scroll_width: document.documentElement.scrollWidth,
            height: document.documentElement.scrollHeight,
            images: [...document.images].map((img) =>
              ({src: source(img), loaded: img.complete && img.naturalWidth > 0})),
            overflowing: outermost.map(describe),
            widest: widest && describe(widest),
            errors: errors,
            sections: sections};
  }

  // Only waits that Chromium's virtual time covers (network, timers): --dump-dom does not
  // wait for animation frames, so measuring after one would be a race.
  window.addEventListener('load', async () => {
    const images = [...document.images];
    images.forEach((img) => { img.loading = 'eager'; });  // lazy images below the fold too
    const pending = images.filter((img) => !img.complete).map(settled);
    if (pending.length) {
      await Promise.race([Promise.all(pending), new Promise((done) => setTimeout(done, 5000))]);
    }
    if (document.fonts.status !== 'loaded') await document.fonts.ready;
    const out = document.createElement('pre');
    out.id = '@RESULT_ID@';
    out.hidden = true;
    let found;
    try { found = measure(); } catch (error) { found = {error: String(error)}; }
    out.textContent = encodeURIComponent(JSON.stringify(found));
    document.body.appendChild(out);
  });
})();
</script>
""".replace("@RESULT_ID@", _RESULT_ID)


class RenderCheckError(RuntimeError):
    """Chromium is missing, failed, timed out, or the page never finished loading."""


@dataclass(frozen=True)
class PageElement:
    """An element of the rendered page.

    ``tag`` (``'table'``), ``name`` (``'#id'`` or its classes, ``'.a.b'``), ``text`` (the
    first 80 characters of its text), ``right`` (its right edge, px from the page's left
    edge) and ``width`` (px).
    """

    tag: str
    name: str
    text: str
    right: int
    width: int

    def __str__(self) -> str:
        return (f"<{self.tag}{self.name}> {self.width} px wide, right edge at {self.right} px: "
                f"{self.text!r}")


@dataclass(frozen=True)
class ErrorText:
    """Error or warning text on the page: ``where`` (``'stderr output'`` of a notebook cell,
    or ``'page text'``) and ``text`` (its first line, up to 80 characters)."""

    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


@dataclass
class RenderReport:
    """What :func:`check_page` found on the rendered page.

    Attributes
    ----------
    width
        The window's width, px.
    height
        The page's full height at that width, px.
    scroll_width
        The page's full width, px: more than ``width`` when something pushes it wider.
    images
        How many ``<img>`` the page has.
    broken_images
        The ``src`` of each image that did not load (data URIs shortened).
    overflowing
        The outermost elements whose right edge passes the window's width (a wide table, not
        its cells), including ones cut off by a scrolling box.
    widest
        The widest table, image, chart or preformatted block: compare its ``width`` with
        :data:`PRINT_WIDTH_PX` to know whether it fits an A4 page. Not a problem by itself,
        and an image usually shrinks to fit (nbconvert gives it ``max-width: 100%``) where a
        table does not: check at ``width=PRINT_WIDTH_PX`` to see what overflows on paper.
    error_texts
        Error and warning text: each notebook stderr output, and each line of the page
        naming a traceback, a Python exception or warning class, or starting ``Error:``.
    sections
        The text of the h1 and h2 headings, in order.
    screenshot
        The full-page screenshot's path, when one was taken.
    screenshot_size
        Its ``(width, height)`` in px.
    """

    width: int
    height: int
    scroll_width: int
    images: int
    broken_images: list[str] = field(default_factory=list)
    overflowing: list[PageElement] = field(default_factory=list)
    widest: PageElement | None = None
    error_texts: list[ErrorText] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    screenshot_size: tuple[int, int] | None = None

    def problems(self) -> list[str]:
        """One sentence per problem a reader would see; empty when the page is clean."""
        found = [f"image did not load: {src}" for src in self.broken_images]
        if self.scroll_width > self.width:
            found.append(f"the page is {self.scroll_width} px wide in a {self.width} px window")
        found += [f"past the window's {self.width} px: {element}" for element in self.overflowing]
        found += [f"error text in {error}" for error in self.error_texts]
        return found

    @property
    def ok(self) -> bool:
        """True when the page has no problem (:meth:`problems` is empty)."""
        return not self.problems()

    def summary(self) -> str:
        """The findings as a few lines of text, for a person."""
        lines = [f"page: {self.width} x {self.height} px; {self.images} image(s), "
                 f"{len(self.broken_images)} broken"]
        if self.screenshot is not None:
            width, height = self.screenshot_size
            lines.append(f"screenshot: {self.screenshot} ({width} x {height} px)")
        if self.widest is not None:
            fits = "fits" if self.widest.width <= PRINT_WIDTH_PX else "does not fit"
            lines.append(f"widest element ({fits} the {PRINT_WIDTH_PX} px of an A4 page): "
                         f"{self.widest}")
        lines.append("sections:")
        lines += [f"  {section}" for section in self.sections]
        problems = self.problems()
        lines.append(f"{len(problems)} problem(s)" + (":" if problems else ""))
        lines += [f"  {problem}" for problem in problems]
        return "\n".join(lines)


def find_chromium() -> str | None:
    """The path of the Chromium binary (Debian's ``chromium``), or None when not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def check_page(html_path: str | Path, width: int = 1280, screenshot: str | Path | None = None,
               timeout: float = 60.0, virtual_time_ms: int = 10_000) -> RenderReport:
    """Render an HTML page in headless Chromium and report what a reader would notice.

    Parameters
    ----------
    html_path
        The page, e.g. a run's ``report.html``. It is not modified: a temporary copy, with
        the measuring script added and a ``<base>`` pointing at the page's folder (so that
        relative image paths still resolve), is what Chromium opens.
    width
        The window's width, px.
    screenshot
        Where to write a full-page PNG screenshot (window ``width`` x the page's height);
        none taken when None.
    timeout
        Seconds each Chromium run may take.
    virtual_time_ms
        Chromium's virtual time budget: how long, in the page's own clock, scripts and
        timers may run before the page is measured.

    Returns
    -------
    RenderReport

    Raises
    ------
    FileNotFoundError
        The page does not exist.
    RenderCheckError
        Chromium is not installed, fails, times out, or the page does not finish loading.
    """
    page = Path(html_path).resolve()
    if not page.is_file():
        raise FileNotFoundError(f"No page to check at {page}")
    chromium = find_chromium()
    if chromium is None:
        raise RenderCheckError("Chromium is not installed: run scripts/ensure-chromium "
                               "(apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="render-check-") as scratch:
        copy = Path(scratch) / "page.html"
        copy.write_text(_with_measuring_script(page.read_text(encoding="utf-8"), page.parent),
                        encoding="utf-8")
        run = _ChromiumRun(chromium, copy.as_uri(), Path(scratch) / "profile", timeout,
                           virtual_time_ms)
        found = _read_result(run(["--dump-dom"], width, 800))
        report = RenderReport(
            width=width, height=int(found["height"]), scroll_width=int(found["scroll_width"]),
            images=len(found["images"]),
            broken_images=[image["src"] for image in found["images"] if not image["loaded"]],
            overflowing=[PageElement(**element) for element in found["overflowing"]],
            widest=PageElement(**found["widest"]) if found["widest"] else None,
            error_texts=[ErrorText(**error) for error in found["errors"]],
            sections=found["sections"])
        if screenshot is not None:
            report.screenshot = Path(screenshot).resolve()
            report.screenshot.parent.mkdir(parents=True, exist_ok=True)
            report.screenshot.unlink(missing_ok=True)
            run([f"--screenshot={report.screenshot}"], width, report.height)
            if not report.screenshot.is_file():
                raise RenderCheckError(f"Chromium wrote no screenshot of {page}")
            report.screenshot_size = _png_size(report.screenshot)
    return report


def _with_measuring_script(html: str, folder: Path) -> str:
    """The page with the measuring script at the end of its body and, unless it has its own,
    a ``<base>`` so that its relative URLs resolve from its own folder."""
    if not re.search(r"<base[\s>]", html, flags=re.IGNORECASE):
        base = f'<base href="{folder.as_uri()}/">'
        head = re.search(r"<head[^>]*>", html, flags=re.IGNORECASE)
        html = (html[:head.end()] + base + html[head.end():]) if head else base + html
    body_end = html.lower().rfind("</body>")
    if body_end < 0:
        return html + _MEASURE_SCRIPT
    return html[:body_end] + _MEASURE_SCRIPT + html[body_end:]


class _ChromiumRun:
    """Runs headless Chromium on one page, with the same flags every time."""

    def __init__(self, chromium: str, url: str, profile: Path, timeout: float,
                 virtual_time_ms: int):
        self.chromium, self.url, self.profile = chromium, url, profile
        self.timeout, self.virtual_time_ms = timeout, virtual_time_ms

    def __call__(self, action: list[str], width: int, height: int) -> str:
        """Chromium's stdout for ``action`` (``--dump-dom`` or ``--screenshot=…``) in a
        ``width`` x ``height`` window."""
        command = [
            self.chromium, "--headless=new",
            # The sandbox cannot start as root, nor without Debian's chromium-sandbox; the
            # page is a local file and the network is off.
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--hide-scrollbars", "--force-device-scale-factor=1", "--lang=en-US",
            "--no-first-run", "--disable-extensions", "--disable-sync",
            "--disable-background-networking", "--disable-component-update", "--mute-audio",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: the report must stand alone
            "--run-all-compositor-stages-before-draw",
            f"--virtual-time-budget={self.virtual_time_ms}",
            f"--user-data-dir={self.profile}",
            f"--window-size={width},{height}",
            *action, self.url]
        # Its own process group, so that a timeout ends Chromium's helper processes too.
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise RenderCheckError(f"Chromium took more than {self.timeout:g} s on "
                                   f"{' '.join(action)}") from None
        if process.returncode != 0:
            tail = "\n  ".join(stderr.strip().splitlines()[-5:])
            raise RenderCheckError(f"Chromium failed (exit code {process.returncode}) on "
                                   f"{' '.join(action)}:\n  {tail}")
        return stdout


def _read_result(dom: str) -> dict:
    """The measuring script's findings, from the page's DOM as Chromium dumped it."""
    match = re.search(rf'id="{_RESULT_ID}"[^>]*>([^<]*)<', dom)
    if match is None:
        raise RenderCheckError("The page did not finish loading within Chromium's virtual "
                               "time budget (no measurement in the rendered page)")
    found = json.loads(unquote(match.group(1)))
    if "error" in found:
        raise RenderCheckError(f"The measuring script failed: {found['error']}")
    return found


def _png_size(path: Path) -> tuple[int, int]:
    from PIL import Image  # Pillow comes with matplotlib

    with Image.open(path) as image:
        return image.size


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.render_check PAGE [--width PX] [--screenshot PNG]``: print the
    findings; exit 0 when the page is clean, 1 when it has problems, 2 when it cannot be
    checked."""
    parser = argparse.ArgumentParser(prog="python -m helpers.render_check",
                                     description="Check an HTML report as a person sees it, "
                                                 "in headless Chromium.")
    parser.add_argument("page", type=Path, help="the HTML page, e.g. a run's report.html")
    parser.add_argument("--width", type=int, default=1280,
                        help=f"window width, px (1280); {PRINT_WIDTH_PX} lays the page out as "
                             "on A4 paper")
    parser.add_argument("--screenshot", type=Path, help="write a full-page PNG screenshot here")
    args = parser.parse_args(argv)
    try:
        report = check_page(args.page, width=args.width, screenshot=args.screenshot)
    except (FileNotFoundError, RenderCheckError) as error:
        print(f"render_check: {error}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
