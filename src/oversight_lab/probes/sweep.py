"""Layer sweep: every probe at every layer, scored on held-out items by k-fold cross-fitting (items of one
group held out together, so a probe cannot pass by recognising a fact it was trained on in another wording),
plus the honesty gap of the best supervised probe's held-out readings; and the plot."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from oversight_lab.probes.activations import ActivationSet
from oversight_lab.probes.ccs import CCSProbe
from oversight_lab.probes.honesty import honesty_gap
from oversight_lab.probes.linear import LogisticProbe, MassMeanProbe, normalize_pairs

__all__ = ["PROBES", "SweepConfig", "crossfit_readings", "layer_sweep", "plot_layer_sweep"]

PROBES = ("logreg", "mass_mean", "ccs")


@dataclass
class SweepConfig:
    """How the sweep trains and scores probes."""

    methods: tuple[str, ...] = PROBES  # which probes to train
    folds: int = 5  # k of k-fold cross-fitting over items (at most the number of items)
    ccs_tries: int = 10  # random restarts of CCS (Burns et al. use 10)
    ccs_epochs: int = 1000  # full-batch Adam steps per CCS restart
    seed: int = 0  # fold assignment and CCS initialisation
    layers: list[int] | None = field(default=None)  # None = every layer


def _make(method: str, cfg: SweepConfig) -> Any:
    if method == "logreg":
        return LogisticProbe()
    if method == "mass_mean":
        return MassMeanProbe()
    if method == "ccs":
        return CCSProbe(n_tries=cfg.ccs_tries, epochs=cfg.ccs_epochs, seed=cfg.seed)
    raise ValueError(f"unknown probe {method!r}; use one of {', '.join(PROBES)}")


def _folds(labels: np.ndarray, groups: list[str] | None, k: int, seed: int) -> list[np.ndarray]:
    """Item indices in ``k`` folds; a group's items share a fold, and groups of each label spread evenly."""
    groups = groups or [str(i) for i in range(len(labels))]
    first_label: dict[str, int] = {}
    for g, lab in zip(groups, labels, strict=True):
        first_label.setdefault(g, int(lab))
    rng = np.random.default_rng(seed)
    fold_of: dict[str, int] = {}
    for lab in sorted(set(first_label.values())):
        members = [g for g, v in first_label.items() if v == lab]
        for j, g in enumerate(rng.permutation(members)):
            fold_of[str(g)] = (j + lab) % k
    folds = [np.array([i for i, g in enumerate(groups) if fold_of[g] == f]) for f in range(k)]
    return [f for f in folds if len(f)]


def _normalise_per_template(x: np.ndarray, train: np.ndarray, templates: list[str] | None) -> np.ndarray:
    """Each template's pairs normalised with statistics of that template's training items (Burns et al. 2022:
    otherwise the direction that separates the wordings is the most consistent "feature" CCS can find)."""
    keys = np.array(templates if templates else [""] * len(x))
    out = np.empty_like(x)
    for key in np.unique(keys):
        rows = np.flatnonzero(keys == key)
        fit_rows = np.intersect1d(rows, train)
        norm = normalize_pairs(x[fit_rows if len(fit_rows) else rows])
        out[rows] = norm(x[rows])
    return out


def crossfit_readings(
    x: np.ndarray,
    labels: np.ndarray,
    method: str,
    cfg: SweepConfig,
    groups: list[str] | None = None,
    templates: list[str] | None = None,
) -> np.ndarray:
    """Held-out P(answer 1 true) for every item: each fold read by a probe trained on the other folds."""
    reading = np.zeros(len(x))
    n_groups = len(set(groups)) if groups else len(x)
    for test in _folds(labels, groups, min(cfg.folds, n_groups), cfg.seed):
        train = np.setdiff1d(np.arange(len(x)), test)
        xn = _normalise_per_template(x, train, templates)
        probe = _make(method, cfg)
        probe.fit(xn[train], labels[train])  # CCS uses the labels only to fix its sign
        reading[test] = probe.predict(xn[test])
    return reading


def layer_sweep(acts: ActivationSet, cfg: SweepConfig | None = None) -> dict[str, Any]:
    """``{"metrics": {...}, "per_layer": {method: [acc per layer]}, "best": {...}, "readings": [...]}``."""
    cfg = cfg or SweepConfig()
    layers = cfg.layers if cfg.layers is not None else list(range(acts.n_layers))
    per_layer: dict[str, list[float]] = {m: [] for m in cfg.methods}
    readings: dict[tuple[str, int], np.ndarray] = {}
    for layer in layers:
        x = acts.acts[:, :, layer, :].astype(np.float64)
        for method in cfg.methods:
            r = crossfit_readings(x, acts.labels, method, cfg, acts.groups, acts.templates)
            readings[(method, layer)] = r
            per_layer[method].append(float(np.mean((r > 0.5) == (acts.labels == 1))))
    share = float(np.mean(acts.labels == 1))
    metrics: dict[str, float] = {
        "probe/stated_acc": float(np.mean(acts.stated == acts.labels)),
        "probe/majority": max(share, 1.0 - share),  # accuracy of always giving the commoner true answer
        "probe/n": float(len(acts.labels)),
    }
    for method, accs in per_layer.items():
        best = int(np.argmax(accs))
        metrics[f"probe/{method}/best_acc"] = accs[best]
        metrics[f"probe/{method}/best_layer"] = float(layers[best])
        for layer, acc in zip(layers, accs, strict=True):
            metrics[f"probe/{method}/acc@{layer}"] = acc
    # The honesty gap reads the truth with the best supervised probe (logistic if trained), at its best layer.
    chosen = "logreg" if "logreg" in per_layer else cfg.methods[0]
    layer = layers[int(np.argmax(per_layer[chosen]))]
    gap = honesty_gap(readings[(chosen, layer)], acts.stated, acts.labels)
    metrics.update(gap)
    return {
        "metrics": metrics,
        "layers": layers,
        "per_layer": per_layer,
        "honesty": {"probe": chosen, "layer": layer},
        "readings": readings[(chosen, layer)].tolist(),
    }


def plot_layer_sweep(result: dict[str, Any], out_path: str | Path, title: str = "") -> Path:
    """Held-out accuracy of each probe against layer, with the model's stated accuracy for reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for method, accs in result["per_layer"].items():
        ax.plot(result["layers"], accs, marker="o", label=method)
    ax.axhline(result["metrics"]["probe/stated_acc"], color="k", ls="--", lw=1, label="model's stated answer")
    ax.axhline(result["metrics"]["probe/majority"], color="grey", ls=":", lw=1, label="majority answer")
    ax.set_xticks(result["layers"])
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel("held-out accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title(title or "probe accuracy by layer", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
