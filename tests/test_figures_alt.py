"""Every figure a chapter shows has alt text and a caption (myst-nb cell metadata
``mystnb.image.alt`` and ``mystnb.figure.caption``), and the alt text describes the figure: a
sentence, not a file name."""

from __future__ import annotations

import base64
import json
import re
import struct
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
FILE_NAME = re.compile(r"^\S+\.(png|jpe?g|svg|pdf)$|^(image|figure|output)[\s_-]*\d*$", re.I)


def alt_problem(alt: object) -> str | None:
    """Why ``alt`` is not a usable alt text (``None`` when it is)."""
    if not isinstance(alt, str) or not alt.strip():
        return "no alt text"
    if FILE_NAME.match(alt.strip()):
        return f"alt text is a file name: {alt!r}"
    if len(alt.split()) < 6:
        return f"alt text too short to describe a figure: {alt!r}"
    return None


def test_alt_check_can_fail():
    assert alt_problem(None) and alt_problem("fig3.png") and alt_problem("image 2")
    assert alt_problem("a plot")
    assert alt_problem("Two panels of loss against compute for six widths.") is None


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_figure_has_alt_text_and_caption(path):
    cells = json.loads(path.read_text(encoding="utf8"))["cells"]
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        if not any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            continue
        meta = cell.get("metadata", {}).get("mystnb", {})
        problem = alt_problem(meta.get("image", {}).get("alt"))
        assert problem is None, f"{path.name}, cell {i}: {problem}"
        caption = meta.get("figure", {}).get("caption", "")
        assert len(caption.split()) >= 6, f"{path.name}, cell {i}: no caption"


# No figure wider than the page: the book's text column shows about 13 inches of a matplotlib
# figure at a legible scale. Checked twice: on the code (a literal figsize) and on the stored
# image (its width in pixels over the resolution it was saved at, which also catches a width
# computed in code or a layout that spills over its figsize).
MAX_WIDTH = 13.0


def _png_inches(b64: str) -> tuple[float, float]:
    """(width, height) in inches of a base64 PNG, from its size and its pHYs resolution."""
    data = base64.b64decode(b64)
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    i, dpi = 8, None
    while i < len(data):
        (n,), kind = struct.unpack(">I", data[i:i + 4]), data[i + 4:i + 8]
        if kind == b"pHYs":
            ppx, _, unit = struct.unpack(">IIB", data[i + 8:i + 17])
            dpi = ppx * 0.0254 if unit == 1 else None
        if kind == b"IDAT":
            break
        i += 12 + n
    assert dpi, "the PNG does not record its resolution"
    return width / dpi, height / dpi


def test_png_width_can_fail():
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for inches, dpi in ((14.0, 110), (8.0, 72)):
        fig = plt.figure(figsize=(inches, 2), dpi=dpi)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        width, _ = _png_inches(base64.b64encode(buf.getvalue()))
        assert abs(width - inches) < 0.02


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_figure_wider_than_the_page(path):
    for cell in json.loads(path.read_text(encoding="utf8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        where = f"{path.name}, cell {cell.get('id')}"
        widths = [float(w) for w in re.findall(r"figsize=\(([\d.]+)\s*,", "".join(cell["source"]))]
        assert all(w <= MAX_WIDTH for w in widths), f"{where}: figure {widths} inches wide"
        for out in cell.get("outputs", []):
            if "image/png" in out.get("data", {}):
                width, _ = _png_inches(out["data"]["image/png"])
                assert width <= MAX_WIDTH + 0.05, f"{where}: stored figure {width:.1f} inches wide"


# One tick helper everywhere: every figure with a log axis labels it with
# supercollapse.plotting.plain_log_ticks (6, 10, 20 rather than 6 x 10^0).
LOG_AXIS = re.compile(r"scale=\"log\"|set_[xy]scale\(\"log\"|loglog\(|semilog[xy]\(|LogNorm|"
                      r"plotting\.(loss_vs_compute|normalized_curves|delta_sigma|scaling_report)")


def sci_labels(lo: float, hi: float, axis: str = "y", helper: bool = True) -> list[str]:
    """The power-of-ten tick labels ('10^k' or 'a x 10^k') of a log axis from ``lo`` to ``hi``.
    Every range tested holds a decade, which matplotlib labels '10^k' in every supported version
    (3.8 leaves the ticks between decades of a 1.2-decade axis unlabelled, 3.10 writes them
    'a x 10^k'); the helper writes plain numbers inside its range."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from supercollapse import plotting

    fig, ax = plt.subplots()
    ax.set(**{f"{axis}scale": "log", f"{axis}lim": (lo, hi)})
    if helper:
        plotting.plain_log_ticks(fig.axes)
    fig.canvas.draw()
    labels = [t.get_text() for t in getattr(ax, f"get_{axis}ticklabels")(which="both")]
    plt.close(fig)
    return [s for s in labels if "10^" in s]


@pytest.mark.parametrize("lo, hi", [(0.5, 7.0), (0.9, 4.0), (2.0, 30.0), (1e-3, 0.06),
                                    (0.01, 0.3), (0.25, 1.0), (3.0, 40.0)])
@pytest.mark.parametrize("axis", ["x", "y"])
def test_tick_helper_writes_plain_numbers(lo, hi, axis):
    assert sci_labels(lo, hi, axis, helper=False), "matplotlib's own labels: the check can fail"
    assert sci_labels(lo, hi, axis) == []


def test_tick_helper_keeps_powers_of_ten_for_large_numbers():
    """Compute in FLOPs or parameter counts: powers of ten, not 20000000000."""
    assert sci_labels(2e10, 3e11) and sci_labels(3e4, 4e5)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_log_axes_use_the_tick_helper(path):
    for cell in json.loads(path.read_text(encoding="utf8"))["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and "plt.show()" in src and LOG_AXIS.search(src):
            assert "plain_log_ticks(" in src, (
                f"{path.name}, cell {cell.get('id')}: a log axis without "
                "plotting.plain_log_ticks(fig.axes) before plt.show()")


def test_tick_helper_keeps_minor_labels_switched_off():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    from supercollapse import plotting

    fig, ax = plt.subplots()
    ax.set(xscale="log", xlim=(0.3, 2.0))
    ax.xaxis.set_minor_formatter(NullFormatter())
    plotting.plain_log_ticks(ax)
    fig.canvas.draw()
    assert not any(t.get_text() for t in ax.get_xticklabels(which="minor"))
    assert "$\\mathdefault{1}$" in [t.get_text() for t in ax.get_xticklabels()]
    plt.close(fig)
