"""The whole book as one PDF, offline: ``make pdf`` writes ``_build/pdf/book.pdf``.

1. **One HTML page.** Jupyter Book 1.x builds the book with Sphinx's ``singlehtml`` builder into
   ``_build/pdf/_build/singlehtml``, from the configuration of the strict check build
   (``book/_ext/check_config.py``: notebooks are not executed, their committed outputs are used)
   plus ``book/_ext/singlehtml_handlers.py`` (without it the single-page build stops at the
   first hidden code cell). The page is written at the root of the build as ``book.html``, so
   that its relative links to ``_static/`` and ``_images/`` resolve (Jupyter Book writes it as
   ``book/intro.html`` with the root's links).
2. **Printed by Chromium.** The build is served from 127.0.0.1 (no other host resolves) to
   Debian's headless Chromium, driven through its chromedriver as in ``tests/test_browser.py``;
   once the book's own MathJax has typeset every formula, the web fonts are loaded and every
   image has loaded, the page is printed with the DevTools command ``Page.printToPDF`` (what
   ``chromium --headless --print-to-pdf`` does, but after the page is ready: the command-line
   print does not wait for MathJax, and its PDF shows unset formulas).

A4 paper, backgrounds printed, no header or footer. Exercise solutions stay folded, as on the
website. ``tests/test_pdf.py`` (``make test-pdf``) checks the page count, that no formula is left
as raw TeX in the PDF's text, that the MathJax fonts are embedded, and that every figure is.

    .venv/bin/python book/_ext/pdf.py                    # build and print (make pdf)
    .venv/bin/python book/_ext/pdf.py --print-only       # print the existing single-page build
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "_build" / "pdf"
PAGE = "book.html"
TIMEOUT_S = 600  # MathJax typesets some 2000 formulas on the one page

# Waits for MathJax (if the page loads it), the fonts and every image; returns what it saw.
WAIT_UNTIL_READY = """
const done = arguments[arguments.length - 1];
(async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const wantsMathJax = !!document.querySelector('script[src*="mathjax"]');
  for (let i = 0; wantsMathJax && i < 600 && !(window.MathJax && MathJax.startup
       && MathJax.startup.promise); i++) await sleep(100);
  if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  const images = [...document.images];
  images.forEach((img) => { if (img.loading === "lazy") img.loading = "eager"; });
  await Promise.all(images.map((img) => img.complete ? null : new Promise((resolve) => {
    img.addEventListener("load", resolve); img.addEventListener("error", resolve);
  })));
  await document.fonts.ready;
  done({
    math: document.querySelectorAll(".math").length,
    typeset: document.querySelectorAll(".math mjx-container").length,
    images: images.length,
    broken: images.filter((img) => !(img.complete && img.naturalWidth > 0))
                  .map((img) => img.getAttribute("src")),
  });
})().catch((e) => done({error: String(e)}));
"""


def write_config(src: Path, dst: Path) -> None:
    """The check build's configuration (no execution), plus the single-page visitors."""
    sys.path.insert(0, str(Path(__file__).parent))
    import check_config

    check_config.main(str(src), str(dst))
    config = yaml.safe_load(dst.read_text(encoding="utf8"))
    sphinx = config.setdefault("sphinx", {})
    extensions = sphinx.get("local_extensions") or {}
    extensions["singlehtml_handlers"] = str(Path(__file__).parent.resolve())
    sphinx["local_extensions"] = extensions
    dst.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf8")


def build_singlehtml(out: Path = OUT) -> Path:
    """Build the book as one page; return the folder holding ``book.html``."""
    if out.exists():
        shutil.rmtree(out)
    config = out / "_config.yml"
    write_config(ROOT / "_config.yml", config)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    subprocess.run([str(jupyter_book), "build", str(ROOT), "--builder", "singlehtml",
                    "--config", str(config), "--path-output", str(out), "--quiet"], check=True)
    html = out / "_build" / "singlehtml"
    root_doc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))["root"]
    shutil.copyfile(html / f"{root_doc}.html", html / PAGE)
    return html


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def _executable(env: str, *names: str) -> str | None:
    if os.environ.get(env):
        return shutil.which(os.environ[env])
    return next((path for name in names if (path := shutil.which(name))), None)


def print_pdf(html: Path, pdf: Path) -> dict:
    """Print ``html/book.html`` to ``pdf`` with headless Chromium; return what the page held."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = _executable("CHROMIUM", "chromium", "chromium-browser", "google-chrome")
    chromedriver = _executable("CHROMEDRIVER", "chromedriver")
    if not chromium or not chromedriver:
        raise SystemExit("make pdf needs Chromium and its driver (Debian/Ubuntu: `sudo apt-get "
                         "install chromium chromium-driver`), or CHROMIUM and CHROMEDRIVER")
    handler = functools.partial(_QuietHandler, directory=str(html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    try:
        driver.set_page_load_timeout(TIMEOUT_S)
        driver.set_script_timeout(TIMEOUT_S)
        start = time.monotonic()
        driver.get(f"http://127.0.0.1:{httpd.server_address[1]}/{PAGE}")
        seen = driver.execute_async_script(WAIT_UNTIL_READY)
        if "error" in seen:
            raise RuntimeError(f"the page did not get ready: {seen['error']}")
        result = driver.execute_cdp_cmd("Page.printToPDF", {
            "paperWidth": 8.27, "paperHeight": 11.69,  # A4, inches
            "marginTop": 0.5, "marginBottom": 0.5, "marginLeft": 0.4, "marginRight": 0.4,
            "printBackground": True, "displayHeaderFooter": False,
        })
        pdf.parent.mkdir(parents=True, exist_ok=True)
        pdf.write_bytes(base64.b64decode(result["data"]))
        seen["seconds"] = round(time.monotonic() - start, 1)
    finally:
        driver.quit()
        httpd.shutdown()
        httpd.server_close()
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="build folder (default: _build/pdf)")
    parser.add_argument("--print-only", action="store_true",
                        help="print the existing single-page build again")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    html = out / "_build" / "singlehtml" if args.print_only else build_singlehtml(out)
    seen = print_pdf(html, out / "book.pdf")
    print(f"{out / 'book.pdf'}: {seen['typeset']}/{seen['math']} formulas typeset, "
          f"{seen['images']} images ({len(seen['broken'])} broken), printed in {seen['seconds']} s")
    if seen["broken"] or seen["typeset"] < seen["math"]:
        print("error: broken images or formulas left untypeset", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


# --- reading the PDF back (standard library only; for tests/test_pdf.py) --------------------
# Enough of PDF 1.4 for what Chromium (Skia) writes: a classic cross-reference table, direct
# stream lengths, FlateDecode streams, fonts with a ToUnicode CMap.

import re  # noqa: E402
import zlib  # noqa: E402


class PDF:
    """The objects, pages and text of a PDF file that Chromium printed."""

    def __init__(self, data: bytes):
        self.data = data
        start = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
        lines = iter(data[start:].split(b"\n")[1:])  # after "xref"
        self.offsets: dict[int, int] = {}
        for header in lines:
            section = header.split()
            if len(section) != 2 or not all(x.isdigit() for x in section):
                break  # "trailer"
            first, count = map(int, section)
            for i in range(count):
                offset, _, kind = next(lines).split()[:3]
                if kind == b"n":
                    self.offsets[first + i] = int(offset)

    def dictionary(self, num: int) -> bytes:
        """The text of object ``num`` up to its stream (or its end)."""
        at = self.offsets[num]
        end = self.data.find(b"endobj", at)
        stream = self.data.find(b"stream", at, end)
        return self.data[at:stream if stream >= 0 else end]

    def stream(self, num: int) -> bytes:
        """The decoded stream of object ``num`` (FlateDecode or none)."""
        head = self.dictionary(num)
        at = self.offsets[num] + len(head) + len(b"stream")
        at += 2 if self.data[at:at + 2] == b"\r\n" else 1
        length = re.search(rb"/Length\s+(\d+)(\s+0\s+R)?", head)
        n = int(length[1])
        if length[2]:
            n = int(re.search(rb"obj\s*(\d+)", self.dictionary(n))[1])
        raw = self.data[at:at + n]
        return zlib.decompress(raw) if b"/FlateDecode" in head else raw

    def pages(self) -> list[int]:
        return [n for n in sorted(self.offsets)
                if re.search(rb"/Type\s*/Page(?![s\w])", self.dictionary(n))]

    def font_names(self) -> set[str]:
        """Base and descriptor names of the embedded fonts, without their subset prefix."""
        return {name.split(b"+")[-1].decode("latin1")
                for name in re.findall(rb"/(?:BaseFont|FontName)\s*/([^\s/<>\[\]]+)", self.data)}

    def images(self) -> list[tuple[int, int]]:
        """``(width, height)`` of every image XObject (soft masks included)."""
        return [(int(w), int(h)) for w, h in re.findall(
            rb"/Subtype\s*/Image\s*/Width\s+(\d+)\s*/Height\s+(\d+)", self.data)]

    def _cmap(self, font: int) -> tuple[int, dict[int, str]]:
        """(code length in bytes, code -> text) of font object ``font``'s ToUnicode CMap."""
        ref = re.search(rb"/ToUnicode\s+(\d+)\s+0\s+R", self.dictionary(font))
        if not ref:
            return 1, {}
        cmap = self.stream(int(ref[1])).decode("latin1")
        space = re.search(r"begincodespacerange\s*<([0-9A-Fa-f]+)>", cmap)
        width = len(space[1]) // 2 if space else 2

        def text(hexstr: str) -> str:
            return bytes.fromhex(hexstr).decode("utf-16-be", errors="replace")

        table: dict[int, str] = {}
        for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
            for src, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block):
                table[int(src, 16)] = text(dst)
        for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
            for lo, hi, dst in re.findall(
                    r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]*>|\[[^\]]*\])", block):
                lo, hi = int(lo, 16), int(hi, 16)
                if dst.startswith("["):
                    for i, d in enumerate(re.findall(r"<([0-9A-Fa-f]*)>", dst)):
                        table[lo + i] = text(d)
                else:
                    base = bytes.fromhex(dst[1:-1])
                    for i in range(hi - lo + 1):
                        value = int.from_bytes(base, "big") + i
                        table[lo + i] = value.to_bytes(len(base), "big").decode(
                            "utf-16-be", errors="replace")
        return width, table

    TOKEN = re.compile(rb"<([0-9A-Fa-f\s]*)>|\(((?:\\.|[^\\)])*)\)|/([^\s/\[\]()<>{}%]+)"
                       rb"|([-+]?(?:\d+\.?\d*|\.\d+))|([A-Za-z'\"*]+)|(\[)|(\])", re.S)

    def _font_name(self, font: int) -> str:
        head = self.dictionary(font)
        name = re.search(rb"/BaseFont\s*/([^\s/<>\[\]]+)", head)
        descriptor = re.search(rb"/FontDescriptor\s+(\d+)\s+0\s+R", head)
        if not name and descriptor:
            name = re.search(rb"/FontName\s*/([^\s/<>\[\]]+)", self.dictionary(int(descriptor[1])))
        return name[1].split(b"+")[-1].decode("latin1") if name else ""

    def page_text(self, page: int, skip_fonts: str | None = None) -> str:
        """The text shown on ``page``: one line per text object (BT ... ET). Text in fonts whose
        name matches the regular expression ``skip_fonts`` (e.g. ``"Mono"``: code) is left out."""
        head = self.dictionary(page)
        resources = re.search(rb"/Resources\s+(\d+)\s+0\s+R", head)
        if resources:
            head = self.dictionary(int(resources[1]))
        fonts_ref = re.search(rb"/Font\s+(\d+)\s+0\s+R", head)
        fonts_text = self.dictionary(int(fonts_ref[1])) if fonts_ref else head
        fonts = {name: int(num) for name, num in
                 re.findall(rb"/([^\s/<>\[\]]+)\s+(\d+)\s+0\s+R", fonts_text)}
        contents = re.search(rb"/Contents\s+(?:(\d+)\s+0\s+R|\[([^\]]*)\])", head)
        nums = [int(contents[1])] if contents and contents[1] else [
            int(n) for n in re.findall(rb"(\d+)\s+0\s+R", contents[2] if contents else b"")]
        out, line = [], []
        width, table = 1, {}
        operands: list = []
        for num in nums:
            for m in self.TOKEN.finditer(self.stream(num)):
                hexstr, literal, name, number, op, open_, close = m.groups()
                if hexstr is not None:
                    operands.append(bytes.fromhex(re.sub(rb"\s", b"", hexstr).decode()))
                elif literal is not None:
                    operands.append(re.sub(rb"\\(.)", rb"\1", literal))
                elif name is not None:
                    operands.append(name)
                elif number is not None:
                    operands.append(float(number))
                elif open_:
                    operands.append("[")
                elif close:
                    i = len(operands) - 1 - operands[::-1].index("[")
                    operands[i:] = [operands[i + 1:]]
                else:
                    if op == b"Tf" and len(operands) >= 2 and operands[-2] in fonts:
                        width, table = self._font_cmap(fonts[operands[-2]])
                        if skip_fonts and re.search(skip_fonts,
                                                    self._font_name(fonts[operands[-2]])):
                            table = {}
                    elif op in (b"Tj", b"'", b'"', b"TJ") and operands:
                        items = operands[-1] if isinstance(operands[-1], list) else [operands[-1]]
                        for item in items:
                            if isinstance(item, bytes):
                                line.append("".join(
                                    table.get(int.from_bytes(item[i:i + width], "big"), "")
                                    for i in range(0, len(item), width)))
                            elif isinstance(item, float) and item < -250:
                                line.append(" ")
                    elif op == b"ET" and line:
                        out.append("".join(line))
                        line = []
                    operands = []
        if line:
            out.append("".join(line))
        return "\n".join(out)

    @functools.cache  # noqa: B019  (one PDF object per file, read once)
    def _font_cmap(self, font: int) -> tuple[int, dict[int, str]]:
        return self._cmap(font)

    def text(self, skip_fonts: str | None = None) -> list[str]:
        """The text of every page (see :meth:`page_text`)."""
        return [self.page_text(p, skip_fonts) for p in self.pages()]
