"""Reports of a trained model: confusion matrix, reliability, accuracy vs coverage, the network's picture."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from jobs.evaluation import coverage_curve
from jobs.tokens import FEATURE_SEP
from udfs.model import NetworkModel


def figures(y, probs, classes, folder: Path, title: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import ConfusionMatrixDisplay

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    fig, ax = plt.subplots(figsize=(4 + 0.3 * len(classes), 4 + 0.3 * len(classes)))
    ConfusionMatrixDisplay.from_predictions(y, probs.argmax(axis=1), labels=list(range(len(classes))),
                                            display_labels=classes, ax=ax, colorbar=False)
    ax.set_title(f"{title}: confusion matrix")
    paths.append(folder / "confusion_matrix.png"); fig.savefig(paths[-1], dpi=80, bbox_inches="tight"); plt.close(fig)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    conf = probs.max(axis=1)
    frac, mean = calibration_curve((probs.argmax(axis=1) == y).astype(int), conf, n_bins=10, strategy="quantile")
    ax.plot([0, 1], [0, 1], "k:", label="perfect")
    ax.plot(mean, frac, "o-", label=title)
    ax.set_xlabel("confidence"); ax.set_ylabel("accuracy"); ax.set_title("reliability"); ax.legend()
    paths.append(folder / "reliability.png"); fig.savefig(paths[-1], dpi=80, bbox_inches="tight"); plt.close(fig)
    curve = coverage_curve(y, probs)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.plot(curve["coverage"], curve["accuracy"])
    ax.set_xlabel("coverage (share not left uncertain)"); ax.set_ylabel("accuracy"); ax.set_title("accuracy vs coverage")
    paths.append(folder / "accuracy_vs_coverage.png"); fig.savefig(paths[-1], dpi=80, bbox_inches="tight"); plt.close(fig)
    return paths

def network_svg(model: NetworkModel, path: Path, heavy: float = 0.8, max_inputs: int = 60) -> Path:
    """The seed's picture: links with |w| > heavy, positive blue, negative red, opacity by weight."""
    net = model.nets[0]
    layers_w = [w for w, _ in net]
    strength = np.abs(layers_w[0]).max(axis=1)
    inputs = [i for i in np.argsort(-strength)[:max_inputs] if strength[i] > heavy]
    sizes = [len(inputs)] + [w.shape[1] for w in layers_w]
    height = max(300, 14 * max(sizes) + 40)
    xs = [80 + 260 * i for i in range(len(sizes))]

    def ys(n):
        return [20 + (height - 40) * (k + 0.5) / max(n, 1) for k in range(n)]

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{xs[-1] + 120}" height="{height}" font-size="9">']
    maxw = max(float(np.abs(w).max()) for w in layers_w) or 1.0

    def line(x1, y1, x2, y2, w):
        color = "#1f4fd6" if w > 0 else "#d62728"
        alpha = 0.25 + 0.75 * min(1.0, (abs(w) - heavy) / max(maxw - heavy, 1e-9))
        return f'<line x1="{x1}" y1="{y1:.1f}" x2="{x2}" y2="{y2:.1f}" stroke="{color}" stroke-opacity="{alpha:.2f}"/>'

    prev_rows, prev_y = inputs, ys(len(inputs))
    for l, w in enumerate(layers_w):
        cur_y = ys(w.shape[1])
        for a, i in enumerate(prev_rows):
            for j in range(w.shape[1]):
                if abs(w[i, j]) > heavy:
                    parts.append(line(xs[l], prev_y[a], xs[l + 1], cur_y[j], float(w[i, j])))
        prev_rows, prev_y = list(range(w.shape[1])), cur_y
    for l, n in enumerate(sizes):
        for k, y in enumerate(ys(n)):
            parts.append(f'<circle cx="{xs[l]}" cy="{y:.1f}" r="3" fill="#444"/>')
            if l == 0:
                label = model.vocab[inputs[k]].replace(FEATURE_SEP, ":").replace("&", "&amp;").replace("<", "&lt;")
                parts.append(f'<text x="{xs[0] - 6}" y="{y + 3:.1f}" text-anchor="end">{label}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def tree_splits_csv(model: NetworkModel, path: Path) -> Path:
    """A tree ensemble's picture: how often each feature splits a node, most used first."""
    features = model.trees["feature"]
    counts = np.bincount(features[features >= 0], minlength=len(model.vocab))
    order = np.argsort(-counts, kind="stable")
    lines = ["feature,splits"] + [f"{model.vocab[i].replace(FEATURE_SEP, ':')},{counts[i]}" for i in order]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
