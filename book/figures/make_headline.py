"""Draw the README's headline figure from the stored full-scale sweeps.

    .venv/bin/python book/figures/make_headline.py      # writes book/figures/headline.png

Left: test loss against compute for the collapse ladder (linear decay, seed means), coloured by
size. Middle: the same curves normalised to one at the end of training (Eq. 1 of the paper).
Right: the collapse deviation Delta(x) against the seed noise floor sigma(x), with a constant
learning rate and with linear decay. Ladder: the six widths inside the horizon law's fitted
range, L0 = 0 (see results/README.md).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from supercollapse import plotting  # noqa: E402
from supercollapse.analysis.collapse import collapse_metrics  # noqa: E402
from supercollapse.results import load_sweep, to_ladder  # noqa: E402

sweep = load_sweep("collapse")
ladders = {v: sweep[v][1:] for v in ("constant", "linear")}  # widths 64-200
metrics = {v: collapse_metrics(to_ladder(runs), None, L0=0.0) for v, runs in ladders.items()}
sizes = [r.n_params for r in ladders["linear"]]

with plotting.style():
    fig, axs = plt.subplots(1, 3, figsize=(15, 4.2))
    curves = [(c, L.mean(axis=0)) for c, L in to_ladder(ladders["linear"])]
    plotting.loss_vs_compute(curves, sizes, ax=axs[0])
    axs[0].set_title("Loss curves (linear decay)")
    res = metrics["linear"]
    late = res.x >= 0.05
    plotting.normalized_curves(res.x[late], res.mean_curves[:, late], sizes, ax=axs[1])
    axs[1].set(title="Normalised: one universal curve")
    for (v, r), col in zip(metrics.items(), ("tab:gray", "tab:red"), strict=True):
        keep = (r.x >= 0.05) & (r.x < 1.0)
        plotting.delta_sigma(r.x[keep], r.delta[keep], r.sigma[keep], ax=axs[2], label=v,
                             color=col)
    axs[2].set_title(r"Supercollapse: $\Delta < \sigma$ with decay")
    fig.tight_layout()
    out = Path(__file__).with_name("headline.png")
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
