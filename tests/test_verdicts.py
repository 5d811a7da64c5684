"""The closing page, book/verdicts.md: its table is generated from results/ and its prose says
what the table says, no more (supercollapse.verdicts)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from supercollapse.paths import results_dir
from supercollapse.results import by_variant, load_runs
from supercollapse.verdicts import LADDER_SWEEPS, ladder_verdicts, page_table, verdicts_markdown

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "verdicts.md"



def _ladders_to_horizon(runs) -> list:
    """The ladders among a variant's runs: per schedule, at least three widths, one run each,
    each trained to a common multiple of a fitted law's horizon, not a noise-trace repeat."""
    out = []
    for schedule in {r.config.schedule for r in runs}:
        cfgs = [r.config for r in runs if r.config.schedule == schedule]
        widths = {c.width for c in cfgs}
        if (len(widths) >= 3 and len(widths) == len(cfgs)
                and len({c.horizon_mult for c in cfgs}) == 1
                and all(c.horizon_kappa is not None and c.noise_batches == 0 for c in cfgs)):
            out.append(schedule)
    return out


@pytest.fixture(scope="module")
def rows():
    return ladder_verdicts()


def _key(r):
    return (r.sweep, r.variant, r.sizes)


def test_every_stored_ladder_is_in_the_table():
    """A sweep of results/ left out of LADDER_SWEEPS holds no ladder to a horizon (the horizon
    sweeps run far past it, the noise sweeps repeat collapse recipes with traces)."""
    listed = {(scale, sweep) for scale, sweep, _ in LADDER_SWEEPS}
    for scale, sweep in sorted(listed):  # the rule recognises the ladders that are listed
        groups = by_variant(load_runs(results_dir() / scale / sweep))
        assert any(_ladders_to_horizon(runs) for runs in groups.values()), (scale, sweep)
    for d in sorted(results_dir().glob("*/*")):
        if not d.is_dir() or (d.parent.name, d.name) in listed or not any(d.glob("*.npz")):
            continue
        groups = by_variant(load_runs(d))
        ladders = [v for v, runs in groups.items() if _ladders_to_horizon(runs)]
        assert not ladders, f"{d}: ladders {ladders} missing from the closing table"


def test_page_table_is_current(rows):
    assert page_table(PAGE.read_text(encoding="utf8")) == verdicts_markdown(rows), (
        "book/verdicts.md is stale: run `python -m supercollapse.verdicts`")


def test_rows_are_complete(rows):
    for r in rows:
        lo, hi = r.frac_below[1], r.frac_below[2]
        assert 0 <= lo <= hi <= 1, r
        assert r.n_seeds >= 3 and r.n_sizes >= 3 and r.span > 2, r
        assert r.L0 == 0.0 if r.task == "Fourier regression" else r.L0 > 0.5, r
        assert r.verdict in {"supercollapse", "collapse", "broken", "borderline"}, r


def test_prose_says_what_the_table_says(rows):
    """The claims of "What the table says" (and of the intro's, which repeat them)."""
    sc = {_key(r) for r in rows if r.verdict == "supercollapse"}
    fit = "in law's fit range"
    assert sc == {("full/collapse", "linear", fit), ("full/collapse", "cosine", fit),
                  ("full/breakdown", "gamma_0.9x", fit), ("full/breakdown", "gamma_1.1x", fit),
                  ("lm-tuned/collapse-first", "linear", fit),
                  ("lm-tuned/collapse-first", "cosine", fit),
                  ("lm-tuned/collapse", "linear", fit), ("lm-tuned/collapse", "cosine", fit)}
    for r in rows:
        if r.sweep == "full/collapse" and r.sizes == "all trained":
            assert r.verdict != "supercollapse", r
            if r.variant in ("linear", "cosine"):
                assert r.verdict == "collapse", r
        if r.sweep == "full/breakdown" and r.variant in ("mup_frozen", "lr_4x"):
            assert r.verdict == "broken" and 2.5 < r.median_ratio < 4.5, r
        if r.sweep == "full/ladder":
            assert r.verdict != "supercollapse" and round(r.span) == 303 and r.n_seeds == 3, r
        if r.sweep == "full/ladder-seeds":  # the 303x ladder at its own law, both protocols
            assert r.verdict != "supercollapse" and r.n_seeds == 5, r
            assert r.seed_protocol == r.variant in ("independent", "shared_data"), r
            assert round(r.span) == (123 if r.sizes == "all trained" else 55), r
        if r.sweep == "full/param-collapse":  # chapter 9 at the full scale: none supercollapses
            assert r.verdict != "supercollapse" and r.n_seeds == 5, r
            if r.sizes != "all trained" and r.variant in ("mup", "mean_field", "standard", "ntk"):
                assert 0.65 < r.frac_below[0] < 0.8 and r.verdict == "borderline", r
            if r.sizes != "all trained" and r.variant == "sp_global":
                assert r.frac_below[0] < 0.55, r
        if r.sweep in ("lm-full/collapse", "lm-full/breakdown"):  # the first recipe
            assert r.verdict == "broken", r
        if r.sweep == "lm-full/lr":  # the learning-rate ladders: borderline at best
            assert r.verdict in ("broken", "borderline") and r.frac_below[0] < 0.85, r
        if r.sweep == "lm-tuned/collapse-first":
            if r.sizes == "all trained":  # with width 24, outside the law's range
                assert r.verdict != "supercollapse" and round(r.span) == 15, r
            elif r.variant in ("linear", "cosine"):
                assert r.frac_below[0] > 0.8 and r.n_seeds == 5 and r.n_sizes == 5, r
            elif r.variant == "constant":
                assert r.verdict == "collapse", r
            else:
                assert r.variant == "wsd" and r.verdict == "borderline", r
        if r.sweep == "lm-tuned/collapse":  # the ladder at the refitted law's horizons
            assert r.n_seeds == 5, r
            if r.sizes == "all trained":  # with width 24: 27x, nothing supercollapses
                assert r.verdict != "supercollapse" and round(r.span) == 27, r
            else:
                assert r.n_sizes == 6 and round(r.span) == 16, r
                if r.variant in ("linear", "cosine"):
                    assert r.frac_below[0] > 0.8, r
                else:
                    assert r.verdict == "borderline", r
        if r.sweep == "lm-tuned/breakdown":  # a bad recipe on the tuned ladder
            assert r.verdict in ("broken", "borderline") and r.frac_below[0] < 0.7, r
        if r.sweep == "quick/param-collapse":  # chapter 9: parameterisations on the quick ladder
            assert r.n_seeds == 6 and round(r.span) == 15, r
            if r.variant in ("mup", "mean_field"):
                assert r.frac_below[0] > 0.85 and r.verdict == "borderline", r
            elif r.variant in ("standard", "ntk"):
                assert r.verdict == "collapse", r
            else:
                assert r.variant == "sp_global" and r.frac_below[0] < 0.5, r
    spans = {round(r.span) for r in rows if r.verdict == "supercollapse"}
    assert spans == {9, 10, 16}


def test_intro_and_readme_link_the_page():
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf8")
    assert "{doc}`verdicts`" in intro
    assert "book/verdicts.md" in (ROOT / "README.md").read_text(encoding="utf8")
    assert re.search(r"file: book/verdicts\b", (ROOT / "_toc.yml").read_text(encoding="utf8"))
