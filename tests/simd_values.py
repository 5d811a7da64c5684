"""The numbers behind the book's checked cells that only read results/, as one JSON dict.

Run by tests/test_simd.py twice, with NumPy's SIMD dispatch as found and narrowed to its
baseline; every value must agree to far below the digits the chapters print. Usage::

    python tests/simd_values.py OUT.json
"""

from __future__ import annotations

import json
import sys

import numpy as np

from supercollapse.analysis.collapse import (
    bootstrap_irreducible_loss,
    collapse_metrics,
    fit_irreducible_loss,
    null_irreducible_loss,
    summarize_collapse,
    x_average,
)
from supercollapse.analysis.diagnose import check_scaling, paired_contrast
from supercollapse.analysis.fits import fit_power_law_offset
from supercollapse.analysis.frontier import (
    bootstrap_horizon_law,
    compute_frontier,
    fit_horizon_law,
    local_exponent,
)
from supercollapse.analysis.recipe import ladder_gains, recipe_gates
from supercollapse.analysis.seeds import compare_ladders, sigma_ratio
from supercollapse.analysis.theory import fit_two_term
from supercollapse.analysis.transfer import transfer_from_runs
from supercollapse.paths import results_dir
from supercollapse.results import load_runs, load_sweep, longest_per_size, select_runs, to_ladder


def fit_values(fit) -> list[float]:
    return [fit.a, fit.b, fit.L0, fit.r2_log, fit.a_err, fit.b_err, fit.L0_err]


def values() -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    horizon = load_sweep("horizon")["constant"]
    sizes = [float(r.n_params) for r in horizon]
    curves = dict(zip(sizes, to_ladder(horizon), strict=True))
    fr = compute_frontier(curves)
    c_fit, L_fit = fr.points()
    out["ch1 L0 free"] = fit_values(fit_power_law_offset(c_fit, L_fit, n_bootstrap=20))  # ch. 1
    out["ch1 L0 = 0"] = fit_values(fit_power_law_offset(c_fit, L_fit, L0=0.0, n_bootstrap=20))
    law = fit_horizon_law(fr)  # chapter 2, horizon law and its seed bootstrap
    boot = bootstrap_horizon_law(curves, n_bootstrap=200, seed=0)
    out["ch2 law"] = [law.kappa, law.gamma, law.gamma_err, law.log_kappa_err, law.r2_log]
    out["ch2 bootstrap"] = [boot.gamma_err, *np.quantile(boot.gamma, [0.05, 0.95])]
    sweep = load_sweep("collapse")  # chapter 4, end-point fits
    for name, runs in sorted(sweep.items()):
        cur = to_ladder(runs)
        out[f"ch4 L0 fit {name}"] = fit_values(fit_irreducible_loss(cur, n_bootstrap=0))
        cs = np.array([c[-1] for c, _ in cur])
        L_end = np.array([L[:, -1].mean() for _, L in cur])
        out[f"ch4 L0 = 0 {name}"] = fit_values(fit_power_law_offset(cs, L_end, L0=0.0, n_bootstrap=0))
    two = fit_two_term({p: (r.curves["samples"], r.curves["test_loss"])  # chapter 5
                        for p, r in zip(sizes, horizon, strict=True)})
    out["ch5 two-term"] = [two.mu, two.nu, two.rms, two.model.optimal_samples(93024.0)]
    stored = json.loads((results_dir() / "full" / "law.json").read_text())
    lo, hi = min(stored["sizes"]), max(stored["sizes"])
    ladders = {"correct": sweep["linear"], "constant": sweep["constant"]}
    ladders |= dict(load_sweep("breakdown"))
    for name, runs in sorted(ladders.items()):
        runs = [r for r in runs if lo <= r.n_params <= hi]
        rep = check_scaling(to_ladder(runs), constant_runs=to_ladder(horizon) if name.startswith("exp") else None)
        v = [rep.summary.frac_below, rep.summary.median_ratio, rep.frac_below.lo,
             rep.frac_below.hi, rep.median_ratio.lo, rep.median_ratio.hi,
             *rep.verdict_prob.values(), *rep.deviation, *rep.deviation_lo, *rep.deviation_hi,
             *rep.loo_gain]
        if rep.horizon is not None:
            h = rep.horizon
            v += [h.slope.value, h.slope.lo, h.slope.hi, h.mu, h.nu, h.error.value, h.error.lo,
                  h.error.hi]
        out[f"ch5 check_scaling {name}"] = [float(x) for x in v]
    rep = check_scaling(to_ladder(sweep["linear"]))  # chapter 5b, the 7-width ladder
    out["ch5 check_scaling 7 widths"] = [rep.summary.frac_below, rep.summary.median_ratio,
                                         rep.frac_below.lo, rep.frac_below.hi,
                                         *rep.verdict_prob.values(), *rep.deviation, *rep.loo_gain]
    for name in ("correct", "exponent_0.9x", "exponent_1.1x", "gamma_0.9x", "gamma_1.1x",
                 "lr_0.25x"):  # chapter 5b, the prescription, with and without constant-rate runs
        runs = [r for r in ladders[name] if lo <= r.n_params <= hi]
        for tag, const in (("two-term", horizon), ("alone", None)):
            h = check_scaling(to_ladder(runs), constant_runs=const and to_ladder(const)).horizon
            v = [h.exponent_used, h.error.value, h.error.lo, h.error.hi, h.suggested.value]
            out[f"ch5 prescription {tag} {name}"] = v + ([h.refit.gamma] if h.refit else [])
    # chapter 5b, exercise ex-05b-exponent: a synthetic ladder with an exponent 15% too large
    model, gamma = two.model, two.model.balance_gamma()
    p_pin = float(next(r.n_params for r in ladders["gamma_0.9x"] if r.config.width == 96))
    rng = np.random.default_rng(0)
    synthetic = {}
    for p in p_pin * np.geomspace(10**-0.5, 10**0.5, 6):
        t = model.optimal_samples(p_pin) * (p / p_pin) ** ((1 + gamma) * 1.15 - 1)
        t = t * np.geomspace(0.01, 1, 200)
        L = model.loss(t, p) * (1 + 0.01 * rng.standard_normal((5, 1)))
        synthetic[float(p)] = (6 * p * t, L * (1 + 0.003 * rng.standard_normal((5, t.size))))
    h = check_scaling(synthetic).horizon
    out["ch5b ex-05b-exponent"] = [h.exponent_used, h.suggested.value, h.suggested.lo,
                                 h.suggested.hi, h.mu, h.nu]
    # chapter 5, the 303x ladder: verdicts, offsets, paired shifts' theory, local exponents
    wide = load_sweep("ladder")
    p_wide = np.array([r.n_params for r in wide["exponent_1.0x"]], dtype=float)
    for name, runs in sorted(wide.items()):
        res = collapse_metrics(to_ladder(runs), None, L0=0.0)
        s = summarize_collapse(res, x_min=0.2)
        E = res.mean_curves.mean(axis=0)
        off = x_average(res.x, (res.mean_curves - E) / E, 0.2)
        end = np.array([r.curves["test_loss"][:, -1].mean() for r in runs])
        out[f"ch5 wide ladder {name}"] = [s.frac_below, s.median_ratio, s.mean_sigma,
                                          float(x_average(res.x, res.delta_between, 0.2)),
                                          *off, *(-np.diff(np.log(end)) / np.diff(np.log(p_wide)))]
    ends = [r.curves["samples"][-1] for r in wide["exponent_1.0x"]]
    out["ch5 wide ladder model"] = [float(model.loss(t, p)) for t, p in zip(ends, p_wide, strict=True)]
    # chapter 5, the 303x ladder like for like (3 seeds each) and the two ends of its hump
    like = compare_ladders({"10x": to_ladder([r for r in sweep["linear"] if lo <= r.n_params <= hi])}
                           | {k: to_ladder(v) for k, v in wide.items()}, "independent")
    for name, r in sorted(like.items()):
        out[f"ch5 like-for-like {name}"] = [
            r.measured.frac_below, r.measured.median_ratio, *r.frac_below, *r.median_ratio,
            r.corrected.frac_below, r.corrected.median_ratio, r.sigma, *r.sigma_per_size]
    gains = ladder_gains(sweep["linear"], sweep["constant"], 0.0)
    res7 = collapse_metrics(to_ladder(sweep["linear"]), None, L0=0.0)
    E7 = res7.mean_curves.mean(axis=0)
    paired = [r for r in wide["exponent_1.0x"] if r.n_params in {q.n_params for q in horizon}]
    out["ch5 hump decay gain"] = [*gains.ratio, gains.tracks(x_average(
        res7.x, (res7.mean_curves - E7) / E7, 0.2)), *ladder_gains(paired, horizon, 0.0).ratio]
    batch = horizon[0].config.batch_size
    steps = [stored["kappa"] * r.n_params ** (stored["exponent"] - 1) / 6 / batch for r in horizon]
    v = []
    for r, T in zip(horizon, steps, strict=True):
        v.append(local_exponent(r.curves["step"], r.curves["test_loss"], T))
        v += [local_exponent(r.curves["step"], L, T) for L in r.curves["test_loss"]]
        t = T * batch * np.geomspace(0.25, 4.0, 64)
        v.append(local_exponent(t, [model.loss(s, r.n_params) for s in t], T * batch))
    out["ch5 hump time exponent"] = v
    # chapter 5, the ladder at its own law: gate, verdicts, tilt, sigma ratio, like for like
    seeds = load_sweep("ladder-seeds")
    longest = longest_per_size(load_sweep("ladder-horizon")["constant"]
                               + load_sweep("ladder-horizon-long")["constant"])
    for k in ("independent", "shared_data"):
        g = ladder_gains(seeds[k], longest, 0.0)
        res = collapse_metrics(to_ladder(seeds[k]), None, L0=0.0)
        s = summarize_collapse(res, x_min=0.2)
        out[f"ch5 ladder-seeds {k}"] = [*g.ratio, *g.transient_ratio, s.frac_below, s.median_ratio,
                                        *x_average(res.x, res.sigma_per_size, 0.2)]
    r = sigma_ratio(to_ladder(seeds["independent"]), to_ladder(seeds["shared_data"]))
    out["ch5 ladder-seeds sigma ratio"] = [*r.per_size, r.pooled, r.lo, r.hi]
    # chapter 9 at the full scale: verdicts of each recipe, paired contrasts, sigma vs chapter 4
    full = load_sweep("param-collapse")
    fit = {v: [r for r in runs if lo <= r.n_params <= hi] for v, runs in full.items()}
    for v in sorted(full):
        for name, runs in (("all", full[v]), ("fit", fit[v])):
            rep = check_scaling(to_ladder(runs), L0=0.0, n_bootstrap=200)
            f = rep.frac_below
            out[f"ch9 full {v} {name}"] = [f.value, f.lo, f.hi, rep.summary.mean_delta,
                                           rep.summary.mean_sigma]
    for a, b in (("mup", "standard"), ("mup", "sp_global"), ("standard", "sp_global")):
        d = paired_contrast(to_ladder(fit[a]), to_ladder(fit[b]), n_bootstrap=200).frac_diff
        out[f"ch9 full contrast {a} {b}"] = [d.value, d.lo, d.hi]
    ch4 = to_ladder([r for r in sweep["linear"] if lo <= r.n_params <= hi])
    r = sigma_ratio(to_ladder(fit["mup"]), ch4)
    out["ch9 full sigma vs ch4"] = [r.pooled, r.lo, r.hi]
    lm = load_runs(results_dir() / "lm-quick" / "param-lm")  # chapter 9, the transformer
    for v in ("sp_global", "standard", "mup"):
        t = transfer_from_runs(lm, v)
        out[f"ch9 lm transfer {v}"] = [*t.best_lr, t.drift, *t.drift_seeds, *t.penalty]
    out |= transformer_values()
    return out


def transformer_values() -> dict[str, list[float]]:
    """Chapter 8: the transformer sweeps of results/lm-full (the exact L0 comes from JAX)."""
    from supercollapse.analysis import noise_model as nm
    from supercollapse.tasks import build_task

    out: dict[str, list[float]] = {}
    horizon = load_sweep("horizon", scale="lm-full")["constant"]
    fr = compute_frontier(to_ladder(horizon))
    c_fit, L_fit = fr.points()
    L0 = build_task(horizon[0].config).test_bayes_loss()
    out["ch8 frontier"] = fit_values(fit_power_law_offset(c_fit, L_fit, n_bootstrap=100))
    out["ch8 frontier L0 = 0, true"] = [
        fit_power_law_offset(c_fit, L_fit, L0=v, n_bootstrap=0).r2_log for v in (0.0, L0)]
    law = fit_horizon_law(fr)
    out["ch8 law"] = [law.kappa, law.gamma, law.gamma_err, law.r2_log]
    x = np.geomspace(0.02, 1.0, 256)
    sweep = load_sweep("collapse", scale="lm-full")
    for name, runs in sorted(sweep.items()):
        for l0 in (0.0, L0):
            s = summarize_collapse(collapse_metrics(to_ladder(runs), None, L0=l0, x=x),
                                   x_min=0.2)
            out[f"ch8 collapse {name} L0={l0:.3f}"] = [s.frac_below, s.median_ratio,
                                                        s.mean_delta, s.mean_sigma]
        out[f"ch8 L0 fit {name}"] = fit_values(fit_irreducible_loss(to_ladder(runs),
                                                                    n_bootstrap=100))
    # the L0 subsection: seed bootstrap and null of the end-point fit (fewer draws than printed)
    tuned = load_runs(results_dir() / "lm-tuned" / "collapse-first")
    for ws in ((24, 32, 40, 48, 64, 96), (32, 40, 48, 64, 96), None):
        for name in sorted(sweep):
            lad = to_ladder(sweep[name] if ws is None else select_runs(tuned, name, ws))
            bs = bootstrap_irreducible_loss(lad, n_bootstrap=20)
            null = null_irreducible_loss(lad, L0, n_draws=20)
            out[f"ch8 L0 draws {name} {ws}"] = [bs.fit.L0, bs.lo, bs.hi, null.fit.a, null.fit.b,
                                                null.median, null.lo, null.hi]
    ladders = {"linear": sweep["linear"], "constant": sweep["constant"]}
    ladders |= dict(load_sweep("breakdown", scale="lm-full"))
    for name, runs in sorted(ladders.items()):
        rep = check_scaling(to_ladder(runs), L0=L0)
        out[f"ch8 check_scaling {name}"] = [
            rep.summary.frac_below, rep.summary.median_ratio, rep.frac_below.lo,
            rep.frac_below.hi, rep.median_ratio.lo, rep.median_ratio.hi,
            *rep.verdict_prob.values(), *rep.deviation, *rep.loo_gain]
    # the recipe gates: the stored ladder, and the lr-transfer sweep at each rate
    g = recipe_gates(sweep["constant"] + sweep["linear"], L0, variant_of=lambda r: True)
    out["ch8 gates stored"] = [*(v.ratio for v in g.gain), *g.t_steep]
    lr_runs = load_runs(results_dir() / "lm-full" / "lr")
    for x in sorted({r.config.lr for r in lr_runs if r.config.tags["variant"].startswith("lr=")}):
        g = recipe_gates(lr_runs, L0, lr=x)
        out[f"ch8 gates lr={x:g}"] = [*(v.ratio for v in g.gain), *g.t_steep]
        for sched in ("linear", "constant"):
            rep = check_scaling(to_ladder([r for r in lr_runs
                                           if r.config.tags["variant"] == f"lr={x:g}"
                                           and r.config.schedule == sched]),
                                L0=L0, n_bootstrap=200)
            out[f"ch8 lr={x:g} {sched}"] = [rep.frac_below.value, rep.frac_below.lo,
                                            rep.frac_below.hi, rep.median_ratio.value,
                                            rep.horizon.slope.value]
    noise = load_sweep("noise", scale="lm-full")
    for w in sorted({r.config.width for r in noise["constant"]}):
        pick = {v: next(r for r in noise[v] if r.config.width == w) for v in noise}
        fit = nm.fit_noise_model([nm.ScheduleRun.from_runs(pick[v], pick["constant"])
                                  for v in ("linear", "cosine", "wsd")])
        out[f"ch8 alpha width {w}"] = [fit.alpha, fit.alpha_boot_err,
                                       *fit.per_schedule_alpha.values()]
    return out


if __name__ == "__main__":
    with open(sys.argv[1], "w") as f:
        json.dump(values(), f)
