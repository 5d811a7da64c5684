"""Every ladder the book trained, and whether it supercollapsed: the book's closing table.

One row per stored ladder (a sweep's variant under ``results/``, each size trained to its
horizon), summarised by :func:`~supercollapse.analysis.diagnose.check_scaling` over
``0.2 <= x < 1`` with the irreducible loss ``L0`` of its task:

* MLP on the Fourier task (realisable): ``L0 = 0`` exactly;
* transformer on the synthetic language: ``L0`` = the exact floor of its test set
  (``task.test_bayes_loss()``, chapter 8).

The row's ``frac_below`` is the fraction of the range where ``Delta(x) < sigma(x)`` (the
paper's Eqs. 1-3, own normalisation, ``sigma`` pooled as an RMS over sizes), with its
seed-bootstrap interval (chapter 2's convention: resample the seeds of every size); the verdict
is ``check_scaling``'s (``"supercollapse"`` when ``frac_below >= 0.75`` in at least 90% of the
draws, ``"collapse"`` when the median of ``Delta/sigma`` is at most 1.5, ``"broken"`` above it,
``"borderline"`` when the draws disagree). Constant-rate ladders are listed too: the paper
expects them to collapse without supercollapsing.

The horizon sweeps (constant rate, far past each size's optimum) are not ladders to a horizon,
and the noise sweeps repeat recipes of the collapse sweeps at three sizes; neither is listed.
The learning-rate sweep of chapter 8 (``lm-full/lr``) trains, per learning rate, a constant-rate
and a linear-decay ladder of four widths to 1.5 times the horizon law's horizons: each is listed
with its multiple (a common multiple keeps the horizons' exponent); runs alone at their multiple
and the variants of two widths are not ladders. A ladder needs at least three sizes.

Use::

    from supercollapse.verdicts import ladder_verdicts, verdicts_markdown
    print(verdicts_markdown(ladder_verdicts()))
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .results import by_variant, load_runs, to_ladder

#: The sweeps whose variants are ladders to a horizon, ``(scale, sweep, law)``, in the book's
#: order. With a ``law`` (a file of ``results/<scale>/``: the horizon law the sweep was run at) a
#: second row reads the ladder cut to the sizes inside that law's fitted range, the ladder
#: chapters 4, 5 and 8 read first; `full/ladder` (the 303x ladder at `full/law.json`) is read whole.
LADDER_SWEEPS: tuple[tuple[str, str, str | None], ...] = (
    ("full", "collapse", "law.json"), ("full", "breakdown", "law.json"), ("full", "ladder", None),
    ("full", "ladder-seeds", "ladder-law.json"),
    ("lm-full", "collapse", "law.json"), ("lm-full", "breakdown", "law.json"),
    ("lm-full", "lr", None), ("lm-tuned", "collapse-first", "law-first.json"),
    ("lm-tuned", "collapse", "law.json"), ("lm-tuned", "breakdown", "law.json"),
    ("quick", "param-collapse", None), ("full", "param-collapse", "law.json"),
)

#: Where each sweep is read in the book.
CHAPTER_OF: dict[tuple[str, str], str] = {
    ("full", "collapse"): "4", ("full", "breakdown"): "5", ("full", "ladder"): "5",
    ("full", "ladder-seeds"): "5", ("full", "param-collapse"): "9",
    ("lm-full", "collapse"): "8", ("lm-full", "breakdown"): "8", ("lm-full", "lr"): "8",
    ("lm-tuned", "collapse-first"): "8", ("lm-tuned", "collapse"): "8",
    ("lm-tuned", "breakdown"): "8", ("quick", "param-collapse"): "9",
}

_MODEL = {"mlp": "residual MLP", "transformer": "transformer"}
_TASK = {"fourier": "Fourier regression", "language": "synthetic language"}


@dataclass(frozen=True)
class LadderVerdict:
    """One ladder of the book: what was trained and what
    :func:`~supercollapse.analysis.diagnose.check_scaling` says of it.

    ``frac_below`` is ``(value, lo, hi)``: the fraction of ``0.2 <= x < 1`` where
    ``Delta < sigma`` and its seed-bootstrap interval at ``confidence``.
    """

    sweep: str
    variant: str
    sizes: str
    chapter: str
    model: str
    task: str
    n_sizes: int
    p_min: float
    p_max: float
    n_seeds: int
    seed_protocol: str
    L0: float
    L0_source: str
    schedule: str
    frac_below: tuple[float, float, float]
    median_ratio: float
    verdict: str

    @property
    def span(self) -> float:
        """``P_max / P_min``."""
        return self.p_max / self.p_min


def _task_floor(runs: Sequence) -> tuple[float, str]:
    """``L0`` of the runs' task: 0 for the realisable Fourier task, else the exact test floor."""
    cfg = runs[0].config
    if cfg.task == "fourier":
        return 0.0, "true, realisable"
    from .tasks import build_task  # JAX: only for tasks whose floor is not zero

    return float(build_task(cfg).test_bayes_loss()), "exact floor"


def _schedule(cfg) -> str:
    out = cfg.schedule
    if cfg.schedule in ("linear", "cosine") and cfg.decay_frac < 1.0:
        out = f"{cfg.schedule} over last {100 * cfg.decay_frac:.0f}%"
    if cfg.horizon_mult != 1.0:
        out += f", to {cfg.horizon_mult:g}x the horizon"
    return out


def _ladders_of(runs: Sequence) -> list[list]:
    """A variant's runs split into ladders: one per schedule (a learning-rate sweep trains
    several schedules per variant), each sorted by size, with one run per width."""
    out = []
    for schedule in sorted({_schedule(r.config) for r in runs}):
        rr = sorted((r for r in runs if _schedule(r.config) == schedule), key=lambda r: r.n_params)
        if len({r.config.width for r in rr}) == len(rr):
            out.append(rr)
    return out


def _fit_range(base: Path, scale: str, law: str) -> tuple[float, float] | None:
    """``(P_min, P_max)`` of the sizes the horizon law ``results/<scale>/<law>`` was fitted on."""
    path = base / scale / law
    if not path.is_file():
        return None
    sizes = json.loads(path.read_text())["sizes"]
    return min(sizes), max(sizes)


def ladder_verdicts(
    root: str | Path | None = None,
    *,
    sweeps: Sequence[tuple[str, str, str | None]] = LADDER_SWEEPS,
    n_bootstrap: int = 200,
    confidence: float = 0.9,
    seed: int = 0,
) -> list[LadderVerdict]:
    """The verdict of every ladder stored under ``root`` (default: the book's ``results/``).

    For each ``(scale, sweep, law)`` in ``sweeps``, :func:`runs_verdicts` of the runs of
    ``root/scale/sweep`` (with a ``law``, a file of ``root/scale/``, also cut to the sizes inside
    that law's fitted range). Sweeps missing under ``root`` are skipped; rows come in the order
    of ``sweeps``, variants sorted by name.
    """
    from .paths import results_dir

    base = results_dir() if root is None else Path(root)
    rows: list[LadderVerdict] = []
    for scale, sweep, law in sweeps:
        directory = base / scale / sweep
        if directory.is_dir():
            rows += runs_verdicts(load_runs(directory), f"{scale}/{sweep}",
                                  span=_fit_range(base, scale, law) if law else None,
                                  chapter=CHAPTER_OF.get((scale, sweep), ""),
                                  n_bootstrap=n_bootstrap, confidence=confidence, seed=seed)
    return rows


def runs_verdicts(
    runs: Sequence,
    sweep: str,
    *,
    span: tuple[float, float] | None = None,
    chapter: str = "",
    n_bootstrap: int = 200,
    confidence: float = 0.9,
    seed: int = 0,
) -> list[LadderVerdict]:
    """The verdicts of the ladders in one sweep's runs, named ``sweep`` in the rows.

    Each variant (:func:`~supercollapse.results.by_variant`) is split into one ladder per
    schedule; each ladder (all sizes, and with ``span = (P_min, P_max)`` also the sizes inside
    it, when that drops any) goes through
    :func:`~supercollapse.analysis.diagnose.check_scaling` with ``x_range = (0.2, 1)``, the
    task's ``L0`` and ``n_bootstrap`` seed-bootstrap draws. Ladders of fewer than 3 sizes are
    skipped.
    """
    from .analysis.diagnose import check_scaling

    groups = by_variant(list(runs))
    floor: tuple[float, str] | None = None
    rows: list[LadderVerdict] = []
    for variant in sorted(groups):
        for ladder_runs in _ladders_of(groups[variant]):
            ladders = [("all trained", ladder_runs)]
            if span is not None:
                inside = [r for r in ladder_runs if span[0] * 0.999 <= r.n_params <= span[1] * 1.001]
                if len(inside) != len(ladder_runs):
                    ladders.append(("in law's fit range", inside))
            for sizes, rr in ladders:
                if len(rr) < 3:
                    continue
                if floor is None:
                    floor = _task_floor(rr)
                cfg = rr[0].config
                rep = check_scaling(to_ladder(rr), L0=floor[0], x_range=(0.2, 1.0),
                                    n_bootstrap=n_bootstrap, confidence=confidence, seed=seed)
                f = rep.frac_below
                rows.append(LadderVerdict(
                    sweep=sweep, variant=variant, sizes=sizes, chapter=chapter,
                    model=_MODEL.get(cfg.model, cfg.model), task=_TASK.get(cfg.task, cfg.task),
                    n_sizes=len(rr), p_min=float(rr[0].n_params), p_max=float(rr[-1].n_params),
                    n_seeds=int(np.min(rep.n_seeds)),
                    seed_protocol=cfg.seed_protocol, L0=floor[0], L0_source=floor[1],
                    schedule=", ".join(sorted({_schedule(r.config) for r in rr})),
                    frac_below=(float(f.value), float(f.lo), float(f.hi)),
                    median_ratio=float(rep.median_ratio.value), verdict=rep.verdict))
    return rows


def _p(v: float) -> str:
    return f"{v / 1e6:.1f}M" if v >= 1e6 else f"{v / 1e3:.1f}k"


def verdicts_markdown(rows: Sequence[LadderVerdict]) -> str:
    """The rows as one Markdown table (the closing page of the book prints it).

    >>> row = LadderVerdict("full/collapse", "linear", "all trained", "4", "residual MLP",
    ...     "Fourier regression", 6, 23472.0, 402000.0, 5, "independent", 0.0,
    ...     "true, realisable", "linear", (0.9, 0.8, 1.0), 0.4, "supercollapse")
    >>> print(verdicts_markdown([row]).splitlines()[2])
    | 4 | `full/collapse` linear, all trained | residual MLP | Fourier regression | 23.5k-402.0k (17x, 6 sizes) | 5, independent | 0 (true, realisable) | linear | 0.90 [0.80, 1.00] | 0.40 | supercollapse |
    """
    head = ("| ch. | ladder | model | task | span in p | seeds | L0 used | schedule "
            "| Δ<σ fraction [90% interval] | median Δ/σ | verdict |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        l0 = "0" if r.L0 == 0 else f"{r.L0:.3f}"
        f, lo, hi = r.frac_below
        lines.append(
            f"| {r.chapter} | `{r.sweep}` {r.variant}, {r.sizes} | {r.model} | {r.task} | {_p(r.p_min)}-{_p(r.p_max)} "
            f"({r.span:.0f}x, {r.n_sizes} sizes) | {r.n_seeds}, {r.seed_protocol} "
            f"| {l0} ({r.L0_source}) | {r.schedule} | {f:.2f} [{lo:.2f}, {hi:.2f}] "
            f"| {r.median_ratio:.2f} | {r.verdict} |")
    return "\n".join(lines)


def verdict_counts(rows: Sequence[LadderVerdict]) -> dict[str, int]:
    """How many ladders got each verdict: ``{verdict: count}``."""
    out: dict[str, int] = {}
    for r in rows:
        out[r.verdict] = out.get(r.verdict, 0) + 1
    return dict(sorted(out.items()))


#: The lines of the closing page between which :func:`update_page` writes the table.
BEGIN = "<!-- generated by supercollapse.verdicts.update_page: begin -->"
END = "<!-- generated by supercollapse.verdicts.update_page: end -->"


def page_table(page: str) -> str:
    """The generated table of a page: the text between the lines ``BEGIN`` and ``END``."""
    i, j = page.index(BEGIN) + len(BEGIN), page.index(END)
    return page[i:j].strip("\n")


def update_page(path: str | Path | None = None, rows: Sequence[LadderVerdict] | None = None) -> bool:
    """Write the table of :func:`ladder_verdicts` into the closing page (default
    ``book/verdicts.md`` of the repository); returns whether the page changed.

    Run ``python -m supercollapse.verdicts`` after the stored results change.
    """
    from .paths import results_dir

    path = Path(path) if path is not None else results_dir().parent / "book" / "verdicts.md"
    page = path.read_text(encoding="utf8")
    table = verdicts_markdown(ladder_verdicts() if rows is None else rows)
    i, j = page.index(BEGIN) + len(BEGIN), page.index(END)
    new = page[:i] + "\n" + table + "\n" + page[j:]
    if new != page:
        path.write_text(new, encoding="utf8")
    return new != page


__all__ = ["BEGIN", "END", "LADDER_SWEEPS", "LadderVerdict", "ladder_verdicts", "page_table",
           "runs_verdicts",
           "update_page", "verdict_counts", "verdicts_markdown"]

if __name__ == "__main__":
    print("book/verdicts.md", "updated" if update_page() else "already current")
