"""Every page of the built book, opened in a real (headless) Chromium with no network.

Run by ``make browser`` (part of ``make test``) after ``make check-book``, which builds the
book without executing the notebooks (they are committed with their outputs) into
``_build/check/_build/html``. The pages are served from 127.0.0.1 by a local HTTP server, and
Chromium resolves no other host name, so a page that needs the network (MathJax, a script or a
font from a CDN) fails here as it would for an offline reader. For each page:

* formulas are typeset: MathJax (the book's own copy, ``_static/mathjax``) ran, every ``.math``
  element holds a rendered ``mjx-container``, no formula has a TeX error or an undefined macro,
  and no raw ``\\(``, ``\\)``, ``\\[``, ``\\]`` or ``\\begin{`` is left in the text outside
  code;
* every ``<img>`` loaded (``naturalWidth > 0``);
* the browser console has no error (level SEVERE: a failed request, a JavaScript error);
* exercise solutions are closed: their content is hidden until the reader opens them;
* a chapter page (``chapters/*.html``) has its "Launch on Colab" link to its notebook;
* a screenshot is kept as ``_build/browser/<page>.png``: the first screen (1280 x 900), or
  the whole page (up to 16000 pixels high; a few seconds more per page) with
  ``BROWSER_FULL_PAGE=1``.

A static test also checks that no page loads a script, stylesheet, image or frame from another
host, and that every ``_toc.yml`` entry has its page.

Chromium and its driver are Debian's packages (``apt-get install chromium chromium-driver``;
``.ci/run`` installs them when it runs as root); where they are missing the tests are skipped
with that hint. Selenium (pip, ``dev`` extra) drives them; it uses the system chromedriver and
downloads nothing. Other locations: ``BOOK_HTML`` (built pages), ``BROWSER_SCREENSHOTS``
(folder), ``CHROMIUM`` and ``CHROMEDRIVER`` (executables). To run it again on the existing
build: ``.venv/bin/pytest -m browser tests/test_browser.py``.
"""

from __future__ import annotations

import base64
import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

try:
    from selenium.webdriver.support.wait import WebDriverWait
except ImportError:  # the tests that need it are skipped then
    WebDriverWait = None

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build/check/_build/html"))
SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", ROOT / "_build/browser"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
INSTALL_HINT = (
    "install Chromium and its driver (Debian/Ubuntu: `sudo apt-get install chromium "
    "chromium-driver`; .ci/run does it as root), or point CHROMIUM and CHROMEDRIVER at them"
)
WIDTH, HEIGHT = 1280, 900  # the viewport, CSS pixels
MAX_SHOT_HEIGHT = 16000  # pixels; Chromium cannot capture much more in one image
MATHJAX_TIMEOUT_S = 30
FULL_PAGE = os.environ.get("BROWSER_FULL_PAGE", "") not in ("", "0")


def _pages() -> list[str]:
    if not HTML.is_dir():
        return []
    return sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if not p.relative_to(HTML).parts[0].startswith("_")
    )


PAGES = _pages()
needs_build = pytest.mark.skipif(
    not PAGES, reason=f"no built book in {HTML}: run `make check-book` first (or `make browser`)"
)


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


# --- checks on the HTML files (no browser) -----------------------------------------------

EXTERNAL = re.compile(
    r"<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)=\"((?:https?:)?//[^\"]+)\"[^>]*>"
)


@needs_build
def test_every_toc_entry_was_built():
    missing = [f for f in _toc_files() if f"{f}.html" not in PAGES]
    assert not missing, f"toc entries without a page in {HTML}: {missing}"


@needs_build
@pytest.mark.parametrize("page", PAGES)
def test_page_loads_nothing_from_other_hosts(page):
    """Scripts, stylesheets, images and frames come from the book (links are fine)."""
    html = (HTML / page).read_text(encoding="utf8")
    external = []
    for match in EXTERNAL.finditer(html):
        tag = match.group(0)
        if tag.startswith("<link") and not re.search(r"rel=\"(stylesheet|preload|icon)", tag):
            continue  # <link rel="canonical" ...> and the like load nothing
        external.append(match.group(1))
    assert not external, f"{page} loads from other hosts (fails offline): {external}"
    if 'class="math' in html:
        assert re.search(r"<script[^>]*src=\"[./]*_static/mathjax/tex-chtml\.js\"", html), (
            f"{page} has math but does not load the book's own MathJax (_static/mathjax); "
            "see mathjax_path in _config.yml"
        )


# --- the browser --------------------------------------------------------------------------


def _executable(env: str, *names: str) -> str | None:
    if os.environ.get(env):
        return shutil.which(os.environ[env])
    return next((path for name in names if (path := shutil.which(name))), None)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def server():
    """The built book served over HTTP on 127.0.0.1 (a free port), in a thread."""
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def driver():
    chromium = _executable("CHROMIUM", "chromium", "chromium-browser", "google-chrome")
    chromedriver = _executable("CHROMEDRIVER", "chromedriver")
    if not chromium or not chromedriver:
        pytest.skip(f"Chromium or chromedriver not found: {INSTALL_HINT}")
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={WIDTH},{HEIGHT}",
        "--hide-scrollbars",
        # Offline: every host name but the local server's fails to resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    drv.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
    )
    drv.set_page_load_timeout(60)
    drv.set_script_timeout(MATHJAX_TIMEOUT_S + 10)
    yield drv
    drv.quit()


REDIRECT = re.compile(r"<meta http-equiv=\"refresh\"", re.IGNORECASE)

# Resolves when MathJax has typeset the page ("none" on a page without MathJax).
WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
const deadline = Date.now() + 1000 * arguments[0];
(function wait() {
  if (!window.MathJax) { done("none"); return; }
  const promise = MathJax.startup && MathJax.startup.promise;
  if (promise) { promise.then(() => done("ok"), (e) => done("error: " + e)); return; }
  if (Date.now() > deadline) { done("MathJax did not start (was tex-chtml.js loaded?)"); return; }
  setTimeout(wait, 50);
})();
"""

# Loads lazy images and waits for every image to finish (or fail).
WAIT_FOR_IMAGES = """
const done = arguments[arguments.length - 1];
const images = [...document.images];
images.forEach((img) => { if (img.loading === "lazy") img.loading = "eager"; });
Promise.all(images.map((img) => img.complete ? null : new Promise((resolve) => {
  img.addEventListener("load", resolve); img.addEventListener("error", resolve);
}))).then(() => done(
  images.filter((img) => !(img.complete && img.naturalWidth > 0))
        .map((img) => img.getAttribute("src"))
));
"""

# What a reader sees of the math, the solutions and the launch links.
INSPECT = r"""
const visible = (el) => el.checkVisibility({opacityProperty: true, visibilityProperty: true})
  && el.getBoundingClientRect().height > 0;
const math = [...document.querySelectorAll(".math")];
const raw = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  if (node.parentElement.closest("pre, code, script, style, textarea, mjx-container")) continue;
  const text = node.textContent;
  const at = text.search(/\\[()[\]]|\\begin\{/);
  if (at >= 0) raw.push(text.slice(Math.max(0, at - 30), at + 50).replace(/\s+/g, " "));
}
const solutions = [...document.querySelectorAll(".solution")].map((s) => ({
  id: s.id || s.className,
  open: [...s.children].some((c) => !c.classList.contains("admonition-title") && visible(c))
        || (s.tagName === "DETAILS" && s.open),
  toggle: !!s.querySelector(".toggle-button") || s.tagName === "DETAILS",
}));
return {
  math: math.length,
  untypeset: math.filter((m) => !m.querySelector("mjx-container"))
                 .map((m) => m.textContent.trim().slice(0, 80)),
  mjx: document.querySelectorAll("mjx-container").length,
  // TeX errors (noerrors: <merror>) and undefined macros (noundefined: the name in red).
  texErrors: !(window.MathJax && MathJax.startup && MathJax.startup.document) ? [] :
    [...MathJax.startup.document.math]
      .filter((item) => /<merror|<mtext mathcolor="red">\\[A-Za-z]+<\/mtext>/
                          .test(MathJax.startup.toMML(item.root)))
      .map((item) => item.math.slice(0, 80)),
  raw: raw,
  solutions: solutions,
  colab: [...document.querySelectorAll("a[href]")].map((a) => a.href)
           .filter((href) => href.includes("colab.research.google.com")),
  height: Math.ceil(Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)),
};
"""


def _screenshot(driver, height: int, path: Path) -> None:
    """The first screen of the page as a PNG; the whole page (up to MAX_SHOT_HEIGHT pixels)
    with BROWSER_FULL_PAGE=1, which takes a few seconds more per page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not FULL_PAGE:
        driver.save_screenshot(str(path))
        return
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {
                "x": 0,
                "y": 0,
                "width": WIDTH,
                "height": min(height, MAX_SHOT_HEIGHT),
                "scale": 1,
            },
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def _page_of(url: str) -> str:
    """The page (path under the HTML root) that a URL of the local server shows."""
    return urlsplit(url).path.lstrip("/")


def _expected_colab(page: str) -> tuple[str, str]:
    """The start and the end of the Colab URL of a chapter page (from _config.yml)."""
    colab = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
    repo = urlsplit(CONFIG["repository"]["url"]).path.strip("/")
    return f"{colab}/github/{repo}/", f"/{page.removesuffix('.html')}.ipynb"


@needs_build
@pytest.mark.parametrize("page", PAGES)
def test_page_in_browser(page, server, driver):
    driver.get_log("browser")  # drop what an earlier page left
    driver.get(f"{server}/{page}")
    if REDIRECT.search((HTML / page).read_text(encoding="utf8")):
        # index.html only sends the reader on (to the root of _toc.yml): check where it lands.
        WebDriverWait(driver, 10).until(lambda d: not d.current_url.endswith(f"/{page}"))
        landed = _page_of(driver.current_url)
        assert landed in PAGES, f"{page} redirects to {driver.current_url}, not a page"
    mathjax = driver.execute_async_script(WAIT_FOR_MATHJAX, MATHJAX_TIMEOUT_S)
    broken_images = driver.execute_async_script(WAIT_FOR_IMAGES)
    seen = driver.execute_script(INSPECT)
    _screenshot(driver, seen["height"], SHOTS / page.replace(".html", ".png"))
    console = [
        entry["message"]
        for entry in driver.get_log("browser")
        # The browser asks for /favicon.ico by itself; the book has none.
        if entry["level"] == "SEVERE" and "/favicon.ico " not in entry["message"]
    ]

    problems = []
    if seen["math"] and mathjax != "ok":
        problems.append(f"MathJax: {mathjax} on a page with {seen['math']} formulas")
    if seen["math"] and not seen["mjx"]:
        problems.append("no formula was typeset (no mjx-container)")
    if seen["untypeset"]:
        problems.append(f"formulas not typeset: {seen['untypeset'][:5]}")
    if seen["texErrors"]:
        problems.append(f"TeX errors or undefined macros in: {seen['texErrors'][:5]}")
    if seen["raw"]:
        problems.append(f"raw TeX left in the text: {seen['raw'][:5]}")
    if broken_images:
        problems.append(f"images that did not load: {broken_images}")
    if console:
        problems.append(f"console errors: {console}")
    opened = [s["id"] for s in seen["solutions"] if s["open"] or not s["toggle"]]
    if opened:
        problems.append(f"solutions open (or without a toggle) on load: {opened}")
    if page.startswith("chapters/"):
        start, end = _expected_colab(page)
        if not any(h.startswith(start) and h.endswith(end) for h in seen["colab"]):
            problems.append(f"no Colab launch link {start}...{end}; found {seen['colab']}")
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)
